"""The structural metrics of one thresholded graph for :func:`netsci_dl.analysis.structure.sweep.threshold_sweep`.

Every metric is taken on the simple undirected graph of the kept edges (an edge present in two
blocks joining the same groups, e.g. a weight block and an identity block, counts once).
Components come from ``scipy.sparse.csgraph.connected_components``; geodesic distances from a
breadth-first search from many sources at once, 64 sources per machine word (a bit-parallel
BFS over the CSR adjacency, one ``numpy.bitwise_or.reduceat`` per level), which gives the same
distances as ``scipy.sparse.csgraph.shortest_path(unweighted=True)``, 30 to 40 times faster on
workload W (benchmarks/bench_sweep.py).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.graph import LayeredGraph

__all__ = ["METRICS", "graph_metrics", "mean_geodesic"]

#: metric columns of the sweep, in order
METRICS = (
    "n_edges",
    "mean_degree",
    "isolated_fraction",
    "n_components",
    "giant_fraction",
    "mean_geodesic",
    "r",
)

#: sources per BFS batch (4 words of 64 bits: the fastest on workload W)
_BATCH = 256


@functools.lru_cache(maxsize=1)
def _popcount16() -> np.ndarray:
    x = np.arange(1 << 16, dtype=np.uint16).view(np.uint8).reshape(-1, 2)
    return np.unpackbits(x, axis=1).sum(axis=1).astype(np.uint8)


def _popcount(words: np.ndarray) -> int:
    return int(_popcount16()[words.view(np.uint16)].sum(dtype=np.int64))


def _ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + l) for s, l in zip(starts, lens)])``, without the loop."""
    before = np.zeros(len(lens), np.int64)
    np.cumsum(lens[:-1], out=before[1:])
    return np.arange(int(lens.sum()), dtype=np.int64) + np.repeat(starts - before, lens)


def _distance_sum(A: sp.csr_array, sources: np.ndarray) -> int:
    """Sum of the BFS distances from every node of ``sources`` to every node it reaches.

    ``A``: symmetric pattern (csr). One batch of up to ``_BATCH`` sources at a time: bit ``j``
    of ``F[v]`` says whether node ``v`` is on the frontier of source ``j``. Level 1 pushes from
    the sources; later levels pull ``F`` over the neighbours of the nodes some source has not
    reached yet (all nodes, with one ``bitwise_or.reduceat``, while most are); a batch stops
    when every source has reached every other node (a connected graph) or nothing new.
    """
    n = A.shape[0]
    indptr = A.indptr.astype(np.int64)
    indices = A.indices
    deg = np.diff(indptr)
    has_nbr = deg > 0
    one = np.uint64(1)
    total = 0
    for b0 in range(0, len(sources), _BATCH):
        src = sources[b0 : b0 + _BATCH]
        j = np.arange(len(src))
        word, bit = j // 64, one << (j % 64).astype(np.uint64)
        W = int(word[-1]) + 1
        seen = np.zeros((n, W), np.uint64)
        seen[src, word] = bit
        full = np.zeros(W, np.uint64)
        np.bitwise_or.at(full, word, bit)
        todo = len(src) * (n - 1)  # pairs left to reach in a connected graph
        lens = deg[src]  # level 1: push from the sources
        nxt = np.zeros((n, W), np.uint64)
        np.bitwise_or.at(
            nxt,
            (indices[_ranges(indptr[src], lens)], np.repeat(word, lens)),
            np.repeat(bit, lens),
        )
        nxt &= ~seen
        level = 1
        while True:
            reached = _popcount(nxt)
            if reached == 0:
                break
            total += level * reached
            todo -= reached
            if todo <= 0:
                break
            seen |= nxt
            F, nxt = nxt, np.zeros((n, W), np.uint64)
            level += 1
            open_ = np.flatnonzero(((seen != full).any(axis=1)) & has_nbr)
            if len(open_) > 0.7 * n:
                nxt[has_nbr] = np.bitwise_or.reduceat(F[indices], indptr[:-1][has_nbr], axis=0)
            elif len(open_):
                lens = deg[open_]
                starts = np.zeros(len(open_), np.int64)
                np.cumsum(lens[:-1], out=starts[1:])
                gathered = F[indices[_ranges(indptr[open_], lens)]]
                nxt[open_] = np.bitwise_or.reduceat(gathered, starts, axis=0)
            nxt &= ~seen
    return total


def mean_geodesic(
    A: Any, *, sources: int | None = None, seed: int | np.random.Generator | None = 0
) -> float:
    """Mean shortest-path length (unweighted, undirected) over ordered pairs of distinct nodes of
    a connected graph: ``networkx.average_shortest_path_length``.

    Parameters
    ----------
    A : (n, n) sparse matrix or array
        The pattern is used (values ignored), as an undirected graph (``A + A.T``). The graph
        must be connected (pass its giant component); a graph of fewer than 2 nodes gives NaN.
    sources : int, optional
        None (default): exact, a BFS from every node. An int ``k < n``: the mean over ``k``
        sources drawn uniformly without replacement (seeded) to every other node: an unbiased
        estimate with standard error ``sd_source * sqrt((1 - k/n) / k)``, where ``sd_source`` is
        the spread of the per-source mean distances.
    seed : int, numpy Generator or None
        Only used with ``sources``.

    Examples
    --------
    >>> import numpy as np
    >>> P4 = np.diag([1, 1, 1], 1); P4 = P4 + P4.T        # the path 0-1-2-3
    >>> mean_geodesic(P4)                                  # (3*1 + 2*2 + 1*3) * 2 / 12
    1.6666666666666667
    """
    A = sp.csr_array(A)
    A = sp.csr_array((A != 0) + (A.T != 0))  # undirected pattern
    n = A.shape[0]
    if n < 2:
        return float("nan")
    if sources is None or sources >= n:
        src = np.arange(n)
    else:
        src = np.sort(np.random.default_rng(seed).choice(n, size=int(sources), replace=False))
    return _distance_sum(A, src) / (len(src) * (n - 1))


def _newman_r(A: sp.csr_array, k: np.ndarray) -> float:
    """Pearson correlation of the degrees at the two ends of every edge, both orientations."""
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    x, y = k[rows], k[A.indices]
    if not len(x):
        return float("nan")
    mx = x.mean()
    var = float(np.mean(x * x) - mx * mx)
    if not var > 1e-12 * max(float(np.mean(x * x)), 1e-300):
        return float("nan")
    return float(np.clip((np.mean(x * y) - mx * mx) / var, -1.0, 1.0))


def graph_metrics(
    H: LayeredGraph,
    *,
    geodesic_sources: int | None = None,
    seed: int | np.random.Generator | None = 0,
) -> dict[str, float]:
    """The sweep's metrics of one thresholded graph (undirected, unweighted).

    ``n_edges`` (of the simple graph), ``mean_degree`` ``2 m / n`` over every node,
    ``isolated_fraction``, ``n_components`` (an isolated node is a component, as in networkx),
    ``giant_fraction`` (largest component / n), ``mean_geodesic`` (:func:`mean_geodesic` on the
    largest component; NaN when it has one node) and ``r`` (Newman's degree assortativity; NaN
    where undefined: no edge, or every edge end of the same degree).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> H = LayeredGraph((2, 3), (sp.csr_array(np.array([[1, 1, 0], [0, 0, 0]], np.float32)),))
    >>> m = graph_metrics(H)
    >>> m["n_edges"], m["n_components"], m["giant_fraction"], round(m["mean_geodesic"], 4)
    (2, 3, 0.6, 1.3333)
    """
    from scipy.sparse.csgraph import connected_components

    from netsci_dl.analysis.structure.assortativity import degree_assortativity

    n = H.n_nodes
    A = H.adjacency(weights=None)
    k = np.diff(A.indptr)
    m = int(A.nnz) // 2  # src < dst groups: no self-loop, each edge stored twice
    n_comp, labels = connected_components(A, directed=False)
    sizes = np.bincount(labels)
    giant = int(np.argmax(sizes))
    nodes = np.flatnonzero(labels == giant)
    inv = np.full(n, -1, np.int64)
    inv[nodes] = np.arange(len(nodes))
    sub = A[nodes]  # a component is closed: every neighbour of a giant node is in the giant
    Ag = sp.csr_array((sub.data, inv[sub.indices], sub.indptr), shape=(len(nodes), len(nodes)))
    if m == 0:
        r = float("nan")
    elif H.is_chain:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NaN where undefined
            r = float(degree_assortativity(H))
    else:  # on the adjacency itself (identity blocks included, as in every metric here)
        r = _newman_r(A, k.astype(np.float64))
    return {
        "n_edges": m,
        "mean_degree": 2.0 * m / n if n else float("nan"),
        "isolated_fraction": float(np.mean(k == 0)) if n else float("nan"),
        "n_components": int(n_comp),
        "giant_fraction": float(sizes[giant] / n) if n else float("nan"),
        "mean_geodesic": mean_geodesic(Ag, sources=geodesic_sources, seed=seed),
        "r": r,
    }
