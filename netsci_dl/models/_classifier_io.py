"""Saving and loading classifiers: safetensors with JSON metadata, no code executed on load."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from netsci_dl.errors import InputError

__all__ = ["save_classifier", "load_classifier", "read_classifier_meta"]


def _state(model: Any) -> dict[str, Any]:
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def save_classifier(model: Any, path: str | os.PathLike, *, meta: dict[str, Any]) -> Path:
    """Write ``model``'s state dict to ``path`` (``.safetensors``), atomically.

    ``meta`` is stored as header metadata ``{"netsci_dl": json}``; it must hold ``arch`` (an
    :meth:`ArchConfig.to_dict`); ``model_kind="classifier"`` is added.
    """
    from safetensors.torch import save_file

    from netsci_dl._files.atomic import atomic_path

    if "arch" not in meta:
        raise InputError("save_classifier: meta must hold 'arch' (ArchConfig.to_dict())")
    p = Path(path)
    state = _state(model)
    with atomic_path(p) as tmp:
        save_file(
            state,
            str(tmp),
            # the module order: safetensors sorts its keys, netsci_dl.load reads this instead
            metadata={
                "netsci_dl": json.dumps(dict(meta, model_kind="classifier", order=list(state)))
            },
        )
    return p


def read_classifier_meta(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(metadata, state_dict)`` of a classifier file, without building the model.

    ``.safetensors``: header metadata ``{"netsci_dl": json}``. ``.pt``/``.pth``: a dict
    ``{"netsci_dl": dict or json str, "state_dict": {...}}`` read with
    ``torch.load(weights_only=True)``.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such classifier file")
    if p.suffix == ".safetensors":
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(p), framework="pt") as f:
                header = f.metadata() or {}
                state = {k: f.get_tensor(k) for k in f.keys()}
        except (SafetensorError, OSError) as e:
            raise InputError(f"{p}: not a readable safetensors file ({e})") from None
        raw = header.get("netsci_dl")
    elif p.suffix in (".pt", ".pth"):
        import torch

        try:
            obj = torch.load(str(p), map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unpickling failure is bad input
            raise InputError(
                f"{p}: cannot be read with torch.load(weights_only=True): {e}"
            ) from None
        if not isinstance(obj, dict) or "state_dict" not in obj:
            raise InputError(f"{p}: expected a dict with 'netsci_dl' and 'state_dict' entries")
        raw, state = obj.get("netsci_dl"), dict(obj["state_dict"])
    else:
        raise InputError(f"{p}: expected a .safetensors, .pt or .pth classifier file")
    try:
        meta = raw if isinstance(raw, dict) else json.loads(raw) if raw else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or meta.get("model_kind") != "classifier" or "arch" not in meta:
        raise InputError(
            f"{p}: not a netsci_dl classifier (its metadata has no model_kind='classifier' and "
            "arch); write it with train_classifier or save_classifier"
        )
    return meta, state


def load_classifier(path: str | os.PathLike, *, device: Any = "cpu") -> Any:
    """The classifier saved in ``path`` (a snapshot or ``model.safetensors``), in eval mode.

    The architecture is rebuilt from the file's metadata and the state dict loaded strictly (no
    missing or unexpected tensor); nothing in the file is executed. The model's dtype is the
    file's. ``device`` defaults to the CPU; ``"auto"`` or None: CUDA when present, else the CPU.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from netsci_dl.models.classifier import ArchConfig, build_classifier, save_classifier
    >>> a = ArchConfig("mlp", (4,), 3, hidden=(5,))
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
    >>> _ = save_classifier(build_classifier(a), p, meta={"arch": a.to_dict()})
    >>> load_classifier(p).arch_config == a
    True
    """
    from netsci_dl.models._archs import ArchConfig, build_classifier_model

    meta, state = read_classifier_meta(path)
    arch = ArchConfig.from_dict(meta["arch"])
    floats = [v for v in state.values() if v.is_floating_point()]
    dtype = str(floats[0].dtype).removeprefix("torch.") if floats else "float32"
    if dtype not in ("float32", "float64"):
        raise InputError(f"{path}: tensors of dtype {dtype}; expected float32 or float64")
    model = build_classifier_model(arch, device="cpu", dtype=dtype)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise InputError(
            f"{path}: its tensors do not match the {arch.kind} it describes: {e}"
        ) from None
    from netsci_dl._array import resolve_device

    model = model.to(resolve_device(device))
    model.eval()
    return model
