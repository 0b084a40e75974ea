"""The neuron table: the eight measures of Scabini & Bruno for every neuron
(:func:`neuron_measures`, a :class:`NeuronMeasures` table) and neuron types by k-means on them
(:func:`neuron_types`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl.analysis.structure._graphs import (
    _check_graph,
)
from netsci_dl.analysis.structure.centrality import (
    NEURON_MEASURES,
    average_neighbor_strength,
    bipartite_clustering,
    current_flow_closeness_centrality,
    harmonic_centrality,
    number_of_maximal_cliques,
    second_order_centrality,
    signed_strength,
    subgraph_centrality,
)
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["NeuronMeasures", "neuron_measures", "NeuronTypes", "neuron_types"]


# ---- the table of neurons --------------------------------------------------------------------
_FUNCS = {
    "strength": signed_strength,
    "avg_neighbor_strength": average_neighbor_strength,
    "current_flow_closeness": current_flow_closeness_centrality,
    "bipartite_clustering": bipartite_clustering,
    "log_subgraph_centrality": subgraph_centrality,
    "harmonic": harmonic_centrality,
    "second_order": second_order_centrality,
    "maximal_cliques": number_of_maximal_cliques,
}


@dataclass(frozen=True)
class NeuronMeasures:
    """Per-neuron measures: one value per selected node for each measure.

    Attributes
    ----------
    node : (n,) int64
        Global node ids of the rows.
    layer : (n,) int64
        Group of each row; ``layer_names[layer]`` its name.
    index : (n,) int64
        Index of each row within its group.
    layer_names : tuple of str
    values : dict of str to (n,) float64
        Measure name (:data:`NEURON_MEASURES`) -> values, in row order.
    params : dict
        ``nodes``, ``include_identity`` and the graph each measure read.
    """

    node: np.ndarray
    layer: np.ndarray
    index: np.ndarray
    layer_names: tuple[str, ...]
    values: dict[str, np.ndarray]
    params: dict = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.values)

    def __len__(self) -> int:
        return len(self.node)

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per neuron: ``node``, ``layer`` (name), ``index``, then
        one column per measure."""
        import pandas as pd

        cols: dict[str, Any] = {
            "node": self.node,
            "layer": np.asarray(self.layer_names, dtype=object)[self.layer]
            if len(self.layer)
            else np.zeros(0, dtype=object),
            "index": self.index,
        }
        cols.update(self.values)
        return pd.DataFrame(cols)

    def to_dict(self) -> dict[str, Any]:
        def clean(x: np.ndarray) -> list:
            return [float(v) if np.isfinite(v) else None for v in x]

        return {
            "node": self.node.tolist(),
            "layer": [self.layer_names[i] for i in self.layer],
            "index": self.index.tolist(),
            "values": {k: clean(v) for k, v in self.values.items()},
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        groups = sorted({self.layer_names[i] for i in self.layer})
        return (
            f"NeuronMeasures({len(self)} neurons in {len(groups)} layers, "
            f"{len(self.values)} measures: {', '.join(self.values)})"
        )[:300]


def _hidden_groups(G: LayeredGraph, include_identity: bool) -> np.ndarray:
    used = [b for b, k in enumerate(G.block_kinds) if include_identity or k != "identity"]
    has_in = np.zeros(G.n_layers, dtype=bool)
    has_out = np.zeros(G.n_layers, dtype=bool)
    has_in[[G.block_dst[b] for b in used]] = True
    has_out[[G.block_src[b] for b in used]] = True
    return np.flatnonzero(has_in & has_out)


def neuron_measures(
    G: LayeredGraph,
    *,
    measures: tuple[str, ...] | list[str] = NEURON_MEASURES,
    nodes: str = "hidden",
    include_identity: bool = False,
) -> NeuronMeasures:
    """Scabini & Bruno's eight measures for every neuron, as one table.

    Each measure is computed on the whole graph (all layers, undirected; see the function of
    each name in :data:`NEURON_MEASURES`) and the rows are then restricted to ``nodes``.

    Parameters
    ----------
    G : LayeredGraph
    measures : sequence of str
        Names from :data:`NEURON_MEASURES` (default all eight). ``"log_subgraph_centrality"`` is
        ``log SC`` (the values overflow float64 on MNIST MLPs).
    nodes : {"hidden", "all"}
        ``"hidden"`` (default, Scabini & Bruno): the units of groups with both an incoming and an
        outgoing block; ``"all"``: every node.
    include_identity : bool
        Count identity blocks (skip connections) as edges.

    Returns
    -------
    NeuronMeasures

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0, -2.0]]), np.array([[3.0], [0.5]])])
    >>> m = neuron_measures(G, measures=("strength", "maximal_cliques"))
    >>> m.to_frame()[["layer", "strength", "maximal_cliques"]].values.tolist()
    [['W0', 4.0, 2.0], ['W0', -1.5, 1.0]]
    """
    _check_graph(G)
    unknown = [m for m in measures if m not in _FUNCS]
    if unknown:
        raise InputError(f"unknown measures {unknown}; choose from {list(NEURON_MEASURES)}")
    if nodes == "hidden":
        groups = _hidden_groups(G, include_identity)
        sel = np.concatenate([np.arange(G.n_nodes)[G.layer_slice(g)] for g in groups] or [[]])
        sel = sel.astype(np.int64)
    elif nodes == "all":
        sel = np.arange(G.n_nodes, dtype=np.int64)
    else:
        raise InputError(f"nodes must be 'hidden' or 'all', got {nodes!r}")
    values = {m: _FUNCS[m](G, include_identity=include_identity)[sel] for m in measures}
    return NeuronMeasures(
        sel,
        G.node_layer[sel].astype(np.int64),
        G.node_index[sel].astype(np.int64),
        tuple(G.layer_names),
        values,
        {"nodes": nodes, "include_identity": include_identity, "measures": list(measures)},
    )


@dataclass(frozen=True)
class NeuronTypes:
    """Neurons clustered by k-means on standardised measures.

    Attributes
    ----------
    labels : (n,) int64
        The type of every row of the :class:`NeuronMeasures`.
    centers : (k, n_features) float64
        Cluster centres in standardised units (z-scores of each feature).
    features : tuple of str
        The measures used (columns of ``centers``).
    dropped : tuple of str
        Measures left out: a non-finite value or zero variance.
    inertia : float
    params : dict
    """

    labels: np.ndarray
    centers: np.ndarray
    features: tuple[str, ...]
    dropped: tuple[str, ...]
    inertia: float
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": self.labels.tolist(),
            "centers": self.centers.tolist(),
            "features": list(self.features),
            "dropped": list(self.dropped),
            "inertia": self.inertia,
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        sizes = np.bincount(self.labels, minlength=len(self.centers)).tolist()
        return f"NeuronTypes(k={len(self.centers)}, sizes={sizes}, features={len(self.features)})"


def neuron_types(
    measures: NeuronMeasures,
    *,
    k: int = 4,
    features: tuple[str, ...] | list[str] | None = None,
    seed: int | None = 0,
) -> NeuronTypes:
    """Types of neurons: seeded k-means (scikit-learn, 10 starts) on standardised measures.

    Each feature is centred and divided by its standard deviation over the rows; a measure with
    a non-finite value (e.g. second-order centrality outside the giant component) or zero
    variance is left out and named in ``dropped``.

    Parameters
    ----------
    measures : NeuronMeasures
    k : int
        Number of types.
    features : sequence of str, optional
        Default: every measure of ``measures``.
    seed : int, optional

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.random.default_rng(0).normal(size=(4, 6)), np.ones((6, 2))])
    >>> t = neuron_types(neuron_measures(G, measures=("strength", "harmonic")), k=2)
    >>> t.labels.shape, t.features
    ((6,), ('strength', 'harmonic'))
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    names = tuple(measures.names if features is None else features)
    missing = [f for f in names if f not in measures.values]
    if missing:
        raise InputError(f"features {missing} are not in the measures {list(measures.names)}")
    use, dropped = [], []
    for f in names:
        x = measures.values[f]
        ok = np.all(np.isfinite(x)) and len(x) > 0 and np.std(x) > 0
        (use if ok else dropped).append(f)
    if not use:
        raise InputError(f"no usable feature among {list(names)} (non-finite or constant)")
    n = len(measures)
    if not 1 <= k <= n:
        raise InputError(f"k must be in [1, {n}] (the number of neurons), got {k}")
    X = np.column_stack([measures.values[f] for f in use])
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    with threadpool_limits(1, user_api="openmp"):  # small data: threads only spin
        km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X)
    return NeuronTypes(
        km.labels_.astype(np.int64),
        km.cluster_centers_.astype(np.float64),
        tuple(use),
        tuple(dropped),
        float(km.inertia_),
        {"k": k, "seed": seed, "standardised": True, "n_init": 10},
    )
