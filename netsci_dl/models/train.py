"""Training a DBN: configuration, the greedy fit loop, history, snapshots and resume.

Run folder
----------
:func:`train_dbn` writes into ``RUN_DIR``::

    config.json              TrainConfig.to_dict() plus {"data": name, "image_shape": [...]}
    model.safetensors        the final DBN (rbm.{i}.weights / visible_bias / hidden_bias)
    history.json             TrainHistory.to_dict(): one record per (layer, epoch)
    snapshots/
      step00000_layer0_epoch0000.safetensors     full DBN state before any learning (epoch 0)
      step00000_layer0_epoch0000.json            its info sidecar
      step00000_layer0_epoch0000.state.safetensors   training state for resume (not a model)
      step00005_layer0_epoch0005.safetensors     ...

Snapshot format (relied upon by the analyses over training)
-----------------------------------------------------------
- Taken at step 0 (before any learning), every ``snapshot_every`` epochs of each RBM, and at the
  last epoch of each RBM (always). Names are ``step{S:05d}_layer{L}_epoch{E:04d}``, so sorting
  by name is sorting by step.
- ``layer`` L: index of the RBM being trained (0 = the bottom RBM, visible -> h1); ``epoch`` E:
  epochs completed on that RBM; ``step`` S: epochs completed in total over all RBMs
  (``sum(epochs[:L]) + E``). The snapshot after the last epoch of RBM L is ``(L, epochs[L])``.
- ``*.safetensors``: a full DBN in the ``rbm.{i}.weights`` ``(n_visible, n_hidden)`` /
  ``rbm.{i}.visible_bias`` / ``rbm.{i}.hidden_bias`` layout, for every i: RBMs below L trained,
  RBM L at epoch E, RBMs above L at their initial (epoch-0) values; tensors in the training dtype.
  Header metadata ``{"netsci_dl": json}`` with ``model_kind="dbn"``, ``image_shape``, ``layers``,
  ``layer``, ``epoch``, ``step``, ``config``. ``netsci_dl.load(path)`` gives its LayeredGraph;
  ``DBN.load(path)`` the model.
- ``*.json`` sidecar: ``{"format": 1, "file": name, "layer", "epoch", "step", "layers",
  "epochs", "recon_error" (null at epoch 0), "elapsed_s", "image_shape"}``.
- ``*.state.safetensors``: momentum buffers and persistent chains of RBM L, the generator state
  of every RBM (which fixes the data order and all samples), the history so far. Resume reads
  the last one.

Use :func:`list_snapshots` rather than globbing.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.models.config import TrainConfig, TrainHistory
from netsci_dl.runs import SNAPSHOT_DIR, list_snapshots
from netsci_dl.runs import snapshot_stem as _stem

__all__ = ["TrainConfig", "TrainHistory", "fit_dbn", "train_dbn", "list_snapshots", "SNAPSHOT_DIR"]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- snapshots
def _write_snapshot(
    dbn: Any,
    folder: Path,
    *,
    layer: int,
    epoch: int,
    step: int,
    info: dict,
    state: dict,
    history: list,
) -> None:
    from safetensors.torch import save_file

    from netsci_dl.io._atomic import atomic_path

    stem = _stem(step, layer, epoch)
    model = folder / f"{stem}.safetensors"
    meta = dbn.metadata(layer=layer, epoch=epoch, step=step)
    tensors = dict(state)
    with atomic_path(folder / f"{stem}.state.safetensors") as tmp:
        save_file(
            tensors,
            str(tmp),
            metadata={
                "history": json.dumps(history),
                "layer": str(layer),
                "epoch": str(epoch),
                "step": str(step),
            },
        )
    with atomic_path(model) as tmp:
        save_file(dbn.state_dict(), str(tmp), metadata={"netsci_dl": json.dumps(meta)})
    # the sidecar last: it marks the snapshot complete
    with atomic_path(folder / f"{stem}.json") as tmp:
        tmp.write_text(json.dumps(dict(info, file=model.name), indent=2) + "\n")


def _train_state(dbn: Any, layer: int) -> dict[str, Any]:
    st = {}
    for i, r in enumerate(dbn.rbms_):
        s = r.train_state()
        st[f"rbm.{i}.generator"] = s["generator"]
        if i == layer:
            st.update({f"rbm.{i}.{k}": v for k, v in s.items() if k != "generator"})
    return st


def _restore(dbn: Any, model_path: Path) -> tuple[int, int, list]:
    from safetensors import safe_open

    state_path = model_path.with_name(model_path.name.replace(".safetensors", ".state.safetensors"))
    if not state_path.exists():
        raise InputError(f"cannot resume: {state_path.name} (training state) is missing")
    with safe_open(str(model_path), framework="pt") as f:
        params = {k: f.get_tensor(k) for k in f.keys()}
    with safe_open(str(state_path), framework="pt") as f:
        meta = f.metadata()
        state = {k: f.get_tensor(k) for k in f.keys()}
    layer, epoch = int(meta["layer"]), int(meta["epoch"])
    for i, r in enumerate(dbn.rbms_):
        r.set_parameters(
            params[f"rbm.{i}.weights"],
            params[f"rbm.{i}.visible_bias"],
            params[f"rbm.{i}.hidden_bias"],
        )
        own = {k.split(".", 2)[2]: v for k, v in state.items() if k.startswith(f"rbm.{i}.")}
        if i == layer:
            r.load_train_state(own)
        else:
            r.generator_.set_state(own["generator"])
    return layer, epoch, json.loads(meta["history"])


def fit_dbn(
    dbn: Any,
    X: Any,
    *,
    run_dir: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    callback: Callable[[dict], Any] | None = None,
    quiet: bool = False,
) -> TrainHistory:
    """Train ``dbn`` greedily on ``X``; snapshots and resume when ``run_dir`` is given.

    Parameters
    ----------
    dbn : DBN
    X : (n_samples, layers[0]) array or tensor, values in [0, 1] (Bernoulli visible)
    run_dir : folder, optional
        Snapshots go to ``run_dir/snapshots`` (see the module docstring).
    resume : bool
        Continue from the last snapshot in ``run_dir`` (a fresh start when there is none). The
        result equals an uninterrupted run with the same configuration.
    force : bool
        Delete existing snapshots in ``run_dir`` and start afresh (otherwise they are an error).
    callback : callable, optional
        Called with each epoch's record (after its snapshot); an exception stops training.
    quiet : bool
        No progress bar (it is also off when stderr is not a terminal).

    Returns
    -------
    TrainHistory
    """
    from tqdm.auto import tqdm

    cfg = dbn.config
    if np.ndim(X) != 2 or np.shape(X)[1] != cfg.layers[0]:
        raise InputError(
            f"X has shape {tuple(np.shape(X))}; the DBN's visible layer has {cfg.layers[0]} units"
        )
    dbn.initialize()
    epochs = cfg.epochs_per_layer()
    folder = None
    records: list[dict] = []
    start_layer, start_epoch = 0, 0
    if run_dir is not None:
        folder = Path(run_dir) / SNAPSHOT_DIR
        folder.mkdir(parents=True, exist_ok=True)
        snaps = list_snapshots(run_dir)
        if snaps and resume:
            path, info = snaps[-1]
            start_layer, start_epoch, records = _restore(dbn, path)
            log.info("resuming from %s (layer %d, epoch %d)", path.name, start_layer, start_epoch)
        elif snaps or any(folder.iterdir()):
            if not force:
                raise FileExistsError(
                    f"{folder} already holds snapshots; pass resume=True or force=True (CLI: --resume / --force)"
                )
            for p in folder.glob("step*_layer*_epoch*.*"):
                p.unlink()
    t_start = time.perf_counter()
    base = [sum(epochs[:i]) for i in range(len(epochs))]

    def snapshot(layer: int, epoch: int, err: float | None) -> None:
        step = base[layer] + epoch
        info = {
            "format": 1,
            "layer": layer,
            "epoch": epoch,
            "step": step,
            "layers": list(cfg.layers),
            "epochs": list(epochs),
            "recon_error": err,
            "elapsed_s": time.perf_counter() - t_start,
            "image_shape": list(dbn.image_shape) if dbn.image_shape else None,
        }
        _write_snapshot(
            dbn,
            folder,
            layer=layer,
            epoch=epoch,
            step=step,
            info=info,
            state=_train_state(dbn, layer),
            history=records,
        )

    if folder is not None and not records and start_layer == 0 and start_epoch == 0:
        snapshot(0, 0, None)
    if start_layer < len(epochs) and start_epoch >= epochs[start_layer]:
        start_layer, start_epoch = start_layer + 1, 0
    bar = tqdm(
        total=sum(epochs),
        initial=base[start_layer] + start_epoch if start_layer < len(epochs) else sum(epochs),
        disable=quiet or not sys.stderr.isatty(),
        desc="DBN",
        unit="epoch",
    )
    first = dbn.rbms_[0]
    data = first._as_tensor(X)
    try:
        for layer in range(len(epochs)):
            if layer > 0:
                data = dbn.rbms_[layer - 1].transform(data)
            if layer < start_layer:
                continue
            rbm = dbn.rbms_[layer]
            for epoch in range(start_epoch + 1 if layer == start_layer else 1, epochs[layer] + 1):
                t0 = time.perf_counter()
                err = rbm.fit_epoch(data)
                rec = {
                    "layer": layer,
                    "epoch": epoch,
                    "step": base[layer] + epoch,
                    "recon_error": err,
                    "seconds": time.perf_counter() - t0,
                }
                records.append(rec)
                bar.update(1)
                bar.set_postfix(layer=layer, epoch=epoch, recon=f"{err:.4f}")
                if folder is not None and (
                    epoch == epochs[layer]
                    or (cfg.snapshot_every and epoch % cfg.snapshot_every == 0)
                ):
                    snapshot(layer, epoch, err)
                if callback is not None:
                    callback(dict(rec))
    finally:
        bar.close()
    return TrainHistory(tuple(records))


def train_dbn(
    data: Any,
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    force: bool = False,
    quiet: bool = False,
    callback: Callable[[dict], Any] | None = None,
) -> tuple[Any, TrainHistory]:
    """Train a DBN on a :class:`~netsci_dl.datasets.Dataset` and write the run folder.

    Writes ``config.json`` first, snapshots during training, then ``model.safetensors`` and
    ``history.json`` (see the module docstring). With ``resume`` the saved ``config.json`` must
    match ``config`` (the device may differ).

    Returns
    -------
    (DBN, TrainHistory)
    """
    from netsci_dl._array import resolve_device
    from netsci_dl.io._atomic import atomic_path
    from netsci_dl.models.dbn import DBN
    from netsci_dl.models.rbm import resolve_dtype

    resolve_device(config.device)  # fail before anything is written
    resolve_dtype(config.dtype)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    cfg_path, model_path, hist_path = (
        run / "config.json",
        run / "model.safetensors",
        run / "history.json",
    )
    doc = {
        "config": config.to_dict(),
        "data": getattr(data, "name", None),
        "image_shape": list(getattr(data, "image_shape", ()) or []) or None,
    }
    if resume and cfg_path.exists():
        old = json.loads(cfg_path.read_text())
        a = dict(old.get("config", {}), device=None)
        b = dict(doc["config"], device=None)
        if a != b or old.get("data") != doc["data"]:
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            raise InputError(
                f"--resume: {cfg_path} differs from this run's configuration in {diff or ['data']}"
            )
    elif not resume and not force:
        for p in (cfg_path, model_path, hist_path):
            if p.exists():
                raise FileExistsError(
                    f"{p} exists; pass resume=True or force=True (CLI: --resume / --force)"
                )
    with atomic_path(cfg_path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
    X = getattr(data, "X", data)
    dbn = DBN(config=config, image_shape=getattr(data, "image_shape", None))
    dbn.history_ = fit_dbn(
        dbn,
        X,
        run_dir=run,
        resume=resume,
        force=force or not resume,
        callback=callback,
        quiet=quiet,
    )
    dbn.save(model_path, force=True, data=doc["data"])
    with atomic_path(hist_path) as tmp:
        tmp.write_text(json.dumps(dbn.history_.to_dict(), indent=2) + "\n")
    return dbn, dbn.history_
