"""The classifier training loop: deficits, schedules, snapshots and exact resume."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl._array import torch_threads
from netsci_dl.errors import InputError
from netsci_dl.models._archs import build_classifier_model, layer_widths
from netsci_dl.models._classifier_config import ClassifierConfig
from netsci_dl.runs.format import (
    RECON_ERROR,
    SNAPSHOT_DIR,
    TEST_ACCURACY,
    TEST_LOSS,
    TRAIN_ACCURACY,
    TRAIN_LOSS,
    list_snapshots,
)
from netsci_dl.runs.format import snapshot_stem as _stem

__all__ = ["train_classifier", "split_data"]

log = logging.getLogger(__name__)


def split_data(data: Any, what: str) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """``(X, y, image_shape, name)`` from a Dataset or an ``(X, y)`` pair."""
    from netsci_dl._array import to_numpy

    if hasattr(data, "X") and hasattr(data, "y"):
        X, y = data.X, data.y
        shape = getattr(data, "image_shape", None)
        # the spec that loads the data again (a run's config.json), else its name
        name = getattr(data, "spec", None) or getattr(data, "name", None)
    elif isinstance(data, tuple | list) and len(data) == 2:
        (X, y), shape, name = data, None, None
    else:
        raise InputError(f"{what}: expected a Dataset or an (X, y) pair, got {type(data).__name__}")
    X = np.asarray(to_numpy(X))
    y = np.asarray(to_numpy(y))
    return X.reshape(len(X), -1), y.reshape(-1), shape, name


def _check(X: np.ndarray, y: np.ndarray, cfg: ClassifierConfig, what: str) -> None:
    a = cfg.arch
    if X.shape[1] != a.n_features:
        raise InputError(
            f"{what}: X has {X.shape[1]} features per example; the {a.kind} takes "
            f"{a.n_features} (input_shape {a.input_shape})"
        )
    if len(y) != len(X):
        raise InputError(f"{what}: {len(y)} labels for {len(X)} examples")
    if len(y) and (y.min() < 0 or y.max() >= a.n_classes):
        raise InputError(
            f"{what}: labels must lie in [0, {a.n_classes}), got [{y.min()}, {y.max()}]"
        )


def _evaluate(torch: Any, net: Any, X: Any, y: Any) -> tuple[float | None, float | None]:
    if X is None or len(X) == 0:
        return None, None
    was = net.training
    net.eval()
    loss = correct = 0.0
    with torch.no_grad():
        for s in range(0, len(X), 2048):
            out = net(X[s : s + 2048])
            loss += float(torch.nn.functional.cross_entropy(out, y[s : s + 2048], reduction="sum"))
            correct += float((out.argmax(1) == y[s : s + 2048]).sum())
    net.train(was)
    return loss / len(X), correct / len(X)


# ---------------------------------------------------------------------- training state
def _opt_state(opt: Any) -> tuple[dict[str, Any], str]:
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            if v is not None:
                tensors[f"opt.{idx}.{k}"] = v.detach().cpu().contiguous()
    return tensors, json.dumps(sd["param_groups"])


def _load_opt_state(opt: Any, tensors: dict[str, Any], groups: str, device: Any) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, v in tensors.items():
        if key.startswith("opt."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = v if name == "step" else v.to(device)
    opt.load_state_dict({"state": state, "param_groups": json.loads(groups)})


def _save_snapshot(
    torch: Any,
    net: Any,
    opt: Any,
    gen: Any,
    folder: Path,
    *,
    epoch: int,
    meta: dict[str, Any],
    info: dict[str, Any],
    history: list[dict[str, Any]],
) -> None:
    from safetensors.torch import save_file

    from netsci_dl._files.atomic import atomic_path
    from netsci_dl.models._classifier_io import save_classifier

    stem = _stem(epoch, 0, epoch)
    tensors, groups = _opt_state(opt)
    tensors["generator"] = gen.get_state()
    with atomic_path(folder / f"{stem}.state.safetensors") as tmp:
        save_file(
            tensors,
            str(tmp),
            metadata={
                "history": json.dumps(history),
                "param_groups": groups,
                "epoch": str(epoch),
                "elapsed_s": str(info["elapsed_s"]),
            },
        )
    model = save_classifier(
        net, folder / f"{stem}.safetensors", meta=dict(meta, layer=0, epoch=epoch, step=epoch)
    )
    with atomic_path(folder / f"{stem}.json") as tmp:  # the sidecar last: marks it complete
        tmp.write_text(json.dumps(dict(info, file=model.name), indent=2) + "\n")


def _restore(torch: Any, net: Any, opt: Any, gen: Any, path: Path, device: Any) -> tuple:
    from safetensors import safe_open

    from netsci_dl.models._classifier_io import read_classifier_meta

    state_path = path.with_name(path.name.replace(".safetensors", ".state.safetensors"))
    if not state_path.exists():
        raise InputError(f"cannot resume: {state_path.name} (training state) is missing")
    _meta, params = read_classifier_meta(path)
    net.load_state_dict(params, strict=True)
    with safe_open(str(state_path), framework="pt") as f:
        m = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    gen.set_state(tensors.pop("generator"))
    _load_opt_state(opt, tensors, m["param_groups"], device)
    return int(m["epoch"]), json.loads(m["history"]), float(m["elapsed_s"])


# ---------------------------------------------------------------------- the run folder
def _prepare_run(
    run: Path, cfg: ClassifierConfig, doc: dict[str, Any], *, resume: bool, force: bool
) -> None:
    from netsci_dl._files.atomic import atomic_path

    paths = [run / "config.json", run / "model.safetensors", run / "history.json"]
    if resume and paths[0].exists():
        old = json.loads(paths[0].read_text())
        a = dict(old.get("config", {}), device=None)
        b = dict(doc["config"], device=None)
        if a != b or old.get("data") != doc["data"]:
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            raise InputError(
                f"--resume: {paths[0]} differs from this run's configuration in {diff or ['data']}"
            )
    else:
        if not (force or resume) and (any(p.exists() for p in paths) or list_snapshots(run)):
            raise FileExistsError(
                f"{run} already holds a run; pass resume=True or force=True (CLI: --resume / --force)"
            )
        folder = run / SNAPSHOT_DIR
        if folder.is_dir():
            for p in folder.glob("step*_layer*_epoch*.*"):
                p.unlink()
        for p in paths[1:]:
            p.unlink(missing_ok=True)
    (run / SNAPSHOT_DIR).mkdir(parents=True, exist_ok=True)
    with atomic_path(paths[0]) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n")


def train_classifier(
    data: Any,
    config: ClassifierConfig,
    run_dir: str | Path | None = None,
    *,
    test: Any = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = False,
    callback: Callable[[dict], Any] | None = None,
    num_threads: int | None = 1,
) -> tuple[Any, list[dict[str, Any]]]:
    """Train a classifier (cross-entropy, minibatches) with an optional deficit window.

    Parameters
    ----------
    data : Dataset or (X, y)
        Training rows ``X`` ``(n, n_features)`` (flattened images, in [0, 1]) and labels
        ``(n,)`` in ``[0, n_classes)``.
    config : ClassifierConfig
    run_dir : folder, optional
        Writes the run folder described in :mod:`netsci_dl.models.classifier`.
    test : Dataset or (X, y), optional
        Clean held-out data: test loss and accuracy after every epoch.
    resume : bool
        Continue from the last snapshot in ``run_dir`` (a fresh start when there is none); the
        result equals an uninterrupted run. ``config.json`` must match (the device may differ).
    force : bool
        Replace an existing run (otherwise an existing run is an error).
    progress : bool
        A progress bar (default off; shown only when stderr is a terminal).
    callback : callable, optional
        Called with each epoch's record after its snapshot; an exception stops training.
    num_threads : int or None
        torch CPU threads while training (restored after); None: torch's setting.

    Returns
    -------
    (nn.Sequential, history)
        ``history``: one record per epoch, epoch 0 (before training) first: ``epoch``,
        ``step``, ``lr``, ``deficit_active``, ``batch_loss``, ``train_loss``,
        ``train_accuracy``, ``test_loss``, ``test_accuracy``, ``seconds``.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.models.classifier import ArchConfig, ClassifierConfig
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((60, 4)).astype(np.float32); y = (X[:, 0] > 0.5).astype(int)
    >>> cfg = ClassifierConfig(ArchConfig("mlp", (4,), 2, hidden=(8,)), epochs=20,
    ...                        learning_rate=0.5, batch_size=10)
    >>> net, hist = train_classifier((X, y), cfg)
    >>> hist[-1]["train_loss"] < hist[0]["train_loss"]
    True
    """
    from netsci_dl._array import import_torch, resolve_device

    torch = import_torch()
    cfg = config
    dev = resolve_device(cfg.device)
    X, y, shape, name = split_data(data, "data")
    _check(X, y, cfg, "data")
    Xte = yte = None
    if test is not None:
        Xte, yte, _, _ = split_data(test, "test")
        _check(Xte, yte, cfg, "test")
    image_shape = list(shape) if shape else list(cfg.arch.input_shape)
    doc = {
        "config": cfg.to_dict(),
        "data": name,
        "image_shape": image_shape,
        "model_kind": "classifier",
    }
    run = None if run_dir is None else Path(run_dir)
    if run is not None:
        _prepare_run(run, cfg, doc, resume=resume, force=force)
    dt = {"float32": torch.float32, "float64": torch.float64}[cfg.dtype]
    net = build_classifier_model(cfg.arch, seed=cfg.seed, device=dev, dtype=cfg.dtype)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(
            net.parameters(),
            lr=cfg.learning_rate,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
        )
    else:
        opt = torch.optim.Adam(
            net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
        )
    order_seed = int(np.random.SeedSequence([cfg.seed, 1]).generate_state(1)[0])
    gen = torch.Generator().manual_seed(order_seed)
    Xt = torch.as_tensor(X, dtype=dt, device=dev)
    yt = torch.as_tensor(y.astype(np.int64), device=dev)
    Xtest = None if Xte is None else torch.as_tensor(Xte, dtype=dt, device=dev)
    ytest = None if yte is None else torch.as_tensor(yte.astype(np.int64), device=dev)
    meta = {
        "arch": cfg.arch.to_dict(),
        "config": cfg.to_dict(),
        "image_shape": image_shape,
        "data": name,
    }
    history: list[dict[str, Any]] = []
    start, elapsed0 = 0, 0.0
    snaps = list_snapshots(run) if (run is not None and resume) else []
    if snaps:
        start, history, elapsed0 = _restore(torch, net, opt, gen, snaps[-1][0], dev)
        history = [r for r in history if r["epoch"] <= start]
        log.info("resuming %s from epoch %d", run, start)
    t_start = time.perf_counter() - elapsed0
    folder = None if run is None else run / SNAPSHOT_DIR
    widths = layer_widths(cfg.arch)

    def record(epoch: int, seconds: float, batch_loss: float | None) -> None:
        i = epoch - 1
        tr_loss, tr_acc = _evaluate(torch, net, Xt, yt)
        te_loss, te_acc = _evaluate(torch, net, Xtest, ytest)
        active = bool(epoch > 0 and cfg.deficit is not None and cfg.deficit.active(i))
        rec = {
            "epoch": epoch,
            "step": epoch,
            "lr": cfg.lr_at(i) if epoch > 0 else None,
            "deficit_active": active,
            "batch_loss": batch_loss,
            TRAIN_LOSS: tr_loss,
            TRAIN_ACCURACY: tr_acc,
            TEST_LOSS: te_loss,
            TEST_ACCURACY: te_acc,
            "seconds": seconds,
        }
        history.append(rec)
        if folder is not None and (
            epoch in (0, cfg.epochs) or (cfg.snapshot_every and epoch % cfg.snapshot_every == 0)
        ):
            info = {
                "format": 1,
                "model_kind": "classifier",
                "layer": 0,
                "epoch": epoch,
                "step": epoch,
                "layers": widths,
                "epochs": [cfg.epochs],
                RECON_ERROR: None,
                "elapsed_s": time.perf_counter() - t_start,
                "image_shape": image_shape,
                **{k: rec[k] for k in (TRAIN_LOSS, TRAIN_ACCURACY, TEST_LOSS, TEST_ACCURACY)},
                "batch_loss": batch_loss,
                "lr": rec["lr"],
                "deficit": None if cfg.deficit is None else cfg.deficit.state(epoch),
            }
            _save_snapshot(
                torch, net, opt, gen, folder, epoch=epoch, meta=meta, info=info, history=history
            )
        if callback is not None and epoch > 0:
            callback(dict(rec))

    with torch_threads(num_threads if dev.type == "cpu" else None):
        if not history:
            record(0, 0.0, None)
        _loop(torch, net, opt, Xt, yt, gen, cfg, record, start, progress)
    if run is not None:
        from netsci_dl._files.atomic import atomic_path
        from netsci_dl.models._classifier_io import save_classifier

        save_classifier(
            net, run / "model.safetensors", meta=dict(meta, epoch=cfg.epochs, step=cfg.epochs)
        )
        with atomic_path(run / "history.json") as tmp:
            tmp.write_text(json.dumps({"records": history}, indent=2) + "\n")
    net.eval()
    return net, history


def _loop(
    torch: Any,
    net: Any,
    opt: Any,
    Xt: Any,
    yt: Any,
    gen: Any,
    cfg: ClassifierConfig,
    record: Callable[[int, float, float | None], None],
    start: int,
    progress: bool,
) -> None:
    from tqdm.auto import tqdm

    F = torch.nn.functional
    n, bs = Xt.shape[0], cfg.batch_size
    d = cfg.deficit
    cache: dict[str, Any] = {}
    shape = cfg.arch.input_shape
    with tqdm(
        range(start + 1, cfg.epochs + 1),
        desc=cfg.arch.kind,
        unit="epoch",
        disable=not progress or not sys.stderr.isatty(),
    ) as bar:
        for epoch in bar:
            i = epoch - 1
            t0 = time.perf_counter()
            for g in opt.param_groups:
                g["lr"] = cfg.lr_at(i)
            Xe, ye = Xt, yt
            if d is not None and d.active(i):
                if d.kind == "noise":
                    Xe, ye = d.apply(
                        Xt, yt, image_shape=shape, n_classes=cfg.arch.n_classes, epoch_index=i
                    )
                else:  # the same transform for the whole window: computed once
                    if "data" not in cache:
                        cache["data"] = d.apply(
                            Xt, yt, image_shape=shape, n_classes=cfg.arch.n_classes, epoch_index=i
                        )
                    Xe, ye = cache["data"]
            net.train()
            perm = torch.randperm(n, generator=gen).to(Xt.device)
            total = 0.0
            for s in range(0, n, bs):
                idx = perm[s : s + bs]
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(net(Xe[idx]), ye[idx])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            record(epoch, time.perf_counter() - t0, total / n)
            bar.set_postfix(loss=f"{total / n:.4f}")
