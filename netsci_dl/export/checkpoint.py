"""Read checkpoint files into named numpy arrays, never executing code from the file.

- ``.pt`` / ``.pth`` / ``.bin``: ``torch.load(weights_only=True, map_location="cpu")``; a state_dict,
  or a dict holding one under any key (see :func:`tensors_from_mapping`).
- ``.safetensors``: the header checked against the file, then memory-mapped with numpy
  (:mod:`netsci_dl._files.safetensors_safe`; its string metadata is returned too).
- ``.npz``: :func:`netsci_dl._files.npz_safe.read_npz` (no pickle; sizes checked before allocation).

Files are opened through a handle (any path Python can open) after checking that they are
regular files (a FIFO would block forever).
"""

from __future__ import annotations

import json
import os
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.errors import InputError

__all__ = ["Checkpoint", "read_checkpoint", "tensors_from_mapping"]

TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")


@dataclass(frozen=True)
class Checkpoint:
    """Named arrays read from a checkpoint, in file order.

    Attributes
    ----------
    tensors : dict of str to ndarray
        Every array found (numpy, on the CPU), in the order of the file.
    source : str
        Where they came from (a path, or a description of an in-memory object).
    format : str
        ``"torch"``, ``"safetensors"``, ``"npz"`` or ``"mapping"``.
    metadata : dict
        String metadata stored with the file (safetensors header, or netsci_dl entries).
    nested_key : str or None
        The key the state_dict was found under, if it was nested.
    """

    tensors: dict[str, np.ndarray]
    source: str
    format: str
    metadata: dict[str, str] = field(default_factory=dict)
    nested_key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description: the source, format, metadata and every tensor's name, shape and
        dtype (not the values)."""
        return {
            "source": self.source,
            "format": self.format,
            "nested_key": self.nested_key,
            "metadata": {str(k): str(v) for k, v in self.metadata.items()},
            "tensors": [
                {"name": k, "shape": [int(s) for s in v.shape], "dtype": str(v.dtype)}
                for k, v in self.tensors.items()
            ],
        }

    def to_frame(self) -> Any:
        """One row per tensor, in file order: ``name shape dtype size``."""
        import pandas as pd

        return pd.DataFrame(
            [
                {"name": k, "shape": tuple(v.shape), "dtype": str(v.dtype), "size": int(v.size)}
                for k, v in self.tensors.items()
            ],
            columns=["name", "shape", "dtype", "size"],
        )

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        return summary(
            "Checkpoint",
            short(self.source),
            format=self.format,
            tensors=len(self.tensors),
            values=int(sum(int(v.size) for v in self.tensors.values())),
            nested_key=self.nested_key,
        )


_FLOAT8 = ("float8", "float4", "float6")


def _to_numpy(name: str, value: Any) -> np.ndarray | None:
    """An array from a tensor-like value, or None for a value that is not an array.

    bfloat16 and float16 tensors become float32 (exactly); a tensor on the ``meta`` device (no
    values), a float8 tensor or another dtype numpy cannot hold raises :class:`InputError`.
    """
    if isinstance(value, np.ndarray):
        return value
    mod = type(value).__module__
    if mod.startswith("torch"):
        import torch

        if isinstance(value, torch.Tensor):
            dt = str(value.dtype).removeprefix("torch.")
            if value.is_meta:
                raise InputError(
                    f"tensor {name!r} {tuple(value.shape)} is on the 'meta' device: it declares a "
                    "shape but holds no values (saved from a model that was never materialised)"
                )
            if dt.startswith(_FLOAT8):
                raise InputError(
                    f"tensor {name!r} has dtype {dt}, which netsci_dl does not support; "
                    "convert the checkpoint to float32, float16 or bfloat16"
                )
            if value.layout != torch.strided:
                raise InputError(
                    f"tensor {name!r} is a {str(value.layout).removeprefix('torch.')} tensor; "
                    "netsci_dl reads dense tensors only (call .to_dense() before saving)"
                )
            t = value.detach().cpu()
            if t.numel() > t.untyped_storage().nbytes() // max(t.element_size(), 1):
                raise InputError(
                    f"tensor {name!r} declares {t.numel()} entries {tuple(t.shape)} but its "
                    f"storage holds {t.untyped_storage().nbytes()} bytes (an expanded view): "
                    "refused; save t.contiguous() instead"
                )
            if t.dtype in (torch.bfloat16, torch.float16):
                t = t.float()
            try:
                return t.numpy()
            except (TypeError, RuntimeError) as e:
                raise InputError(
                    f"tensor {name!r} has dtype {dt}, which netsci_dl cannot read ({e}); "
                    "convert it to a float dtype"
                ) from None
    return None


def _is_array(v: Any) -> bool:
    return (
        isinstance(v, np.ndarray) or type(v).__module__.startswith("torch") and hasattr(v, "shape")
    )


def _holds_weights(m: Mapping[Any, Any]) -> bool:
    """A mapping whose values include a tensor of 2+ dims under a string key: weights."""
    return any(isinstance(k, str) and _is_array(v) and len(v.shape) >= 2 for k, v in m.items())


_NOT_WEIGHTS = ("optim", "sched", "scaler", "grad", "loss", "metric")


def _candidates(
    mapping: Mapping[Any, Any], path: str = "", depth: int = 0
) -> list[tuple[str, Any]]:
    """Nested mappings (or objects with ``state_dict()``) that hold weights, by dotted path."""
    out = []
    for k, v in mapping.items():
        key = f"{path}.{k}" if path else str(k)
        if any(w in str(k).lower() for w in _NOT_WEIGHTS):
            continue
        if not isinstance(v, Mapping) and hasattr(v, "state_dict") and callable(v.state_dict):
            v = v.state_dict()
        if isinstance(v, Mapping):
            if _holds_weights(v):
                out.append((key, v))
            elif depth < 2:
                out.extend(_candidates(v, key, depth + 1))
    return out


def _strip_prefix(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Remove the ``module.`` prefix that DataParallel/DDP add, when every key has it."""
    for prefix in ("module.", "_orig_mod."):
        if d and all(k.startswith(prefix) for k in d):
            d = {k[len(prefix) :]: v for k, v in d.items()}
    return d


def tensors_from_mapping(
    mapping: Mapping[str, Any], *, source: str = "<mapping>", key: str | None = None
) -> tuple[dict[str, np.ndarray], str | None]:
    """The weights of a state_dict, or of a dict checkpoint that holds one under any key.

    A mapping with weight tensors at its top level is the state_dict. Otherwise every nested
    mapping (two levels deep; ``optimizer``/``scheduler``/... entries excluded) that holds
    tensors of two or more dims is a candidate, and exactly one must exist (the common keys
    ``state_dict``, ``model``, ``model_state``, ``model_state_dict``, ``net``... are found this
    way), unless ``key`` (a dotted path) names it. The prefix ``module.`` that DataParallel/DDP
    add is removed when every key has it.

    Returns the arrays (numpy, in the mapping's order) and the key they were found under (or
    None).

    Examples
    --------
    >>> import numpy as np
    >>> sd = {"fc.weight": np.ones((2, 3))}
    >>> t, k = tensors_from_mapping({"epoch": 3, "model_state": sd})
    >>> list(t), k
    (['fc.weight'], 'model_state')
    """
    nested = None
    if key is not None:
        inner: Any = mapping
        for part in str(key).split("."):
            if not isinstance(inner, Mapping) or part not in inner:
                raise InputError(
                    f"{source}: no entry {key!r} (top-level keys: {list(mapping)[:10]})"
                )
            inner = inner[part]
        if hasattr(inner, "state_dict") and not isinstance(inner, Mapping):
            inner = inner.state_dict()
        if not isinstance(inner, Mapping):
            raise InputError(
                f"{source}: entry {key!r} is a {type(inner).__name__}, not a state_dict"
            )
        mapping, nested = inner, str(key)
    elif not _holds_weights(mapping) and not any(_is_array(v) for v in mapping.values()):
        found = _candidates(mapping)
        if len(found) == 1:
            nested, mapping = found[0]
        elif not found:
            keys = ", ".join(repr(k) for k in list(mapping)[:10])
            raise InputError(
                f"{source}: no weights found at the top level nor in any nested dict "
                f"(top-level keys: {keys or 'none'})"
            )
        else:
            raise InputError(
                f"{source}: several entries hold weights: {', '.join(k for k, _ in found)}; "
                "say which with state_dict_key=... (CLI: --state-dict-key)"
            )
    out: dict[str, np.ndarray] = {}
    for k, v in mapping.items():
        arr = _to_numpy(str(k), v)
        if arr is None:
            continue
        out[str(k)] = arr
    if not out:
        raise InputError(f"{source}: the state_dict holds no tensors")
    return _strip_prefix(out), nested


_TORCH_ADVICE = re.compile(r"weights_only|trusted source|arbitrary code|two options", re.I)


def _torch_error_text(e: BaseException) -> str:
    """The part of a torch.load error that describes the file, without torch's advice to
    re-run with ``weights_only=False`` (that would run code from an untrusted file)."""
    msg = str(e)
    found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\n|$)", msg, re.S)
    if found:
        return " ".join(found.group(1).split())
    lines = [ln.strip() for ln in msg.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not _TORCH_ADVICE.search(ln)]
    return lines[0] if lines else type(e).__name__


def _read_torch(path: Path, key: str | None = None) -> Checkpoint:
    import torch

    st = os.stat(path)
    if st.st_size == 0:
        raise InputError(f"{path}: empty file, not a torch checkpoint")
    try:
        with open(path, "rb") as fh:  # a handle: any path Python can open (also non-UTF-8)
            obj = torch.load(fh, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e)
        if "unsupported global" not in msg.lower():  # e.g. "Unsupported operand": not a pickle
            raise InputError(
                f"{path}: not a readable torch checkpoint (truncated or not a checkpoint?): "
                f"{_torch_error_text(e)}"
            ) from None
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", msg)
        first = f"it holds {found.group(1)}" if found else "it holds non-tensor objects"
        raise InputError(
            f"{path}: refused: loading it would unpickle arbitrary Python objects, which can run "
            f"code ({first}). netsci_dl loads checkpoints with torch.load(weights_only=True) only. "
            "Save the weights alone instead: torch.save(model.state_dict(), 'model.pt') or "
            "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')"
        ) from None
    except MemoryError:
        raise InputError(f"{path}: declares more data than fits in memory: refused") from None
    except (InputError, OSError):
        raise
    except Exception as e:  # noqa: BLE001  (torch raises many types for a bad file)
        raise InputError(
            f"{path}: not a readable torch checkpoint (truncated or not a checkpoint?): "
            f"{_torch_error_text(e)}"
        ) from None
    if hasattr(obj, "state_dict") and not isinstance(obj, Mapping):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise InputError(
            f"{path}: holds a {type(obj).__name__}, not a state_dict (a dict of tensors)"
        )
    meta = {}
    if "netsci_dl" in obj and isinstance(obj["netsci_dl"], str):
        meta["netsci_dl"] = obj["netsci_dl"]
    try:
        tensors, nested = tensors_from_mapping(obj, source=str(path), key=key)
    except InputError as e:
        if str(e).startswith(str(path)):
            raise
        raise InputError(f"{path}: {e}") from None
    return Checkpoint(tensors, str(path), "torch", meta, nested)


def _read_safetensors(path: Path) -> Checkpoint:
    from netsci_dl._files.safetensors_safe import read_safetensors

    tensors, meta = read_safetensors(path)
    if not tensors:
        raise InputError(f"{path}: the safetensors file holds no tensors")
    return Checkpoint(tensors, str(path), "safetensors", meta)


def _read_npz(path: Path) -> Checkpoint:
    from netsci_dl._files.npz_safe import read_npz

    with open(path, "rb") as fh:  # a handle: any path Python can open (also non-UTF-8)
        tensors = read_npz(fh)
    meta = {}
    if "__netsci_dl_meta__" in tensors:
        try:
            meta["netsci_dl"] = bytes(tensors.pop("__netsci_dl_meta__")).decode()
        except UnicodeDecodeError:
            raise InputError(f"{path}: its netsci_dl metadata is not UTF-8 text") from None
    if not tensors:
        raise InputError(f"{path}: the .npz file holds no arrays")
    return Checkpoint(tensors, str(path), "npz", meta)


def read_checkpoint(path: str | os.PathLike, *, key: str | None = None) -> Checkpoint:
    """Read the named arrays of a checkpoint file without executing code from it.

    Parameters
    ----------
    path : str or path
        ``.pt``, ``.pth``, ``.bin``, ``.ckpt`` (torch), ``.safetensors`` or ``.npz``.
    key : str, optional
        For a dict checkpoint: the (dotted) key holding the weights; see
        :func:`tensors_from_mapping`.

    Returns
    -------
    Checkpoint

    Raises
    ------
    FileNotFoundError
        No such file.
    InputError
        Not a regular file (a folder, a FIFO, a device), an unknown suffix, an empty,
        truncated or non-checkpoint file, a tensor without values (``meta`` device) or of an
        unsupported dtype (float8), or a file that needs unpickling of arbitrary objects
        (refused, with what to do instead).
    """
    from netsci_dl._files.atomic import check_input_file

    p = Path(path)
    check_input_file(p, "checkpoint")  # a FIFO would block forever; a folder is not a file
    suffix = p.suffix.lower()
    if suffix in TORCH_SUFFIXES:
        return _read_torch(p, key)
    if suffix == ".safetensors":
        return _read_safetensors(p)
    if suffix == ".npz":
        return _read_npz(p)
    raise InputError(
        f"{p}: unknown checkpoint type {suffix!r}; expected one of "
        f"{', '.join(TORCH_SUFFIXES)}, .safetensors, .npz"
    )


def netsci_metadata(ckpt: Checkpoint) -> dict[str, Any]:
    """The netsci_dl entries stored with a checkpoint (empty when none)."""
    raw = ckpt.metadata.get("netsci_dl")
    if not raw:
        return {}
    try:
        out = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return out if isinstance(out, dict) else {}
