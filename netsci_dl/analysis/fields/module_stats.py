"""Per-module statistics of functional modules (T18's panels): size; mean and sd of degree,
strength and k_nn; EMD within and between modules; the share of a module's links that stay
inside it; mean and medoid receptive field. Clustering itself is in
:mod:`netsci_dl.analysis.fields.modules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["ModuleStatistics", "module_statistics"]


def _condensed(emd: Any) -> np.ndarray:
    """A condensed distance vector from an EMDResult, a condensed vector or a square matrix."""
    from scipy.spatial.distance import squareform

    if hasattr(emd, "condensed"):
        emd = emd.condensed
    D = np.asarray(emd, dtype=np.float64)
    if D.ndim == 2:
        if D.shape[0] != D.shape[1]:
            raise InputError(f"emd: a square matrix is needed, got shape {D.shape}")
        if not np.allclose(D, D.T, rtol=1e-10, atol=0):
            raise InputError("emd: the square matrix is not symmetric")
        if np.any(np.diag(D) != 0):
            raise InputError("emd: the square matrix has a non-zero diagonal")
        D = squareform(D, checks=False)
    elif D.ndim != 1:
        raise InputError(f"emd must be condensed (1-D) or square (2-D), got {D.ndim} dimensions")
    n = int(round((1 + np.sqrt(1 + 8 * D.size)) / 2))
    if n * (n - 1) // 2 != D.size:
        raise InputError(
            f"emd: {D.size} values is not n*(n-1)/2 for any n (not a condensed matrix)"
        )
    if not np.isfinite(D).all() or (D < 0).any():
        raise InputError("emd: distances must be finite and non-negative")
    return D


def _n_from_condensed(c: np.ndarray) -> int:
    return int(round((1 + np.sqrt(1 + 8 * c.size)) / 2))


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


def _layer_pattern(H: LayeredGraph, l: int) -> Any:
    """``(n_l, n_adjacent)`` 0/1 CSR matrix: the kept edges of group ``l`` to every group a
    weight block joins it to (on a chain: layers l-1 and l+1)."""
    import scipy.sparse as sp

    parts = []
    for b, kind in enumerate(H.block_kinds):
        if kind == "identity":
            continue
        if H.block_dst[b] == l:
            parts.append(sp.csr_array(H.blocks[b]).T)
        elif H.block_src[b] == l:
            parts.append(sp.csr_array(H.blocks[b]))
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
        the thresholded graph (k_nn ignores isolated units), strength on the full graph, degree
        and strength in the same ``direction`` (``params["direction"]``).
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

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "ModuleStatistics",
            layer=self.layer,
            k=self.k,
            n_units=int(np.sum(self.size)),
            largest=int(np.max(self.size)) if self.k else None,
            with_emd=self.emd_modules is not None,
            with_rfs=self.mean_rf is not None,
            direction=self.params.get("direction"),
        )


def module_statistics(
    G: LayeredGraph,
    H: LayeredGraph,
    layer: int | str,
    labels: Any,
    *,
    emd: Any = None,
    rfs: np.ndarray | None = None,
    direction: str = "up",
    weights: str = "signed",
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
    direction : {"up", "down", "total"}
        The direction of **both** degree (thresholded graph) and strength (full graph), as
        shared/SCIENCE.md states: T18's ``up`` (towards the next layer; the top layer falls back
        to ``down``) by default.
    weights : {"signed", "abs", "pos", "neg"}
        The weights summed in the strength (default signed, T18).

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

    from netsci_dl.analysis.structure.assortativity import average_neighbor_degree
    from netsci_dl.analysis.structure.distributions import degree, strength

    if tuple(G.layer_sizes) != tuple(H.layer_sizes):
        raise InputError(f"G has layer sizes {G.layer_sizes} but H has {H.layer_sizes}")
    l = H.layer_index(layer)
    n = H.layer_sizes[l]
    if hasattr(labels, "labels"):
        labels = labels.labels
    lab = np.asarray(labels)
    if lab.shape != (n,):
        raise InputError(f"labels has shape {lab.shape}, expected ({n},) for layer {l}")
    if lab.dtype.kind not in "iu" or (n and lab.min() < 0):
        raise InputError("labels must be non-negative integers (0..k-1)")
    lab = lab.astype(np.int64)
    k = int(lab.max()) + 1 if n else 0
    size = np.bincount(lab, minlength=k)
    sl = H.layer_slice(l)

    deg = degree(H, direction=direction)[sl].astype(np.float64)
    knn = average_neighbor_degree(H)[sl]
    st = strength(G, direction=direction, weights=weights)[sl]
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
            raise InputError(f"emd is for {_n_from_condensed(c)} units, layer {l} has {n}")
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
            raise InputError(f"rfs has {R.shape[0]} units, layer {l} has {n}")
        flat = R.reshape(n, -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_rf = (M.T @ flat / size[:, None]).reshape((k, *R.shape[1:]))
        if emd is not None:
            medoid_rf = R[np.maximum(medoid, 0)]
    params = {
        "direction": direction,
        "weights": weights,
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
