"""Read checkpoint files into named numpy arrays, never executing code from the file.

- ``.pt`` / ``.pth`` / ``.bin``: ``torch.load(weights_only=True, map_location="cpu")``; a state_dict,
  or a dict holding one under any key (see :func:`tensors_from_mapping`).
- ``.safetensors``: read with ``safetensors`` (its header metadata is returned too).
- ``.npz``: ``numpy.load(allow_pickle=False)``.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import zipfile
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


def _to_numpy(name: str, value: Any) -> np.ndarray | None:
    """An array from a tensor-like value, or None for a value that is not an array."""
    if isinstance(value, np.ndarray):
        return value
    mod = type(value).__module__
    if mod.startswith("torch"):
        import torch

        if isinstance(value, torch.Tensor):
            t = value.detach().cpu()
            if t.dtype in (torch.bfloat16, torch.float16):
                t = t.float()
            return t.numpy()
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


def _read_torch(path: Path, key: str | None = None) -> Checkpoint:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e)
        if "unsupported global" not in msg.lower():  # e.g. "Unsupported operand": not a pickle
            raise InputError(
                f"{path}: not a readable torch checkpoint (truncated or not a checkpoint?): "
                f"{msg.splitlines()[0] if msg else type(e).__name__}"
            ) from e
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", msg)
        first = f"it holds {found.group(1)}" if found else "it holds non-tensor objects"
        raise InputError(
            f"{path}: refused: loading it would unpickle arbitrary Python objects, which can run "
            f"code ({first}). netsci_dl loads checkpoints with torch.load(weights_only=True) only. "
            "Save the weights alone instead: torch.save(model.state_dict(), 'model.pt') or "
            "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')"
        ) from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise InputError(
            f"{path}: not a readable torch checkpoint (truncated or not a checkpoint?): "
            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from e
    if hasattr(obj, "state_dict") and not isinstance(obj, Mapping):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise InputError(
            f"{path}: holds a {type(obj).__name__}, not a state_dict (a dict of tensors)"
        )
    meta = {}
    if "netsci_dl" in obj and isinstance(obj["netsci_dl"], str):
        meta["netsci_dl"] = obj["netsci_dl"]
    tensors, nested = tensors_from_mapping(obj, source=str(path), key=key)
    return Checkpoint(tensors, str(path), "torch", meta, nested)


def _read_safetensors(path: Path) -> Checkpoint:
    from safetensors import SafetensorError, safe_open

    try:
        tensors: dict[str, np.ndarray] = {}
        framework = "pt"
        try:
            import torch  # noqa: F401  (bf16/f16 tensors need torch to be read)
        except ImportError:
            framework = "np"
        with safe_open(str(path), framework=framework) as f:
            meta = dict(f.metadata() or {})
            for k in f.keys():  # noqa: SIM118  (safe_open has keys(), not iteration)
                arr = _to_numpy(k, f.get_tensor(k))
                tensors[k] = arr if arr is not None else np.asarray(f.get_tensor(k))
    except (SafetensorError, OSError, ValueError) as e:
        raise InputError(f"{path}: not a readable safetensors file (truncated?): {e}") from e
    if not tensors:
        raise InputError(f"{path}: the safetensors file holds no tensors")
    return Checkpoint(tensors, str(path), "safetensors", meta)


def _read_npz(path: Path) -> Checkpoint:
    try:
        with np.load(path, allow_pickle=False) as z:
            tensors = {}
            for k in z.files:
                try:
                    tensors[k] = z[k]
                except ValueError as e:  # object arrays need pickle
                    raise InputError(
                        f"{path}: entry {k!r} is an object array, which needs unpickling: "
                        "refused. Store plain numeric arrays."
                    ) from e
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise InputError(f"{path}: not a readable .npz file (truncated?): {e}") from e
    meta = {}
    if "__netsci_dl_meta__" in tensors:
        meta["netsci_dl"] = bytes(tensors.pop("__netsci_dl_meta__")).decode()
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
    ValueError
        Unknown suffix, a truncated or non-checkpoint file, or a file that needs unpickling of
        arbitrary objects (refused, with what to do instead).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a folder, not a checkpoint file")
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
