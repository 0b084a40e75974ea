"""Read checkpoint files into named numpy arrays, never executing code from the file.

- ``.pt`` / ``.pth`` / ``.bin``: ``torch.load(weights_only=True, map_location="cpu")``; a state_dict,
  or a dict holding one under a common key (``state_dict``, ``model``, ``model_state_dict``, ...).
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

__all__ = ["Checkpoint", "read_checkpoint", "tensors_from_mapping", "STATE_DICT_KEYS"]

#: keys under which training scripts commonly nest the state_dict, tried in this order
STATE_DICT_KEYS = (
    "state_dict",
    "model_state_dict",
    "model",
    "net",
    "network",
    "module",
    "weights",
    "params",
)

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


def tensors_from_mapping(
    mapping: Mapping[str, Any], *, source: str = "<mapping>"
) -> tuple[dict[str, np.ndarray], str | None]:
    """Flatten a state_dict (or a dict holding one under a common key) into numpy arrays.

    Returns the arrays and the key the state_dict was nested under (or None). The prefix
    ``module.`` that ``DataParallel`` adds is removed.
    """
    nested = None
    if not any(_to_numpy(k, v) is not None for k, v in mapping.items()):
        for key in STATE_DICT_KEYS:
            inner = mapping.get(key)
            if isinstance(inner, Mapping):
                mapping, nested = inner, key
                break
            if inner is not None and hasattr(inner, "state_dict"):
                mapping, nested = inner.state_dict(), key
                break
        else:
            keys = ", ".join(repr(k) for k in list(mapping)[:10])
            raise InputError(
                f"{source}: no tensors found at the top level nor under any of "
                f"{', '.join(STATE_DICT_KEYS)} (top-level keys: {keys or 'none'})"
            )
    out: dict[str, np.ndarray] = {}
    for k, v in mapping.items():
        arr = _to_numpy(k, v)
        if arr is None:
            continue
        name = str(k)
        if name.startswith("module."):
            name = name[len("module.") :]
        out[name] = arr
    if not out:
        raise InputError(f"{source}: the state_dict holds no tensors")
    return out, nested


def _read_torch(path: Path) -> Checkpoint:
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
    tensors, nested = tensors_from_mapping(obj, source=str(path))
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


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read the named arrays of a checkpoint file without executing code from it.

    Parameters
    ----------
    path : str or path
        ``.pt``, ``.pth``, ``.bin``, ``.ckpt`` (torch), ``.safetensors`` or ``.npz``.

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
        return _read_torch(p)
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
