"""Reading a DBN run back for ``resume``: every check before any state is used.

A snapshot to resume from is three files (see :mod:`netsci_dl.models.train`): the model, its
JSON sidecar and the ``.state.safetensors`` training state. :func:`restore_dbn` reads them through
:func:`~netsci_dl.models._checks.read_safetensors` and refuses, with one
:class:`~netsci_dl.errors.InputError` naming the file, anything that is empty, truncated,
incomplete (a missing tensor or key), inconsistent (layer, epoch or step that disagree between
the three files, or lie outside the run), non-finite, or from another configuration.

Devices: a generator's state belongs to its device type (a CPU generator has a 5,056-byte
Mersenne-Twister state, a CUDA one a 16-byte Philox seed and offset), and the same state draws
different numbers on another device anyway. A run resumed on another device type therefore
continues with generators reseeded from ``(seed, step)`` (deterministic, but not the numbers the
uninterrupted run would have drawn) and says so in a warning.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.models._checks import read_safetensors, regular_file

__all__ = ["restore_dbn", "state_path", "generator_device", "read_run_config"]

_CPU_STATE_BYTES = 5056
_CUDA_STATE_BYTES = 16
_RECORD_KEYS = ("layer", "epoch", "step", "recon_error", "seconds")


def state_path(model_path: Path) -> Path:
    """The training-state file beside a snapshot: ``stem.state.safetensors``."""
    return model_path.with_name(model_path.name.removesuffix(".safetensors") + ".state.safetensors")


def generator_device(state: Any, meta: dict[str, str]) -> str | None:
    """The device type a saved generator state belongs to (metadata, else its size), or None."""
    dev = meta.get("device")
    if dev is not None:
        return dev
    n = int(state.numel())
    return {_CPU_STATE_BYTES: "cpu", _CUDA_STATE_BYTES: "cuda"}.get(n)


def _int(meta: dict[str, str], key: str, where: str) -> int:
    try:
        return int(meta[key])
    except KeyError:
        raise InputError(f"{where}: its metadata lacks {key!r} (incomplete snapshot)") from None
    except ValueError:
        raise InputError(f"{where}: its metadata {key}={meta[key]!r} is not an integer") from None


def _history(text: str | None, step: int, where: str) -> list[dict]:
    try:
        hist = json.loads(text) if text is not None else None
    except ValueError:
        hist = None
    if not isinstance(hist, list):
        raise InputError(f"{where}: its training history is missing or not a JSON list")
    for i, r in enumerate(hist):
        ok = isinstance(r, dict) and all(k in r for k in _RECORD_KEYS)
        ok = ok and r["step"] == i + 1
        ok = ok and isinstance(r["recon_error"], (int, float)) and math.isfinite(r["recon_error"])
        if not ok:
            raise InputError(f"{where}: record {i} of its training history is not valid")
    if len(hist) != step:
        raise InputError(f"{where}: its history has {len(hist)} records for step {step}")
    return hist


def _comparable(cfg: dict[str, Any]) -> dict[str, Any]:
    from netsci_dl.models.config import TrainConfig

    d = TrainConfig.from_dict(cfg).to_dict()
    d.pop("device")
    return d


def restore_dbn(dbn: Any, model_path: Path, info: dict[str, Any]) -> tuple[int, int, list[dict]]:
    """Load the snapshot ``model_path`` (sidecar ``info``) into the initialised ``dbn``.

    Returns ``(layer, epoch, history records)``. Raises InputError for anything wrong (see the
    module docstring); warns when the run resumes on another device type.
    """
    import torch

    from netsci_dl.models.dbn import _json_meta
    from netsci_dl.runs.format import snapshot_stem

    cfg = dbn.config
    epochs = cfg.epochs_per_layer()
    n = len(dbn.rbms_)
    sp = state_path(model_path)
    regular_file(sp, what="cannot resume: the training state")
    params, pmeta = read_safetensors(model_path, what="snapshot")
    state, meta = read_safetensors(sp, what="training state")
    where = str(sp)
    layer, epoch, step = (_int(meta, k, where) for k in ("layer", "epoch", "step"))
    if not 0 <= layer < n:
        raise InputError(f"{where}: names layer {layer}; this DBN has RBMs 0..{n - 1}")
    if not 0 <= epoch <= epochs[layer]:
        raise InputError(f"{where}: names epoch {epoch}; RBM {layer} trains {epochs[layer]} epochs")
    if step != sum(epochs[:layer]) + epoch:
        raise InputError(f"{where}: step {step} does not match layer {layer}, epoch {epoch}")
    if model_path.name != snapshot_stem(step, layer, epoch) + ".safetensors" or (
        info.get("layer"),
        info.get("epoch"),
        info.get("step"),
    ) != (layer, epoch, step):
        raise InputError(
            f"{where}: layer/epoch/step ({layer}, {epoch}, {step}) disagree with the snapshot's "
            f"name or sidecar"
        )
    records = _history(meta.get("history"), step, where)
    snap_cfg = _json_meta(pmeta.get("netsci_dl"), str(model_path)).get("config")
    if not isinstance(snap_cfg, dict):
        raise InputError(f"{model_path}: no training configuration in its metadata: not a snapshot")
    try:
        same = _comparable(snap_cfg) == _comparable(cfg.to_dict())
    except (InputError, TypeError) as e:
        raise InputError(f"{model_path}: its training configuration is not valid ({e})") from None
    if not same:
        raise InputError(
            f"{model_path}: the snapshot was trained with another configuration than this run's"
        )
    # parameters and training state, all checked before the generators are touched
    saved_dev = None
    for i, r in enumerate(dbn.rbms_):
        try:
            r.set_parameters(
                *(params[f"rbm.{i}.{k}"] for k in ("weights", "visible_bias", "hidden_bias"))
            )
        except KeyError as e:
            raise InputError(
                f"{model_path}: tensor {e.args[0]!r} is missing (incomplete snapshot)"
            ) from None
        except InputError as e:
            raise InputError(f"{model_path}: RBM {i}: {e}") from None
        g = state.get(f"rbm.{i}.generator")
        if not isinstance(g, torch.Tensor) or g.dtype != torch.uint8 or g.ndim != 1:
            raise InputError(f"{where}: 'rbm.{i}.generator' is missing or not a generator state")
        dev_i = generator_device(g, meta)
        if dev_i is None or (saved_dev is not None and dev_i != saved_dev):
            raise InputError(f"{where}: the generator state of RBM {i} is corrupt")
        saved_dev = dev_i
    own = {k.split(".", 2)[2]: v for k, v in state.items() if k.startswith(f"rbm.{layer}.")}
    here = dbn.rbms_[0].generator_.device.type
    moved = saved_dev != here
    if moved:
        own.pop("generator")
    dbn.rbms_[layer].load_train_state(own, where=f"{where} (RBM {layer})")
    if dbn.rbms_[layer].epochs_done_ != epoch:
        raise InputError(f"{where}: epochs_done {dbn.rbms_[layer].epochs_done_} != epoch {epoch}")
    for i, r in enumerate(dbn.rbms_):
        if moved:
            s = np.random.SeedSequence([int(r.seed_), 2, step]).generate_state(1)[0]
            r.generator_.manual_seed(int(s))
        elif i != layer:
            try:
                r.generator_.set_state(state[f"rbm.{i}.generator"])
            except RuntimeError:
                raise InputError(f"{where}: the generator state of RBM {i} is corrupt") from None
    if moved:
        warnings.warn(
            f"resuming on {here} a run trained on {saved_dev}: random numbers cannot be carried "
            f"across device types, so training continues with generators reseeded from (seed, "
            f"step {step}); the result is reproducible but differs from an uninterrupted run",
            RuntimeWarning,
            stacklevel=3,
        )
    return layer, epoch, records


def read_run_config(path: Path) -> dict[str, Any]:
    """``config.json`` of a run folder as a dict (``config``, ``data``, ...), or an InputError."""
    p = regular_file(path, what="run configuration")
    try:
        doc = json.loads(p.read_text())
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"{p} is not valid JSON: not a run folder of netsci_dl") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise InputError(f"{p} holds no training configuration: not a run folder of netsci_dl")
    return doc
