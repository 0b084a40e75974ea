"""A runnable model from a checkpoint or a run-folder snapshot written by netsci_dl's trainers.

Dispatch is on ``model_kind`` in the safetensors header metadata (key ``"netsci_dl"``, a JSON
object), else in the run folder's ``config.json``, else on the tensor names:

==============  ===========================================================================
``dbn``         :meth:`netsci_dl.models.dbn.DBN.load` (``rbm.{i}.weights`` ... tensors)
``mlp``         the sigmoid MLP of :func:`netsci_dl.models.mlp.build_mlp`, rebuilt from the
                layer sizes and loaded strictly (``0.weight``, ``0.bias``, ``2.weight``, ...)
``classifier``  :func:`netsci_dl.models.classifier.load_classifier`
==============  ===========================================================================
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from netsci_dl.errors import InputError

__all__ = ["load_model", "model_kind", "MODEL_KINDS"]

#: the model kinds :func:`load_model` rebuilds (the table above)
MODEL_KINDS = ("dbn", "mlp", "classifier")


def _resolve(path: str | os.PathLike) -> Path:
    """The model file: ``path`` itself, or ``model.safetensors`` of a run folder."""
    p = Path(path)
    if p.is_dir():
        f = p / "model.safetensors"
        if not f.is_file():
            raise FileNotFoundError(
                f"{p}: a folder without model.safetensors (pass a snapshot file from "
                f"{p}/snapshots/ instead)"
            )
        return f
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such checkpoint")
    if p.suffix != ".safetensors":
        raise InputError(
            f"{p}: load_model reads the .safetensors files written by netsci_dl's trainers "
            "(a model.safetensors, a snapshot, or a run folder)"
        )
    return p


def _header(p: Path) -> tuple[dict[str, Any], list[str]]:
    from safetensors import safe_open

    try:
        with safe_open(str(p), framework="pt") as f:
            raw = (f.metadata() or {}).get("netsci_dl")
            keys = list(f.keys())
    except Exception as e:  # safetensors raises its own error types for a damaged file
        raise InputError(f"{p}: not a readable safetensors file ({e})") from e
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        raise InputError(f"{p}: the 'netsci_dl' metadata is not valid JSON") from None
    return (meta if isinstance(meta, dict) else {}), keys


def _config_kind(p: Path) -> str | None:
    """``model_kind`` of the run folder holding ``p`` (its config.json), if any."""
    from netsci_dl.runs.format import read_run_config

    for folder in (p.parent, p.parent.parent):
        doc = read_run_config(folder)  # InputError naming the file and key when broken
        if doc is not None:
            kind = doc.get("model_kind")
            return str(kind) if kind else None
    return None


def model_kind(path: str | os.PathLike) -> str:
    """The ``model_kind`` of a checkpoint, snapshot or run folder (see the module docstring).

    Examples
    --------
    >>> model_kind("/nonexistent.safetensors")
    Traceback (most recent call last):
    ...
    FileNotFoundError: /nonexistent.safetensors: no such checkpoint
    """
    p = _resolve(path)
    meta, keys = _header(p)
    kind = meta.get("model_kind") or _config_kind(p)
    if not kind:
        if any(k.startswith("rbm.") for k in keys):
            kind = "dbn"
        else:
            raise InputError(
                f"{p}: no model_kind in its metadata or run folder; cannot tell which model it "
                f"holds (known kinds: {sorted(MODEL_KINDS)})"
            )
    return str(kind)


def _load_mlp(path: Path, meta: dict[str, Any], device: Any) -> Any:
    from safetensors.torch import load_file

    from netsci_dl.models.mlp import build_mlp

    state = load_file(str(path))
    layers = meta.get("layers")
    if not layers:
        ws = sorted((int(k.split(".")[0]), v) for k, v in state.items() if k.endswith(".weight"))
        if not ws:
            raise InputError(f"{path}: no '<i>.weight' tensors for an MLP")
        layers = [int(ws[0][1].shape[1])] + [int(w.shape[0]) for _, w in ws]
    net = build_mlp(tuple(int(v) for v in layers), device="cpu")
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise InputError(
            f"{path}: tensors do not fit an MLP with layers {list(layers)}: {e}"
        ) from e
    return net.to(device)


def load_model(path: str | os.PathLike, *, device: Any = "cpu") -> Any:
    """A runnable model from a netsci_dl checkpoint, snapshot or run folder.

    Parameters
    ----------
    path : file or folder
        A ``.safetensors`` file written by a netsci_dl trainer (``model.safetensors`` or a
        snapshot), or a run folder (its final ``model.safetensors``).
    device : torch device, "auto" or None
        Where the parameters go (default the CPU); ``"auto"`` or None: CUDA when present, else
        the CPU (:func:`netsci_dl._array.resolve_device`).

    Returns
    -------
    DBN or torch.nn.Module
        ``dbn`` -> :class:`~netsci_dl.models.dbn.DBN`; ``mlp`` -> ``nn.Sequential`` in eval mode;
        ``classifier`` -> what ``netsci_dl.models.classifier.load_classifier`` returns.

    Raises
    ------
    InputError
        Unknown ``model_kind``, or a kind whose loader is not installed.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from netsci_dl.models.dbn import DBN
    >>> X = (np.random.default_rng(0).random((20, 6)) < 0.5).astype(np.float32)
    >>> d = tempfile.mkdtemp()
    >>> _ = DBN((6, 4), epochs=1, batch_size=10).fit(X, progress=False).save(os.path.join(d, "m.safetensors"))
    >>> load_model(os.path.join(d, "m.safetensors")).layers
    (6, 4)
    """
    from netsci_dl._array import resolve_device

    device = resolve_device(device)
    p = _resolve(path)
    meta, _ = _header(p)
    kind = model_kind(p)
    if kind == "dbn":
        from netsci_dl.models.dbn import DBN

        return DBN.load(p, device=device)
    if kind == "mlp":
        net = _load_mlp(p, meta, device)
        net.eval()
        return net
    if kind != "classifier":
        raise InputError(f"{p}: unknown model_kind {kind!r}; known kinds: {sorted(MODEL_KINDS)}")
    from netsci_dl.models.classifier import load_classifier

    return load_classifier(str(p), device=device)
