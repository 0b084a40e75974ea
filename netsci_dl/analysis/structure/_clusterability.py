"""Clusterability of a network (Filan et al. 2021): spectral clustering, n-cut, shuffle null.
Public through :mod:`netsci_dl.analysis.structure`.

The graph is **undirected** with adjacency ``|W|`` over every weight block (identity blocks left
out unless ``include_identity=True``; a channel graph carries the reduction of its kernels the
exporter recorded, e.g. their L1 norm as in the paper). Definitions (shared/SCIENCE.md,
"Neuron-level network measures"):

* :func:`spectral_clustering`: ``k`` clusters (12 in the paper) by scikit-learn's
  ``SpectralClustering(affinity="precomputed", assign_labels="kmeans")`` on ``|W|``, seeded.
  Nodes with no weight at all (degree 0: dead units) cannot be placed and get label ``-1``.
* :func:`n_cut`: ``sum over clusters A of cut(A, not A) / vol(A)``, ``vol`` the sum of the
  weighted degrees in ``A`` (lower = more clusterable; between 0 and ``k``).
* :func:`shuffle_weights`: every entry of each weight block permuted within its block (a dense
  block: all ``n_src * n_dst`` entries, zeros included; a sparse block: its stored values over
  its stored positions), so each block keeps its multiset of weights.
* :func:`clusterability`: the net's n-cut against ``n_shuffles`` shuffled nets, each clustered
  afresh: z-score and percentile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl import _args
from netsci_dl.analysis.structure._graphs import _weight_graph
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph
from netsci_dl.parallel import effective_n_jobs

__all__ = [
    "spectral_clustering",
    "n_cut",
    "shuffle_weights",
    "Clusterability",
    "clusterability",
]


def _abs_adjacency(G: Any, include_identity: bool) -> sp.csr_array:
    if isinstance(G, LayeredGraph):
        H = _weight_graph(G, include_identity)
        A = sp.csr_array(H.adjacency(directed=False, weights="abs"), dtype=np.float64)
    elif sp.issparse(G) or isinstance(G, np.ndarray):
        A = sp.csr_array(abs(sp.csr_array(G, dtype=np.float64)))
        if A.shape[0] != A.shape[1] or (abs(A - A.T) > 1e-12 * (A.max() or 1)).nnz:
            raise InputError(f"expected a symmetric square adjacency, got shape {A.shape}")
    else:
        raise TypeError(f"expected a LayeredGraph or an adjacency matrix, got {type(G).__name__}")
    A.eliminate_zeros()
    return A


def spectral_clustering(
    G: Any, *, k: int = 12, seed: int | None = 0, include_identity: bool = False
) -> np.ndarray:
    """Spectral clustering of the undirected ``|W|`` graph into ``k`` clusters.

    scikit-learn's ``SpectralClustering(n_clusters=k, affinity="precomputed",
    assign_labels="kmeans", eigen_solver="arpack", random_state=seed)`` on the nodes of
    non-zero degree (the normalised-Laplacian embedding, then k-means).

    Parameters
    ----------
    G : LayeredGraph or symmetric (n, n) adjacency
    k : int
        Number of clusters (Filan et al. use 12).
    seed : int, optional
    include_identity : bool

    Returns
    -------
    (n_nodes,) int64
        Cluster of every node, ``-1`` for a node with no weight.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> W = np.kron(np.eye(2), np.ones((2, 2))) + 0.01
    >>> lab = spectral_clustering(from_matrices([W]), k=2)
    >>> len(set(lab[[0, 1, 4, 5]])), lab[0] != lab[2]  # inputs 0, 1 with outputs 0, 1 (4, 5)
    (1, True)
    """
    k = _args.count("k", k, hi=1_000_000)
    seed = _args.seed("seed", seed)
    from sklearn.cluster import SpectralClustering
    from threadpoolctl import threadpool_limits

    A = _abs_adjacency(G, include_identity)
    n = A.shape[0]
    deg = np.asarray(A.sum(axis=1)).ravel()
    live = np.flatnonzero(deg > 0)
    if not 1 <= k <= len(live):
        raise InputError(f"k must be in [1, {len(live)}] (nodes with a weight), got {k}")
    labels = np.full(n, -1, dtype=np.int64)
    if k == 1:
        labels[live] = 0
        return labels
    sub = sp.csr_array(A[live][:, live])
    sc = SpectralClustering(
        n_clusters=k,
        affinity="precomputed",
        assign_labels="kmeans",
        eigen_solver="arpack",
        random_state=seed,
    )
    with threadpool_limits(1, user_api="openmp"):  # k-means on k columns: threads only spin
        labels[live] = sc.fit_predict(sub)
    return labels


def n_cut(G: Any, labels: Any, *, include_identity: bool = False) -> float:
    """Normalised cut ``sum_A cut(A, not A) / vol(A)`` of a partition of the ``|W|`` graph.

    ``cut(A, not A) = vol(A) - sum_{i, j in A} |w_ij|`` and ``vol(A) = sum_{i in A} d_i`` with
    ``d`` the weighted degree; nodes labelled ``-1`` are left out, and so are clusters of
    volume 0.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]], dtype=float)
    >>> round(n_cut(A, [0, 0, 0, 1]), 4)  # cut 1: 1/7 + 1/1
    1.1429
    """
    A = _abs_adjacency(G, include_identity)
    lab = np.asarray(labels)
    if lab.shape != (A.shape[0],):
        raise InputError(f"labels must have shape ({A.shape[0]},), got {lab.shape}")
    keep = lab >= 0
    lab = lab[keep].astype(np.int64)
    A = sp.csr_array(A[keep][:, keep]) if not keep.all() else A
    if lab.size == 0:
        return 0.0
    k = int(lab.max()) + 1
    S = sp.csr_array((np.ones(lab.size), (np.arange(lab.size), lab)), shape=(lab.size, k))
    inner = np.asarray((S.T @ (A @ S)).diagonal()).ravel()
    vol = S.T @ np.asarray(A.sum(axis=1)).ravel()
    ok = vol > 0
    return float(np.sum((vol[ok] - inner[ok]) / vol[ok]))


def shuffle_weights(G: LayeredGraph, *, seed: int | np.random.Generator | None = 0) -> LayeredGraph:
    """The graph with every weight block's entries permuted within the block.

    A dense block's ``n_src * n_dst`` entries (zeros included) are permuted; a sparse block's
    stored values are permuted over its stored positions (its pattern stays). Identity blocks
    are kept as they are. Each block keeps its multiset of weights; the result records
    ``meta["null_model"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> G = from_matrices([np.arange(6.0).reshape(2, 3)])
    >>> H = shuffle_weights(G, seed=1)
    >>> sorted(H.blocks[0].ravel().tolist()) == sorted(G.blocks[0].ravel().tolist())
    True
    """
    seed = _args.seed("seed", seed, generator=True)
    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    rng = np.random.default_rng(seed)
    out = []
    for blk, kind in zip(G.blocks, G.block_kinds):
        if kind == "identity":
            out.append(blk)
        elif sp.issparse(blk):
            new = blk.copy()
            new.data = rng.permutation(blk.data)
            out.append(new)
        else:
            out.append(rng.permutation(blk.ravel()).reshape(blk.shape))
    meta = dict(G.meta)
    meta["null_model"] = {"model": "shuffle_weights", "within": "block"}
    return G.replace(blocks=tuple(out), edge_attrs={}, meta=meta)


@dataclass(frozen=True)
class Clusterability:
    """The net's n-cut against shuffled nets (Filan et al. 2021).

    Attributes
    ----------
    labels : (n_nodes,) int64
        The net's clusters (``-1``: a node with no weight).
    ncut : float
        The net's n-cut (lower: more clusterable).
    null : (n_shuffles,) float64
        The n-cut of each shuffled net, each clustered afresh.
    z : float
        ``(ncut - mean(null)) / sd(null)`` (``ddof=1``); strongly negative = clusterable.
    percentile : float
        Percentage of shuffles with a lower n-cut (ties count half): 0 when the net is more
        clusterable than every shuffle.
    params : dict
    """

    labels: np.ndarray
    ncut: float
    null: np.ndarray
    z: float
    percentile: float
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ncut": self.ncut,
            "null_mean": float(np.mean(self.null)) if self.null.size else None,
            "null_sd": float(np.std(self.null, ddof=1)) if self.null.size > 1 else None,
            "z": self.z if np.isfinite(self.z) else None,
            "percentile": self.percentile if np.isfinite(self.percentile) else None,
            "null": self.null.tolist(),
            "labels": self.labels.tolist(),
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        return (
            f"Clusterability(k={self.params.get('k')}, ncut={self.ncut:.4g}, "
            f"z={self.z:.3g}, percentile={self.percentile:.3g}, shuffles={self.null.size})"
        )


def _null_ncut(task: tuple[int, int, int], shared: tuple[LayeredGraph, bool]) -> float:
    """One shuffle: permute within blocks (seeded by (seed, i)), cluster, n-cut."""
    i, seed, k = task
    G, include_identity = shared
    H = shuffle_weights(G, seed=np.random.default_rng([seed, i]))
    lab = spectral_clustering(H, k=k, seed=seed, include_identity=include_identity)
    return n_cut(H, lab, include_identity=include_identity)


def clusterability(
    G: LayeredGraph,
    *,
    k: int = 12,
    n_shuffles: int = 50,
    seed: int = 0,
    include_identity: bool = False,
    n_jobs: int | None = None,
    progress: bool = False,
) -> Clusterability:
    """Is the net more clusterable than its weights shuffled within each block?

    Spectral clustering (:func:`spectral_clustering`) and :func:`n_cut` of the net, then of
    ``n_shuffles`` nets from :func:`shuffle_weights` (shuffle ``i`` seeded by ``(seed, i)``,
    clustered afresh with the same ``k``), run through :func:`netsci_dl.parallel.map_tasks`.
    The result does not depend on ``n_jobs``.

    Parameters
    ----------
    G : LayeredGraph
    k : int
        Clusters (Filan et al.: 12).
    n_shuffles : int
        Shuffled nets (Filan et al.: 50); ``>= 2`` for a z-score.
    seed : int
    include_identity : bool
    n_jobs : int, optional
        Shuffles in parallel (see :mod:`netsci_dl.parallel`).
    progress : bool

    Returns
    -------
    Clusterability

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import from_matrices
    >>> rng = np.random.default_rng(0)
    >>> W = np.kron(np.eye(2), np.ones((5, 5))) + 0.05 * rng.random((10, 10))
    >>> r = clusterability(from_matrices([W, W]), k=2, n_shuffles=10)
    >>> r.ncut < 0.2, r.z < -3, r.percentile
    (True, True, 0.0)
    """
    k = _args.count("k", k, hi=1_000_000)
    n_shuffles = _args.count("n_shuffles", n_shuffles, hi=100_000)
    seed = _args.seed("seed", seed, none=False)
    effective_n_jobs(n_jobs)
    from netsci_dl.parallel import map_tasks

    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    if n_shuffles < 0:
        raise InputError(f"n_shuffles must be >= 0, got {n_shuffles}")
    seed = int(seed)
    labels = spectral_clustering(G, k=k, seed=seed, include_identity=include_identity)
    obs = n_cut(G, labels, include_identity=include_identity)
    null = np.asarray(
        map_tasks(
            _null_ncut,
            [(i, seed, k) for i in range(n_shuffles)],
            shared=(G, include_identity),
            n_jobs=n_jobs,
            desc="clusterability shuffles",
            unit="shuffle",
            progress=bool(progress),
        ),
        dtype=np.float64,
    )
    sd = float(np.std(null, ddof=1)) if null.size > 1 else float("nan")
    z = (obs - float(null.mean())) / sd if sd > 0 else float("nan")
    pct = (
        100.0 * (np.sum(null < obs) + 0.5 * np.sum(null == obs)) / null.size
        if null.size
        else float("nan")
    )
    return Clusterability(
        labels,
        obs,
        null,
        z,
        float(pct),
        {
            "k": k,
            "n_shuffles": n_shuffles,
            "seed": seed,
            "include_identity": include_identity,
            "graph": "undirected |W|",
            "null": "entries shuffled within each weight block",
            "clustering": "sklearn SpectralClustering(affinity='precomputed', kmeans)",
        },
    )
