"""Training a DBN: configuration, the greedy fit loop, history, snapshots and resume.

Run folder
----------
:func:`train_dbn` checks every argument, the data and the folder first (nothing is created for
a bad one), then writes into ``RUN_DIR``::

    config.json              TrainConfig.to_dict() plus {"data": spec, "image_shape": [...]}
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
  "epochs", "recon_error" (null at epoch 0), "elapsed_s", "image_shape", "sparsity_rule"}``
  (``recon_error``: see :class:`TrainHistory`; ``sparsity_rule`` is absent in older runs).
- ``*.state.safetensors``: momentum buffers and persistent chains of RBM L, the generator state
  of every RBM (which fixes the data order and all samples), the history so far; header
  metadata ``layer``, ``epoch``, ``step``, ``history`` (JSON) and ``device`` (the generators'
  device type; absent in older runs). Resume reads the last one, checks all three files first
  (:mod:`netsci_dl.models._resume`) and refuses a broken one with an InputError; on another
  device type it continues with reseeded generators (a warning says so).

Use :func:`list_snapshots` rather than globbing.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.models.config import TrainConfig, TrainHistory
from netsci_dl.runs.format import RECON_ERROR, SNAPSHOT_DIR, list_snapshots
from netsci_dl.runs.format import snapshot_stem as _stem

__all__ = ["TrainConfig", "TrainHistory", "fit_dbn", "train_dbn", "list_snapshots", "SNAPSHOT_DIR"]

log = logging.getLogger(__name__)

_OUTPUTS = ("config.json", "model.safetensors", "history.json")
_SNAPSHOT_GLOB = "step*_layer*_epoch*.*"


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

    from netsci_dl._files.atomic import atomic_path

    stem = _stem(step, layer, epoch)
    model = folder / f"{stem}.safetensors"
    meta = dbn.metadata(layer=layer, epoch=epoch, step=step)
    with atomic_path(folder / f"{stem}.state.safetensors") as tmp:
        save_file(
            dict(state),
            str(tmp),
            metadata={
                "history": json.dumps(history),
                "layer": str(layer),
                "epoch": str(epoch),
                "step": str(step),
                "device": dbn.rbms_[0].generator_.device.type,
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


def _stale(folder: Path) -> list[Path]:
    """This trainer's snapshot files in ``folder`` (complete or not); nothing else."""
    return sorted(folder.glob(_SNAPSHOT_GLOB)) if folder.is_dir() else []


def _check_data(X: Any, cfg: TrainConfig) -> None:
    """The training data: 2-D, ``layers[0]`` columns, finite, in [0, 1] for Bernoulli units."""
    from netsci_dl._array import to_numpy

    try:
        a = np.asarray(to_numpy(X))
    except (TypeError, ValueError) as e:
        raise InputError(f"the training data is not an array of numbers ({e})") from None
    if a.ndim != 2 or a.shape[1] != cfg.layers[0]:
        raise InputError(
            f"X has shape {tuple(a.shape)}; the DBN's visible layer has {cfg.layers[0]} units"
        )
    if a.shape[0] == 0:
        raise InputError("X has no rows: nothing to train on")
    if a.dtype.kind not in "biuf":
        raise InputError(f"X has dtype {a.dtype}; expected numbers")
    if not np.isfinite(a).all():
        raise InputError("X contains NaN or Inf")
    if cfg.visible == "bernoulli" and (a.min() < 0 or a.max() > 1):
        raise InputError(
            f"X holds values in [{a.min():g}, {a.max():g}]; Bernoulli visible units need "
            "probabilities in [0, 1] (scale the data, or use visible='gaussian')"
        )


def _check_memory(cfg: TrainConfig, n_samples: int) -> None:
    from netsci_dl._array import resolve_device
    from netsci_dl.models._checks import check_memory

    item = 8 if cfg.dtype == "float64" else 4
    pairs = list(zip(cfg.layers, cfg.layers[1:]))
    params = sum(a * b + a + b for a, b in pairs)
    rows = [
        p["batch_size"] if p["persistent"] else min(p["batch_size"], n_samples)
        for p in (cfg.rbm_params(i) for i in range(len(pairs)))
    ]
    work = max(r * (5 * a + 5 * b) for r, (a, b) in zip(rows, pairs))
    data = n_samples * max(a + b for a, b in pairs)
    need = (3 * params + work + data + n_samples * cfg.layers[0]) * item
    dev = resolve_device(cfg.device)
    check_memory(need, dev, what=f"a DBN {list(cfg.layers)} on {n_samples} samples")


@dataclass
class _Plan:
    """What a fit will do, decided (and checked) before anything is written."""

    folder: Path | None
    delete: list[Path]
    records: list[dict]
    start_layer: int
    start_epoch: int
    data: Any


def _prepare(dbn: Any, X: Any, run_dir: Any, *, resume: bool, force: bool) -> _Plan:
    """Check the data, the settings and the folder; restore a snapshot. Writes nothing."""
    cfg = dbn.config
    _check_data(X, cfg)
    _check_memory(cfg, int(np.shape(X)[0]))
    dbn.initialize()  # checks the device too
    data = dbn.rbms_[0]._as_tensor(X, training=True)
    plan = _Plan(None, [], [], 0, 0, data)
    if run_dir is None:
        return plan
    run = Path(run_dir)
    if run.exists() and not run.is_dir():
        raise InputError(f"run folder {run} exists and is not a folder")
    folder = run / SNAPSHOT_DIR
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} exists and is not a folder")
    plan.folder = folder
    snaps = list_snapshots(run)
    stale = _stale(folder)
    if snaps and resume:
        from netsci_dl.models._resume import restore_dbn

        path, info = snaps[-1]
        try:
            plan.start_layer, plan.start_epoch, plan.records = restore_dbn(dbn, path, info)
        except InputError as e:
            stem = path.name.removesuffix(".safetensors")
            raise InputError(
                f"{e} (to resume from the snapshot before, remove {stem}.*; to start afresh, "
                "use force=True / --force)"
            ) from None
        log.info(
            "resuming from %s (layer %d, epoch %d)", path.name, plan.start_layer, plan.start_epoch
        )
    elif stale:
        if not force:
            raise FileExistsError(
                f"{folder} already holds snapshots; pass resume=True or force=True "
                "(CLI: --resume / --force)"
            )
        plan.delete = stale
    return plan


def _run(dbn: Any, plan: _Plan, *, callback: Any, progress: bool) -> TrainHistory:
    from tqdm.auto import tqdm

    cfg = dbn.config
    epochs = cfg.epochs_per_layer()
    folder, records = plan.folder, plan.records
    start_layer, start_epoch = plan.start_layer, plan.start_epoch
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for p in plan.delete:
            p.unlink(missing_ok=True)
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
            RECON_ERROR: err,
            "elapsed_s": time.perf_counter() - t_start,
            "image_shape": list(dbn.image_shape) if dbn.image_shape else None,
            "sparsity_rule": cfg.sparsity_rule,
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
        disable=not progress or not sys.stderr.isatty(),
        desc="DBN",
        unit="epoch",
    )
    data = plan.data
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
                    RECON_ERROR: err,
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


def fit_dbn(
    dbn: Any,
    X: Any,
    *,
    run_dir: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    callback: Callable[[dict], Any] | None = None,
    progress: bool = True,
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
        result equals an uninterrupted run with the same configuration on the same device type.
        A broken last snapshot, or one from another configuration, is an InputError.
    force : bool
        Delete this trainer's existing snapshot files in ``run_dir`` and start afresh (otherwise
        they are an error: FileExistsError).
    callback : callable, optional
        Called with each epoch's record (after its snapshot); an exception stops training.
    progress : bool
        A progress bar (default on; shown only when stderr is a terminal).

    Returns
    -------
    TrainHistory

    Raises
    ------
    InputError
        Bad data (shape, NaN/Inf, outside [0, 1] for Bernoulli units), a setting the device
        cannot run, a broken snapshot on resume, or training that diverges. All but the last
        are raised before anything is written.
    """
    plan = _prepare(dbn, X, run_dir, resume=resume, force=force)
    return _run(dbn, plan, callback=callback, progress=progress)


def _same_config(old: dict[str, Any], new: dict[str, Any], where: Path) -> list[str]:
    """The fields in which two configs (as in config.json) differ, the device ignored."""
    try:
        a = TrainConfig.from_dict(old).to_dict()
    except (InputError, TypeError) as e:
        raise InputError(f"{where}: its training configuration is not valid ({e})") from None
    a.pop("device"), new.pop("device")
    return sorted(k for k in set(a) | set(new) if a.get(k) != new.get(k))


def train_dbn(
    data: Any,
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    callback: Callable[[dict], Any] | None = None,
    num_threads: int | None = None,
) -> tuple[Any, TrainHistory]:
    """Train a DBN on a :class:`~netsci_dl.datasets.Dataset` and write the run folder.

    Every argument, the data, the folder and (with ``resume``) the snapshot to resume from are
    checked before anything is created. Then writes ``config.json``, snapshots during training,
    ``model.safetensors`` and ``history.json`` (see the module docstring).

    Parameters
    ----------
    data : Dataset or (n_samples, n_visible) array
    config : TrainConfig
    run_dir : folder
    resume : bool
        Continue the run in ``run_dir``: its ``config.json`` must match ``config`` (the device may
        differ). A folder with snapshots but no ``config.json`` is refused.
    force : bool
        Start afresh in a folder that holds a run: replaces its outputs and removes its snapshot
        files (nothing else). Without it, such a folder is a FileExistsError.
    num_threads : int, optional
        torch CPU threads while training (restored after); None: torch's setting. Each RBM
        uses at most that many, one per free core (``RBM(num_threads="auto")``).

    Returns
    -------
    (DBN, TrainHistory)
    """
    from netsci_dl._array import check_threads, resolve_device, torch_threads
    from netsci_dl._files.atomic import atomic_path
    from netsci_dl.models._resume import read_run_config
    from netsci_dl.models.dbn import DBN
    from netsci_dl.models.rbm import resolve_dtype

    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, not {type(config).__name__}")
    threads = check_threads(num_threads)
    resolve_device(config.device)
    resolve_dtype(config.dtype)
    run = Path(run_dir)
    if run.exists() and not run.is_dir():
        raise InputError(f"run folder {run} exists and is not a folder")
    cfg_path, model_path, hist_path = (run / n for n in _OUTPUTS)
    doc = {
        "config": config.to_dict(),
        "data": getattr(data, "spec", None) or getattr(data, "name", None),
        "image_shape": list(getattr(data, "image_shape", ()) or []) or None,
    }
    existing = [p for p in (cfg_path, model_path, hist_path) if p.exists()]
    stale = _stale(run / SNAPSHOT_DIR)
    if resume and cfg_path.exists():
        old = read_run_config(cfg_path)
        diff = _same_config(old["config"], dict(doc["config"]), cfg_path)
        if diff or old.get("data") != doc["data"]:
            raise InputError(
                f"--resume: {cfg_path} differs from this run's configuration in {diff or ['data']}"
            )
    elif resume and stale:
        raise InputError(
            f"--resume: {run} holds snapshots but no config.json: not a train-dbn run to continue"
        )
    elif not resume and not force and (existing or stale):
        what = existing[0] if existing else f"{run / SNAPSHOT_DIR} (snapshots)"
        raise FileExistsError(
            f"{what} exists: {run} holds a run; pass resume=True or force=True "
            "(CLI: --resume / --force)"
        )
    X = getattr(data, "X", data)
    dbn = DBN(config=config, image_shape=getattr(data, "image_shape", None))
    with torch_threads(threads):
        plan = _prepare(dbn, X, run, resume=resume, force=True)
        # everything is checked: now create
        run.mkdir(parents=True, exist_ok=True)
        if not resume:
            for p in (model_path, hist_path):
                p.unlink(missing_ok=True)  # a previous run's results, replaced with --force
        with atomic_path(cfg_path) as tmp:
            tmp.write_text(json.dumps(doc, indent=2) + "\n")
        dbn.history_ = _run(dbn, plan, callback=callback, progress=progress)
        dbn.save(model_path, force=True, data=doc["data"])
    with atomic_path(hist_path) as tmp:
        tmp.write_text(json.dumps(dbn.history_.to_dict(), indent=2) + "\n")
    return dbn, dbn.history_
