"""The MLP trainer's checks and resume (private to :mod:`netsci_dl.models.mlp`).

Everything here reads or checks what a user passed (arrays, a run folder, a snapshot) and
raises :class:`~netsci_dl.errors.InputError` naming it; nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.runs.format import TRAIN_ACCURACY, TRAIN_LOSS, list_snapshots, upgrade_record
from netsci_dl.runs.format import snapshot_stem as _stem

__all__ = ["train_state", "check_xy", "restore", "check_resume_config"]


def train_state(opt: Any, gen: Any) -> dict[str, Any]:
    st = {"generator": gen.get_state().clone()}
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, p in enumerate(params):
        buf = opt.state.get(p, {}).get("momentum_buffer")
        if buf is not None:
            st[f"opt.{i}.momentum_buffer"] = buf.detach().cpu().clone().contiguous()
    return st


def check_xy(X: Any, y: Any, cfg: Any) -> tuple[np.ndarray, np.ndarray]:
    from netsci_dl._array import to_numpy

    try:
        Xa, ya = np.asarray(to_numpy(X)), np.asarray(to_numpy(y))
    except (TypeError, ValueError) as e:
        raise InputError(f"X and y must be arrays of numbers ({e})") from None
    if Xa.dtype.kind not in "biuf" or ya.dtype.kind not in "biuf":
        raise InputError(f"X ({Xa.dtype}) and y ({ya.dtype}) must hold numbers")
    if Xa.ndim != 2 or Xa.shape[1] != cfg.layers[0]:
        raise InputError(f"X has shape {Xa.shape}; the MLP's input layer has {cfg.layers[0]} units")
    if Xa.shape[0] == 0:
        raise InputError("X has no rows: nothing to train on")
    if not np.isfinite(Xa).all():
        raise InputError("X contains NaN or Inf")
    ya = ya.reshape(-1)
    if ya.shape[0] != Xa.shape[0]:
        raise InputError(f"y has {ya.shape[0]} labels for {Xa.shape[0]} samples")
    if ya.dtype.kind == "f" and (not np.isfinite(ya).all() or not (ya == np.round(ya)).all()):
        raise InputError("y must hold whole class numbers (found NaN, Inf or fractions)")
    if ya.min() < 0 or ya.max() >= cfg.layers[-1]:
        raise InputError(
            f"y must hold class labels in [0, {cfg.layers[-1]}), got [{ya.min()}, {ya.max()}]"
        )
    if Xa.dtype.kind == "f" and np.abs(Xa).max() > np.finfo(np.float32).max:
        raise InputError("X holds values too large for float32")
    return Xa.astype(np.float32), ya.astype(np.int64)


def restore(net: Any, opt: Any, gen: Any, run: Path, cfg: Any) -> tuple[int, list[dict[str, Any]]]:
    """Load the last snapshot of ``run`` into ``net``/``opt``/``gen``; checked first, InputError."""
    import torch

    from netsci_dl.models._checks import read_safetensors, regular_file
    from netsci_dl.models._resume import state_path

    path, info = list_snapshots(run)[-1]
    sp = state_path(path)
    regular_file(sp, what="cannot resume: the training state")
    params, _ = read_safetensors(path, what="snapshot")
    state, meta = read_safetensors(sp, what="training state")
    where = str(sp)
    try:
        epoch = int(meta["epoch"])
        history = json.loads(meta["history"])
    except (KeyError, ValueError):
        raise InputError(f"{where}: its metadata lacks a valid epoch or history") from None
    if (
        not 0 <= epoch <= cfg.epochs
        or info.get("epoch") != epoch
        or path.name != (_stem(epoch, 0, epoch) + ".safetensors")
    ):
        raise InputError(
            f"{where}: names epoch {epoch}; the run has epochs 0..{cfg.epochs} and the snapshot "
            f"is {path.name}"
        )
    if isinstance(history, list):  # a run written before 0.3: "loss" / "accuracy"
        history = [upgrade_record(r) if isinstance(r, dict) else r for r in history]
    keys = ("epoch", "step", TRAIN_LOSS, TRAIN_ACCURACY, "seconds")
    if (
        not isinstance(history, list)
        or len(history) != epoch + 1
        or not all(isinstance(r, dict) and all(k in r for k in keys) for r in history)
        or [r["epoch"] for r in history] != list(range(epoch + 1))
    ):
        raise InputError(f"{where}: its training history does not match epoch {epoch}")
    want = net.state_dict()
    if set(params) != set(want):
        raise InputError(f"{path}: its tensors {sorted(params)} are not this MLP's {sorted(want)}")
    for k, v in params.items():
        if tuple(v.shape) != tuple(want[k].shape) or not v.dtype.is_floating_point:
            raise InputError(
                f"{path}: {k} is {v.dtype} {tuple(v.shape)}; expected {tuple(want[k].shape)}"
            )
        if not bool(torch.isfinite(v).all()):
            raise InputError(f"{path}: {k} contains NaN or Inf")
    plist = [p for g in opt.param_groups for p in g["params"]]
    bufs = {}
    for k, v in state.items():
        if k == "generator":
            continue
        parts = k.split(".")
        ok = len(parts) == 3 and parts[0] == "opt" and parts[2] == "momentum_buffer"
        ok = ok and parts[1].isdigit() and int(parts[1]) < len(plist)
        if not ok or tuple(v.shape) != tuple(plist[int(parts[1])].shape):
            raise InputError(f"{where}: unexpected entry {k!r} {tuple(v.shape)}")
        if not bool(torch.isfinite(v).all()):
            raise InputError(f"{where}: {k} contains NaN or Inf")
        bufs[int(parts[1])] = v
    if cfg.momentum > 0 and epoch > 0 and len(bufs) != len(plist):
        raise InputError(f"{where}: momentum buffers are missing (incomplete snapshot)")
    g = state.get("generator")
    if not isinstance(g, torch.Tensor) or g.dtype != torch.uint8 or g.ndim != 1:
        raise InputError(f"{where}: 'generator' is missing or not a generator state")
    try:
        gen.set_state(g)
    except RuntimeError:
        raise InputError(f"{where}: the generator state is corrupt") from None
    net.load_state_dict(params)
    for i, v in bufs.items():
        opt.state[plist[i]]["momentum_buffer"] = v.to(plist[i].device).clone()
    return epoch, history


def check_resume_config(run: Path, doc: dict[str, Any]) -> None:
    from netsci_dl.models._resume import read_run_config

    path = run / "config.json"
    if not path.exists():
        raise InputError(f"resume: {run} holds snapshots but no config.json: not a run to continue")
    old = read_run_config(path)
    a, b = dict(old["config"]), dict(doc["config"])
    a.pop("device", None), b.pop("device", None)
    if a != b or old.get("data") != doc["data"] or old.get("model_kind") != "mlp":
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        raise InputError(
            f"resume: {path} differs from this run's configuration in {diff or ['data']}"
        )
