"""Graph communities (Leiden, Louvain, stochastic block models), a shuffle null, and agreement.

Community detection runs on the undirected graph: the full graph with edge weight ``|w|``, or a
thresholded graph (unweighted, or ``|w|`` of the kept edges). ``weights`` takes ``"abs"``
(``|w|``), None (1 for every edge) or ``"auto"``, which means the same everywhere here and in
:mod:`~netsci_dl.analysis.structure.null_models`: as the input says, ``|w|`` for a weighted
LayeredGraph or a matrix (``|A|``), 1 for an unweighted (thresholded) LayeredGraph
(``G.weighted`` is False). Leiden uses ``leidenalg``, Louvain
igraph's ``community_multilevel``, the SBM graph-tool's ``minimize_blockmodel_dl`` (or the nested
``minimize_nested_blockmodel_dl``). The libraries are used at the export boundary only: our own
:func:`modularity` is computed from the sparse adjacency and equals igraph's ``modularity``.
Agreement between partitions (ARI, NMI, contingency table) is our own contingency-table code and
equals scikit-learn's ``adjusted_rand_score`` / ``normalized_mutual_info_score``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl import _args
from netsci_dl.analysis.structure._agreement import Agreement, agreement, restrict
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "Partition",
    "communities",
    "leiden",
    "louvain",
    "sbm",
    "modularity",
    "Agreement",
    "agreement",
    "restrict",
]

log = logging.getLogger(__name__)
METHODS = ("leiden", "louvain", "sbm")


# ---- input ---------------------------------------------------------------------------------
def _resolve_auto(G: Any, weights: str | None) -> str | None:
    """``weights`` with ``"auto"`` resolved (see the module docstring); refuses other values."""
    if weights not in ("abs", None, "auto"):
        raise InputError(f"weights must be 'abs', None or 'auto', got {weights!r}")
    if weights == "auto":
        return "abs" if (not isinstance(G, LayeredGraph) or G.weighted) else None
    return weights


def _adjacency(G: Any, weights: str | None) -> sp.csr_array:
    """Symmetric ``(n, n)`` float64 CSR adjacency of a LayeredGraph (``|w|`` or 1) or a matrix."""
    weights = _resolve_auto(G, weights)
    if isinstance(G, LayeredGraph):
        from netsci_dl.convert import to_scipy_sparse

        A = to_scipy_sparse(G, directed=False, weights=weights)
    else:
        A = sp.csr_array(G) if (sp.issparse(G) or isinstance(G, np.ndarray)) else None
        if A is None:
            raise TypeError(
                f"expected a LayeredGraph or a square adjacency matrix, got {type(G).__name__}"
            )
        if A.shape[0] != A.shape[1]:
            raise InputError(f"the adjacency matrix must be square, got shape {A.shape}")
        if (abs(A - A.T) > 1e-12 * (abs(A).max() or 1)).nnz:
            raise InputError("the adjacency matrix must be symmetric (an undirected graph)")
        if weights is None:
            A = A.copy()
            A.data = np.ones_like(A.data)
        else:
            A = abs(A)
    A = sp.csr_array(A, dtype=np.float64)
    A.eliminate_zeros()
    if (A.data < 0).any():
        raise InputError("edge weights must be non-negative (use |w|)")
    return A


def _upper_edges(A: sp.csr_array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    T = sp.triu(A, k=0, format="coo")
    return T.row.astype(np.int64), T.col.astype(np.int64), T.data.astype(np.float64)


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1, largest community first (ties: lowest first node)."""
    labels = np.asarray(labels)
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    size = np.bincount(inv)
    rank = np.lexsort((first, -size))
    new = np.empty(size.size, np.int64)
    new[rank] = np.arange(size.size)
    return new[inv]


def _check_labels(labels: Any, n: int, name: str = "labels") -> np.ndarray:
    if isinstance(labels, Partition):
        labels = labels.labels
    lab = np.asarray(labels)
    if lab.shape != (n,):
        raise InputError(f"{name} has shape {lab.shape}, expected ({n},)")
    _, inv = np.unique(lab, return_inverse=True)
    return inv.astype(np.int64)


# ---- results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Partition:
    """A partition of the nodes into communities or blocks.

    Attributes
    ----------
    labels : (n_nodes,) int64
        Community of each node, ``0..k-1``, largest first.
    method : str
        ``"leiden"``, ``"louvain"``, ``"sbm"``, ``"nested-sbm"``.
    quality : float
        Modularity (Leiden / Louvain, at the given resolution) or description length in nats
        (SBM; lower is better).
    quality_name : str
        ``"modularity"`` or ``"description_length"``.
    params : dict
        Settings (weights, resolution, deg_corr, keep_layers_apart, ...).
    seed : int or None
    levels : tuple of (n_nodes,) int64, optional
        Nested SBM: the node partition at every level of the hierarchy (level 0 = ``labels``).
    """

    labels: np.ndarray
    method: str
    quality: float
    quality_name: str
    params: dict = field(default_factory=dict)
    seed: int | None = None
    levels: tuple[np.ndarray, ...] | None = None

    @property
    def n_communities(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.labels)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (without the labels)."""
        return {
            "method": self.method,
            "quality": float(self.quality),
            "quality_name": self.quality_name,
            "n_communities": self.n_communities,
            "sizes": self.sizes.tolist(),
            "params": dict(self.params),
            "seed": self.seed,
            "n_levels": None if self.levels is None else len(self.levels),
        }

    def to_frame(self) -> Any:
        """A pandas DataFrame: ``node``, ``community`` (and ``level_i`` for a nested SBM)."""
        import pandas as pd

        cols: dict[str, Any] = {"node": np.arange(self.labels.size), "community": self.labels}
        for i, lv in enumerate(self.levels or ()):
            if i:
                cols[f"level_{i}"] = lv
        return pd.DataFrame(cols)

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "Partition",
            repr(self.method),
            n_nodes=int(self.labels.size),
            n_communities=self.n_communities,
            **{self.quality_name: self.quality},
            seed=self.seed,
            n_levels=None if self.levels is None else len(self.levels),
        )


# ---- modularity ----------------------------------------------------------------------------
def modularity(
    G: Any, labels: Any, *, weights: str | None = "auto", resolution: float = 1.0
) -> float:
    """Newman's modularity of a partition, from the sparse adjacency.

    ``Q = (1/2m) sum_ij [A_ij - gamma k_i k_j / 2m] delta(c_i, c_j)``, with ``2m = sum_ij A_ij``
    and ``k_i = sum_j A_ij``; equal to igraph's ``Graph.modularity(membership, weights,
    resolution)`` on the same undirected graph.

    Parameters
    ----------
    G : LayeredGraph or (n, n) symmetric array / sparse matrix
    labels : (n,) array or Partition
    weights : {"auto", "abs", None}
        ``"abs"``: ``|w|``; None: unweighted; ``"auto"`` (default): as the input says, ``|w|``
        for a weighted graph or a matrix (``|A|``), 1 for a thresholded (unweighted) one.
    resolution : float
        ``gamma``.

    Returns
    -------
    float (NaN for a graph without edges)

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]])
    >>> round(modularity(A, [0, 0, 1, 1]), 4)
    0.1667
    """
    A = _adjacency(G, weights)
    lab = _check_labels(labels, A.shape[0])
    two_m = float(A.sum())
    if two_m == 0:
        return float("nan")
    C = A.tocoo()
    inside = float(C.data[lab[C.row] == lab[C.col]].sum())
    k = np.asarray(A.sum(axis=1)).ravel()
    K = np.bincount(lab, weights=k)
    return inside / two_m - resolution * float((K * K).sum()) / two_m**2


# ---- detection -----------------------------------------------------------------------------
def _igraph(A: sp.csr_array) -> tuple[Any, list[float]]:
    from netsci_dl._array import require

    ig = require("igraph", "igraph", "Leiden / Louvain communities")
    u, v, w = _upper_edges(A)
    g = ig.Graph(n=A.shape[0], edges=np.column_stack([u, v]).tolist(), directed=False)
    return g, w.tolist()


def leiden(
    G: Any,
    *,
    weights: str | None = "auto",
    resolution: float = 1.0,
    seed: int | None = 0,
    n_iterations: int = -1,
) -> Partition:
    """Leiden communities (``leidenalg``, RB configuration model = modularity at ``resolution``).

    Parameters
    ----------
    G : LayeredGraph or symmetric adjacency matrix
    weights : {"auto", "abs", None}
        As in :func:`modularity`.
    resolution : float
        Resolution ``gamma`` (1 = modularity).
    seed : int, optional
        leidenalg's seed; same seed, same partition.
    n_iterations : int
        Leiden iterations; -1 (default) until no improvement.

    Returns
    -------
    Partition (quality = our modularity at ``resolution``)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.block_diag([np.ones((3, 3)) - np.eye(3)] * 2).tolil(); A[2, 3] = A[3, 2] = 1
    >>> leiden(A).labels.tolist()
    [0, 0, 0, 1, 1, 1]
    """
    seed = _args.seed("seed", seed)
    from netsci_dl._array import require

    la = require("leidenalg", "leidenalg", "Leiden communities")
    A = _adjacency(G, weights)
    g, w = _igraph(A)
    part = la.find_partition(
        g,
        la.RBConfigurationVertexPartition,
        weights=w,
        resolution_parameter=float(resolution),
        n_iterations=n_iterations,
        seed=None if seed is None else int(seed),
    )
    labels = _canonical(np.asarray(part.membership))
    q = modularity(A, labels, weights="abs", resolution=resolution)
    return Partition(
        labels,
        "leiden",
        q,
        "modularity",
        {
            "weights": _wname(G, weights),
            "resolution": float(resolution),
            "n_iterations": n_iterations,
        },
        seed,
    )


def louvain(
    G: Any, *, weights: str | None = "auto", resolution: float = 1.0, seed: int | None = 0
) -> Partition:
    """Louvain communities (igraph ``community_multilevel``), seeded.

    igraph draws from Python's ``random``; it is given a ``random.Random(seed)`` for the call
    and restored afterwards. Parameters as in :func:`leiden`.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.block_diag([np.ones((3, 3)) - np.eye(3)] * 2).tolil(); A[2, 3] = A[3, 2] = 1
    >>> louvain(A).labels.tolist()
    [0, 0, 0, 1, 1, 1]
    """
    seed = _args.seed("seed", seed)
    import random

    from netsci_dl._array import require

    ig = require("igraph", "igraph", "Louvain communities")
    A = _adjacency(G, weights)
    g, w = _igraph(A)
    ig.set_random_number_generator(random.Random(seed))
    try:
        cl = g.community_multilevel(weights=w, resolution=float(resolution))
    finally:
        ig.set_random_number_generator(random)
    labels = _canonical(np.asarray(cl.membership))
    q = modularity(A, labels, weights="abs", resolution=resolution)
    return Partition(
        labels,
        "louvain",
        q,
        "modularity",
        {"weights": _wname(G, weights), "resolution": float(resolution)},
        seed,
    )


def _wname(G: Any, weights: str | None) -> str | None:
    return _resolve_auto(G, weights)


def _gt_graph(A: sp.csr_array, weighted: bool) -> tuple[Any, Any, Any]:
    from netsci_dl._array import require

    gt = require("graph_tool.all", "gt", "stochastic block models")
    u, v, w = _upper_edges(A)
    g = gt.Graph(directed=False)
    g.add_vertex(A.shape[0])
    ew = g.new_edge_property("double")
    if u.size:
        g.add_edge_list(np.column_stack([u, v, w]), eprops=[ew])
    return gt, g, ew if weighted else None


class _SeededNumpy:
    """Seed graph-tool's and numpy's global generators for a block (one OpenMP thread, so a
    seed gives one result); restore numpy's state and the thread count after."""

    def __init__(self, gt: Any, seed: int | None) -> None:
        self.gt, self.seed, self.state, self.threads = gt, seed, None, None

    def __enter__(self) -> None:
        if self.seed is not None:
            self.state = np.random.get_state()
            np.random.seed(int(self.seed))
            self.gt.seed_rng(int(self.seed))
            if self.gt.openmp_enabled():
                self.threads = self.gt.openmp_get_num_threads()
                self.gt.openmp_set_num_threads(1)

    def __exit__(self, *exc: Any) -> None:
        if self.state is not None:
            np.random.set_state(self.state)
        if self.threads is not None:
            self.gt.openmp_set_num_threads(self.threads)


def sbm(
    G: Any,
    *,
    nested: bool = False,
    deg_corr: bool = True,
    keep_layers_apart: bool = False,
    constraint: Any = None,
    weights: str | None = None,
    n_init: int = 1,
    seed: int | None = 0,
) -> Partition:
    """Stochastic block model fitted by minimising the description length (graph-tool).

    Parameters
    ----------
    G : LayeredGraph or symmetric adjacency matrix
    nested : bool
        ``minimize_nested_blockmodel_dl`` (hierarchy in ``Partition.levels``) instead of
        ``minimize_blockmodel_dl``.
    deg_corr : bool
        Degree-corrected SBM (default).
    keep_layers_apart : bool
        Blocks never mix layers: the node layers are passed as graph-tool's ``clabel`` and
        ``pclabel`` (the description length then counts the partition within each layer). Needs
        a LayeredGraph.
    constraint : (n,) int array, optional
        Any other constraint labels (nodes with different labels never share a block).
    weights : {None, "abs", "auto"}
        None (default): topology only. ``"abs"``: ``|w|`` as an edge covariate
        (``rec_types=["real-exponential"]``). ``"auto"``: as in :func:`modularity` (``"abs"``
        for a weighted graph or a matrix, None for a thresholded graph).
    n_init : int
        Independent fits (seeds ``seed, seed + 1, ...``); the one with the lowest description
        length is kept. The greedy search gets stuck now and then on small graphs: 5 fits
        recovered every planted partition tried in the tests, 1 fit did not.
    seed : int, optional
        Seeds graph-tool's and numpy's generators (numpy's state is restored after).

    Returns
    -------
    Partition (quality = description length in nats, lower is better)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.block_diag([np.ones((4, 4)) - np.eye(4)] * 2).tolil(); A[3, 4] = A[4, 3] = 1
    >>> sbm(A, deg_corr=False).n_communities >= 1  # doctest: +SKIP
    True

    Notes
    -----
    The search is stochastic; graph-tool's run time varies a lot with the seed (shared/bench/
    PEERS.md: 15.6 s to 88.7 s on workload W's 95% threshold, all seeds ARI 1.0 vs the layers).
    """
    seed = _args.seed("seed", seed)
    weights = _resolve_auto(G, weights)
    A = _adjacency(G, weights)
    n = A.shape[0]
    gt, g, ew = _gt_graph(A, weights == "abs")
    clab = None
    if keep_layers_apart:
        if not isinstance(G, LayeredGraph):
            raise InputError("keep_layers_apart=True needs a LayeredGraph (node layers)")
        clab = np.asarray(G.node_layer, np.int64)
    if constraint is not None:
        c = _check_labels(constraint, n, "constraint")
        clab = c if clab is None else _check_labels(clab * (int(c.max()) + 1) + c, n)
    state_args: dict[str, Any] = {"deg_corr": bool(deg_corr)}
    if clab is not None:
        p = g.new_vertex_property("int")
        p.a = clab
        state_args["clabel"] = p
        state_args["pclabel"] = p
    if ew is not None:
        state_args["recs"] = [ew]
        state_args["rec_types"] = ["real-exponential"]
    if isinstance(n_init, bool) or not isinstance(n_init, (int, np.integer)) or n_init < 1:
        raise InputError(f"n_init={n_init!r} must be a positive integer")
    best: tuple[float, np.ndarray, tuple | None] | None = None
    for i in range(int(n_init)):
        fit = _fit_sbm(gt, g, state_args, nested, None if seed is None else int(seed) + i)
        if best is None or fit[0] < best[0]:
            best = fit
    dl, labels, levels = best  # type: ignore[misc]
    params = {
        "nested": nested,
        "deg_corr": bool(deg_corr),
        "keep_layers_apart": keep_layers_apart,
        "constraint": constraint is not None,
        "weights": weights,
        "n_init": int(n_init),
    }
    return Partition(
        labels, "nested-sbm" if nested else "sbm", dl, "description_length", params, seed, levels
    )


def _fit_sbm(
    gt: Any, g: Any, state_args: dict, nested: bool, seed: int | None
) -> tuple[float, np.ndarray, tuple | None]:
    """One seeded fit: (description length, level-0 labels, levels or None)."""
    levels = None
    with _SeededNumpy(gt, seed):
        if nested:
            st = gt.minimize_nested_blockmodel_dl(g, state_args=state_args)
            bs = [np.asarray(b, np.int64) for b in st.get_bs()]
            lv, cur = [], bs[0]
            for b in bs[1:]:
                lv.append(_canonical(cur))
                cur = b[cur]
                if np.unique(cur).size == 1:
                    break
            labels = lv[0] if lv else _canonical(bs[0])
            levels = tuple(lv) if lv else (labels,)
        else:
            st = gt.minimize_blockmodel_dl(g, state_args=state_args)
            labels = _canonical(np.asarray(st.get_blocks().a))
        dl = float(st.entropy())
    return dl, labels, levels


def communities(
    G: Any,
    method: str = "leiden",
    *,
    resolution: float = 1.0,
    seed: int | None = 0,
    weights: str | None = "auto",
    **kwargs: Any,
) -> Partition:
    """Dispatch to :func:`leiden`, :func:`louvain` or :func:`sbm` (``**kwargs`` go to :func:`sbm`).

    ``weights`` as in :func:`modularity`, for every method (default ``"auto"``: ``|w|`` for a
    weighted graph or a matrix, 1 for a thresholded graph; ``weights=None`` for the SBM's
    topology-only fit of a weighted input).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]])
    >>> communities(A, "louvain").labels.tolist()
    [0, 0, 1, 1]
    """
    seed = _args.seed("seed", seed)
    if method == "leiden":
        return leiden(G, weights=weights, resolution=resolution, seed=seed)
    if method == "louvain":
        return louvain(G, weights=weights, resolution=resolution, seed=seed)
    if method == "sbm":
        return sbm(G, weights=weights, seed=seed, **kwargs)
    raise InputError(f"method={method!r} is not one of {METHODS}")
