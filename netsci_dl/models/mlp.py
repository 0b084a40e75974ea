"""A small sigmoid MLP classifier trained with SGD, with snapshots in the DBN trainer's format.

The experiment of Marrow, Michaud & Hoel (2020): follow each layer of a small classifier in the
causal plane over training. :func:`train_mlp` writes the same run folder as
:func:`netsci_dl.models.train.train_dbn` (see that module's docstring)::

    config.json  model.safetensors  history.json
    snapshots/step{S:05d}_layer0_epoch{E:04d}.safetensors + .json sidecar

with ``layer`` always 0 and ``step == epoch``; beside each snapshot a
``.state.safetensors`` holds what resume needs (the minibatch generator's state, the SGD
momentum buffers ``opt.{i}.momentum_buffer``, header metadata ``epoch`` and ``history``).
The tensors are the ``nn.Sequential`` state dict
(``"0.weight"``, ``"0.bias"``, ``"2.weight"``, ...; torch layout ``(n_out, n_in)``), so
``netsci_dl.load(path)`` reads a snapshot as a feed-forward (directed) LayeredGraph and
:func:`~netsci_dl.runs.format.list_snapshots` lists them. The sidecar has the DBN's keys
(``recon_error`` is null) plus ``model_kind="mlp"``, ``train_loss`` and ``train_accuracy`` (on
the training data, before the epoch's snapshot is written; the names of
:mod:`netsci_dl.runs.format`, which reads the ``loss`` / ``accuracy`` of older runs too).

Every argument, the data and the folder are checked before anything is created;
``resume=True`` continues from the last snapshot (bit-identical to an uninterrupted run) after
checking it, and refuses a broken one with an InputError.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl.errors import InputError
from netsci_dl.models._mlp_resume import check_resume_config, check_xy, restore, train_state
from netsci_dl.runs.format import (
    RECON_ERROR,
    SNAPSHOT_DIR,
    TRAIN_ACCURACY,
    TRAIN_LOSS,
    list_snapshots,
)
from netsci_dl.runs.format import snapshot_stem as _stem

__all__ = ["MLPConfig", "build_mlp", "train_mlp"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MLPConfig:
    """Everything that defines an MLP training run.

    Parameters
    ----------
    layers : tuple of int
        Layer sizes, input to output, e.g. ``(4, 5, 5, 3)`` for Iris.
    epochs : int
    learning_rate, momentum : float
        Plain SGD (momentum 0 by default).
    batch_size : int
    snapshot_every : int
        Snapshot every this many epochs (epoch 0 and the last epoch always; 0: only those).
    seed : int
        Fixes the initialisation and the minibatch order.
    device : str

    Examples
    --------
    >>> MLPConfig(layers=(4, 5, 3), epochs=2).to_dict()["layers"]
    [4, 5, 3]
    """

    layers: tuple[int, ...]
    epochs: int
    learning_rate: float = 0.5
    momentum: float = 0.0
    batch_size: int = 16
    snapshot_every: int = 1
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        def is_int(v: Any) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        def finite(v: Any) -> bool:
            ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            return ok and math.isfinite(float(v))

        raw = self.layers
        if (
            isinstance(raw, (str, bytes))
            or not hasattr(raw, "__len__")
            or len(raw) < 2
            or not all(is_int(v) and v >= 1 for v in raw)
        ):
            raise InputError(f"layers must be >= 2 positive integer sizes, got {raw!r}")
        object.__setattr__(self, "layers", tuple(int(v) for v in raw))
        for name, lo in (("epochs", 0), ("batch_size", 1), ("snapshot_every", 0), ("seed", 0)):
            v = getattr(self, name)
            if not is_int(v) or v < lo:
                raise InputError(f"{name}={v!r}: expected an integer >= {lo}")
        if not (finite(self.learning_rate) and self.learning_rate > 0):
            raise InputError(f"learning_rate={self.learning_rate!r}: expected a finite number > 0")
        if not (finite(self.momentum) and 0 <= self.momentum < 1):
            raise InputError(f"momentum={self.momentum!r}: expected a number in [0, 1)")
        if not isinstance(self.device, str):
            raise InputError(f"device={self.device!r}: expected a string such as 'cpu' or 'cuda'")
        _args.device_name("device", self.device)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["layers"] = list(self.layers)
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)


def build_mlp(layers: tuple[int, ...], *, seed: int = 0, device: Any = None) -> Any:
    """``nn.Sequential(Linear, Sigmoid, ..., Linear)``: sigmoid hidden layers, logits out.

    Initialised like torch's ``nn.Linear`` (uniform in ``+-1/sqrt(fan_in)``) from a generator
    seeded with ``seed`` (the global torch RNG is not touched).

    Examples
    --------
    >>> net = build_mlp((4, 5, 3), device="cpu")
    >>> [k for k in net.state_dict()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """
    seed = _args.seed("seed", seed, none=False)
    from netsci_dl._array import import_torch, resolve_device

    torch = import_torch()
    dev = resolve_device(device)
    gen = torch.Generator().manual_seed(int(seed))
    mods: list[Any] = []
    for i, (a, b) in enumerate(zip(layers[:-1], layers[1:], strict=True)):
        lin = torch.nn.Linear(a, b)
        bound = 1.0 / math.sqrt(a)
        with torch.no_grad():
            lin.weight.copy_(torch.rand((b, a), generator=gen) * 2 * bound - bound)
            lin.bias.copy_(torch.rand((b,), generator=gen) * 2 * bound - bound)
        mods.append(lin)
        if i < len(layers) - 2:
            mods.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*mods).to(dev)


def _save(
    net: Any,
    folder: Path,
    *,
    epoch: int,
    info: dict[str, Any],
    meta: dict[str, Any],
    state: dict[str, Any],
    history: list[dict[str, Any]],
) -> None:
    from safetensors.torch import save_file

    from netsci_dl._files.atomic import atomic_path

    stem = _stem(epoch, 0, epoch)
    model = folder / f"{stem}.safetensors"
    with atomic_path(folder / f"{stem}.state.safetensors") as tmp:
        save_file(state, str(tmp), metadata={"epoch": str(epoch), "history": json.dumps(history)})
    params = {k: v.detach().cpu().clone().contiguous() for k, v in net.state_dict().items()}
    with atomic_path(model) as tmp:
        save_file(
            params,
            str(tmp),
            metadata={
                "netsci_dl": json.dumps(
                    dict(meta, layer=0, epoch=epoch, step=epoch, order=list(params))
                )
            },
        )
    with atomic_path(folder / f"{stem}.json") as tmp:  # the sidecar last: marks it complete
        tmp.write_text(json.dumps(dict(info, file=model.name), indent=2) + "\n")


def train_mlp(
    X: Any,
    y: Any,
    config: MLPConfig,
    run_dir: str | Path | None = None,
    *,
    force: bool = False,
    resume: bool = False,
    progress: bool = False,
    image_shape: tuple[int, ...] | None = None,
    data_name: str | None = None,
    num_threads: int | None = 1,
) -> tuple[Any, list[dict[str, Any]]]:
    """Train a sigmoid MLP classifier (cross-entropy, minibatch SGD); snapshots in ``run_dir``.

    Parameters
    ----------
    X : (n_samples, layers[0]) array, y : (n_samples,) int labels in ``[0, layers[-1])``
    config : MLPConfig
    run_dir : folder, optional
        Writes ``config.json``, snapshots (epoch 0, every ``snapshot_every`` epochs, the last),
        ``model.safetensors`` and ``history.json``. A folder holding a run needs ``force``
        (start afresh: replaces its outputs, removes its snapshot files) or ``resume``.
    resume : bool
        Continue the run in ``run_dir`` from its last snapshot (its ``config.json`` must match
        ``config``, the device may differ); the result equals an uninterrupted run. A broken
        snapshot is an InputError. Without snapshots it starts afresh.
    progress : bool
        A progress bar (default off; shown only when stderr is a terminal).
    image_shape, data_name : stored in the metadata.
    num_threads : int or None
        torch CPU threads while training (restored after). Default 1: a small MLP gains nothing
        from intra-op threads, and on a loaded machine they cost up to 100x (measured: 0.26 vs
        47 ms per step, 2 busy cores). None: torch's setting.

    Returns
    -------
    (nn.Sequential, history)
        ``history``: one record per epoch, epoch 0 (before training) included:
        ``{"epoch", "step", "train_loss", "train_accuracy", "seconds"}`` (mean cross-entropy
        in nats and accuracy on the training data at the end of the epoch).

    Raises
    ------
    InputError
        Bad data, settings, threads or device, a folder that is not a folder, a broken or
        foreign snapshot on resume, training that diverges; all but the last before anything
        is written. FileExistsError: a folder holding a run, without ``force`` or ``resume``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((40, 4)); y = (X[:, 0] > 0.5).astype(int)
    >>> net, hist = train_mlp(X, y, MLPConfig(layers=(4, 3, 2), epochs=30, learning_rate=1.0))
    >>> hist[-1]["train_loss"] < hist[0]["train_loss"]
    True
    """
    from netsci_dl._array import check_threads, import_torch, resolve_device, torch_threads
    from netsci_dl._files.atomic import atomic_path
    from netsci_dl.models._checks import check_memory

    torch = import_torch()
    if not isinstance(config, MLPConfig):
        raise TypeError(f"config must be an MLPConfig, not {type(config).__name__}")
    cfg = config
    threads = check_threads(num_threads)
    dev = resolve_device(cfg.device)
    Xn, yn = check_xy(X, y, cfg)
    pairs = list(zip(cfg.layers, cfg.layers[1:]))
    need = 4 * (3 * sum(a * b + b for a, b in pairs) + 3 * len(Xn) * sum(cfg.layers))
    check_memory(need, dev, what=f"an MLP {list(cfg.layers)} on {len(Xn)} samples")
    doc = {
        "config": cfg.to_dict(),
        "data": data_name,
        "image_shape": list(image_shape) if image_shape else None,
        "model_kind": "mlp",
    }
    folder = run = None
    delete: list[Path] = []
    if run_dir is not None:
        run = Path(run_dir)
        if run.exists() and not run.is_dir():
            raise InputError(f"run folder {run} exists and is not a folder")
        folder = run / SNAPSHOT_DIR
        outputs = [run / n for n in ("config.json", "model.safetensors", "history.json")]
        existing = [p for p in outputs if p.exists()]
        stale = sorted(folder.glob("step*_layer*_epoch*.*")) if folder.is_dir() else []
        if resume and (existing or stale):
            check_resume_config(run, doc)
            resume = bool(list_snapshots(run))
        elif existing or stale:
            if not force:
                raise FileExistsError(
                    f"{run} already holds a run; pass force=True (CLI: --force) or resume=True"
                )
            delete = stale + existing
        else:
            resume = False
    else:
        resume = False
    net = build_mlp(cfg.layers, seed=cfg.seed, device=dev)
    opt = torch.optim.SGD(net.parameters(), lr=cfg.learning_rate, momentum=cfg.momentum)
    gen = torch.Generator().manual_seed(int(cfg.seed) + 1)
    start, history = 0, []
    if resume:
        start, history = restore(net, opt, gen, run, cfg)
    # everything is checked: now create
    if run is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for p in delete:
            p.unlink(missing_ok=True)
        with atomic_path(run / "config.json") as tmp:
            tmp.write_text(json.dumps(doc, indent=2) + "\n")
    Xt, yt = torch.as_tensor(Xn, device=dev), torch.as_tensor(yn, device=dev)
    loss_fn = torch.nn.CrossEntropyLoss()
    meta = {
        "model_kind": "mlp",
        "layers": list(cfg.layers),
        "activation": "sigmoid",
        "config": cfg.to_dict(),
        "data": data_name,
    }
    if image_shape:
        meta["image_shape"] = list(image_shape)
    t_start = time.perf_counter()

    def record(epoch: int, seconds: float) -> None:
        with torch.no_grad():
            out = net(Xt)
            loss = float(loss_fn(out, yt))
            acc = float((out.argmax(1) == yt).float().mean())
        if not math.isfinite(loss):
            raise InputError(
                f"training diverged in epoch {epoch} (loss {loss}): lower the learning rate "
                f"(learning_rate={cfg.learning_rate})"
            )
        history.append(
            {
                "epoch": epoch,
                "step": epoch,
                TRAIN_LOSS: loss,
                TRAIN_ACCURACY: acc,
                "seconds": seconds,
            }
        )
        if folder is not None and (
            epoch in (0, cfg.epochs) or (cfg.snapshot_every and epoch % cfg.snapshot_every == 0)
        ):
            info = {
                "format": 1,
                "model_kind": "mlp",
                "layer": 0,
                "epoch": epoch,
                "step": epoch,
                "layers": list(cfg.layers),
                "epochs": [cfg.epochs],
                RECON_ERROR: None,
                TRAIN_LOSS: loss,
                TRAIN_ACCURACY: acc,
                "elapsed_s": time.perf_counter() - t_start,
                "image_shape": list(image_shape) if image_shape else None,
            }
            _save(
                net,
                folder,
                epoch=epoch,
                info=info,
                meta=meta,
                state=train_state(opt, gen),
                history=history,
            )

    with torch_threads(threads if dev.type == "cpu" else None):
        _loop(torch, net, opt, loss_fn, Xt, yt, gen, cfg, record, history, progress, start, resume)
    if run is not None:
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
        with atomic_path(run / "model.safetensors") as tmp:
            save_file(
                state,
                str(tmp),
                metadata={
                    "netsci_dl": json.dumps(
                        dict(meta, epoch=cfg.epochs, step=cfg.epochs, order=list(state))
                    )
                },
            )
        with atomic_path(run / "history.json") as tmp:
            tmp.write_text(json.dumps({"records": history}, indent=2) + "\n")
    return net, history


def _loop(
    torch: Any,
    net: Any,
    opt: Any,
    loss_fn: Any,
    Xt: Any,
    yt: Any,
    gen: Any,
    cfg: MLPConfig,
    record: Any,
    history: list,
    progress: bool,
    start: int,
    resumed: bool,
) -> None:
    from tqdm.auto import tqdm

    if not resumed:
        record(0, 0.0)
    n = Xt.shape[0]
    bs = int(cfg.batch_size)
    with tqdm(
        range(start + 1, cfg.epochs + 1),
        desc="MLP",
        unit="epoch",
        disable=not progress or not sys.stderr.isatty(),
    ) as bar:
        for epoch in bar:
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=gen).to(Xt.device)
            for i in range(0, n, bs):
                idx = perm[i : i + bs]
                opt.zero_grad(set_to_none=True)
                loss_fn(net(Xt[idx]), yt[idx]).backward()
                opt.step()
            record(epoch, time.perf_counter() - t0)
            bar.set_postfix(loss=f"{history[-1][TRAIN_LOSS]:.4f}")
