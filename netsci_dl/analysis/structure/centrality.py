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

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from netsci_dl.analysis.structure._graphs import (
    _BATCH_CELLS,
    _degree,
    _pattern,
    _positive,
    _require_connected,
    _signed,
)
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


def _check_dense(n: int, what: str) -> None:
    if n > DENSE_LIMIT:
        raise InputError(
            f"{what} needs dense {n} x {n} matrices (O(n^3)); the graph has {n} nodes, more "
            f"than DENSE_LIMIT = {DENSE_LIMIT}"
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
