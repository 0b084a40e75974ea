"""Functional modules: hierarchical clustering of receptive fields by EMD, and per-module statistics.

Follows T18 as fixed in shared/SCIENCE.md ("Receptive fields and functional modules"): the
receptive fields (RFs) of the units of one layer are compared pairwise by the Earth Mover's
Distance (:func:`netsci_dl.analysis.emd.emd_matrix`), clustered agglomeratively on the condensed
EMD matrix (average linkage by default), and the tree is cut into 20 modules. Each module then
gets a structural profile (degree, strength, k_nn), its EMD cohesion and the share of its links
that stay inside it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl.graph import LayeredGraph

__all__ = [
    "FunctionalModules",
    "functional_modules",
    "ModuleStatistics",
    "module_statistics",
    "ModuleAnalysis",
    "analyze_modules",
    "LINKAGE_METHODS",
]

LINKAGE_METHODS = ("average", "complete", "single", "weighted", "ward", "centroid", "median")
_EUCLIDEAN_ONLY = ("ward", "centroid", "median")


# ---- clustering ---------------------------------------------------------------------------
def _condensed(emd: Any) -> np.ndarray:
    """A condensed distance vector from an EMDResult, a condensed vector or a square matrix."""
    from scipy.spatial.distance import squareform

    if hasattr(emd, "condensed"):
        emd = emd.condensed
    D = np.asarray(emd, dtype=np.float64)
    if D.ndim == 2:
        if D.shape[0] != D.shape[1]:
            raise ValueError(f"emd: a square matrix is needed, got shape {D.shape}")
        if not np.allclose(D, D.T, rtol=1e-10, atol=0):
            raise ValueError("emd: the square matrix is not symmetric")
        if np.any(np.diag(D) != 0):
            raise ValueError("emd: the square matrix has a non-zero diagonal")
        D = squareform(D, checks=False)
    elif D.ndim != 1:
        raise ValueError(f"emd must be condensed (1-D) or square (2-D), got {D.ndim} dimensions")
    n = int(round((1 + np.sqrt(1 + 8 * D.size)) / 2))
    if n * (n - 1) // 2 != D.size:
        raise ValueError(
            f"emd: {D.size} values is not n*(n-1)/2 for any n (not a condensed matrix)"
        )
    if not np.isfinite(D).all() or (D < 0).any():
        raise ValueError("emd: distances must be finite and non-negative")
    return D


def _n_from_condensed(c: np.ndarray) -> int:
    return int(round((1 + np.sqrt(1 + 8 * c.size)) / 2))


def _relabel(raw: np.ndarray, leaves: np.ndarray, order: str) -> np.ndarray:
    """Map arbitrary cluster ids to 0..k-1: by size (largest first, ties by dendrogram position)
    or by the position of each cluster's first leaf in the dendrogram."""
    _, inv = np.unique(raw, return_inverse=True)
    k = int(inv.max()) + 1 if inv.size else 0
    pos = np.empty(inv.size, np.int64)
    pos[leaves] = np.arange(inv.size)
    first = np.full(k, inv.size, np.int64)
    np.minimum.at(first, inv, pos)
    if order == "size":
        rank = np.lexsort((first, -np.bincount(inv, minlength=k)))
    elif order == "dendrogram":
        rank = np.argsort(first, kind="stable")
    else:
        raise ValueError(f"order must be 'size' or 'dendrogram', got {order!r}")
    new = np.empty(k, np.int64)
    new[rank] = np.arange(k)
    return new[inv]


@dataclass(frozen=True)
class FunctionalModules:
    """Modules of one layer's units from hierarchical clustering of their EMD matrix.

    Attributes
    ----------
    labels : (n,) int64
        Module of each unit, ``0..k-1`` (order given by ``order``: largest module first, or by
        position in the dendrogram).
    linkage : (n - 1, 4) float64
        The scipy linkage matrix (``scipy.cluster.hierarchy.linkage``).
    cophenetic : float
        Cophenetic correlation between the tree and the EMD matrix (NaN for n < 3).
    k : int
        Number of modules actually obtained (can be below the requested ``k`` when merge heights tie).
    method : str
        Linkage method.
    k_requested, distance : int or None, float or None
        The cut asked for (one of the two).
    cut_height : float
        A height between the last merge kept and the first merge undone (for a dendrogram line).
    leaves : (n,) int64
        Dendrogram leaf order.
    order : str
    """

    labels: np.ndarray
    linkage: np.ndarray
    cophenetic: float
    k: int
    method: str
    k_requested: int | None
    distance: float | None
    cut_height: float
    leaves: np.ndarray
    order: str = "size"

    @property
    def sizes(self) -> np.ndarray:
        """``(k,)`` number of units per module."""
        return np.bincount(self.labels, minlength=self.k)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (labels included as a list)."""
        return {
            "n": int(self.labels.size),
            "k": self.k,
            "k_requested": self.k_requested,
            "distance": self.distance,
            "method": self.method,
            "order": self.order,
            "cophenetic": float(self.cophenetic),
            "cut_height": float(self.cut_height),
            "sizes": self.sizes.tolist(),
            "labels": self.labels.tolist(),
        }

    def to_frame(self) -> Any:
        """A pandas DataFrame: ``unit``, ``module``."""
        import pandas as pd

        return pd.DataFrame({"unit": np.arange(self.labels.size), "module": self.labels})


def functional_modules(
    emd: Any,
    *,
    k: int | None = 20,
    distance: float | None = None,
    method: str = "average",
    order: str = "size",
) -> FunctionalModules:
    """Agglomerative clustering of units by EMD, cut into ``k`` modules or at a distance.

    Parameters
    ----------
    emd : EMDResult, (n*(n-1)/2,) or (n, n) array
        Pairwise EMDs: an :class:`~netsci_dl.analysis.emd.EMDResult`, a condensed vector
        (``pdist`` order) or a symmetric square matrix with a zero diagonal.
    k : int, optional
        Number of modules (T18: 20, the default); scipy's ``fcluster(criterion="maxclust")``.
    distance : float, optional
        Cut the tree at this height instead (``criterion="distance"``); give ``k=None`` or
        leave ``k`` at its default (``distance`` wins when given).
    method : {"average", "complete", "single", "weighted", "ward", "centroid", "median"}
        Linkage. ``"ward"``, ``"centroid"`` and ``"median"`` assume Euclidean distances, which
        an EMD matrix is not: they run, with a ``UserWarning``.
    order : {"size", "dendrogram"}
        Module numbering: largest first (ties by dendrogram position), or left to right in the
        dendrogram.

    Returns
    -------
    FunctionalModules

    Examples
    --------
    >>> import numpy as np
    >>> D = np.array([[0, 1, 9, 9], [1, 0, 9, 9], [9, 9, 0, 2], [9, 9, 2, 0]], float)
    >>> m = functional_modules(D, k=2)
    >>> m.labels.tolist(), m.k, round(m.cophenetic, 3)
    ([0, 0, 1, 1], 2, 1.0)

    Notes
    -----
    The clustering itself is scipy's ``linkage`` + ``fcluster`` on the condensed matrix; the
    cophenetic correlation is ``scipy.cluster.hierarchy.cophenet``. With tied merge heights
    ``maxclust`` can give fewer than ``k`` modules; ``k`` then holds the number obtained.

    References
    ----------
    .. [1] T18, shared/SCIENCE.md, "Receptive fields and functional modules".
    """
    from scipy.cluster.hierarchy import cophenet, fcluster, leaves_list, linkage

    if method not in LINKAGE_METHODS:
        raise ValueError(f"method={method!r} is not one of {LINKAGE_METHODS}")
    c = _condensed(emd)
    n = _n_from_condensed(c)
    if n < 2:
        raise ValueError(f"emd: at least 2 units are needed to cluster, got {n}")
    if method in _EUCLIDEAN_ONLY:
        warnings.warn(
            f"method={method!r} assumes Euclidean distances; an EMD matrix is not Euclidean, so "
            "merge heights may be meaningless (shared/SCIENCE.md caveats); prefer 'average'",
            UserWarning,
            stacklevel=2,
        )
    if distance is None:
        if k is None:
            raise ValueError("give k= (number of modules) or distance= (cut height)")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
            raise ValueError(f"k={k!r} must be an integer in 1..{n} (the number of units)")
    elif not np.isfinite(distance) or distance < 0:
        raise ValueError(f"distance={distance!r} must be a non-negative number")
    Z = linkage(c, method=method)
    coph = float(cophenet(Z, c)[0]) if n >= 3 and np.ptp(c) > 0 else float("nan")
    if distance is not None:
        raw = fcluster(Z, t=float(distance), criterion="distance")
        kreq = None
    else:
        raw = fcluster(Z, t=int(k), criterion="maxclust")  # type: ignore[arg-type]
        kreq = int(k)  # type: ignore[arg-type]
    leaves = leaves_list(Z).astype(np.int64)
    labels = _relabel(raw, leaves, order)
    kk = int(labels.max()) + 1
    heights = Z[:, 2]
    if kk <= 1:
        cut = float(heights[-1]) * 1.05 if heights.size else 0.0
    else:
        lo, hi = float(heights[n - kk - 1]) if n - kk - 1 >= 0 else 0.0, float(heights[n - kk])
        cut = float(distance) if distance is not None else (lo + hi) / 2
    if kreq is not None and kk != kreq:
        warnings.warn(
            f"asked for k={kreq} modules but tied merge heights give {kk}",
            UserWarning,
            stacklevel=2,
        )
    return FunctionalModules(
        labels,
        Z,
        coph,
        kk,
        method,
        kreq,
        None if distance is None else float(distance),
        cut,
        leaves,
        order,
    )


# ---- per-module statistics ----------------------------------------------------------------
def _group_mean_sd(x: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample sd (ddof=1) of ``x`` per label, NaN entries ignored."""
    ok = np.isfinite(x)
    lab, v = labels[ok], x[ok]
    cnt = np.bincount(lab, minlength=k).astype(np.float64)
    s1 = np.bincount(lab, weights=v, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / cnt
        dev = v - mean[lab]
        var = np.bincount(lab, weights=dev * dev, minlength=k) / (cnt - 1)
    var[cnt < 2] = np.nan
    return mean, np.sqrt(var)


def _layer_index(G: LayeredGraph, layer: int | str) -> int:
    if isinstance(layer, str):
        if layer not in G.layer_names:
            raise ValueError(f"layer={layer!r} is not one of {list(G.layer_names)}")
        return list(G.layer_names).index(layer)
    l = int(layer)
    l = l + G.n_layers if l < 0 else l
    if not 0 <= l < G.n_layers:
        raise ValueError(f"layer={layer} is out of range for {G.n_layers} layers")
    return l


def _layer_pattern(H: LayeredGraph, l: int) -> Any:
    """``(n_l, n_adjacent)`` 0/1 CSR matrix: the kept edges of layer ``l`` to layers l-1 and l+1."""
    import scipy.sparse as sp

    parts = []
    if l > 0:
        parts.append(sp.csr_array(H.blocks[l - 1]).T)
    if l < H.n_layers - 1:
        parts.append(sp.csr_array(H.blocks[l]))
    if not parts:
        return sp.csr_array((H.layer_sizes[l], 0))
    A = sp.hstack(parts, format="csr")
    A.data = np.ones_like(A.data, dtype=np.float64)
    return A


@dataclass(frozen=True)
class ModuleStatistics:
    """Per-module statistics of one layer (arrays of length ``k`` unless stated).

    Attributes
    ----------
    layer : int
    size : int64
    degree_mean, degree_sd, strength_mean, strength_sd, knn_mean, knn_sd : float64
        Over the module's units (sample sd, ddof=1; NaN for a single unit). Degree and k_nn on
        the thresholded graph (k_nn ignores isolated units), strength on the full graph
        (:func:`netsci_dl.analysis.distributions.strength` with ``strength_direction`` /
        ``strength_kind``).
    emd_within, emd_between : float64
        Mean EMD between two distinct units of the module; mean EMD from the module's units to
        the units of all other modules (NaN without ``emd``).
    emd_modules : (k, k) float64 or None
        Mean EMD between modules (diagonal: ``emd_within``).
    links_inside, links_inside_expected : float64
        Share of the module's projected links that stay inside it, and its value under random
        labels, ``(size - 1) / (n - 1)`` (see :func:`module_statistics`, Notes).
    medoid : int64
        Unit (index within the layer) with the least total EMD to its module (-1 without ``emd``).
    mean_rf, medoid_rf : (k, *image_shape) float64 or None
        Mean and medoid receptive field per module (with ``rfs``).
    """

    layer: int
    size: np.ndarray
    degree_mean: np.ndarray
    degree_sd: np.ndarray
    strength_mean: np.ndarray
    strength_sd: np.ndarray
    knn_mean: np.ndarray
    knn_sd: np.ndarray
    emd_within: np.ndarray
    emd_between: np.ndarray
    links_inside: np.ndarray
    links_inside_expected: np.ndarray
    medoid: np.ndarray
    emd_modules: np.ndarray | None = None
    mean_rf: np.ndarray | None = None
    medoid_rf: np.ndarray | None = None
    params: dict = field(default_factory=dict)

    _COLUMNS = (
        "size",
        "degree_mean",
        "degree_sd",
        "strength_mean",
        "strength_sd",
        "knn_mean",
        "knn_sd",
        "emd_within",
        "emd_between",
        "links_inside",
        "links_inside_expected",
        "medoid",
    )

    @property
    def k(self) -> int:
        return int(self.size.size)

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per module (column ``module``)."""
        import pandas as pd

        cols = {"module": np.arange(self.k)}
        cols.update({c: getattr(self, c) for c in self._COLUMNS})
        return pd.DataFrame(cols)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the columns as lists (NaN as None), ``emd_modules``, params."""

        def clean(a: np.ndarray) -> list:
            return [None if isinstance(v, float) and not np.isfinite(v) else v for v in a.tolist()]

        d: dict[str, Any] = {"layer": self.layer, "k": self.k, "params": dict(self.params)}
        for c in self._COLUMNS:
            d[c] = clean(np.asarray(getattr(self, c)))
        d["emd_modules"] = (
            None if self.emd_modules is None else [clean(r) for r in self.emd_modules]
        )
        return d


def module_statistics(
    G: LayeredGraph,
    H: LayeredGraph,
    layer: int | str,
    labels: Any,
    *,
    emd: Any = None,
    rfs: np.ndarray | None = None,
    strength_direction: str = "up",
    strength_kind: str = "signed",
) -> ModuleStatistics:
    """Structural and functional profile of each module of one layer (T18's panels).

    Parameters
    ----------
    G : LayeredGraph
        The full (weighted) graph, for strength.
    H : LayeredGraph
        The thresholded graph (same layer sizes), for degree, k_nn and links.
    layer : int or str
        The layer whose units were clustered.
    labels : (n_l,) int array or FunctionalModules
        Module of each unit of the layer, ``0..k-1``.
    emd : EMDResult, condensed or square array, optional
        The EMD matrix of the layer's units, for within/between EMD and the medoids.
    rfs : (n_l, *image_shape) array, optional
        Receptive fields, for the mean and medoid RF per module.
    strength_direction, strength_kind : str
        Passed to :func:`~netsci_dl.analysis.distributions.strength` (default: T18's ``up``
        strength of signed weights).

    Returns
    -------
    ModuleStatistics

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl.graph import LayeredGraph
    >>> W = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], np.float32)   # 2 inputs, 4 hidden units
    >>> G = LayeredGraph((2, 4), (W,)); H = LayeredGraph((2, 4), (sp.csr_array(W),))
    >>> s = module_statistics(G, H, 1, np.array([0, 0, 1, 1]))
    >>> s.size.tolist(), s.degree_mean.tolist(), s.links_inside.tolist()
    ([2, 2], [1.0, 1.0], [1.0, 1.0])

    Notes
    -----
    **Share of links inside.** Units of one layer are not linked directly in a k-partite graph,
    so links are taken on the one-mode projection of the layer through its adjacent layers
    (l-1 and l+1) in the thresholded graph: units ``i != j`` are linked with weight equal to
    their number of shared neighbours, ``P = A A^T`` off the diagonal, ``A`` the
    ``(n_l, n_{l-1} + n_{l+1})`` pattern of kept edges. The share of module ``m`` is
    ``sum_{i,j in m} P_ij / sum_{i in m, j} P_ij`` = ``sum_v c_vm (c_vm - 1) / sum_v c_vm (d_v - 1)``
    with ``c_vm`` the number of neighbours of ``v`` in ``m`` and ``d_v`` its degree into the
    layer; computed from ``C = A^T onehot(labels)`` without forming ``P``. NaN when the module
    has no projected link. Under random labels its expectation is ``(size - 1) / (n_l - 1)``
    (``links_inside_expected``).
    """
    import scipy.sparse as sp

    from netsci_dl.analysis.assortativity import average_neighbor_degree
    from netsci_dl.analysis.distributions import degree, strength

    if tuple(G.layer_sizes) != tuple(H.layer_sizes):
        raise ValueError(f"G has layer sizes {G.layer_sizes} but H has {H.layer_sizes}")
    l = _layer_index(H, layer)
    n = H.layer_sizes[l]
    if isinstance(labels, FunctionalModules):
        labels = labels.labels
    lab = np.asarray(labels)
    if lab.shape != (n,):
        raise ValueError(f"labels has shape {lab.shape}, expected ({n},) for layer {l}")
    if lab.dtype.kind not in "iu" or (n and lab.min() < 0):
        raise ValueError("labels must be non-negative integers (0..k-1)")
    lab = lab.astype(np.int64)
    k = int(lab.max()) + 1 if n else 0
    size = np.bincount(lab, minlength=k)
    sl = H.layer_slice(l)

    deg = degree(H, direction="total")[sl].astype(np.float64)
    knn = average_neighbor_degree(H)[sl]
    st = strength(G, direction=strength_direction, kind=strength_kind)[sl]
    dm, dsd = _group_mean_sd(deg, lab, k)
    sm, ssd = _group_mean_sd(st, lab, k)
    km, ksd = _group_mean_sd(knn, lab, k)

    # links inside, on the projection through adjacent layers
    A = _layer_pattern(H, l)
    M = sp.csr_array((np.ones(n), (np.arange(n), lab)), shape=(n, k))
    C = (A.T @ M).toarray() if A.shape[1] else np.zeros((0, k))  # (n_adj, k)
    d = C.sum(axis=1, keepdims=True)
    inside = (C * (C - 1)).sum(axis=0)
    total = (C * (d - 1)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = inside / total
        expected = (size - 1) / (n - 1) if n > 1 else np.full(k, np.nan)
    share[total == 0] = np.nan

    within = between = np.full(k, np.nan)
    emd_mod = None
    medoid = np.full(k, -1, np.int64)
    if emd is not None:
        from scipy.spatial.distance import squareform

        c = _condensed(emd)
        if _n_from_condensed(c) != n:
            raise ValueError(f"emd is for {_n_from_condensed(c)} units, layer {l} has {n}")
        D = squareform(c, checks=False)
        Md = M.toarray()
        DM = D @ Md  # (n, k): total EMD of each unit to each module
        S = Md.T @ DM  # (k, k) sums over ordered pairs
        with np.errstate(invalid="ignore", divide="ignore"):
            pairs = np.outer(size, size).astype(np.float64)
            np.fill_diagonal(pairs, size * (size - 1.0))
            emd_mod = S / pairs
            within = np.diag(emd_mod).copy()
            between = (S.sum(axis=1) - np.diag(S)) / (size * (n - size.astype(np.float64)))
        emd_mod[pairs == 0] = np.nan
        own = DM[np.arange(n), lab]
        first = np.lexsort((np.arange(n), own, lab))  # by module, then total EMD, then index
        starts = np.searchsorted(lab[first], np.arange(k))
        medoid = np.where(size > 0, first[np.minimum(starts, n - 1)], -1)

    mean_rf = medoid_rf = None
    if rfs is not None:
        R = np.asarray(rfs, dtype=np.float64)
        if R.shape[0] != n:
            raise ValueError(f"rfs has {R.shape[0]} units, layer {l} has {n}")
        flat = R.reshape(n, -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_rf = (M.T @ flat / size[:, None]).reshape((k, *R.shape[1:]))
        if emd is not None:
            medoid_rf = R[np.maximum(medoid, 0)]
    params = {
        "strength_direction": strength_direction,
        "strength_kind": strength_kind,
        "links": "projection through adjacent layers of the thresholded graph",
        "n_units": n,
    }
    return ModuleStatistics(
        l,
        size,
        dm,
        dsd,
        sm,
        ssd,
        km,
        ksd,
        within,
        between,
        share,
        np.asarray(expected, np.float64),
        medoid,
        emd_mod,
        mean_rf,
        medoid_rf,
        params,
    )


# ---- the whole pipeline (one call for the CLI) --------------------------------------------
@dataclass(frozen=True)
class ModuleAnalysis:
    """Everything :func:`analyze_modules` computed for one layer."""

    layer: int
    rfs: np.ndarray
    emd: Any
    modules: FunctionalModules
    stats: ModuleStatistics
    threshold: str

    def to_dict(self) -> dict[str, Any]:
        m = self.modules.to_dict()
        m.pop("labels")
        return {
            "layer": self.layer,
            "threshold": self.threshold,
            "emd": self.emd.to_dict(),
            "modules": m,
            "stats": self.stats.to_dict(),
        }


def analyze_modules(
    G: LayeredGraph,
    layer: int | str = 1,
    *,
    k: int | None = 20,
    distance: float | None = None,
    method: str = "average",
    ground: str = "euclidean",
    distribution: str = "shift",
    threshold: str = "quantile:0.95",
    image_shape: Sequence[int] | None = None,
    n_jobs: int = -1,
    progress: bool = True,
    emd_kwargs: dict | None = None,
) -> ModuleAnalysis:
    """RFs -> EMD matrix -> modules -> per-module statistics for one layer of a full graph.

    Parameters
    ----------
    G : LayeredGraph
        The full graph (with ``meta["image_shape"]`` or ``image_shape=``).
    layer : int or str
    k, distance, method
        As in :func:`functional_modules`.
    ground : {"euclidean", "manhattan"}
        EMD ground distance (:func:`~netsci_dl.analysis.emd.emd_matrix`, grid method).
    distribution : {"shift", "abs", "pos", "signed"}
        RF -> distribution (:func:`~netsci_dl.analysis.receptive_fields.to_distributions`).
    threshold : str
        Threshold spec for the structural statistics (:func:`netsci_dl.threshold.apply_spec`).
    image_shape, n_jobs, progress, emd_kwargs
        Passed on.

    Returns
    -------
    ModuleAnalysis

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.graph import LayeredGraph
    >>> W = np.eye(4, dtype=np.float32)[:, [0, 1, 2, 3]] + 0.1
    >>> G = LayeredGraph((4, 4), (W,), meta={"image_shape": [2, 2]})
    >>> a = analyze_modules(G, 1, k=2, ground="manhattan", n_jobs=1, progress=False,
    ...                     threshold="quantile:0.5")
    >>> a.modules.k, a.stats.size.sum()
    (2, 4)
    """
    from netsci_dl.analysis.emd import emd_matrix
    from netsci_dl.analysis.receptive_fields import receptive_fields, to_distributions
    from netsci_dl.threshold import apply_spec

    l = _layer_index(G, layer)
    if l == 0:
        raise ValueError("layer=0 is the input layer: modules are for layers 1..L-1")
    rfs = receptive_fields(G, l, image_shape=image_shape)
    P = to_distributions(rfs, distribution, layer=l)
    res = emd_matrix(P, ground=ground, n_jobs=n_jobs, progress=progress, **dict(emd_kwargs or {}))
    mods = functional_modules(res, k=k, distance=distance, method=method)
    H = apply_spec(G, threshold)
    stats = module_statistics(G, H, l, mods.labels, emd=res, rfs=rfs)
    return ModuleAnalysis(l, rfs, res, mods, stats, threshold)
