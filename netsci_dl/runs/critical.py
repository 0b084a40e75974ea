"""The critical-period experiment (Achille, Rovere & Soatto, ICLR 2019), small enough for a CPU.

A grid of classifier runs, one per (deficit window onset, window length), plus a control run
without deficit. Every run is an ordinary run folder (:mod:`netsci_dl.models.classifier`); after
training, every ``analyze_every``-th snapshot is measured on a fixed probe set of clean training
images (:func:`snapshot_measures`: Fisher trace per layer, top Hessian eigenvalue, Hessian
trace, gradient-covariance top eigenvalue and trace). The grid is resumable: a run that is
complete is read back, an interrupted one continues from its last snapshot.

Protocol choices (recorded in ``settings.json``): by default each run trains ``epochs`` clean
epochs *after* its deficit (A19: 160), so a run lasts ``onset + window + epochs`` epochs
(``epochs_mode="total"``: every run lasts ``epochs``); the learning-rate schedule runs on the
global epoch unless ``lr_reset`` restarts it at the removal epoch; test data are always clean.

Each grid item is a plain top-level function of one task (:func:`run_task`), so the loop can be
handed to a parallel front end unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl._args import count, device_name, real
from netsci_dl.datasets import PROBE_SIZE
from netsci_dl.errors import InputError
from netsci_dl.models.deficits import DEFICITS
from netsci_dl.runs._snapshot_measures import snapshot_measures
from netsci_dl.runs.format import TEST_ACCURACY, TEST_LOSS, TRAIN_ACCURACY

__all__ = [
    "CriticalPeriodOptions",
    "CriticalPeriodResult",
    "critical_period",
    "critical_period_tasks",
    "run_task",
    "snapshot_measures",
    "load_split",
]

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = [
    "run",
    "deficit",
    "onset",
    "window",
    "removal_epoch",
    "epochs",
    "final_test_accuracy",
    "final_train_accuracy",
    "final_test_loss",
    "lr_reset",
]


#: Most epochs of one run, and the largest onset or window (each epoch is a pass over the data)
MAX_EPOCHS = 100_000


@dataclass(frozen=True)
class CriticalPeriodOptions:
    """Every choice of a critical-period grid.

    Parameters
    ----------
    arch : {"lenet", "mlp", "allcnn"}
        The built-in architecture, unless ``model`` names a user's class.
    model : str, optional
        A user's classifier class, ``"pkg.module:Class"`` (the CLI's ``--model``): built with
        ``model_kwargs`` under ``seed`` and trained by the same trainer (deficit windows,
        snapshots, Fisher per layer: its Linear and Conv2d modules); it gets the examples
        reshaped to the data's image shape (C, H, W) and must return logits.
    model_kwargs : dict, optional
    deficit : {"blur", "vflip", "label_permutation", "noise"}
    onsets, windows : tuple of int
        The grid: a run for each (onset, window) with window > 0, plus the control run.
    epochs : int
        Clean epochs after each deficit (``epochs_mode="after"``), or every run's length
        (``"total"``).
    epochs_mode : {"after", "total"}
    blur_factor : float
        Blur downsampling factor; 4 is A19's ratio (32 -> 8 -> 32; MNIST 28 -> 7 -> 28; 8x8
        digits 8 -> 2 -> 8).
    optimizer, learning_rate, momentum, weight_decay, schedule, gamma, batch_size, lr_reset :
        As :class:`~netsci_dl.models.classifier.ClassifierConfig`.
    control : bool
        Add a run without deficit (window 0).
    n_train : int, optional
        Use this many training examples (a fixed subset).
    test_fraction : float
        Held-out share when the data have no test split (digits).
    probe_size : int
        Clean training images the measures use (the same at every snapshot).
    fisher_kind : {"model_exact", "model", "empirical"}
    lanczos_iter, hutchinson_probes : int
        Hessian top eigenvalue iterations (0: skip) and Hutchinson probes (0: skip).
    gradcov : bool
        Gradient-covariance spectrum on the probe set.
    analyze_every : int
        Measure every this many epochs (epoch 0 and the last always).
    seed : int
        Initialisation, data order and split are the same for every run of the grid.
    device : str
    """

    arch: str = "lenet"
    deficit: str = "blur"
    onsets: tuple[int, ...] = (0,)
    windows: tuple[int, ...] = (10,)
    epochs: int = 30
    epochs_mode: str = "after"
    blur_factor: float = 4.0
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "exponential"
    gamma: float = 0.97
    batch_size: int = 32
    lr_reset: bool = False
    control: bool = True
    n_train: int | None = None
    test_fraction: float = 0.3
    probe_size: int = PROBE_SIZE
    fisher_kind: str = "model_exact"
    lanczos_iter: int = 20
    hutchinson_probes: int = 0
    gradcov: bool = True
    analyze_every: int = 1
    seed: int = 0
    device: str = "cpu"
    model: str | None = None
    model_kwargs: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.model_kwargs and not self.model:
            raise InputError("model_kwargs need model='pkg.module:Class'")
        if self.deficit not in DEFICITS:
            raise InputError(f"deficit {self.deficit!r}: expected one of {', '.join(DEFICITS)}")
        if self.epochs_mode not in ("after", "total"):
            raise InputError(f"epochs_mode {self.epochs_mode!r}: expected 'after' or 'total'")
        for k in ("onsets", "windows"):
            v = getattr(self, k)
            v = (v,) if isinstance(v, int | float | str) else tuple(v)
            if not v:
                raise InputError(f"{k}={getattr(self, k)!r}: give one or more integers >= 0")
            v = tuple(count(k, x, lo=0, hi=MAX_EPOCHS) for x in v)
            object.__setattr__(self, k, tuple(dict.fromkeys(v)))
        if not self.control and max(self.windows) == 0:
            raise InputError("windows are all 0 and control=False (CLI: --no-control): no run")
        for k, lo, hi in (
            ("epochs", 1, MAX_EPOCHS),
            ("probe_size", 1, None),
            ("analyze_every", 1, None),
            ("batch_size", 1, None),
            ("lanczos_iter", 0, 10_000),
            ("hutchinson_probes", 0, 100_000),
            ("seed", 0, None),
        ):
            object.__setattr__(self, k, count(k, getattr(self, k), lo=lo, hi=hi))
        if self.n_train is not None:
            object.__setattr__(self, "n_train", count("n_train", self.n_train))
        real("learning_rate", self.learning_rate, lo=0, lo_open=True)
        real("momentum", self.momentum, lo=0, hi=1)
        real("weight_decay", self.weight_decay, lo=0)
        device_name("device", self.device)
        if self.deficit == "blur":
            real("blur_factor", self.blur_factor, lo=1, lo_open=True)
        if not 0 < self.test_fraction < 1:
            raise InputError(f"test_fraction={self.test_fraction}: must be in (0, 1)")
        if self.fisher_kind not in ("model_exact", "model", "empirical"):
            raise InputError(f"fisher_kind {self.fisher_kind!r}: model_exact, model or empirical")
        if self.epochs_mode == "total":
            longest = max(o + w for o in self.onsets for w in self.windows)
            if longest > self.epochs:
                raise InputError(
                    f"epochs_mode='total': a window ends at epoch {longest} > epochs={self.epochs}"
                )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["onsets"], d["windows"] = list(self.onsets), list(self.windows)
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import changed_only

        return changed_only(self)


# ---------------------------------------------------------------------- data
def load_split(
    spec: str, *, seed: int = 0, test_fraction: float = 0.3, n_train: int | None = None
) -> tuple[Any, Any]:
    """``(train, test)`` Datasets of ``spec`` (:func:`netsci_dl.datasets.load`), reproducibly.

    A seeded permutation, the last ``test_fraction`` held out; MNIST and a CIFAR-10 folder:
    their own test split when there is one (read with the same options), else held out the
    same way. ``n_train`` keeps a fixed subset of the training set.

    Examples
    --------
    >>> tr, te = load_split("digits")
    >>> len(tr), len(te), tr.image_shape
    (1258, 539, (8, 8))
    """
    from dataclasses import replace

    from netsci_dl.datasets import load, split_spec

    ds = load(spec)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5E7]))
    test = None
    base, opts = split_spec(spec)
    kind, _, path = base.partition(":")
    own_test = kind == "mnist" or (kind == "cifar10" and Path(path).is_dir())
    if own_test:  # their own test split, read the same way
        try:
            test = load(f"{kind}-test:{path}", **opts)
        except (FileNotFoundError, InputError):
            test = None
    if test is None:
        perm = rng.permutation(len(ds))
        k = len(ds) - int(round(test_fraction * len(ds)))
        tr, te = perm[:k], perm[k:]
        test = replace(ds.take(te), name=ds.name + "-test")
        ds = ds.take(tr)
    if n_train is not None and n_train < len(ds):
        keep = np.sort(rng.permutation(len(ds))[: int(n_train)])
        ds = ds.take(keep)
    return ds, test


# ---------------------------------------------------------------------- the grid
def _run_name(deficit: str, onset: int, window: int) -> str:
    return "control" if window == 0 else f"{deficit}_onset{onset:03d}_window{window:03d}"


def critical_period_tasks(
    data: str, out_dir: str | Path, *, options: CriticalPeriodOptions | None = None
) -> list[dict[str, Any]]:
    """The grid as a list of picklable tasks (one per run) for :func:`run_task`."""
    opts = options or CriticalPeriodOptions()
    from netsci_dl.datasets import load_dataset
    from netsci_dl.models.classifier import ArchConfig, ClassifierConfig, Deficit

    ds = load_dataset(data)
    shape = ds.image_shape
    n_classes = int(ds.y.max()) + 1
    factor = float(opts.blur_factor)
    arch = (
        ArchConfig(
            "module", shape, max(n_classes, 2), module=opts.model, module_kwargs=opts.model_kwargs
        )
        if opts.model
        else ArchConfig(opts.arch, shape, max(n_classes, 2))
    )
    pairs = [(o, w) for w in opts.windows for o in opts.onsets if w > 0]
    if opts.control:
        pairs = [(0, 0), *pairs]
    tasks = []
    for onset, window in pairs:
        epochs = opts.epochs if opts.epochs_mode == "total" else onset + window + opts.epochs
        deficit = (
            None
            if window == 0
            else Deficit(opts.deficit, onset, window, factor=factor, seed=opts.seed)
        )
        cfg = ClassifierConfig(
            arch,
            epochs=epochs,
            optimizer=opts.optimizer,
            learning_rate=opts.learning_rate,
            momentum=opts.momentum,
            weight_decay=opts.weight_decay,
            schedule=opts.schedule,
            gamma=opts.gamma,
            batch_size=opts.batch_size,
            deficit=deficit,
            lr_reset=opts.lr_reset,
            snapshot_every=opts.analyze_every,
            seed=opts.seed,
            device=opts.device,
        )
        name = _run_name(opts.deficit, onset, window)
        tasks.append(
            {
                "name": name,
                "run_dir": str(Path(out_dir) / "runs" / name),
                "data": data,
                "onset": onset,
                "window": window,
                "config": cfg.to_dict(),
                "options": opts.to_dict(),
            }
        )
    return tasks


def _measure_epochs(epochs: int, every: int) -> set[int]:
    return {e for e in range(epochs + 1) if e % every == 0} | {0, epochs}


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Train one run of the grid (resuming it if interrupted) and measure its snapshots.

    Writes the run folder ``task["run_dir"]`` and ``measures.csv`` in it (the long table of
    :func:`snapshot_measures` over the snapshots, plus ``run``); a run whose ``measures.csv``
    exists is read back. Returns the run's summary row (:data:`SUMMARY_COLUMNS`) with
    ``seconds``.
    """
    import pandas as pd

    from netsci_dl._files.atomic import atomic_path
    from netsci_dl.models.classifier import ClassifierConfig, train_classifier
    from netsci_dl.runs.format import list_snapshots

    t0 = time.perf_counter()
    opts = task["options"]
    cfg = ClassifierConfig.from_dict(task["config"])
    run = Path(task["run_dir"])
    train, test = load_split(
        task["data"],
        seed=opts["seed"],
        test_fraction=opts["test_fraction"],
        n_train=opts["n_train"],
    )
    measures = run / "measures.csv"
    _, hist = train_classifier(train, cfg, run, test=test, resume=True, progress=False)
    if measures.exists():
        frame = pd.read_csv(measures)
    else:
        rng = np.random.default_rng(np.random.SeedSequence([int(opts["seed"]), 0x9B0]))
        probe = np.sort(rng.permutation(len(train))[: int(opts["probe_size"])])
        Xp, yp = train.X[probe], train.y[probe]
        keep = _measure_epochs(cfg.epochs, int(opts["analyze_every"]))
        parts = [
            snapshot_measures(
                path,
                Xp,
                yp,
                fisher_kind=opts["fisher_kind"],
                lanczos_iter=int(opts["lanczos_iter"]),
                hutchinson_probes=int(opts["hutchinson_probes"]),
                gradcov=bool(opts["gradcov"]),
                seed=int(opts["seed"]),
                device=opts["device"],
            )
            for path, info in list_snapshots(run)
            if info["epoch"] in keep
        ]
        frame = pd.concat(parts, ignore_index=True)
        frame.insert(0, "run", task["name"])
        with atomic_path(measures) as tmp:
            frame.to_csv(tmp, index=False)
    last = hist[-1]
    d = cfg.deficit
    return {
        "run": task["name"],
        "deficit": "none" if d is None else d.kind,
        "onset": int(task["onset"]),
        "window": int(task["window"]),
        "removal_epoch": 0 if d is None else d.end,
        "epochs": cfg.epochs,
        "final_test_accuracy": last[TEST_ACCURACY],
        "final_train_accuracy": last[TRAIN_ACCURACY],
        "final_test_loss": last[TEST_LOSS],
        "lr_reset": cfg.lr_reset,
        "seconds": time.perf_counter() - t0,
        "frame": frame,
    }


@dataclass(frozen=True, eq=False)
class CriticalPeriodResult:
    """The grid's results.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per run: :data:`SUMMARY_COLUMNS`.
    trajectory : pandas.DataFrame
        Long table ``run snapshot step epoch layer metric value`` over every measured snapshot.
    shape : dict
        The checks of the study's shape (see :func:`shape_checks`), with a plain ``verdict``.
    settings : dict
    """

    summary: Any
    trajectory: Any
    shape: dict[str, Any]
    settings: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the summary (one record per run), the shape checks and the settings; the
        trajectory's rows are in :attr:`trajectory` (``trajectory.csv``), counted here."""
        from netsci_dl._results import plain

        return {
            "summary": plain(self.summary.to_dict(orient="records")),
            "n_trajectory_rows": int(len(self.trajectory)),
            "shape": plain(self.shape),
            "settings": plain(self.settings),
        }

    def to_frame(self) -> Any:
        """The summary (a copy): one row per run (:data:`SUMMARY_COLUMNS`)."""
        return self.summary.copy()

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        opts = self.settings.get("options", {})
        return summary(
            "CriticalPeriodResult",
            arch=opts.get("model") or opts.get("arch"),
            deficit=opts.get("deficit"),
            runs=int(len(self.summary)),
            trajectory_rows=int(len(self.trajectory)),
            holds={
                k: c["holds"]
                for k, c in self.shape.items()
                if isinstance(c, dict) and c.get("applicable")
            },
        )


def critical_period(
    data: str,
    out_dir: str | Path,
    *,
    options: CriticalPeriodOptions | None = None,
    force: bool = False,
    figures: Callable[..., list[Path]] | None = None,
    n_jobs: int | None = None,
) -> CriticalPeriodResult:
    """Run (or resume) the grid into ``out_dir`` and write its tables and figures.

    The runs of the grid are independent tasks (:func:`run_task`) handed to
    :func:`netsci_dl.parallel.map_tasks`: ``n_jobs`` worker processes on this machine (one
    torch thread each), or every worker of a Dask cluster inside
    ``joblib.parallel_config(backend="dask")`` (``out_dir`` must then be on a file system the
    workers share). The results do not depend on ``n_jobs`` (up to floating-point rounding
    where worker processes run torch with one thread): each run seeds from its options.

    Writes ``out_dir/runs/<run>/`` (run folders with ``measures.csv``), ``critical_period.csv``
    (the summary), ``trajectory.csv`` (the long table), ``settings.json`` (every choice, the
    shape checks, the time) and, where ``figures`` is given, the figures it draws: pass
    :func:`netsci_dl.plot.critical.critical_figures` (called as ``figures(summary, trajectory,
    out_dir, title=...)``, returning the paths written; the CLI does). An existing ``out_dir``
    made with other settings is an error unless ``force`` (which deletes its runs).
    ``options`` (a :class:`CriticalPeriodOptions`, default its defaults) holds every setting of
    the grid and of its runs.
    """
    import shutil

    import pandas as pd

    from netsci_dl._files.atomic import atomic_path
    from netsci_dl.runs._critical_shape import shape_checks

    opts = options or CriticalPeriodOptions()
    if not isinstance(opts, CriticalPeriodOptions):
        raise InputError(f"options must be a CriticalPeriodOptions, got {type(opts).__name__}")
    out = Path(out_dir)
    settings_path = out / "settings.json"
    doc = {"data": data, "options": opts.to_dict()}
    tasks = critical_period_tasks(data, out, options=opts)  # reads and checks the data first
    out.mkdir(parents=True, exist_ok=True)
    if settings_path.exists():
        old = json.loads(settings_path.read_text())
        same = {k: old.get(k) for k in doc} == doc
        if not same and not force:
            raise FileExistsError(
                f"{out} holds a grid made with other settings; pass force=True (CLI: --force) "
                "to replace it, or another output folder"
            )
        if not same and (out / "runs").is_dir():
            shutil.rmtree(out / "runs")
    t0, c0 = time.perf_counter(), time.process_time()
    with atomic_path(settings_path) as tmp:  # first: marks the folder as this grid's
        tmp.write_text(json.dumps(dict(doc, status="running"), indent=2) + "\n")
    from netsci_dl.parallel import map_tasks

    rows = map_tasks(run_task, tasks, n_jobs=n_jobs, desc="critical-period runs", unit="run")
    frames = [r.pop("frame") for r in rows]
    summary = pd.DataFrame(rows, columns=[*SUMMARY_COLUMNS, "seconds"])
    traj = pd.concat(frames, ignore_index=True)
    shape = shape_checks(summary, traj)
    for name, df in (("critical_period.csv", summary), ("trajectory.csv", traj)):
        with atomic_path(out / name) as tmp:
            df.to_csv(tmp, index=False)
    title = f"{opts.model or opts.arch} on {data}, {opts.deficit}"
    drawn = figures(summary, traj, out, title=title) if figures is not None else []
    settings = dict(
        doc,
        status="done",
        shape=shape,
        seconds=time.perf_counter() - t0,
        cpu_seconds=time.process_time() - c0,
        runs=[t["name"] for t in tasks],
        figures=[p.name for p in drawn],
        protocol={
            "epochs_mode": opts.epochs_mode,
            "lr_reset": opts.lr_reset,
            "blur_factor": tasks[-1]["config"]["deficit"]["factor"]
            if tasks and tasks[-1]["config"]["deficit"]
            else None,
            "probe": f"{opts.probe_size} clean training images, the same at every snapshot",
            "test_data": "clean",
        },
    )
    with atomic_path(settings_path) as tmp:
        tmp.write_text(json.dumps(settings, indent=2, default=float) + "\n")
    return CriticalPeriodResult(summary, traj, shape, settings)
