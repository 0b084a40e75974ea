"""Null models of a thresholded graph, and the quality of a partition on them.

* :func:`layered_replica`: the layered random replica (SCIENCE.md, "Distributions"): each
  allowed edge of block ``b`` kept independently with the block's density.
* :func:`rewire_blocks`: degree-preserving rewiring within each block (curveball trades):
  every node keeps its degree inside each block exactly, no multi-edge appears.
* :func:`shuffle_edges` / :func:`shuffle_null`: a configuration-model shuffle within each pair of
  groups on a symmetric adjacency, and the modularity or SBM description length of a partition
  on such shuffles.

The first two iterate over the blocks of the DAG (``block_src[b] -> block_dst[b]``) and return a
:class:`~netsci_dl.graph.LayeredGraph` of the same groups and blocks, unweighted; the block
implementations live in :mod:`netsci_dl.analysis.structure._block_nulls`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl import _args
from netsci_dl.analysis.structure._block_nulls import (
    allowed_patterns,
    layered_replica,
    rewire_blocks,
)
from netsci_dl.analysis.structure._communities import (
    Partition,
    _adjacency,
    _check_labels,
    _gt_graph,
    _upper_edges,
    leiden,
    louvain,
    modularity,
    sbm,
)
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "layered_replica",
    "rewire_blocks",
    "allowed_patterns",
    "shuffle_edges",
    "NullResult",
    "shuffle_null",
]


def shuffle_edges(
    G: Any, groups: Any = None, *, weights: str | None = "auto", seed: int | None = 0
) -> sp.csr_array:
    """A configuration-model shuffle per group pair: keeps the edge count between groups and
    each node's multigraph degree (not its simple-graph degree).

    Every undirected edge ``(u, v)`` is oriented so that ``group[u] <= group[v]`` (ties: the
    lower node first) and the ``v`` endpoints are permuted among the edges of the same group
    pair ``(group[u], group[v])`` (one numpy permutation per pair, vectorised with a lexsort).
    Each node keeps its number of edge ends towards every group, counted with multiplicity, so
    with ``groups`` = the layers (default for a LayeredGraph) the result is still k-partite.
    Nothing prevents two shuffled edges from landing on the same node pair: such multi-edges
    are merged (their weights summed), so the simple-graph degrees (distinct neighbours) and
    the number of distinct edges can drop (in the dense blocks of a DBN 10 to 20% of the edges
    become multi-edges); the row sums of an unweighted graph (multiplicities counted) are kept.
    Weights stay with the ``u`` side of their edge. Self-loops can appear within a group.

    Parameters
    ----------
    G : LayeredGraph or symmetric adjacency
    groups : (n,) int array, optional
        Default: the node layers of a LayeredGraph, else a single group.
    weights : {"auto", "abs", None}
        As in :func:`~netsci_dl.analysis.structure.modularity`: ``"auto"`` (default) is
        ``|w|`` for a weighted graph or a matrix, 1 for a thresholded graph.
    seed : int, optional

    Returns
    -------
    (n, n) symmetric csr_array

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]])
    >>> B = shuffle_edges(A, [0, 0, 1, 1], seed=1)
    >>> B.sum(axis=1).tolist() == A.sum(axis=1).tolist()
    True
    """
    seed = _args.seed("seed", seed)
    A = _adjacency(G, weights)
    n = A.shape[0]
    if groups is None:
        groups = G.node_layer if isinstance(G, LayeredGraph) else np.zeros(n, np.int64)
    grp = _check_labels(groups, n, "groups")
    u, v, w = _upper_edges(A)
    flip = grp[u] > grp[v]
    u, v = np.where(flip, v, u), np.where(flip, u, v)
    key = grp[u] * (int(grp.max()) + 1) + grp[v]
    rng = np.random.default_rng(seed)
    order = np.argsort(key, kind="stable")
    perm = np.lexsort((rng.random(key.size), key[order]))  # random order within each key
    v_new = np.empty_like(v)
    v_new[order] = v[order][perm]
    B = sp.coo_array(
        (np.concatenate([w, w]), (np.concatenate([u, v_new]), np.concatenate([v_new, u]))),
        shape=(n, n),
    ).tocsr()
    B.sum_duplicates()
    return B


@dataclass(frozen=True)
class NullResult:
    """Quality of a partition against degree-preserving shuffles.

    Attributes
    ----------
    observed : float
    null : (n_samples,) float64
    quality_name : str
        ``"modularity"`` (higher is better) or ``"description_length"`` (lower is better).
    z : float
        ``(observed - mean) / sd`` of the null.
    p : float
        Fraction of shuffles at least as good as the observed value, ``(1 + #) / (1 + n)``.
    params : dict
    """

    observed: float
    null: np.ndarray
    quality_name: str
    z: float
    p: float
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "observed": self.observed,
            "null_mean": float(np.mean(self.null)),
            "null_sd": float(np.std(self.null, ddof=1)) if self.null.size > 1 else None,
            "z": self.z,
            "p": self.p,
            "n_samples": int(self.null.size),
            "quality_name": self.quality_name,
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "NullResult",
            repr(self.quality_name),
            observed=self.observed,
            null_mean=float(np.mean(self.null)) if self.null.size else None,
            n_samples=int(self.null.size),
            z=self.z,
            p=self.p,
        )


def _fixed_dl(A: sp.csr_array, labels: np.ndarray, deg_corr: bool) -> float:
    gt, g, _ = _gt_graph(A, False)
    b = g.new_vertex_property("int")
    b.a = labels
    return float(gt.BlockState(g, b=b, deg_corr=deg_corr).entropy())


def shuffle_null(
    G: Any,
    partition: Partition | Any,
    *,
    n_samples: int = 100,
    groups: Any = None,
    quality: str | None = None,
    refit: bool = False,
    weights: str | None = "auto",
    seed: int | None = 0,
) -> NullResult:
    """Modularity or description length of a partition on degree-preserving shuffles.

    Parameters
    ----------
    G : LayeredGraph or symmetric adjacency
    partition : Partition or (n,) labels
    n_samples : int
    groups : (n,) int array, optional
        Shuffle within these group pairs (:func:`shuffle_edges`); default the layers.
    quality : {"modularity", "description_length"}, optional
        Default: the partition's own quality (modularity for plain labels).
    refit : bool
        False (default): the same partition evaluated on each shuffle. True: the partition's
        method re-run on each shuffle (a Partition needed; slow for an SBM).
    weights, seed
        As in :func:`shuffle_edges`; sample ``i`` uses seed ``seed + i``.

    Returns
    -------
    NullResult

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.block_diag([np.ones((4, 4)) - np.eye(4)] * 2).tolil(); A[3, 4] = A[4, 3] = 1
    >>> r = shuffle_null(A, [0] * 4 + [1] * 4, n_samples=20)
    >>> round(r.observed, 3), r.p < 0.1
    (0.423, True)
    """
    A = _adjacency(G, weights)
    n = A.shape[0]
    lab = _check_labels(partition, n, "partition")
    if quality is None:
        quality = partition.quality_name if isinstance(partition, Partition) else "modularity"
    if quality not in ("modularity", "description_length"):
        raise InputError(f"quality must be 'modularity' or 'description_length', got {quality!r}")
    if refit and not isinstance(partition, Partition):
        raise InputError("refit=True needs a Partition (to know which method to re-run)")
    if groups is None and isinstance(G, LayeredGraph):
        groups = G.node_layer
    res = partition.params.get("resolution", 1.0) if isinstance(partition, Partition) else 1.0
    deg_corr = partition.params.get("deg_corr", True) if isinstance(partition, Partition) else True

    def score(M: sp.csr_array, labels: np.ndarray) -> float:
        if quality == "modularity":
            return modularity(M, labels, weights="abs", resolution=res)
        return _fixed_dl(M, labels, deg_corr)

    observed = (
        float(partition.quality)
        if isinstance(partition, Partition) and partition.quality_name == quality
        else score(A, lab)
    )
    base = 0 if seed is None else int(seed)
    null = np.empty(n_samples)
    for i in range(n_samples):
        B = shuffle_edges(A, groups, weights="abs", seed=base + i)
        if refit:
            p = partition.params  # type: ignore[union-attr]
            m = partition.method  # type: ignore[union-attr]
            if m == "leiden":
                r = leiden(B, weights="abs", resolution=res, seed=base + i)
            elif m == "louvain":
                r = louvain(B, weights="abs", resolution=res, seed=base + i)
            else:
                r = sbm(
                    B,
                    nested=p.get("nested", False),
                    deg_corr=deg_corr,
                    seed=base + i,
                    constraint=groups if p.get("keep_layers_apart") else None,
                )
            null[i] = r.quality if r.quality_name == quality else score(B, r.labels)
        else:
            null[i] = score(B, lab)
    sd = float(np.std(null, ddof=1)) if n_samples > 1 else float("nan")
    z = (observed - float(null.mean())) / sd if sd and np.isfinite(sd) else float("nan")
    better = null >= observed if quality == "modularity" else null <= observed
    p = (1 + int(better.sum())) / (1 + n_samples)
    return NullResult(
        observed,
        null,
        quality,
        z,
        p,
        {
            "n_samples": n_samples,
            "refit": refit,
            "seed": seed,
            "groups": "given" if groups is not None else "one group",
        },
    )
