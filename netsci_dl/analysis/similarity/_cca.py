"""Canonical correlation analysis of two representations: CCA, SVCCA (R17), PWCCA (Morcos 2018).

Canonical correlations are the singular values of ``U_x^T U_y``, where ``U`` is an orthonormal
basis of the centred view's column space from its thin SVD (rank-revealing: directions with
singular value below ``max(n, p) * eps * s_max`` are dropped). No covariance matrix is formed or
inverted.

- SVCCA: each centred view is first reduced to its top singular directions: the smallest ``k``
  with ``sum_{i<=k} s_i^2 / sum s_i^2 >= keep`` (``criterion="variance"``, R17's "99% of the
  variance"), or with ``sum_{i<=k} s_i / sum s_i >= keep`` (``criterion="mass"``, as the
  google/svcca tutorials cut), or a fixed ``k`` (``keep`` an int).
- PWCCA: ``sum_i alpha_i rho_i`` with ``alpha_i`` proportional to ``sum_j |<h_i, x_j>|``, ``h_i``
  the i-th canonical variate of the weighting view (unit norm) and ``x_j`` its j-th centred unit
  (Morcos, Raghu & Bengio 2018): ``h_i`` are the exact canonical variates (orthonormal, in
  the centred sample space). google/svcca's ``compute_pwcca`` does not compute these: its
  directions are ``coef_x`` (``u^T`` of the SVD of the whitened cross-covariance
  ``S_xx^{-1/2} S_xy S_yy^{-1/2}``) applied to the centred units *without* the whitening
  ``S_xx^{-1/2}``, the means added back and the result orthonormalised by QR, and the units it
  projects are uncentred; so its weights, and its value, generally differ from ours. It also weights by the view with
  fewer units left after its ``epsilon`` cut (our ``view="smaller"`` counts all units), and
  its branch for the second view indexes the first view's activations with the second view's
  mask, so it fails when the second view has fewer units. The canonical correlations
  themselves agree with google/svcca's ``get_cca_similarity``.

With ``r_x + r_y > n - 1`` directions the centred views share at least ``r_x + r_y - (n - 1)``
dimensions of the ``n - 1``-dimensional centred sample space, and that many correlations are 1
whatever the data: a SimilarityWarning says so, with the number of samples needed. Short of
that the correlations are still biased upwards (independent Gaussian views with n = 41,
p = q = 20 give a mean of about 0.62): a SimilarityWarning is also given whenever
``n < MIN_RATIO * max(r_x, r_y)`` (``MIN_RATIO = 10``: the mean canonical correlation of
independent Gaussian views, p = q = 20, is 0.27 at 10 samples per direction and
0.19 at 20; it climbs quickly towards 1 below 10).

A column constant to rounding (a float64 layer of 0.1, whose centred entries are ~1e-17, not 0)
is zeroed by the centring (relative tolerance ``(64 n eps)^2`` on its centred sum of squares,
see ``_sim_common.center``): its direction is dropped from the rank, and a view with no other
column is constant (NaN with a SimilarityWarning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl.analysis.similarity._sim_common import as_pair, center, warn, xp_of
from netsci_dl.errors import InputError

__all__ = ["CCAResult", "cca", "svcca", "pwcca"]

CRITERIA = ("variance", "mass")
NORMALIZE = ("min", "rank")
#: Fewer samples than ``MIN_RATIO`` times the larger number of directions: a warning (bias).
MIN_RATIO = 10
VIEWS = ("x", "y", "smaller")


@dataclass(frozen=True, eq=False)
class CCAResult:
    """Canonical correlations of two views, and what was kept.

    Attributes
    ----------
    coefficients : (k,) float64 ndarray
        Canonical correlations, descending, in [0, 1]; ``k = min(dims)``.
    dims : (int, int)
        Directions of each view that entered the CCA (its rank, or what SVCCA kept).
    units : (int, int)
        Columns of each view.
    n_samples : int
    method : {"cca", "svcca", "pwcca"}
    weights : (k,) ndarray or None
        PWCCA's weights (sum 1), else None.
    spectra : tuple of two ndarrays
        Singular values of each centred view (all of them, before any cut).
    settings : dict
        ``keep``, ``criterion`` (SVCCA), ``view`` (PWCCA), ``trivial`` (how many coefficients
        are 1 by construction).
    """

    coefficients: np.ndarray
    dims: tuple[int, int]
    units: tuple[int, int]
    n_samples: int
    method: str
    weights: np.ndarray | None = field(default=None, repr=False)
    spectra: tuple[np.ndarray, np.ndarray] = field(default=(), repr=False)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        """Mean canonical correlation (NaN when there is none).

        ``settings["normalize"]``: ``"min"`` (the default of :func:`cca`, as Raghu et al. 2017
        and the SCIENCE notes): ``sum rho / min(p, q)`` over the units, so a dead or redundant
        unit counts as a correlation of 0; ``"rank"``: ``sum rho / min(dims)`` over the
        numerical ranks (the mean of :attr:`coefficients`). SVCCA and PWCCA average over the
        directions they kept (``min(dims)``).
        """
        c = self.coefficients
        if not c.size:
            return math.nan
        if self.settings.get("normalize") == "min":
            return float(c.sum()) / min(self.units)
        return float(c.mean())

    @property
    def value(self) -> float:
        """The summary: PWCCA's weighted mean for ``method="pwcca"``, else :attr:`mean`."""
        if self.weights is not None and self.coefficients.size:
            return float(self.weights @ self.coefficients)
        return self.mean

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {
            "method": self.method,
            "value": self.value,
            "mean": self.mean,
            "coefficients": self.coefficients.tolist(),
            "weights": None if self.weights is None else self.weights.tolist(),
            "dims": list(self.dims),
            "units": list(self.units),
            "n_samples": self.n_samples,
            "settings": dict(self.settings),
        }

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "CCAResult",
            repr(self.method),
            value=self.value,
            mean=self.mean,
            k=int(self.coefficients.size),
            dims=self.dims,
            units=self.units,
            n_samples=self.n_samples,
        )


class _View:
    """Thin SVD of one centred view: ``X_c = U diag(s) Vt`` (rank-revealing)."""

    __slots__ = ("U", "s", "Vt", "n", "p", "rank", "spectrum")

    def __init__(self, X: Any) -> None:
        xp = xp_of(X)
        self.n, self.p = int(X.shape[0]), int(X.shape[1])
        U, s, Vt = xp.linalg.svd(center(X), full_matrices=False)
        spectrum = s.cpu().numpy() if xp is not np else np.asarray(s)
        tol = (spectrum[0] if spectrum.size else 0.0) * max(self.n, self.p) * np.finfo(float).eps
        r = int((spectrum > tol).sum()) if spectrum.size and spectrum[0] > 0 else 0
        self.U, self.s, self.Vt = U[:, :r], s[:r], Vt[:r]
        self.rank = r
        self.spectrum = spectrum

    def keep(self, keep: float | int | None, criterion: str) -> int:
        """How many leading directions SVCCA keeps."""
        if keep is None:
            return self.rank
        if isinstance(keep, (int, np.integer)) and not isinstance(keep, bool):
            if keep < 1:
                raise InputError(f"keep={keep}: a fixed number of directions must be >= 1")
            if keep > self.rank:
                warn(
                    f"keep={keep} directions, but the view has rank {self.rank}: keeping {self.rank}"
                )
            return min(int(keep), self.rank)
        s = self.spectrum[: self.rank]
        w = s**2 if criterion == "variance" else s
        if w.size == 0:
            return 0
        frac = np.cumsum(w) / w.sum()
        return int(min(np.searchsorted(frac, float(keep) - 1e-12) + 1, self.rank))


def _check_keep(keep: Any, criterion: str) -> None:
    if criterion not in CRITERIA:
        raise InputError(f"criterion={criterion!r}: expected one of {CRITERIA}")
    if keep is None or (isinstance(keep, (int, np.integer)) and not isinstance(keep, bool)):
        return
    if not (isinstance(keep, float) and 0 < keep <= 1):
        raise InputError(
            f"keep={keep!r}: expected a fraction in (0, 1] (float) or a number of directions (int)"
        )


def _canonical(a: _View, b: _View, ka: int, kb: int, *, weights_view: str | None) -> tuple:
    """Canonical correlations of the first ``ka`` / ``kb`` directions; PWCCA weights if asked."""
    xp = xp_of(a.U)
    n = a.n
    if ka + kb > n - 1 and ka > 0 and kb > 0:
        trivial = ka + kb - (n - 1)
        warn(
            f"CCA with {n} samples and {ka} + {kb} directions: at least {trivial} canonical "
            f"correlation(s) are 1 by construction; use at least {ka + kb + 1} samples "
            "(many more for a low-bias estimate)"
        )
    else:
        trivial = 0
        if ka > 0 and kb > 0 and n < MIN_RATIO * max(ka, kb):
            warn(
                f"CCA with {n} samples and {ka} + {kb} directions: fewer than {MIN_RATIO} samples "
                "per direction, the canonical correlations are biased upwards (independent "
                f"views give large values); use at least {MIN_RATIO * max(ka, kb)} samples"
            )
    if ka == 0 or kb == 0:
        return np.zeros(0), None, trivial
    M = a.U[:, :ka].T @ b.U[:, :kb]
    if weights_view is None:
        rho = xp.linalg.svdvals(M) if xp is not np else np.linalg.svd(M, compute_uv=False)
        rho = rho.cpu().numpy() if xp is not np else rho
        return np.clip(np.asarray(rho, dtype=np.float64), 0.0, 1.0), None, trivial
    P, rho, Qt = xp.linalg.svd(M, full_matrices=False)
    k = min(ka, kb)
    if weights_view == "x":
        A, view, kk = P[:, :k], a, ka
    else:
        A, view, kk = Qt[:k].T, b, kb
    # <h_i, x_j> with h = U_k A, X_c = U s Vt: (A^T diag(s_k) Vt_k)_ij
    proj = A.T @ (view.s[:kk, None] * view.Vt[:kk])
    w = abs(proj).sum(1)
    w = w.cpu().numpy() if xp is not np else np.asarray(w)
    rho = rho.cpu().numpy() if xp is not np else np.asarray(rho)
    w = np.asarray(w, dtype=np.float64)
    total = w.sum()
    w = w / total if total > 0 else np.full(k, 1.0 / k)
    return np.clip(np.asarray(rho[:k], dtype=np.float64), 0.0, 1.0), w, trivial


def _views(X: Any, Y: Any, device: Any) -> tuple[_View, _View]:
    X, Y = as_pair(X, Y, device=device)
    return _View(X), _View(Y)


def _result(
    a: _View, b: _View, ka: int, kb: int, method: str, view: str | None, settings: dict
) -> CCAResult:
    wv = None
    if view is not None:
        wv = view if view != "smaller" else ("x" if a.p <= b.p else "y")
    rho, w, trivial = _canonical(a, b, ka, kb, weights_view=wv)
    if ka == 0 or kb == 0:
        warn("CCA is undefined (nan): a view is constant over the samples")
    settings = dict(settings, trivial=trivial)
    if wv is not None:
        settings["weights_view"] = wv
    return CCAResult(
        coefficients=rho,
        dims=(ka, kb),
        units=(a.p, b.p),
        n_samples=a.n,
        method=method,
        weights=w,
        spectra=(a.spectrum, b.spectrum),
        settings=settings,
    )


def cca(X: Any, Y: Any, *, normalize: str = "min", device: Any = None) -> CCAResult:
    """Canonical correlations of two views of the same examples (QR/SVD, no inversion).

    Parameters
    ----------
    X : (n_samples, p), Y : (n_samples, q) arrays or tensors
    normalize : {"min", "rank"}
        The mean's denominator: ``min(p, q)`` units (Raghu et al. 2017; a rank-deficient view's
        missing directions count as 0) or ``min(r_x, r_y)``, the numerical ranks.
    device : None, "numpy" or torch device
        Where the float64 computation runs (None: numpy, or torch's faster CPU kernels for
        inputs of >= 2**20 elements when torch is installed).

    Returns
    -------
    CCAResult
        ``coefficients`` (descending, ``min(r_x, r_y)`` of them), ``mean`` as ``normalize``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> r = cca(X, X @ np.array([[1., 2, 0], [0, 1, 3], [1, 0, 1]]))  # an invertible map
    >>> np.round(r.coefficients, 12).tolist(), r.dims
    ([1.0, 1.0, 1.0], (3, 3))
    """
    if normalize not in NORMALIZE:
        raise InputError(f"normalize={normalize!r}: expected one of {NORMALIZE}")
    a, b = _views(X, Y, device)
    return _result(a, b, a.rank, b.rank, "cca", None, {"normalize": normalize})


def svcca(
    X: Any,
    Y: Any,
    *,
    keep: float | int = 0.99,
    criterion: str = "variance",
    device: Any = None,
) -> CCAResult:
    """SVCCA (Raghu et al. 2017): CCA of each view's leading singular directions.

    Parameters
    ----------
    X : (n_samples, p), Y : (n_samples, q)
    keep : float or int
        A float in (0, 1]: keep the fewest directions holding that fraction (R17: 0.99) of
        ``criterion``; an int: that many directions of each view.
    criterion : {"variance", "mass"}
        ``"variance"``: fraction of ``sum s_i^2`` (R17's text); ``"mass"``: fraction of
        ``sum s_i`` (how google/svcca's tutorials cut).
    device : None, "numpy" or torch device
        As in :func:`cca`.

    Returns
    -------
    CCAResult
        ``dims`` = directions kept per view; ``spectra`` = all singular values.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Z = rng.normal(size=(200, 2))
    >>> X = np.c_[Z, 1e-4 * rng.normal(size=(200, 3))]  # 2 strong directions + noise
    >>> r = svcca(X, Z @ [[1., 1], [0, 1]])
    >>> r.dims, round(r.mean, 6)
    ((2, 2), 1.0)
    """
    _check_keep(keep, criterion)
    a, b = _views(X, Y, device)
    ka, kb = a.keep(keep, criterion), b.keep(keep, criterion)
    return _result(a, b, ka, kb, "svcca", None, {"keep": keep, "criterion": criterion})


def pwcca(
    X: Any,
    Y: Any,
    *,
    view: str = "x",
    keep: float | int | None = None,
    criterion: str = "variance",
    device: Any = None,
) -> CCAResult:
    """Projection-weighted CCA (Morcos, Raghu & Bengio 2018).

    ``value = sum_i alpha_i rho_i``, ``alpha_i`` proportional to ``sum_j |<h_i, x_j>|``: how
    much of the weighting view's centred units ``x_j`` lies along its canonical variate ``h_i``.
    Not symmetric in ``X`` and ``Y``.

    Parameters
    ----------
    X : (n_samples, p), Y : (n_samples, q)
    view : {"x", "y", "smaller"}
        Whose units weight the correlations; ``"smaller"``: the view with fewer units (X on a
        tie), the choice google/svcca's ``compute_pwcca`` means to make (see the module notes
        for how its weights differ).
    keep, criterion
        Optional SVCCA-style reduction first (default: none, all directions of each rank).
    device : None, "numpy" or torch device
        As in :func:`cca`.

    Returns
    -------
    CCAResult
        ``value`` is the PWCCA similarity, ``weights`` the ``alpha_i``, ``mean`` the plain mean.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> r = pwcca(X, X[:, :2] + 0.0)
    >>> round(r.value, 9), float(r.weights.sum())
    (1.0, 1.0)
    """
    if view not in VIEWS:
        raise InputError(f"view={view!r}: expected one of {VIEWS}")
    _check_keep(keep, criterion)
    a, b = _views(X, Y, device)
    ka, kb = a.keep(keep, criterion), b.keep(keep, criterion)
    settings = {"view": view, "keep": keep, "criterion": criterion}
    return _result(a, b, ka, kb, "pwcca", view, settings)
