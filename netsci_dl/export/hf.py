"""A local Hugging Face folder -> plan: the model built and loaded by transformers, its forward
pass on one example input traced.

The folder holds ``config.json`` (with a ``model_type``) and the weights: ``model.safetensors``,
or the shards named by ``model.safetensors.index.json`` (each a file inside the folder), or
``pytorch_model.bin`` (or its shards), which netsci_dl first reads itself through
``torch.load(weights_only=True)``, so a pickle that needs code is refused. Nothing is
downloaded and no code from the folder runs: ``AutoConfig.from_pretrained(folder,
local_files_only=True)`` reads the config; the class its ``architectures`` names (when
transformers has it; else ``AutoModel``) loads the weights with ``from_pretrained(folder,
local_files_only=True)``, never with ``trust_remote_code``, so transformers' own renamings of
old checkpoints apply. Loading is strict: a missing or unexpected tensor is refused, except for
the keys the model declares ignorable (non-persistent buffers such as ``position_ids``, tied
weights such as GPT-2's LM head), which are listed in ``meta["loading"]``; with
``partial=True`` the others are listed too. The example input is the model's main input: token
ids (``input_ids``, dtype long, of length :data:`DEFAULT_SEQ_LEN` unless stated) or an image
(``pixel_values`` of the config's size).

transformers is the optional extra ``hf`` (``pip install 'netsci_dl[hf]'``), imported only here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.errors import InputError

__all__ = [
    "WEIGHT_FILES",
    "DEFAULT_SEQ_LEN",
    "is_hf_folder",
    "read_folder_tensors",
    "load_hf_model",
    "hf_example_input",
    "plan_from_hf_folder",
]

#: the weight files of a Hugging Face folder, in the order they are looked for
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
#: the length of the token example input when none is stated
DEFAULT_SEQ_LEN = 8


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as e:
        raise ImportError(
            "reading a Hugging Face folder needs transformers: pip install 'netsci_dl[hf]'"
        ) from e
    return transformers


def _config_dict(folder: Path) -> dict[str, Any] | None:
    try:
        with open(folder / "config.json", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def is_hf_folder(path: Any) -> bool:
    """Whether ``path`` is a folder with a transformers ``config.json`` (one with a
    ``model_type``) and one of :data:`WEIGHT_FILES`.

    Examples
    --------
    >>> is_hf_folder("no/such/folder")
    False
    """
    if not isinstance(path, (str, os.PathLike)):
        return False
    p = Path(path)
    if not p.is_dir() or not (p / "config.json").is_file():
        return False
    doc = _config_dict(p)
    if doc is None or not isinstance(doc.get("model_type"), str):
        return False
    return any((p / f).is_file() for f in WEIGHT_FILES)


def _shard_files(folder: Path, index_name: str) -> tuple[list[Path], dict[str, Any]]:
    """The shard files an index names, each a plain file name inside ``folder``."""
    where = folder / index_name
    try:
        with open(where, encoding="utf-8") as f:
            doc = json.load(f)
    except ValueError as e:
        raise InputError(f"{where}: not valid JSON ({e})") from None
    wmap = doc.get("weight_map") if isinstance(doc, dict) else None
    if not isinstance(wmap, dict) or not wmap:
        raise InputError(f"{where}: no 'weight_map' of tensor names to shard files")
    files: list[Path] = []
    for name in dict.fromkeys(wmap.values()):
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise InputError(f"{where}: shard {name!r} is not a file name in the folder")
        if not (folder / name).is_file():
            raise InputError(f"{where}: names shard {name!r}, which is not in {folder}")
        files.append(folder / name)
    return files, wmap


def _weight_files(folder: Path) -> list[str]:
    """The weight files of a folder: the first of :data:`WEIGHT_FILES` present and, for an
    index, the shards it names (each a plain file name inside the folder, present)."""
    name = next((f for f in WEIGHT_FILES if (folder / f).is_file()), None)
    if name is None:
        raise InputError(f"{folder}: no {' or '.join(WEIGHT_FILES)} in this folder")
    if not name.endswith(".index.json"):
        return [name]
    files, _ = _shard_files(folder, name)
    return [name] + [f.name for f in files]


def read_folder_tensors(folder: str | os.PathLike) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every tensor of a Hugging Face folder's weights (one file or its shards) under the
    names of the files, with the files read. Safetensors through the checked reader; ``.bin``
    through ``torch.load(weights_only=True)``.

    Raises
    ------
    InputError
        No weight file; an index naming a shard outside the folder or missing; a tensor the
        index names absent from its shard, or a tensor in two shards.
    """
    from netsci_dl.export.checkpoint import read_checkpoint

    p = Path(folder)
    files = _weight_files(p)
    if len(files) == 1:
        return dict(read_checkpoint(p / files[0]).tensors), files
    _, wmap = _shard_files(p, files[0])
    tensors: dict[str, np.ndarray] = {}
    for f in files[1:]:
        for k, v in read_checkpoint(p / f).tensors.items():
            if k in tensors:
                raise InputError(f"{p}: tensor {k!r} is in two shards")
            if wmap.get(k, f) != f:
                raise InputError(f"{p}: {files[0]} puts {k!r} in {wmap[k]!r}, not in {f!r}")
            tensors[k] = v
    absent = [k for k in wmap if k not in tensors]
    if absent:
        raise InputError(f"{p}: {files[0]} names {absent[:5]}, absent from their shards")
    return tensors, files


def _config_and_class(folder: str | os.PathLike) -> tuple[Any, Any, str]:
    """The folder's config (read by transformers), the model class that builds it (the one its
    ``architectures`` names when transformers has it; else None: ``AutoModel``), its name."""
    tf = _transformers()
    where = Path(folder) / "config.json"
    try:
        cfg = tf.AutoConfig.from_pretrained(
            str(folder), local_files_only=True, trust_remote_code=False
        )
    except Exception as e:  # an unknown model_type, a config transformers rejects
        msg = " ".join(str(e).split())[:300]
        raise InputError(
            f"{where}: transformers cannot read this config ({type(e).__name__}: {msg})"
        ) from None
    arch = (getattr(cfg, "architectures", None) or [None])[0]
    cls = getattr(tf, arch, None) if isinstance(arch, str) else None
    if not (isinstance(cls, type) and issubclass(cls, tf.PreTrainedModel)):
        cls = None
    return cfg, cls, arch if cls is not None else f"AutoModel for {cfg.model_type}"


@contextlib.contextmanager
def _quiet(tf: Any) -> Iterator[None]:
    """transformers' load report and progress bar off (the plan lists what was ignored)."""
    log = tf.utils.logging
    level = log.get_verbosity()
    bars = log.is_progress_bar_enabled()
    log.set_verbosity_error()
    log.disable_progress_bar()
    try:
        yield
    finally:
        log.set_verbosity(level)
        if bars:
            log.enable_progress_bar()


def _declared(
    model: Any, file_keys: set[str], missing: set[str], unexpected: set[str]
) -> dict[str, str]:
    """The keys transformers passed over (neither loaded nor reported ``missing`` or
    ``unexpected``) because the model declares them ignorable, with the reason
    (:func:`netsci_dl.export.module.load_weights`'s rules)."""
    from netsci_dl.export.module import _declared_ignorable

    ok_missing, ok_unexpected = _declared_ignorable(model, dict.fromkeys(file_keys))
    out = {k: why for k, why in ok_unexpected.items() if k not in unexpected}
    out.update({k: why for k, why in ok_missing.items() if k not in missing})
    return out


def _file_keys(folder: Path, files: list[str]) -> set[str]:
    """The tensor names of the weight files (a ``.bin`` is read through
    ``torch.load(weights_only=True)`` here first, so a pickle that needs code is refused)."""
    from netsci_dl.export.checkpoint import read_checkpoint

    keys: set[str] = set()
    for f in files:
        if not f.endswith(".index.json"):
            keys |= set(read_checkpoint(folder / f).tensors)
    return keys


def load_hf_model(
    folder: str | os.PathLike, *, partial: bool = False
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The model of a Hugging Face folder, built and loaded by transformers
    (``from_pretrained`` with ``local_files_only=True``, never ``trust_remote_code``; float32,
    eval mode, no cache), what was built (``class``, ``model_type``, ``files``) and what the
    loading ignored (``meta["loading"]``).

    Strict: a tensor of the model missing from the files, or a tensor of the files the model
    has no place for, is refused, except for the keys the model declares ignorable (listed).
    With ``partial`` they are listed instead. A shape that does not fit is always refused.
    """
    import torch

    tf = _transformers()
    p = Path(folder)
    cfg, cls, what = _config_and_class(p)
    files = _weight_files(p)
    file_keys = _file_keys(p, files)
    if hasattr(cfg, "use_cache"):
        cfg.use_cache = False
    loader = cls if cls is not None else tf.AutoModel
    try:
        with _quiet(tf):
            model, info = loader.from_pretrained(
                str(p),
                config=cfg,
                local_files_only=True,
                trust_remote_code=False,
                dtype=torch.float32,
                output_loading_info=True,
            )
    except Exception as e:  # a size mismatch, a file transformers cannot read
        msg = " ".join(str(e).split())[:300]
        raise InputError(
            f"{p}: transformers cannot load {what} ({type(e).__name__}: {msg})"
        ) from None
    model.eval()
    missing, unexpected = sorted(info["missing_keys"]), sorted(info["unexpected_keys"])
    if (missing or unexpected) and not partial:
        parts = [f"missing {_shorten(missing)}" if missing else ""]
        parts += [f"unexpected {_shorten(unexpected)}" if unexpected else ""]
        raise InputError(
            f"{p}: does not fit {type(model).__name__} (strict loading): "
            + "; ".join(x for x in parts if x)
            + " (partial loading: --partial, or partial=True)"
        )
    if partial and not (file_keys - set(unexpected)):
        raise InputError(f"{p}: none of its {len(file_keys)} tensors fits {type(model).__name__}")
    built = {"class": type(model).__name__, "model_type": str(cfg.model_type), "files": files}
    loading = {
        "strict": not partial,
        "loaded": len(file_keys) - len(unexpected),
        "ignored_missing": missing,
        "ignored_unexpected": unexpected,
        "declared_ignorable": _declared(model, file_keys, set(missing), set(unexpected)),
    }
    return model, built, loading


def _shorten(keys: Sequence[str], n: int = 5) -> str:
    return f"{list(keys[:n])}{f' and {len(keys) - n} more' if len(keys) > n else ''}"


def _vocab_size(cfg: Any) -> int | None:
    for c in (cfg, getattr(cfg, "text_config", None)):
        v = getattr(c, "vocab_size", None) if c is not None else None
        if isinstance(v, int) and v > 0:
            return v
    return None


def hf_example_input(
    model: Any,
    *,
    shape: Sequence[int] | None = None,
    dtype: str | None = None,
    seed: int = 0,
) -> Any:
    """One example input of a transformers ``model`` (or of the model of a Hugging Face folder,
    read from its config alone): its main input (``input_ids``: token ids
    below the vocabulary size, shape ``(1, 8)`` unless ``shape`` says; ``pixel_values``: an image
    of the config's size), or of ``shape`` and ``dtype`` (``"long"`` or ``"float"``) as stated.
    Drawn from ``seed``.

    Raises
    ------
    InputError
        A main input netsci_dl cannot make (audio, ...) with no ``shape`` stated.
    """
    import torch

    from netsci_dl.export.module import token_example

    if isinstance(model, (str, os.PathLike)):
        cfg, cls, _ = _config_and_class(model)
        main = getattr(cls, "main_input_name", "input_ids")
        if cls is None:
            main = "pixel_values" if hasattr(cfg, "image_size") else "input_ids"
        name = Path(model).name
    else:
        cfg, name = model.config, type(model).__name__
        main = getattr(model, "main_input_name", "input_ids")
    if dtype is None:
        dtype = "long" if main == "input_ids" else "float"
    if dtype not in ("long", "float"):
        raise InputError(f"input dtype must be 'long' or 'float', got {dtype!r}")
    if shape is None and main == "input_ids":
        shape = (1, DEFAULT_SEQ_LEN)
    elif shape is None and main == "pixel_values":
        size = getattr(cfg, "image_size", None)
        hw = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
        if not all(isinstance(v, int) for v in hw):
            raise InputError(f"{name}: its config states no image_size; state the input shape")
        shape = (1, int(getattr(cfg, "num_channels", 3)), *hw)
    elif shape is None:
        raise InputError(
            f"{name} reads {main!r}: state the example input's shape "
            "(example_input=..., CLI: --input-shape and --input-dtype)"
        )
    shape = tuple(int(s) for s in shape)
    if dtype == "long":
        vocab = _vocab_size(cfg)
        if vocab is None and not isinstance(model, (str, os.PathLike)):
            return token_example(model, shape, seed=seed)
        if vocab is None:
            raise InputError(f"{name}: its config states no vocab_size for the token ids")
        g = torch.Generator().manual_seed(seed)
        return torch.randint(0, vocab, shape, generator=g)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g)


def plan_from_hf_folder(
    folder: str | os.PathLike,
    *,
    example_input: Any = None,
    layers: str | Sequence[str] | None = None,
    conv_reduce: str = "l2",
    fold_batchnorm: bool = False,
    image_shape: tuple[int, ...] | None = None,
    partial: bool = False,
) -> Any:
    """Plan the export of a Hugging Face folder: build, load (strictly, or ``partial``), trace
    on ``example_input`` (default :func:`hf_example_input`). ``meta["hf"]`` records the class,
    the files read and the example input; ``meta["loading"]`` what the loading ignored."""
    from netsci_dl.export.module import plan_from_module

    model, built, loading = load_hf_model(folder, partial=partial)
    if example_input is None:
        example_input = hf_example_input(model)
    plan = plan_from_module(
        model,
        example_input=example_input,
        layers=layers,
        conv_reduce=conv_reduce,
        fold_batchnorm=fold_batchnorm,
        image_shape=image_shape,
    )
    first = example_input[0] if isinstance(example_input, tuple) else example_input
    if hasattr(first, "shape"):
        built["input"] = {
            "name": str(getattr(model, "main_input_name", "input")),
            "shape": [int(v) for v in first.shape],
            "dtype": str(first.dtype).replace("torch.", ""),
        }
    meta = dict(plan.meta, hf=built, loading=loading)
    return dataclasses.replace(plan, source=f"{folder} ({built['class']})", meta=meta)
