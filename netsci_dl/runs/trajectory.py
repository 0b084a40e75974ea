"""Effective information over training: graph EI and every layer's path in the causal plane.

A *trajectory* is the sequence of snapshots of one training run (a run folder written by
:func:`netsci_dl.models.train.train_dbn` or :func:`netsci_dl.models.mlp.train_mlp`, or any
ordered list of checkpoints / LayeredGraphs). At each snapshot we compute

- the graph EI over random walks (:func:`~netsci_dl.analysis.effective_information`) on the full graph with transition weights ``|w|`` (default), or on a
  thresholded graph (``threshold="quantile:0.95"`` etc.);
- every layer's point in the causal plane (:func:`~netsci_dl.analysis.information.causal_plane.
  layer_causal_plane`): x = sensitivity, y = degeneracy, with EI_parts, always on the weighted
  graph with its biases (a thresholded graph has no causal meaning as a layer).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl._tables import LONG_COLUMNS
from netsci_dl.analysis.information import (
    EffectiveInformation,
    LayerEI,
    LayerEIOptions,
    effective_information,
    layer_causal_plane,
)
from netsci_dl.errors import InputError
from netsci_dl.export import load
from netsci_dl.graph import LayeredGraph
from netsci_dl.runs.format import axis_label, snapshot_sources

__all__ = ["EITrajectory", "ei_trajectory", "snapshot_sources", "LONG_COLUMNS"]
# snapshot_sources: from netsci_dl.runs.format; LONG_COLUMNS: the columns of every long table

log = logging.getLogger(__name__)

_GRAPH_KEYS = ("ei", "eff", "determinism", "degeneracy")


@dataclass(frozen=True, eq=False)
class EITrajectory:
    """Graph EI and causal-plane points of each layer at each snapshot (bits).

    Attributes
    ----------
    labels : tuple of str
        One per snapshot (the snapshot's file stem, or the graph's source).
    steps : (n_snapshots,) int64 ndarray
        Training step of each snapshot (its position in the list when unknown).
    layers, epochs : tuple of int or None
        The trainer's ``layer`` (the RBM being trained; 0 for an MLP) and ``epoch`` of each
        snapshot, None when unknown.
    graph : tuple of EffectiveInformation
        Graph EI at each snapshot.
    planes : tuple of tuple of LayerEI
        ``planes[s][l]``: layer ``l`` (weight block ``l -> l+1``) at snapshot ``s``.
    sources : tuple of str
        Where each snapshot came from.
    settings : dict
        Every choice: weights, directed, threshold, bins, n_samples, sensitivity_samples,
        activations, in_range, seed, device.
    """

    labels: tuple[str, ...]
    steps: np.ndarray
    layers: tuple[int | None, ...]
    epochs: tuple[int | None, ...]
    graph: tuple[EffectiveInformation, ...] = field(repr=False)
    planes: tuple[tuple[LayerEI, ...], ...] = field(repr=False)
    sources: tuple[str, ...] = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)

    # ---- arrays ----
    @property
    def n_snapshots(self) -> int:
        return len(self.labels)

    @property
    def n_layers(self) -> int:
        """Number of weight layers (blocks) followed in the causal plane."""
        return len(self.planes[0]) if self.planes else 0

    def graph_values(self, key: str = "ei") -> np.ndarray:
        """``(n_snapshots,)`` graph ``ei``, ``eff``, ``determinism`` or ``degeneracy``."""
        if key not in _GRAPH_KEYS:
            raise InputError(f"key must be one of {_GRAPH_KEYS}, got {key!r}")
        return np.array([getattr(g, key) for g in self.graph], dtype=np.float64)

    @property
    def ei(self) -> np.ndarray:
        """``(n_snapshots,)`` graph EI (bits)."""
        return self.graph_values("ei")

    @property
    def sensitivity(self) -> np.ndarray:
        """``(n_snapshots, n_layers)`` sensitivity (x of the causal plane, bits)."""
        return np.array([[p.sensitivity for p in ps] for ps in self.planes], dtype=np.float64)

    @property
    def degeneracy(self) -> np.ndarray:
        """``(n_snapshots, n_layers)`` degeneracy = sensitivity - EI_parts (y, bits)."""
        return np.array(
            [[p.degeneracy("parts") for p in ps] for ps in self.planes], dtype=np.float64
        )

    @property
    def ei_parts(self) -> np.ndarray:
        """``(n_snapshots, n_layers)`` EI_parts of each layer (bits)."""
        return np.array([[p.ei_parts for p in ps] for ps in self.planes], dtype=np.float64)

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        """``(n_in, n_out)`` of each layer."""
        return [(p.n_in, p.n_out) for p in self.planes[0]] if self.planes else []

    def path_lengths(self, *, per_pair: bool = False) -> np.ndarray:
        """``(n_layers,)`` length of each layer's path in the causal plane (bits): the sum of the
        Euclidean steps between consecutive snapshots. ``per_pair=True`` divides by
        ``n_in * n_out`` (sensitivity and degeneracy are sums over input-output pairs)."""
        if self.n_snapshots < 2:
            return np.zeros(self.n_layers)
        xy = np.stack([self.sensitivity, self.degeneracy], axis=-1)  # (S, L, 2)
        length = np.linalg.norm(np.diff(xy, axis=0), axis=-1).sum(axis=0)
        if per_pair:
            length = length / np.array([a * b for a, b in self.layer_shapes], dtype=np.float64)
        return length

    # ---- export ----
    def to_dict(self) -> dict[str, Any]:
        """JSON-able: settings, path lengths and one record per snapshot."""
        snaps = []
        for s in range(self.n_snapshots):
            g = self.graph[s]
            snaps.append(
                {
                    "label": self.labels[s],
                    "source": self.sources[s],
                    "step": int(self.steps[s]),
                    "layer": self.layers[s],
                    "epoch": self.epochs[s],
                    "graph": {k: float(getattr(g, k)) for k in _GRAPH_KEYS}
                    | {
                        "n_nodes": g.n_nodes,
                        "n_sinks": g.n_sinks,
                        "n_transitions": g.n_transitions,
                    },
                    "layers": [
                        {
                            "block": l,
                            "n_in": p.n_in,
                            "n_out": p.n_out,
                            "sensitivity": p.sensitivity,
                            "degeneracy": p.degeneracy("parts"),
                            "ei_parts": p.ei_parts,
                            "ei_whole": p.ei_whole,
                        }
                        for l, p in enumerate(self.planes[s])
                    ],
                }
            )
        return {
            "units": "bits",
            "settings": dict(self.settings),
            "path_lengths": self.path_lengths().tolist(),
            "path_lengths_per_pair": self.path_lengths(per_pair=True).tolist(),
            "snapshots": snaps,
        }

    def to_long_frame(self) -> Any:
        """The long table every per-snapshot measure shares: ``snapshot step epoch layer metric
        value`` (:data:`netsci_dl.runs.trajectory.LONG_COLUMNS`).

        ``layer`` is ``"all"`` for the graph EI (metrics ``graph_ei``, ``graph_eff``,
        ``graph_determinism``, ``graph_degeneracy``) and the weight block's name for its
        causal-plane point (``layer_sensitivity``, ``layer_degeneracy``, ``layer_ei``), all in
        bits. Concatenate it with the tables of :mod:`netsci_dl.activations._fisher`,
        :mod:`~netsci_dl.activations._curvature` and the similarity maps
        (:func:`netsci_dl.activations.training_measures` does it for a run).

        Examples
        --------
        >>> import numpy as np, netsci_dl as nd
        >>> Gs = [nd.from_matrices([np.eye(3) + s]) for s in (0.0, 0.1)]
        >>> T = ei_trajectory(Gs, activations="sigmoid", threshold="none",
        ...                   options=LayerEIOptions(n_samples=200, sensitivity_samples=20))
        >>> df = T.to_long_frame()
        >>> sorted(set(df["metric"]))[:3], df["layer"].iloc[-1]
        (['graph_degeneracy', 'graph_determinism', 'graph_eff'], 'input->W0')
        """
        from netsci_dl._tables import LONG_COLUMNS, long_rows

        names = list(self.settings.get("blocks") or [])
        parts = []
        for s in range(self.n_snapshots):
            g = self.graph[s]
            rows = [("all", f"graph_{k}", float(getattr(g, k))) for k in _GRAPH_KEYS]
            for l, p in enumerate(self.planes[s]):
                name = names[l] if l < len(names) else str(l)
                rows += [
                    (name, "layer_sensitivity", p.sensitivity),
                    (name, "layer_degeneracy", p.degeneracy("parts")),
                    (name, "layer_ei", p.ei_parts),
                ]
            parts.append(long_rows(rows, self.labels[s], int(self.steps[s]), self.epochs[s]))
        import pandas as pd

        if not parts:
            return pd.DataFrame(columns=LONG_COLUMNS)
        return pd.concat(parts, ignore_index=True)

    def to_frame(self) -> Any:
        """A pandas table, one row per (snapshot, layer): ``step layer epoch label graph_ei
        graph_eff graph_determinism graph_degeneracy block n_in n_out sensitivity degeneracy
        ei_parts`` (``layer``/``epoch`` are the trainer's; ``block`` is the network layer)."""
        import pandas as pd

        rows = []
        for _s, d in enumerate(self.to_dict()["snapshots"]):
            head = {k: d[k] for k in ("step", "layer", "epoch", "label")}
            head.update({f"graph_{k}": d["graph"][k] for k in _GRAPH_KEYS})
            for lay in d["layers"]:
                rows.append(
                    head
                    | {
                        k: lay[k]
                        for k in ("block", "n_in", "n_out", "sensitivity", "degeneracy", "ei_parts")
                    }
                )
        df = pd.DataFrame(rows)
        for k in ("layer", "epoch"):
            df[k] = df[k].astype("Int64")
        return df

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        s = self.steps
        ei = self.ei
        return summary(
            "EITrajectory",
            n_snapshots=self.n_snapshots,
            n_layers=self.n_layers,
            steps=(int(s[0]), int(s[-1])) if s.size else None,
            ei=(float(ei[0]), float(ei[-1])) if ei.size else None,
            weights=self.settings.get("weights"),
        )


# ---- the computation ----------------------------------------------------------------------
def _graphs_of_user_models(source: Any) -> Any:
    """``source`` with each :class:`~netsci_dl.runs.checkpoints.CheckpointModel` replaced by
    its graph (the others kept)."""
    from netsci_dl.runs.checkpoints import CheckpointModel

    if isinstance(source, CheckpointModel):
        source = [source]
    if not isinstance(source, list | tuple):
        return source
    return [it.graph() if isinstance(it, CheckpointModel) else it for it in source]


def ei_trajectory(
    source: Any,
    *,
    weights: str | None = "abs",
    directed: bool | None = None,
    threshold: str | None = "auto",
    activations: str | Sequence[str] | None = None,
    options: LayerEIOptions | None = None,
    num_threads: int | None = None,
    progress: bool = False,
    n_jobs: int | None = None,
) -> EITrajectory:
    """Graph EI and every layer's causal-plane point at each snapshot of a training run.

    Parameters
    ----------
    source : run folder, or sequence of checkpoint paths / LayeredGraphs / CheckpointModel
        A folder written by the DBN or MLP trainer (snapshots ordered by step, see
        :func:`netsci_dl.runs.format.snapshot_sources`), or snapshots in training order (a
        user's own checkpoints as :func:`netsci_dl.runs.checkpoints.checkpoint_models` items:
        the graph of each built model, :func:`netsci_dl.export.load`).
    weights, directed : as :func:`~netsci_dl.analysis.effective_information`
        Transition weights of the graph EI (default ``|w|``); ``directed`` None follows the graph
        (RBM/DBN undirected, feed-forward directed).
    threshold : str, optional
        A rule such as ``"quantile:0.95"`` (:func:`netsci_dl.threshold.apply_spec`) applied
        before the graph EI. Default ``"auto"``, the package's one default (the CLI's
        ``--threshold``); ``"none"`` (or None) for the full weighted graph. The causal plane
        always uses the full weighted graph.
    activations : str or sequence of str, optional
        Activation of each weight block; default the graph's (see
        :func:`~netsci_dl.analysis.layer_causal_plane`: a DBN is sigmoid everywhere, netsci_dl's
        MLP sigmoid in its hidden layers and identity on its logits).
    options : LayerEIOptions, optional
        The layer-EI estimator, the same default as every other entry point (100,000 noise
        samples, 5,000 per input for the sensitivity, 8 bins). The paper used 1e7 noise samples,
        so absolute values carry the plug-in bias (about ``(bins-1)**2 / (2 n ln 2)`` bits per
        input-output pair): compare snapshots computed with the same settings. The same seed is
        used at every snapshot (common random numbers: differences between snapshots are not
        noise between draws).
    num_threads : int, optional
        torch CPU threads during the computation (restored after); None: torch's setting. For
        small layers on a busy machine 1 is much faster (measured: a digits MLP over 11 snapshots
        1.2 s with 1 thread vs 9.6 s with 2 on 2 loaded cores).
    progress : bool
        A progress bar (default off; shown only when stderr is a terminal).
    n_jobs : int, optional
        Snapshots in parallel (:func:`netsci_dl.parallel.map_tasks`): None (default) serial
        unless a ``joblib.parallel_config`` says otherwise, -1 all cores; inside
        ``parallel_config(backend="dask")`` on the Dask cluster. Worker processes use one torch
        thread (``num_threads`` applies to this process). The numbers do not depend on it.

    Returns
    -------
    EITrajectory

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> from netsci_dl.analysis import LayerEIOptions
    >>> Gs = [nd.from_matrices([np.eye(3) * s]) for s in (0.5, 4.0)]
    >>> opts = LayerEIOptions(n_samples=2000, sensitivity_samples=200, device="cpu")
    >>> T = ei_trajectory(Gs, activations="sigmoid", options=opts, threshold="none")
    >>> T.n_snapshots, T.n_layers, T.sensitivity.shape
    (2, 1, (2, 1))
    >>> bool(T.path_lengths()[0] > 0)
    True
    """
    from netsci_dl._array import check_threads, import_torch

    check_threads(num_threads)
    opts = LayerEIOptions() if options is None else options
    torch = import_torch()
    items = snapshot_sources(_graphs_of_user_models(source))
    old = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(int(num_threads))
    try:
        graph_res, planes, infos = _compute(
            items, weights, directed, threshold, progress, activations, opts, n_jobs
        )
    finally:
        torch.set_num_threads(old)

    first = planes[0][0]
    n_layers = _sizes(planes[0])
    settings = {
        "weights": "none" if weights is None else weights,
        "directed": graph_res[0].directed,
        "threshold": threshold,
        **opts.to_dict(),
        "activations": [p.activation for p in planes[0]],
        "in_range": list(first.in_range),
        "device": first.device,
        "layer_sizes": list(n_layers),
        "blocks": [p.name for p in planes[0]],
        "x_label": axis_label(infos),  # what the steps count (runs.format.UNIT_LABELS)
    }
    return EITrajectory(
        labels=tuple(i["label"] for i in infos),
        steps=np.array([i["step"] for i in infos], dtype=np.int64),
        layers=tuple(i["layer"] for i in infos),
        epochs=tuple(i["epoch"] for i in infos),
        graph=tuple(graph_res),
        planes=tuple(planes),
        sources=tuple(i["source"] for i in infos),
        settings=settings,
    )


def _sizes(plane: Sequence[LayerEI]) -> tuple[int, ...]:
    return (plane[0].n_in, *(p.n_out for p in plane))


def _snapshot_task(item: tuple, shared: tuple) -> tuple:
    """One snapshot: (layer sizes, graph EI, causal plane). Seeded by the options alone."""
    from netsci_dl.threshold import apply_spec

    obj, _info = item
    weights, directed, threshold, activations, opts = shared
    G = obj if isinstance(obj, LayeredGraph) else load(obj)
    H = apply_spec(G, threshold) if threshold else G
    return (
        G.layer_sizes,
        effective_information(H, weights=weights, directed=directed),
        layer_causal_plane(G, activations=activations, options=opts),
    )


def _compute(
    items: list,
    weights: Any,
    directed: Any,
    threshold: Any,
    progress: bool,
    activations: Any,
    opts: LayerEIOptions,
    n_jobs: int | None = None,
) -> tuple[list, list, list]:
    from netsci_dl.parallel import map_tasks

    results = map_tasks(
        _snapshot_task,
        items,
        shared=(weights, directed, threshold, activations, opts),
        n_jobs=n_jobs,
        desc="EI",
        unit="snapshot",
        progress=progress,
    )
    graph_res: list[EffectiveInformation] = []
    planes: list[tuple[LayerEI, ...]] = []
    infos: list[dict[str, Any]] = []
    n_layers = None
    for (_obj, info), (sizes, g, plane) in zip(items, results, strict=True):
        if n_layers is not None and sizes != n_layers:
            raise InputError(
                f"snapshot {info['label']}: layer sizes {sizes} differ from the first "
                f"snapshot's {n_layers}"
            )
        n_layers = sizes
        graph_res.append(g)
        planes.append(plane)
        infos.append(info)
        log.debug("%s: EI %.4f", info["label"], g.ei)
    return graph_res, planes, infos
