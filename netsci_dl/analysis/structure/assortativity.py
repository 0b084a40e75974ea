"""Degree and strength assortativity, nearest-neighbour degree and degree-strength correlation.

Everything is computed from the blocks (sparse mat-vecs and row/column sums); the graph is
treated as **undirected** (each edge joins its two groups both ways), as networkx and igraph do
for an undirected graph. On a DAG every block counts (a skip block is edges like any other);
identity blocks (no learned weight) are left out. Definitions (shared/SCIENCE.md,
"Assortativity"):

* Newman's ``r``: Pearson correlation of the degrees at the two ends of an edge, over both
  orientations of every edge; equals ``networkx.degree_assortativity_coefficient`` and igraph's
  ``assortativity_degree(directed=False)``. In a k-partite graph ``r`` mixes layer sizes, so it
  is also given per block: the bipartite graph of one block (``src -> dst``), degrees counted
  inside that block.
* ``knn(i) = (1/k_i) sum_j A_ij k_j`` (networkx ``average_neighbor_degree``, igraph ``knn``);
  Barrat's weighted ``knn_w(i) = (1/s_i) sum_j |w_ij| A_ij k_j`` with ``s_i = sum_j |w_ij| A_ij``.
  A node of degree 0 gets NaN (igraph's convention; networkx returns 0 there).
* ``knn(k)``: the mean of ``knn(i)`` over nodes of degree ``k``; uncorrelated reference
  ``<k^2>/<k>``.

Undefined values (no edge; zero variance of degree, e.g. every node of a block with the same
degree) are returned as NaN with a ``RuntimeWarning``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.analysis.structure.distributions import (
    _weight_blocks,
    degree,
    require_thresholded,
    strength,
)
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "degree_assortativity",
    "block_assortativity",
    "strength_assortativity",
    "average_neighbor_degree",
    "KnnCurve",
    "knn_curve",
    "DegreeStrengthCorrelation",
    "degree_strength_correlation",
]


def _pattern(b: Any) -> Any:
    """The 0/1 pattern of a block as float64 (csr), or None for a dense (complete) block."""
    if not sp.issparse(b):
        return None
    return sp.csr_array((np.ones(len(b.indices)), b.indices, b.indptr), shape=b.shape)


def _edge_pearson(
    G: LayeredGraph,
    values: list[np.ndarray],
    counts: list[np.ndarray],
    patterns: dict[int, Any],
    what: str,
) -> float:
    """Pearson correlation of ``v`` at the two ends of every edge, both orientations.

    ``values[g]`` / ``counts[g]``: per-node value and number of edges of group ``g``;
    ``patterns[b]``: 0/1 csr of block ``b`` or None (a complete block).
    """
    two_m = float(sum(c.sum() for c in counts))
    if two_m == 0:
        warnings.warn(f"{what}: the graph has no edge; returning NaN", RuntimeWarning, stacklevel=3)
        return np.nan
    exy = 0.0
    for b, P in patterns.items():
        a, c = values[G.block_src[b]], values[G.block_dst[b]]
        exy += float(a.sum() * c.sum()) if P is None else float(a @ (P @ c))
    exy = 2 * exy / two_m
    mx = sum(float(c @ v) for c, v in zip(counts, values)) / two_m
    mx2 = sum(float(c @ (v * v)) for c, v in zip(counts, values)) / two_m
    var = mx2 - mx * mx
    if not var > 1e-12 * max(mx2, 1e-300):
        warnings.warn(
            f"{what}: zero variance at the edge ends, the coefficient is undefined; returning NaN",
            RuntimeWarning,
            stacklevel=3,
        )
        return np.nan
    return float(np.clip((exy - mx * mx) / var, -1.0, 1.0))


def _split(G: LayeredGraph, x: np.ndarray) -> list[np.ndarray]:
    off = G.offsets
    return [x[off[l] : off[l + 1]] for l in range(G.n_layers)]


def _block_degrees(b: Any) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.diff(b.indptr).astype(np.float64),
        np.bincount(b.indices, minlength=b.shape[1]).astype(np.float64),
    )


def _weight_blocks_idx(G: LayeredGraph) -> list[int]:
    return [b for b, k in enumerate(G.block_kinds) if k != "identity"]


def degree_assortativity(H: LayeredGraph) -> float:
    """Newman's degree assortativity ``r`` of a thresholded graph (undirected).

    Parameters
    ----------
    H : LayeredGraph
        Thresholded (sparse blocks); a full dense graph raises an InputError.

    Returns
    -------
    float
        In ``[-1, 1]``; NaN with a ``RuntimeWarning`` where undefined (no edge, zero variance).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> H = LayeredGraph((2, 3), (sp.csr_array(np.array([[1, 1, 1], [1, 0, 0]], np.float32)),))
    >>> round(degree_assortativity(H), 4)
    -0.6667
    """
    require_thresholded(H, "degree_assortativity")
    pats = {b: _pattern(H.blocks[b]) for b in _weight_blocks_idx(H)}
    k = _split(H, degree(H, direction="total").astype(np.float64))
    return _edge_pearson(H, k, k, pats, "degree_assortativity")


def block_assortativity(H: LayeredGraph) -> np.ndarray:
    """Newman's ``r`` of each block's bipartite graph alone (degrees counted inside the block).

    Returns
    -------
    (n_blocks,) float64 ndarray
        NaN (with a ``RuntimeWarning``) where undefined, and for identity blocks (not scored).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> B = sp.csr_array(np.array([[1, 1, 1], [1, 0, 0]], np.float32))
    >>> block_assortativity(LayeredGraph((2, 3), (B,))).round(4).tolist()
    [-0.6667]
    """
    require_thresholded(H, "block_assortativity")
    out = np.full(H.n_blocks, np.nan)
    for b in _weight_blocks_idx(H):
        ku, kd = _block_degrees(H.blocks[b])
        one = LayeredGraph((len(ku), len(kd)), (H.blocks[b],))
        out[b] = _edge_pearson(
            one,
            [ku, kd],
            [ku, kd],
            {0: _pattern(H.blocks[b])},
            f"degree assortativity of block {H.block_names[b]}",
        )
    return out


def strength_assortativity(G: LayeredGraph, *, weights: str = "abs") -> float:
    """Pearson correlation of the total strengths at the two ends of every edge (undirected).

    Equals ``networkx.degree_assortativity_coefficient(G, weight=...)`` with the weight given by
    ``weights`` (``"abs"``: ``|w|``, default; ``"signed"``, ``"pos"``, ``"neg"``). Works on full
    and thresholded graphs (then over the kept edges, with their original weights).

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 3), (np.array([[1, 2, 0], [3, 4, 1]], np.float32),))
    >>> round(strength_assortativity(G), 4)
    -0.1383
    """
    from netsci_dl.analysis.structure.distributions import _check_weights

    _check_weights(weights)
    s = _split(G, strength(G, direction="total", weights=weights))
    used = _weight_blocks_idx(G)
    pats = {b: _pattern(G.blocks[b]) for b in used}
    k = [np.zeros(n) for n in G.layer_sizes]
    for b in used:  # edge counts per node: exact for dense and sparse blocks alike
        src, dst = G.block_src[b], G.block_dst[b]
        if pats[b] is None:
            k[src] = k[src] + G.layer_sizes[dst]
            k[dst] = k[dst] + G.layer_sizes[src]
        else:
            ku, kd = _block_degrees(G.blocks[b])
            k[src], k[dst] = k[src] + ku, k[dst] + kd
    return _edge_pearson(G, s, k, pats, "strength_assortativity")


def average_neighbor_degree(H: LayeredGraph, *, weights: str | None = None) -> np.ndarray:
    """Per-node average degree of the neighbours, ``knn(i)`` (or Barrat's ``knn_w(i)``).

    Parameters
    ----------
    H : LayeredGraph
        Thresholded graph (undirected view).
    weights : {None, "abs"}
        None (default): every kept edge counts 1. ``"abs"``: Barrat's version, weighting each
        neighbour by ``|w_ij|`` (the original weight of a kept edge) and dividing by the node's
        strength over kept edges.

    Returns
    -------
    (n_nodes,) float64; NaN for isolated nodes.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> H = LayeredGraph((2, 2), (sp.csr_array(np.array([[1, 0], [1, 1]], np.float32)),))
    >>> average_neighbor_degree(H).tolist()
    [2.0, 1.5, 1.5, 2.0]
    """
    require_thresholded(H, "average_neighbor_degree")
    if weights not in (None, "abs"):
        raise InputError(f"weights must be None or 'abs', got {weights!r}")
    weighted = weights == "abs"
    k = degree(H, direction="total").astype(np.float64)
    ks = _split(H, k)
    wb = _weight_blocks(H)
    num = [np.zeros(n) for n in H.layer_sizes]
    den = [np.zeros(n) for n in H.layer_sizes]
    for b in _weight_blocks_idx(H):
        M = _pattern(H.blocks[b]) if not weighted else abs(wb[b]).astype(np.float64)
        s, d = H.block_src[b], H.block_dst[b]
        num[s] += M @ ks[d]
        num[d] += M.T @ ks[s]
        if weighted:
            den[s] += np.asarray(M.sum(axis=1)).ravel()
            den[d] += np.asarray(M.sum(axis=0)).ravel()
    num_a = np.concatenate(num) if num else np.zeros(0)
    den_a = np.concatenate(den) if weighted else k
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num_a / den_a
    out[den_a == 0] = np.nan
    return out


@dataclass(frozen=True)
class KnnCurve:
    """``knn(k)``: mean neighbour degree of the nodes of each degree ``k >= 1``."""

    name: str
    k: np.ndarray
    knn: np.ndarray
    count: np.ndarray
    reference: float  # <k^2>/<k>, the uncorrelated expectation
    weights: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "k": self.k.tolist(),
            "knn": self.knn.tolist(),
            "count": self.count.tolist(),
            "reference": self.reference,
            "weights": self.weights,
        }

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"k": self.k, "knn": self.knn, "count": self.count})

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        k = (int(self.k[0]), int(self.k[-1])) if self.k.size else ()
        return summary(
            "KnnCurve",
            short(self.name),
            n_degrees=int(self.k.size),
            k_range=k,
            reference=self.reference,
            weights=self.weights,
        )


def _block_graph(H: LayeredGraph, b: int) -> LayeredGraph:
    """Block ``b`` alone, as a two-group graph."""
    ea = {name: (v[b],) for name, v in H.edge_attrs.items()}
    s, d = H.block_src[b], H.block_dst[b]
    return LayeredGraph(
        (H.layer_sizes[s], H.layer_sizes[d]),
        (H.blocks[b],),
        layer_names=(H.layer_names[s], H.layer_names[d]),
        edge_attrs=ea,
        meta=dict(H.meta),
    )


def knn_curve(H: LayeredGraph, *, weights: str | None = None, block: int | None = None) -> KnnCurve:
    """The ``knn(k)`` curve of a thresholded graph, or of one bipartite block (``block=l``).

    ``weights`` as in :func:`average_neighbor_degree` (None: unweighted; ``"abs"``: Barrat's).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> H = LayeredGraph((2, 2), (sp.csr_array(np.array([[1, 0], [1, 1]], np.float32)),))
    >>> c = knn_curve(H)
    >>> c.k.tolist(), c.knn.tolist(), round(c.reference, 4)
    ([1, 2], [2.0, 1.5], 1.6667)
    """
    require_thresholded(H, "knn_curve")
    name = "all"
    if block is not None:
        if not 0 <= block < len(H.blocks):
            raise InputError(f"block {block} out of range for {len(H.blocks)} blocks")
        name = H.block_names[block]
        H = _block_graph(H, block)
    k = degree(H, direction="total")
    knn = average_neighbor_degree(H, weights=weights)
    ok = k > 0
    cnt = np.bincount(k[ok])
    tot = np.bincount(k[ok], weights=knn[ok])
    ks = np.flatnonzero(cnt)
    ref = float((k.astype(float) ** 2).mean() / k.mean()) if k.sum() else np.nan
    return KnnCurve(name, ks, tot[ks] / cnt[ks], cnt[ks], ref, weights)


@dataclass(frozen=True)
class DegreeStrengthCorrelation:
    """Per layer: Pearson and Spearman correlation between degree (thresholded graph) and
    strength (full graph), in the same ``direction``."""

    layers: tuple[str, ...]
    n: tuple[int, ...]
    pearson: tuple[float, ...]
    spearman: tuple[float, ...]
    direction: str
    weights: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "layers": list(self.layers),
            "n": list(self.n),
            "pearson": list(self.pearson),
            "spearman": list(self.spearman),
            "direction": self.direction,
            "weights": self.weights,
        }

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            {"layer": self.layers, "n": self.n, "pearson": self.pearson, "spearman": self.spearman}
        ).set_index("layer")

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "DegreeStrengthCorrelation",
            f"{len(self.layers)} layers",
            direction=self.direction,
            weights=self.weights,
            pearson=self.pearson,
            spearman=self.spearman,
        )


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    d = np.sqrt((x @ x) * (y @ y))
    return float(np.clip((x @ y) / d, -1, 1)) if d > 0 else np.nan


def degree_strength_correlation(
    G: LayeredGraph,
    H: LayeredGraph,
    *,
    direction: str = "up",
    weights: str = "signed",
) -> DegreeStrengthCorrelation:
    """Pearson and Spearman correlation of ``(k_i, s_i)`` over the nodes of each layer (T18).

    Parameters
    ----------
    G : LayeredGraph
        The full graph: strengths ``s`` (:func:`strength` with ``direction`` and ``weights``).
    H : LayeredGraph
        A thresholding of ``G``: degrees ``k`` in the same ``direction``.
    direction : {"up", "down", "total"}
        Default ``"up"`` (T18), with the last layer falling back to ``"down"``.
    weights : {"signed", "abs", "pos", "neg"}

    Returns
    -------
    DegreeStrengthCorrelation
        NaN with a ``RuntimeWarning`` for a layer where ``k`` or ``s`` is constant.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph, threshold
    >>> G = LayeredGraph((3, 2), (np.array([[3, 2], [0.1, 2], [0.1, 0.2]], np.float32),))
    >>> c = degree_strength_correlation(G, threshold.by_value(G, 1.0))
    >>> [round(p, 3) for p in c.pearson]
    [0.991, 1.0]
    """
    from scipy.stats import rankdata

    from netsci_dl.analysis.structure.distributions import _check_weights

    _check_weights(weights)
    if tuple(G.layer_sizes) != tuple(H.layer_sizes):
        raise InputError(
            f"G has layers {G.layer_sizes} but H has {H.layer_sizes}; H must be a thresholding of G"
        )
    k = degree(H, direction=direction).astype(np.float64)
    s = strength(G, direction=direction, weights=weights)
    off = G.offsets
    pe, sr, ns = [], [], []
    for l in range(G.n_layers):
        kl, sl = k[off[l] : off[l + 1]], s[off[l] : off[l + 1]]
        if len(kl) < 2 or np.ptp(kl) == 0 or np.ptp(sl) == 0:
            if len(kl):
                warnings.warn(
                    f"degree_strength_correlation: layer {G.layer_names[l]} has constant "
                    "degree or strength; returning NaN",
                    RuntimeWarning,
                    stacklevel=2,
                )
            pe.append(np.nan)
            sr.append(np.nan)
        else:
            pe.append(_pearson(kl, sl))
            sr.append(_pearson(rankdata(kl), rankdata(sl)))
        ns.append(len(kl))
    return DegreeStrengthCorrelation(
        tuple(G.layer_names), tuple(ns), tuple(pe), tuple(sr), direction, weights
    )
