"""Similarity over training: each layer at each snapshot against a reference snapshot (R17's
"converges bottom-up" figure), and the full layer x layer grid within each snapshot."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl.analysis.similarity._maps import (
    SimilarityOptions,
    _as_prepared,
    check_measure,
    matrix_values,
    reemit,
)
from netsci_dl.analysis.similarity._sim_common import SimilarityWarning
from netsci_dl.errors import InputError

__all__ = [
    "SnapshotSimilarity",
    "TrainingSimilarity",
    "snapshot_similarity",
    "similarity_over_training",
]

FRAME_COLUMNS = (
    "snapshot",
    "step",
    "epoch",
    "layer",
    "other_layer",
    "measure",
    "value",
    "comparison",
)


def _nan_list(a: np.ndarray) -> list:
    if a.ndim == 0:
        return None if math.isnan(float(a)) else float(a)
    return [_nan_list(x) for x in a]


@dataclass(frozen=True, eq=False)
class SnapshotSimilarity:
    """The similarity maps of one snapshot.

    Attributes
    ----------
    label : str
        The snapshot's name (file stem).
    step, epoch, stage : int or None
        Training step and epoch from the snapshot's sidecar; ``stage`` is the trainer's ``layer``
        (the RBM being trained in a DBN, 0 for an MLP).
    layers : tuple of str
        This snapshot's layers (rows of both maps).
    reference_layers : tuple of str
        The reference's layers (columns of ``to_reference``).
    to_reference : (n_layers, n_reference_layers) float64 ndarray
        Each layer of this snapshot against each layer of the reference.
    within : (n_layers, n_layers) float64 ndarray or None
        Layer x layer within this snapshot (None when not asked for).
    source : str
    """

    label: str
    step: int
    epoch: int | None
    stage: int | None
    layers: tuple[str, ...]
    reference_layers: tuple[str, ...]
    to_reference: np.ndarray = field(repr=False)
    within: np.ndarray | None = field(default=None, repr=False)
    source: str = ""

    def __post_init__(self) -> None:
        for k in ("to_reference", "within"):
            v = getattr(self, k)
            if v is not None:
                v = np.array(v, dtype=np.float64)
                v.setflags(write=False)
                object.__setattr__(self, k, v)

    def diagonal(self) -> np.ndarray:
        """``(n_layers,)``: each layer against the reference layer of the same name (NaN if none)."""
        out = np.full(len(self.layers), np.nan)
        for i, name in enumerate(self.layers):
            if name in self.reference_layers:
                out[i] = self.to_reference[i, self.reference_layers.index(name)]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (NaN -> null): the snapshot's record in :meth:`TrainingSimilarity.to_dict`,
        with its ``layers``."""
        return {
            "label": self.label,
            "source": self.source,
            "step": self.step,
            "epoch": self.epoch,
            "stage": self.stage,
            "layers": list(self.layers),
            "reference_layers": list(self.reference_layers),
            "to_reference": _nan_list(self.to_reference),
            "within": None if self.within is None else _nan_list(self.within),
        }

    def to_frame(self) -> Any:
        """Long table, one row per (layer, other layer, comparison): the rows of this snapshot
        in :meth:`TrainingSimilarity.to_frame`, without ``measure`` (a snapshot does not
        record it)."""
        import pandas as pd

        rows = []
        for kind, M, cols in (
            ("reference", self.to_reference, self.reference_layers),
            ("within", self.within, self.layers),
        ):
            if M is None:
                continue
            for i, a in enumerate(self.layers):
                for j, b in enumerate(cols):
                    rows.append((self.label, self.step, self.epoch, a, b, float(M[i, j]), kind))
        columns = [c for c in FRAME_COLUMNS if c != "measure"]
        df = pd.DataFrame(rows, columns=columns)
        df["epoch"] = df["epoch"].astype("Int64")
        return df

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        return summary(
            "SnapshotSimilarity",
            short(self.label),
            step=self.step,
            epoch=self.epoch,
            stage=self.stage,
            layers=len(self.layers),
            reference_layers=len(self.reference_layers),
            within=self.within is not None,
        )


def snapshot_similarity(
    acts: Any,
    reference: Any,
    *,
    measure: str = "cka",
    options: SimilarityOptions | None = None,
    info: Mapping[str, Any] | None = None,
    within: bool = True,
) -> SnapshotSimilarity:
    """The maps of one snapshot: its layers against ``reference``'s, and against each other.

    Parameters
    ----------
    acts : mapping layer -> (n_samples, n_units) array (e.g. :class:`~netsci_dl.activations.Activations`)
    reference : mapping, or PreparedLayers from :func:`prepare_layers` (reused across snapshots)
    measure, options : see :func:`similarity_matrix`
    info : mapping, optional
        ``label``, ``step``, ``epoch``, ``layer`` (the trainer's stage) and ``source`` of the
        snapshot (an item of :func:`netsci_dl.runs.format.snapshot_sources`).
    within : bool
        Also the layer x layer grid of this snapshot.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> s = snapshot_similarity({"h1": X}, {"h1": 2 * X}, info={"step": 5})
    >>> s.step, np.round(s.diagonal(), 12).tolist()
    (5, [1.0])
    """
    check_measure(measure)
    opt = options or SimilarityOptions()
    info = dict(info or {})
    pr = _as_prepared(reference, measure, opt)
    pa = _as_prepared(acts, measure, opt, like=pr)
    cross = matrix_values(pa, pr)
    grid = matrix_values(pa, None) if within else None

    def _int(v: Any) -> int | None:
        return None if v is None else int(v)

    return SnapshotSimilarity(
        label=str(info.get("label", "")),
        step=int(info.get("step", 0) or 0),
        epoch=_int(info.get("epoch")),
        stage=_int(info.get("layer")),
        layers=pa.names,
        reference_layers=pr.names,
        to_reference=cross,
        within=grid,
        source=str(info.get("source", "")),
    )


@dataclass(frozen=True, eq=False)
class TrainingSimilarity:
    """Similarity maps at every snapshot of a training run.

    Attributes
    ----------
    snapshots : tuple of SnapshotSimilarity
        In training order.
    reference : str
        Label of the reference snapshot (default: the last one).
    measure : str
    settings : dict
        The measure's options and how the activations were taken (data, pool, ...).
    """

    snapshots: tuple[SnapshotSimilarity, ...] = field(repr=False)
    reference: str
    measure: str
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.snapshots:
            raise InputError("no snapshots")
        names = self.snapshots[0].layers
        for s in self.snapshots:
            if s.layers != names:
                raise InputError(
                    f"snapshot {s.label!r} has layers {s.layers}, the first has {names}: "
                    "follow the same layers in every snapshot (layers=...)"
                )

    # ---- arrays ----
    @property
    def n_snapshots(self) -> int:
        return len(self.snapshots)

    @property
    def layers(self) -> tuple[str, ...]:
        return self.snapshots[0].layers

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.snapshots)

    @property
    def steps(self) -> np.ndarray:
        return np.array([s.step for s in self.snapshots], dtype=np.int64)

    @property
    def epochs(self) -> tuple[int | None, ...]:
        return tuple(s.epoch for s in self.snapshots)

    @property
    def to_reference(self) -> np.ndarray:
        """``(n_snapshots, n_layers)``: each layer against the same layer of the reference."""
        return np.stack([s.diagonal() for s in self.snapshots])

    @property
    def cross(self) -> np.ndarray:
        """``(n_snapshots, n_layers, n_reference_layers)``: every layer against every reference layer."""
        return np.stack([s.to_reference for s in self.snapshots])

    @property
    def within(self) -> np.ndarray | None:
        """``(n_snapshots, n_layers, n_layers)`` layer x layer within each snapshot, or None."""
        if any(s.within is None for s in self.snapshots):
            return None
        return np.stack([s.within for s in self.snapshots])

    def converged_at(self, threshold: float = 0.9) -> np.ndarray:
        """``(n_layers,)`` step from which each layer stays at or above ``threshold`` similarity to
        the reference (the first snapshot's step when always; NaN when it never gets there)."""
        T = self.to_reference
        steps = self.steps.astype(np.float64)
        out = np.full(T.shape[1], np.nan)
        for l in range(T.shape[1]):
            ok = np.nan_to_num(T[:, l], nan=-np.inf) >= threshold
            if ok[-1]:
                below = np.flatnonzero(~ok)
                out[l] = steps[below[-1] + 1] if below.size else steps[0]
        return out

    def bottom_up(self, threshold: float = 0.9) -> bool:
        """True when :meth:`converged_at` never decreases from the lowest layer up (no NaN)."""
        c = self.converged_at(threshold)
        return bool(np.all(np.isfinite(c)) and np.all(np.diff(c) >= 0))

    def summary_frame(self, thresholds: tuple[float, ...] = (0.9, 0.95, 0.99)) -> Any:
        """One row per layer: ``layer``, ``first`` (the first snapshot's similarity to the
        reference), ``min``, and ``converged_at_<t>`` (:meth:`converged_at`) per threshold."""
        import pandas as pd

        T = self.to_reference
        d: dict[str, Any] = {"layer": list(self.layers), "first": T[0], "min": np.nanmin(T, 0)}
        for t in thresholds:
            d[f"converged_at_{t:g}"] = self.converged_at(t)
        return pd.DataFrame(d)

    # ---- tables ----
    def to_long_frame(self) -> Any:
        """Each layer against the same layer of the reference, in the long table every
        per-snapshot measure shares (``snapshot step epoch layer metric value``; metric
        ``<measure>_to_reference``, e.g. ``cka_to_reference``), to concatenate with
        :meth:`netsci_dl.runs.trajectory.EITrajectory.to_long_frame` and the Fisher and
        curvature tables.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(30, 3))
        >>> T = similarity_over_training([({"h1": X + s, "h2": X}, {"step": s}) for s in range(2)])
        >>> T.to_long_frame()[["layer", "metric"]].drop_duplicates().values.tolist()
        [['h1', 'cka_to_reference'], ['h2', 'cka_to_reference']]
        """
        import pandas as pd

        from netsci_dl._tables import long_rows

        M = self.to_reference
        metric = f"{self.measure}_to_reference"
        parts = [
            long_rows(
                [(a, metric, float(M[i, j])) for j, a in enumerate(self.layers)],
                s.label,
                s.step,
                s.epoch,
            )
            for i, s in enumerate(self.snapshots)
        ]
        return pd.concat(parts, ignore_index=True)

    def to_frame(self) -> Any:
        """Long table, one row per (snapshot, layer, other layer, comparison).

        Columns ``snapshot step epoch layer other_layer measure value comparison``:
        ``comparison="reference"`` rows hold a layer of the snapshot (``layer``) against a
        layer of the reference (``other_layer``); ``"within"`` rows two layers of the snapshot.
        """
        import pandas as pd

        rows = []
        for s in self.snapshots:
            for kind, M, cols in (
                ("reference", s.to_reference, s.reference_layers),
                ("within", s.within, s.layers),
            ):
                if M is None:
                    continue
                for i, a in enumerate(s.layers):
                    for j, b in enumerate(cols):
                        rows.append(
                            (s.label, s.step, s.epoch, a, b, self.measure, float(M[i, j]), kind)
                        )
        df = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
        df["epoch"] = df["epoch"].astype("Int64")
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (NaN -> null)."""
        return {
            "measure": self.measure,
            "reference": self.reference,
            "layers": list(self.layers),
            "settings": dict(self.settings),
            "snapshots": [
                {
                    "label": s.label,
                    "source": s.source,
                    "step": s.step,
                    "epoch": s.epoch,
                    "stage": s.stage,
                    "reference_layers": list(s.reference_layers),
                    "to_reference": _nan_list(s.to_reference),
                    "within": None if s.within is None else _nan_list(s.within),
                }
                for s in self.snapshots
            ],
        }

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        steps = self.steps
        return summary(
            "TrainingSimilarity",
            repr(self.measure),
            n_snapshots=self.n_snapshots,
            steps=(int(steps[0]), int(steps[-1])),
            layers=self.layers,
            reference=self.reference,
        )


def similarity_over_training(
    snapshots: Iterable[tuple[Any, Mapping[str, Any]]],
    *,
    reference: Any = -1,
    measure: str = "cka",
    options: SimilarityOptions | None = None,
    within: bool = True,
    settings: Mapping[str, Any] | None = None,
) -> TrainingSimilarity:
    """Maps over training from activations already computed: ``[(acts, info), ...]``.

    Every snapshot's activations are held at once here; for a run folder and data use
    :func:`netsci_dl.activations.training_similarity`, which computes one snapshot at a time.

    Parameters
    ----------
    snapshots : sequence of (mapping layer -> array, info dict)
        ``info`` as in :func:`snapshot_similarity`.
    reference : int or mapping
        Index of the reference snapshot (default -1: the last), or its activations.
    measure, options, within : see :func:`snapshot_similarity`
    settings : mapping, optional
        Extra provenance stored in the result (how the activations were taken).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 4))
    >>> snaps = [({"h1": X + t * rng.normal(size=X.shape)}, {"step": t}) for t in (3, 2, 1, 0)]
    >>> T = similarity_over_training(snaps)
    >>> T.steps.tolist(), round(float(T.to_reference[-1, 0]), 12)
    ([3, 2, 1, 0], 1.0)
    """
    snaps = list(snapshots)
    if not snaps:
        raise InputError("no snapshots")
    opt = options or SimilarityOptions()
    if isinstance(reference, int):
        try:
            ref_acts, ref_info = snaps[reference]
        except IndexError:
            raise InputError(f"reference={reference}: there are {len(snaps)} snapshots") from None
        ref_label = str(ref_info.get("label", reference))
    else:
        ref_acts, ref_label = reference, "reference"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SimilarityWarning)
        pr = _as_prepared(ref_acts, measure, opt)
        out = tuple(
            snapshot_similarity(a, pr, measure=measure, options=opt, info=i, within=within)
            for a, i in snaps
        )
    reemit(caught)
    s = {"options": opt.to_dict(), **dict(settings or {})}
    return TrainingSimilarity(out, ref_label, measure, s)
