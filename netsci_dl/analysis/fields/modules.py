"""Functional modules: hierarchical clustering of receptive fields by EMD, and per-module statistics.

Follows T18 as fixed in shared/SCIENCE.md ("Receptive fields and functional modules"): the
receptive fields (RFs) of the units of one layer are compared pairwise by the Earth Mover's
Distance (:func:`netsci_dl.analysis.fields.emd.emd_matrix`), clustered agglomeratively on the condensed
EMD matrix (average linkage by default), and the tree is cut into 20 modules. Each module then
gets a structural profile (degree, strength, k_nn), its EMD cohesion and the share of its links
that stay inside it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from netsci_dl.analysis.fields.module_stats import (
    ModuleStatistics,
    _condensed,
    _n_from_condensed,
    module_statistics,
)
from netsci_dl.errors import InputError
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
        raise InputError(f"order must be 'size' or 'dendrogram', got {order!r}")
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

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "FunctionalModules",
            n=int(self.labels.size),
            k=self.k,
            method=self.method,
            cophenetic=float(self.cophenetic),
            largest=int(self.sizes.max()) if self.labels.size else None,
            order=self.order,
        )


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
        Pairwise EMDs: an :class:`~netsci_dl.analysis.fields.emd.EMDResult`, a condensed vector
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
        raise InputError(f"method={method!r} is not one of {LINKAGE_METHODS}")
    c = _condensed(emd)
    n = _n_from_condensed(c)
    if n < 2:
        raise InputError(f"emd: at least 2 units are needed to cluster, got {n}")
    if method in _EUCLIDEAN_ONLY:
        warnings.warn(
            f"method={method!r} assumes Euclidean distances; an EMD matrix is not Euclidean, so "
            "merge heights may be meaningless (shared/SCIENCE.md caveats); prefer 'average'",
            UserWarning,
            stacklevel=2,
        )
    if distance is None:
        if k is None:
            raise InputError("give k= (number of modules) or distance= (cut height)")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
            raise InputError(f"k={k!r} must be an integer in 1..{n} (the number of units)")
    elif not np.isfinite(distance) or distance < 0:
        raise InputError(f"distance={distance!r} must be a non-negative number")
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

    def to_frame(self) -> Any:
        """One row per module: :meth:`ModuleStatistics.to_frame`."""
        return self.stats.to_frame()

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "ModuleAnalysis",
            layer=self.layer,
            n_units=int(self.modules.labels.size),
            k=self.modules.k,
            threshold=self.threshold,
            emd=getattr(self.emd, "method", None),
            cophenetic=float(self.modules.cophenetic),
        )


def analyze_modules(
    G: LayeredGraph,
    layer: int | str = 1,
    *,
    k: int | None = 20,
    distance: float | None = None,
    method: str = "average",
    ground: str = "euclidean",
    distribution: str = "shift",
    threshold: str | LayeredGraph = "auto",
    image_shape: Sequence[int] | None = None,
    n_jobs: int = -1,
    progress: bool = True,
    options: Any = None,
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
        EMD ground distance (:func:`~netsci_dl.analysis.fields.emd.emd_matrix`, grid method).
    distribution : {"shift", "abs", "pos", "signed"}
        RF -> distribution (:func:`~netsci_dl.analysis.to_distributions`).
    threshold : str or LayeredGraph
        Threshold spec for the structural statistics (:func:`netsci_dl.threshold.apply_spec`,
        default ``"auto"``), or the thresholded graph itself.
    image_shape, n_jobs, progress
        Passed on.
    options : EMDOptions, optional
        Fine settings of the EMD (:class:`~netsci_dl.analysis.fields.emd.EMDOptions`).

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
    from netsci_dl.analysis.fields._receptive_fields import receptive_fields, to_distributions
    from netsci_dl.analysis.fields.emd import emd_matrix
    from netsci_dl.threshold import apply_spec

    l = G.layer_index(layer)
    if l == 0:
        raise InputError("layer=0 is the input layer: modules are for layers 1..L-1")
    rfs = receptive_fields(G, l, image_shape=image_shape)
    P = to_distributions(rfs, distribution, layer=l)
    res = emd_matrix(P, ground=ground, options=options, n_jobs=n_jobs, progress=progress)
    mods = functional_modules(res, k=k, distance=distance, method=method)
    if isinstance(threshold, LayeredGraph):
        H = threshold
        recs = H.meta.get("thresholds") or [{}]
        spec = str(recs[-1].get("rule", "given"))
    else:
        H, spec = apply_spec(G, threshold), str(threshold)
    stats = module_statistics(G, H, l, mods.labels, emd=res, rfs=rfs)
    return ModuleAnalysis(l, rfs, res, mods, stats, spec)
