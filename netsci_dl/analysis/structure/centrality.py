"""Neuron-level network measures: the eight of Scabini & Bruno, betweenness, eigenvector, Katz.

Scabini & Bruno (Physica A 615, 2023) describe every hidden neuron of an MLP by eight measures
of the **undirected** graph over all layers (shared/SCIENCE.md, "Neuron-level network measures"):

====================================  ===========================================================
on the signed graph (every edge)      (1) :func:`signed_strength`, (2)
                                      :func:`average_neighbor_strength`, (3)
                                      :func:`current_flow_closeness_centrality`
on the positive graph (``w > 0``)     (4) :func:`bipartite_clustering` (Latapy, "max"), (5)
                                      :func:`subgraph_centrality` (unweighted, log space), (6)
                                      :func:`harmonic_centrality` (distance = weight), (7)
                                      :func:`second_order_centrality`, (8)
                                      :func:`number_of_maximal_cliques`
====================================  ===========================================================

plus :func:`betweenness_centrality` (hop distance; exact, or sampled with its standard error),
:func:`eigenvector_centrality` and :func:`katz_centrality` (non-negative weights, where
defined). :func:`neuron_measures` gathers the eight into a :class:`NeuronMeasures` table (one row
per neuron) and :func:`neuron_types` clusters neurons by k-means on the standardised measures.

Every function takes a :class:`~netsci_dl.graph.LayeredGraph` and returns ``(n_nodes,)`` float64
in global node order. Identity blocks (skip connections, no learned weight) are left out unless
``include_identity=True``; two blocks joining the same pair of nodes add up. The positive graph
keeps every node (a neuron with no positive weight is an isolated node). Each function states
which graph it reads and whether weights act as strengths or distances; each equals the
networkx function of the same name on the same graph (``tests/test_centrality.py``).
Measures built on dense ``n x n`` matrices (current-flow closeness, subgraph centrality,
second-order centrality) cost ``O(n^3)`` time and a few ``8 n^2``-byte matrices: fine for a few
thousand neurons (the 3784 units of T18's DBN), refused above :data:`DENSE_LIMIT` nodes (10,000:
about 0.8 GB a matrix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "NEURON_MEASURES",
    "DENSE_LIMIT",
    "signed_strength",
    "average_neighbor_strength",
    "current_flow_closeness_centrality",
    "bipartite_clustering",
    "subgraph_centrality",
    "harmonic_centrality",
    "second_order_centrality",
    "number_of_maximal_cliques",
    "Betweenness",
    "betweenness_centrality",
    "eigenvector_centrality",
    "katz_centrality",
    "NeuronMeasures",
    "neuron_measures",
    "NeuronTypes",
    "neuron_types",
]

#: the eight measures of Scabini & Bruno, in their order (names of :func:`neuron_measures`)
NEURON_MEASURES = (
    "strength",
    "avg_neighbor_strength",
    "current_flow_closeness",
    "bipartite_clustering",
    "log_subgraph_centrality",
    "harmonic",
    "second_order",
    "maximal_cliques",
)

#: the largest graph the dense ``O(n^3)`` measures accept (nodes)
DENSE_LIMIT = 10_000

#: cells of a ``(n, batch)`` work array of the batched shortest-path sweeps
_BATCH_CELLS = 1 << 21


# ---- the graphs --------------------------------------------------------------------------------
def _check_graph(G: Any) -> LayeredGraph:
    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    return G


def _weight_graph(G: LayeredGraph, include_identity: bool) -> LayeredGraph:
    """``G`` without its identity blocks (unless ``include_identity``); the same object when it
    has none."""
    _check_graph(G)
    keep = [b for b, k in enumerate(G.block_kinds) if include_identity or k != "identity"]
    if len(keep) == G.n_blocks:
        return G
    return G.replace(
        blocks=tuple(G.blocks[b] for b in keep),
        block_src=tuple(G.block_src[b] for b in keep),
        block_dst=tuple(G.block_dst[b] for b in keep),
        block_kinds=tuple(G.block_kinds[b] for b in keep),
        edge_attrs={k: tuple(v[b] for b in keep) for k, v in G.edge_attrs.items()},
    )


def _signed(G: LayeredGraph, include_identity: bool) -> sp.csr_array:
    """Symmetric float64 adjacency of the signed graph (explicit zeros kept: a weight 0 is an
    edge)."""
    H = _weight_graph(G, include_identity)
    return sp.csr_array(H.adjacency(directed=False, weights="signed"), dtype=np.float64)


def _positive(G: LayeredGraph, include_identity: bool) -> sp.csr_array:
    """The signed adjacency with every entry ``w <= 0`` removed (weights kept)."""
    A = _signed(G, include_identity)
    A.data[A.data <= 0] = 0.0
    A.eliminate_zeros()
    return A


def _pattern(A: sp.csr_array) -> sp.csr_array:
    B = A.copy()
    B.data = np.ones_like(B.data)
    return B


def _degree(A: sp.csr_array) -> np.ndarray:
    return np.diff(A.indptr).astype(np.float64)


def _check_dense(n: int, what: str) -> None:
    if n > DENSE_LIMIT:
        raise InputError(
            f"{what} needs dense {n} x {n} matrices (O(n^3)); the graph has {n} nodes, more "
            f"than DENSE_LIMIT = {DENSE_LIMIT}"
        )


def _require_connected(A: sp.csr_array, what: str, graph: str) -> None:
    n_comp, _ = csgraph.connected_components(A, directed=False)
    if n_comp > 1:
        raise InputError(
            f"{what} needs a connected {graph} graph; it has {n_comp} connected components"
        )


# ---- the signed graph ------------------------------------------------------------------------
def signed_strength(G: LayeredGraph, *, include_identity: bool = False) -> np.ndarray:
    """Strength ``s_i = sum_j w_ij`` over every incident edge, signed (Scabini & Bruno's (1)).

    Undirected (incoming and outgoing blocks both count), signed weights as strengths; the
    ``"total"`` signed strength of :func:`~netsci_dl.analysis.structure.strength`.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0, -2.0]]), np.array([[3.0], [0.5]])])
    >>> signed_strength(G).tolist()
    [-1.0, 4.0, -1.5, 3.5]
    """
    return np.asarray(_signed(G, include_identity).sum(axis=1), dtype=np.float64)


def average_neighbor_strength(G: LayeredGraph, *, include_identity: bool = False) -> np.ndarray:
    """``k_nn,w(i) = (1/s_i) sum_j w_ij k_j`` on the signed graph (Scabini & Bruno's (2)).

    Undirected, signed weights as strengths, ``k_j`` the unweighted degree and ``s_i`` the signed
    strength: networkx ``average_neighbor_degree(G, weight="weight")`` (0 where ``s_i = 0``).
    A signed ``s_i`` near 0 makes the value large: their definition, kept as is.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0, -2.0]]), np.array([[3.0], [0.5]])])
    >>> average_neighbor_strength(G).round(3).tolist()
    [2.0, 2.0, 2.0, 2.0]
    """
    A = _signed(G, include_identity)
    s = np.asarray(A.sum(axis=1), dtype=np.float64)
    num = A @ _degree(A)
    out = np.zeros_like(s)
    nz = s != 0
    out[nz] = num[nz] / s[nz]
    return out


def current_flow_closeness_centrality(
    G: LayeredGraph, *, include_identity: bool = False
) -> np.ndarray:
    """Current-flow (information) closeness on the signed graph (Scabini & Bruno's (3)).

    Undirected, signed weights as conductances: ``c_i = 1 / sum_j R_ij`` with the effective
    resistance ``R_ij = L+_ii + L+_jj - 2 L+_ij`` of the signed Laplacian ``L = D - W``
    (``D`` the signed strengths). As ``L+`` has zero row sums, ``sum_j R_ij = n L+_ii +
    tr L+``; ``L+ = (L + J/n)^-1 - J/n``. Equals networkx
    ``current_flow_closeness_centrality(G, weight="weight")``. Dense, ``O(n^3)``.

    Raises
    ------
    InputError
        The graph is not connected, or has more than :data:`DENSE_LIMIT` nodes.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0, 1.0]])])
    >>> current_flow_closeness_centrality(G).round(3).tolist()
    [0.5, 0.333, 0.333]
    """
    A = _signed(G, include_identity)
    n = A.shape[0]
    _check_dense(n, "current-flow closeness")
    _require_connected(A, "current-flow closeness", "signed")
    L = -A.toarray()
    L[np.diag_indices(n)] += np.asarray(A.sum(axis=1)).ravel()
    L += 1.0 / n
    d = np.diag(np.linalg.inv(L)) - 1.0 / n
    return 1.0 / (n * d + d.sum())


# ---- the positive graph ----------------------------------------------------------------------
def bipartite_clustering(G: LayeredGraph, *, include_identity: bool = False) -> np.ndarray:
    """Latapy's bipartite clustering, ``"max"`` mode, on the positive graph (S & B's (4)).

    Undirected and unweighted (an edge where ``w > 0``). For node ``v`` with second neighbours
    ``N2(v)`` (nodes ``u != v`` sharing a neighbour with ``v``),
    ``c(v) = mean over u in N2(v) of |N(u) & N(v)| / max(k_u, k_v)`` (0 when ``N2(v)`` is
    empty): networkx ``bipartite.clustering(G, mode="max")``, from the sparse product ``B @ B``.
    The graph of a chain is bipartite (even against odd layers); a skip block between layers of
    the same parity makes odd cycles, where networkx refuses and this function applies the
    same formula as written.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0, 1.0], [1.0, -1.0]])])
    >>> bipartite_clustering(G).tolist()
    [0.5, 0.5, 0.5, 0.5]
    """
    B = _pattern(_positive(G, include_identity))
    k = _degree(B)
    C = sp.coo_array(B @ B)
    off = (C.row != C.col) & (C.data != 0)
    row, col, common = C.row[off], C.col[off], C.data[off]
    n = B.shape[0]
    num = np.bincount(row, weights=common / np.maximum(k[row], k[col]), minlength=n)
    cnt = np.bincount(row, minlength=n)
    return np.divide(num, cnt, out=np.zeros(n), where=cnt > 0)


def subgraph_centrality(
    G: LayeredGraph, *, log: bool = True, include_identity: bool = False
) -> np.ndarray:
    """Subgraph centrality ``SC_i = [exp(B)]_ii`` of the positive graph (S & B's (5)).

    Undirected and unweighted (``B`` the 0/1 pattern of ``w > 0``), by a dense eigendecomposition
    ``SC_i = sum_j v_ij^2 exp(lambda_j)`` as networkx ``subgraph_centrality`` does. On a trained
    MNIST MLP the values reach about ``1e89`` and overflow float64 beyond ``exp(709)``: with
    ``log=True`` (default) the function returns ``log SC_i``, computed as ``lambda_max +
    log sum_j v_ij^2 exp(lambda_j - lambda_max)`` (no overflow); ``log=False`` returns ``SC_i``
    itself (``inf`` where it overflows).

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0]])])
    >>> subgraph_centrality(G, log=False).round(4).tolist()  # cosh(1)
    [1.5431, 1.5431]
    """
    B = _pattern(_positive(G, include_identity))
    n = B.shape[0]
    _check_dense(n, "subgraph centrality")
    if n == 0:
        return np.zeros(0)
    lam, V = np.linalg.eigh(B.toarray())
    top = lam.max()
    logsc = top + np.log((V**2) @ np.exp(lam - top))
    return logsc if log else np.exp(logsc)


def harmonic_centrality(G: LayeredGraph, *, include_identity: bool = False) -> np.ndarray:
    """Harmonic centrality ``H_i = sum_{j != i} 1 / d(i, j)`` on the positive graph (S & B's (6)).

    Undirected; **weights as distances**: ``d`` is the shortest-path length with edge length
    ``w`` (a larger weight is a longer path: Scabini & Bruno's convention, not a default of
    this package), ``1/inf = 0``. Equals networkx ``harmonic_centrality(G, distance="weight")``;
    all-pairs Dijkstra of ``scipy.sparse.csgraph`` in batches of sources.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0, 2.0]])])
    >>> harmonic_centrality(G).tolist()
    [1.5, 1.3333333333333333, 0.8333333333333333]
    """
    A = _positive(G, include_identity)
    n = A.shape[0]
    out = np.zeros(n)
    step = max(1, _BATCH_CELLS // max(n, 1))
    for start in range(0, n, step):
        idx = np.arange(start, min(n, start + step))
        D = csgraph.dijkstra(A, directed=True, indices=idx)  # A is symmetric
        D[np.arange(len(idx)), idx] = np.inf
        out[idx] = (1.0 / D).sum(axis=1)
    return out


def second_order_centrality(G: LayeredGraph, *, include_identity: bool = False) -> np.ndarray:
    """Second-order centrality (Kermarrec et al. 2011) on the positive graph (S & B's (7)).

    Undirected; weights as strengths (transition rates). The graph is balanced with self-loops
    to the largest strength ``d_max`` (``P = (W + diag(d_max - s)) / d_max``, a symmetric random
    walk with uniform stationary law), and ``SOC_j = sqrt(2 sum_i m_ij - n (n + 1))`` with
    ``m_ij`` the mean first-passage time from ``i`` to ``j`` (``m_jj`` the return time ``n``).
    With ``Z = (I - P + J/n)^-1``, ``sum_i m_ij = n^2 Z_jj``, so one dense inverse replaces
    networkx's ``n`` solves. Equals networkx ``second_order_centrality(G, weight="weight")``
    on a connected positive graph; otherwise it is computed on the largest connected
    component (as networkx would on that component alone) and the other nodes get NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0, 1.0]])])
    >>> second_order_centrality(G).round(3).tolist()
    [1.414, 3.742, 3.742]
    """
    A = _positive(G, include_identity)
    n_all = A.shape[0]
    out = np.full(n_all, np.nan)
    if n_all == 0:
        return out
    _, lab = csgraph.connected_components(A, directed=False)
    keep = np.flatnonzero(lab == np.bincount(lab).argmax())
    W = A[keep][:, keep].toarray()
    n = len(keep)
    _check_dense(n, "second-order centrality")
    s = W.sum(axis=1)
    W[np.diag_indices(n)] += s.max() - s
    M = -W / s.max()
    M[np.diag_indices(n)] += 1.0
    M += 1.0 / n
    z = np.diag(np.linalg.inv(M))
    out[keep] = np.sqrt(2.0 * n * n * z - n * (n + 1.0))
    return out


def number_of_maximal_cliques(G: LayeredGraph, *, include_identity: bool = False) -> np.ndarray:
    """Number of maximal cliques of the positive graph that contain each node (S & B's (8)).

    Undirected and unweighted. A k-partite graph (a chain) has no triangle, so its maximal
    cliques are its edges and its isolated nodes: the count is the positive degree, or 1 for a
    node with no positive edge (``networkx.find_cliques`` yields it as a clique of one).

    Raises
    ------
    InputError
        The positive graph has a triangle (a skip block closing a path): counting maximal
        cliques is then not a degree, and this function refuses rather than guess.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0, 1.0], [-1.0, -1.0]])])
    >>> number_of_maximal_cliques(G).tolist()
    [2.0, 1.0, 1.0, 1.0]
    """
    B = _pattern(_positive(G, include_identity))
    tri = float((sp.csr_array(B @ B) * B).sum())
    if tri > 0:
        raise InputError(
            f"the positive graph has {int(round(tri / 6))} triangles (skip blocks close paths): "
            "maximal cliques are not edges there, and number_of_maximal_cliques only counts "
            "triangle-free graphs; leave 'maximal_cliques' out of measures="
        )
    k = _degree(B)
    return np.where(k > 0, k, 1.0)


# ---- betweenness, eigenvector, Katz ----------------------------------------------------------
def _pick(G: LayeredGraph, weights: str | None, include_identity: bool) -> sp.csr_array:
    """The adjacency by the package's ``weights=`` keyword, non-negative values only."""
    A = _signed(G, include_identity)
    if weights == "pos":
        A.data[A.data <= 0] = 0.0
        A.eliminate_zeros()
    elif weights == "abs":
        A.data = np.abs(A.data)
    elif weights is None:
        A.data = np.ones_like(A.data)
    else:
        raise InputError(f"weights must be 'pos', 'abs' or None, got {weights!r}")
    return A


@dataclass(frozen=True)
class Betweenness:
    """Betweenness centrality, exact or estimated from sampled sources.

    Attributes
    ----------
    values : (n_nodes,) float64
        The betweenness (networkx's scaling, see :func:`betweenness_centrality`).
    se : (n_nodes,) float64
        Standard error of the sampled estimate (zeros when exact).
    sources : (k,) int64
        The sampled source nodes (every node when exact).
    exact : bool
    params : dict
    """

    values: np.ndarray
    se: np.ndarray
    sources: np.ndarray
    exact: bool
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": self.values.tolist(),
            "se": self.se.tolist(),
            "sources": self.sources.tolist(),
            "exact": self.exact,
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        how = "exact" if self.exact else f"sampled, {len(self.sources)} sources"
        return (
            f"Betweenness({len(self.values)} nodes, {how}, max {np.max(self.values, initial=0):.4g}, "
            f"max se {np.max(self.se, initial=0):.2g})"
        )


def _brandes_batch(B: sp.csr_array, src: np.ndarray) -> np.ndarray:
    """Dependencies ``delta_s(v)`` of Brandes's algorithm for a batch of sources, all at once:
    breadth-first levels by sparse products (``(n, b)`` arrays), then the accumulation from the
    deepest level up. ``delta_s(s) = 0``."""
    n, b = B.shape[0], len(src)
    cols = np.arange(b)
    sigma = np.zeros((n, b))
    sigma[src, cols] = 1.0
    depth = np.full((n, b), -1, dtype=np.int32)
    depth[src, cols] = 0
    front = sigma.copy()
    d = 0
    while True:
        nxt = B @ front
        nxt[depth >= 0] = 0.0
        reached = nxt > 0
        if not reached.any():
            break
        d += 1
        depth[reached] = d
        sigma += nxt
        front = nxt
    delta = np.zeros((n, b))
    for level in range(d, 0, -1):
        coef = np.where(depth == level, (1.0 + delta) / np.where(sigma > 0, sigma, 1.0), 0.0)
        up = B @ coef
        delta += np.where(depth == level - 1, sigma * up, 0.0)
    delta[src, cols] = 0.0
    return delta


def betweenness_centrality(
    G: LayeredGraph,
    *,
    weights: str | None = "pos",
    k: int | None = None,
    normalized: bool = True,
    seed: int | None = 0,
    include_identity: bool = False,
) -> Betweenness:
    """Shortest-path betweenness, undirected, distance = number of hops (Brandes 2001).

    ``b(v) = sum_{s != v != t} sigma_st(v) / sigma_st`` over unordered pairs, computed by
    Brandes's accumulation for batches of sources at once (breadth-first levels as sparse
    products). Scaled as networkx ``betweenness_centrality(G, k=k, normalized=normalized)``
    on the unweighted graph (``endpoints=False``): ``normalized`` divides by ``(n-1)(n-2)``
    (ordered pairs), otherwise by 2. Hops, not weights: on a dense MLP every path has the
    same length per layer pair, so use the positive graph or a thresholded one.

    Parameters
    ----------
    G : LayeredGraph
    weights : {"pos", "abs", None}
        Which edges count: ``"pos"`` (default) those with ``w > 0``; ``"abs"`` or None every
        edge (the values are not used: distances are hops).
    k : int, optional
        Sample ``k`` sources uniformly without replacement (Brandes & Pich 2007) instead of all
        ``n``; the estimate is unbiased (networkx's scaling for sampled sources) and ``se``
        holds its standard error from the spread of the per-source dependencies, with the
        finite-population factor ``(1 - k/n)`` (0 when ``k = n``).
    normalized : bool
    seed : int, optional
        Seeds the sample of sources.
    include_identity : bool

    Returns
    -------
    Betweenness

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0]]), np.array([[1.0]])])
    >>> betweenness_centrality(G).values.tolist()
    [0.0, 1.0, 0.0]
    """
    B = _pattern(_pick(G, weights, include_identity))
    n = B.shape[0]
    if k is None or k >= n:
        srcs = np.arange(n)
    else:
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        srcs = np.sort(np.random.default_rng(seed).choice(n, size=int(k), replace=False))
    kk = len(srcs)
    total = np.zeros(n)
    total_sq = np.zeros(n)
    step = max(1, _BATCH_CELLS // max(n, 1))
    for start in range(0, kk, step):
        delta = _brandes_batch(B, srcs[start : start + step])
        total += delta.sum(axis=1)
        total_sq += (delta**2).sum(axis=1)
    exact = kk == n
    N = n - 1  # endpoints excluded
    in_sample = np.zeros(n, dtype=bool)
    in_sample[srcs] = True
    if N < 2:
        scale = np.ones(n)
    elif exact:
        scale = np.full(n, 1.0 / (N * (N - 1)) if normalized else 0.5)
    else:
        num = 1.0 / (N - 1) if normalized else N / 2.0
        with np.errstate(divide="ignore"):
            scale = np.where(in_sample, num / (kk - 1) if kk > 1 else np.nan, num / kk)
    values = total * scale
    se = np.zeros(n)
    if not exact:
        m = np.where(in_sample, kk - 1, kk).astype(np.float64)  # sources that can reach v
        with np.errstate(invalid="ignore", divide="ignore"):
            var = (total_sq - total**2 / m) / (m - 1)
            se = scale * np.sqrt(np.maximum(var, 0) * m * (1 - kk / n))
    return Betweenness(
        values,
        se,
        srcs.astype(np.int64),
        exact,
        {"weights": weights, "k": k, "normalized": normalized, "seed": seed, "distance": "hops"},
    )


def eigenvector_centrality(
    G: LayeredGraph, *, weights: str | None = "abs", include_identity: bool = False
) -> np.ndarray:
    """Eigenvector centrality: the Perron vector of the undirected non-negative adjacency.

    Undirected; weights as strengths (``"abs"``: ``|w|``, ``"pos"``: ``w > 0`` only, None: 1).
    The leading eigenvector (largest algebraic eigenvalue, ARPACK) with unit Euclidean norm and
    a positive sum: networkx ``eigenvector_centrality_numpy(G, weight="weight")``. Defined
    (unique) on a connected graph; on a disconnected one it lives on one component.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0, 1.0]])])
    >>> eigenvector_centrality(G).round(4).tolist()
    [0.7071, 0.5, 0.5]
    """
    from scipy.sparse.linalg import eigsh

    A = _pick(G, weights, include_identity)
    n = A.shape[0]
    if n < 3:
        lam, V = np.linalg.eigh(A.toarray())
        x = V[:, -1]
    else:
        _, V = eigsh(A, k=1, which="LA", tol=0)
        x = V[:, 0]
    return x / (np.sign(x.sum()) * np.linalg.norm(x))


def katz_centrality(
    G: LayeredGraph,
    *,
    alpha: float = 0.1,
    beta: float = 1.0,
    weights: str | None = "abs",
    directed: bool = False,
    normalized: bool = True,
    include_identity: bool = False,
) -> np.ndarray:
    """Katz centrality ``x = alpha A^T x + beta`` (networkx ``katz_centrality_numpy``).

    Weights as strengths (``weights`` as in :func:`eigenvector_centrality`). Undirected
    (default): defined for ``alpha < 1 / lambda_max``; directed (``src -> dst``, each unit
    collects from the units below it): the DAG's adjacency is nilpotent, so every ``alpha`` is
    defined. ``normalized`` divides by the Euclidean norm (sign of the sum), as networkx does.

    Raises
    ------
    InputError
        Undirected and ``alpha >= 1 / lambda_max`` (the series diverges).

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.array([[1.0]])])
    >>> katz_centrality(G, alpha=0.5, normalized=False).tolist()
    [2.0, 2.0]
    """
    from scipy.sparse.linalg import eigsh, spsolve

    A = _pick(G, weights, include_identity)
    n = A.shape[0]
    if directed:
        A = sp.triu(A, format="csr")  # global ids are topological: src < dst
    elif n > 0:
        lam = (
            np.linalg.eigvalsh(A.toarray()).max()
            if n < 3
            else float(eigsh(A, k=1, which="LA", return_eigenvectors=False)[0])
        )
        if alpha * lam >= 1:
            raise InputError(
                f"Katz centrality diverges: alpha = {alpha} >= 1 / lambda_max = {1 / lam:.6g}"
            )
    M = sp.csc_array(sp.identity(n, format="csc") - alpha * A.T)
    x = np.atleast_1d(spsolve(M, np.full(n, float(beta))))
    if normalized and n:
        x = x / (np.sign(x.sum()) * np.linalg.norm(x))
    return x


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
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X)
    return NeuronTypes(
        km.labels_.astype(np.int64),
        km.cluster_centers_.astype(np.float64),
        tuple(use),
        tuple(dropped),
        float(km.inertia_),
        {"k": k, "seed": seed, "standardised": True, "n_init": 10},
    )
