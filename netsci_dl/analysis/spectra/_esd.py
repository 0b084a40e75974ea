"""The empirical spectral density (ESD) of a weight matrix and the fits made on it.

- :func:`esd`: the eigenvalues of ``X = W^T W`` on the smaller side (no ``1/N``), exact by a
  float64 Gram matrix and ``eigvalsh`` (its smallest eigenvalues refined by Rayleigh-Ritz
  where the Gram alone loses them) or by the SVD (``lambda = s^2``); a large matrix by chunks
  of rows (the Gram summed, or a QR's ``R`` updated), never whole in float64.
- The power-law tail (Clauset-Shalizi-Newman, through
  :func:`netsci_dl.analysis.structure.fits.fit_distributions`), with the ``xmin="peak"`` window.
- The Marchenko-Pastur bulk and its spikes, with a Tracy-Widom margin.

Martin & Mahoney, "Implicit self-regularization in deep neural networks", JMLR 22 (2021).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from netsci_dl.analysis.spectra._ritz import gram_values, ritz_values, svd_values
from netsci_dl.errors import InputError

__all__ = ["ESD", "MPFit", "esd", "mp_fit", "peak_window", "esd_peak", "METHODS", "COMPAT"]

METHODS = ("auto", "gram", "svd")
COMPAT = (None, "weightwatcher")
_EPS = float(np.finfo(np.float64).eps)
#: relative accuracy ``method="auto"`` asks of every Gram eigenvalue before it keeps them
_GRAM_RTOL = 1e-10
#: 99th percentile of the Tracy-Widom law for beta = 1 (Johnstone 2001, Ann. Stat., Table 1)
TW1_Q99 = 2.0234
#: the peer's fixed floor on eigenvalues (WeightWatcher's EVALS_THRESH)
_WW_THRESH = 1e-5
#: bins of the histogram of log10 eigenvalues whose mode is the ESD's peak (as the peer)
PEAK_BINS = 100


def _ro(a: Any) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class ESD:
    """The eigenvalues of ``W^T W`` of one weight matrix or convolution kernel.

    Attributes
    ----------
    eigenvalues : (n_slices * m,) float64 ndarray
        Ascending, read-only; rounding below 0 is set to 0. The squared singular values.
    shape : tuple of int
        The shape of the input array.
    n, m : int
        Rows and columns of each slice after transposing so that ``n >= m``; ``q = n / m``.
    n_slices : int
        1 for a matrix; ``kh * kw`` (the product of the kernel sizes) for a kernel.
    method : {"gram", "gram+ritz", "svd"}
        How the eigenvalues were computed (see :func:`esd`).
    """

    eigenvalues: np.ndarray
    shape: tuple[int, ...]
    n: int
    m: int
    n_slices: int
    method: str

    @property
    def q(self) -> float:
        """The aspect ratio ``n / m >= 1``."""
        return self.n / self.m

    @property
    def lambda_max(self) -> float:
        """The largest eigenvalue (the squared spectral norm)."""
        return float(self.eigenvalues[-1])

    @property
    def numerical_zero(self) -> float:
        """Eigenvalues at or below this are zero to rounding: ``(s_max max(n, m) eps)^2``, the
        rank tolerance of ``numpy.linalg.matrix_rank`` on the singular values."""
        return (np.sqrt(self.lambda_max) * max(self.n, self.m) * _EPS) ** 2

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "n": self.n,
            "m": self.m,
            "n_slices": self.n_slices,
            "method": self.method,
            "eigenvalues": self.eigenvalues.tolist(),
        }

    def __repr__(self) -> str:
        return (
            f"ESD(shape={self.shape}, {len(self.eigenvalues)} eigenvalues, n={self.n}, "
            f"m={self.m}, slices={self.n_slices}, lambda_max={self.lambda_max:.4g}, "
            f"method={self.method!r})"
        )


def _slices(W: Any, name: str) -> np.ndarray:
    """``(S, n, m)`` float64 with ``n >= m``: the matrix, or the kernel's ``kh*kw`` slices
    ``W[:, :, i, j]`` in C order of the kernel positions."""
    lazy = not isinstance(W, np.ndarray) and getattr(getattr(W, "dtype", None), "kind", "") == "f"
    a = np.asarray(W, dtype=np.float64) if lazy else np.asarray(W)  # a lazy tensor: decoded once
    if a.ndim < 2 or a.ndim > 5:
        raise InputError(
            f"{name}: shape {a.shape}: expected a matrix (2-D) or a convolution kernel "
            "(out, in, k...) of 3 to 5 dimensions"
        )
    if min(a.shape) == 0:
        raise InputError(f"{name}: shape {a.shape} has no entries")
    if a.dtype.kind not in "fiub":
        raise InputError(f"{name}: dtype {a.dtype} is not a real number type")
    s = a.astype(np.float64, copy=False)
    if not np.isfinite(s).all():
        raise InputError(f"{name}: shape {a.shape} holds NaN or infinite entries")
    s = s[None] if s.ndim == 2 else s.reshape(s.shape[0], s.shape[1], -1).transpose(2, 0, 1)
    if s.shape[1] < s.shape[2]:
        s = s.transpose(0, 2, 1)
    return np.ascontiguousarray(s)


def _gram_is_accurate(lam: np.ndarray, n: int) -> bool:
    """Whether every Gram eigenvalue is good to :data:`_GRAM_RTOL` relative: the absolute
    rounding of ``W^T W`` and ``eigvalsh`` is about ``n eps lambda_max`` (Weyl's bound)."""
    top = float(lam.max())
    return top == 0 or float(lam.min()) * _GRAM_RTOL >= n * _EPS * top


def _eigenvalues(s: np.ndarray, method: str) -> tuple[np.ndarray, str]:
    """Kernels' slices ``(S, n, m)`` (held whole: kernels are small)."""
    if method in ("auto", "gram"):
        lam = gram_values(np.matmul(s.transpose(0, 2, 1), s))
        if method == "gram" or _gram_is_accurate(lam, s.shape[1]):
            return np.sort(np.maximum(lam, 0.0).ravel()), "gram"
    sv = np.linalg.svd(s, compute_uv=False)
    return np.sort((sv * sv).ravel()), "svd"


# ---- a matrix, by chunks of rows -------------------------------------------------------------
#: float64 bytes of one chunk of rows: a matrix up to this size is taken whole; a larger one
#: is read chunk by chunk (the Gram matrix accumulated, or a QR factor updated), so that its
#: float64 copy is never held
CHUNK_BYTES = 64 << 20


def _reader(W: Any) -> Any:
    """``rows(a, b)``: rows ``a:b`` of the stored matrix, in its own dtype (a lazy tensor reads
    only those rows from disk)."""
    if hasattr(W, "read_rows"):
        return W.read_rows
    a = W if isinstance(W, np.ndarray) else np.asarray(W)
    return lambda i, j: a[i:j]


def _row_blocks(W: Any, name: str) -> tuple[int, int, Any]:
    """``(n, m, blocks)`` of ``X``, the matrix ``W`` oriented so that ``n >= m``:
    ``blocks()`` yields ``X``'s rows as C-ordered float64 chunks of at most
    :data:`CHUNK_BYTES` (at least one row each), the same chunks for the same shape whatever
    holds ``W``. A wide ``W`` gives ``X = W^T`` by column chunks, each assembled from chunks of
    ``W``'s rows."""
    r, c = (int(d) for d in np.shape(W))
    rows = _reader(W)
    n, m = max(r, c), min(r, c)
    per = max(1, CHUNK_BYTES // (8 * m))

    def finite(x: np.ndarray) -> np.ndarray:
        if not np.isfinite(x).all():
            raise InputError(f"{name}: shape {(r, c)} holds NaN or infinite entries")
        return x

    def tall() -> Any:
        for a in range(0, n, per):
            yield finite(np.ascontiguousarray(rows(a, min(a + per, n)), dtype=np.float64))

    def wide() -> Any:
        step = max(1, CHUNK_BYTES // (8 * c))  # rows of W read at a time
        for k in range(0, n, per):
            out = np.empty((min(k + per, n) - k, m))
            for a in range(0, m, step):
                out[:, a : a + step] = rows(a, min(a + step, m))[:, k : k + per].T
            yield finite(out)

    return n, m, tall if r >= c else wide


#: below this aspect ratio ``n / m`` the Gram matrix is expected to lose its smallest
#: eigenvalues (those of a Gaussian matrix span ``((sqrt q - 1) / (sqrt q + 1))^2`` of
#: ``lambda_max``), so the tridiagonal route that can refine them runs at once; above it,
#: the plain eigensolve (twice as fast) is tried first. The result is the same either way.
_RITZ_FIRST_Q = 2.0


def _matrix_eigenvalues(W: Any, method: str, name: str) -> tuple[np.ndarray, str, int, int]:
    """The eigenvalues of ``X^T X`` of a 2-D ``W`` from chunks of rows: the Gram matrix
    accumulated in float64 (``G += B^T B``), or the singular values of the ``R`` factor of a
    QR updated chunk by chunk (``R <- qr([R; B])``; a matrix of one chunk: its own SVD). Peak
    extra memory: one chunk, ``G`` (``m x m``) and ``R``."""
    n, m, blocks = _row_blocks(W, name)
    if method in ("auto", "gram"):
        G = np.zeros((m, m))
        for B in blocks():
            G += B.T @ B  # a symmetric rank-k update (numpy calls syrk for B^T B)
            del B
        if method == "gram" or n >= _RITZ_FIRST_Q * m:
            lam = gram_values(G)
            if method == "gram" or _gram_is_accurate(lam, n):
                return np.sort(np.maximum(lam, 0.0)), "gram", n, m
        out = ritz_values(G, n, blocks, _GRAM_RTOL)
        del G
        if out is not None:
            lam, refined = out
            return np.sort(np.maximum(lam, 0.0)), ("gram+ritz" if refined else "gram"), n, m
    R = None
    for B in blocks():
        R = B if R is None else _qr_r(R, B)
        del B
    sv = svd_values(R)
    return np.sort(sv * sv), "svd", n, m


def _qr_r(R: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The ``R`` factor (at most ``m x m``) of ``[R; B]``: one Householder QR (``geqrf``) in
    place on the stacked rows, no ``Q``."""
    from scipy.linalg import lapack

    m = R.shape[1]
    a = np.empty((len(R) + len(B), m), order="F")
    a[: len(R)], a[len(R) :] = R, B
    qr, _tau, _work, info = lapack.dgeqrf(a, overwrite_a=1)
    if info != 0:  # pragma: no cover - only for an illegal argument
        raise RuntimeError(f"LAPACK dgeqrf failed (info={info})")
    return np.triu(qr[: min(len(a), m)])


def _check_array(W: Any, name: str) -> Any:
    """``W`` itself when it is a real 2-D matrix read by rows (an array, a lazy tensor);
    else ``None`` (a kernel, or something to convert first)."""
    shape = tuple(int(d) for d in np.shape(W))
    if len(shape) != 2 or min(shape) == 0:
        return None
    if isinstance(W, np.ndarray) or hasattr(W, "read_rows"):
        kind = np.dtype(W.dtype).kind
        if kind not in "fiub":
            raise InputError(f"{name}: dtype {np.dtype(W.dtype)} is not a real number type")
        return W
    return None


def esd(W: Any, *, method: str = "auto", name: str = "W") -> ESD:
    """The empirical spectral density of a weight matrix: the eigenvalues of ``W^T W``.

    Parameters
    ----------
    W : array, 2-D to 5-D
        A matrix (either orientation: the eigenvalues are taken on the smaller side, so
        ``(out, in)`` and ``(in, out)`` give the same ESD), or a convolution kernel
        ``(out, in, k...)`` in torch layout: its ``kh*kw`` slices ``W[:, :, i, j]`` are pooled
        into one ESD (no rescaling by the kernel size; WeightWatcher by default multiplies
        each slice by ``sqrt(kh*kw/2)``, which shifts the log norms but not alpha).
    method : {"auto", "gram", "svd"}
        ``"gram"``: ``eigvalsh`` of the float64 Gram matrix ``W^T W`` (``n m^2 + m^3`` flops,
        absolute error about ``n eps lambda_max``). ``"svd"``: the squared singular values
        (about twice the cost, error about ``2 eps sqrt(lambda lambda_max)``). ``"auto"``: the
        Gram matrix where its error bound is within ``1e-10`` of every eigenvalue; else
        (``"gram+ritz"``) the eigenvalues below that bound, when they are at most a quarter,
        are replaced by the squared singular values of ``W V`` on the Gram's eigenvectors
        ``V`` of them (Rayleigh-Ritz: the SVD's accuracy, at about half its cost on a square
        matrix), kept when a residual bound shows each to ``1e-10``; else the SVD. The result
        says which ran.
        A matrix of more than :data:`CHUNK_BYTES` (64 MB) as float64 is read by chunks of
        rows (a lazy tensor: from disk, in its stored dtype) and never held in float64: the
        Gram matrix is summed in float64 chunk by chunk, and the SVD is that of the ``R``
        factor of a QR updated chunk by chunk (the same singular values); peak extra memory
        about one chunk and two ``m x m`` matrices (the Rayleigh-Ritz route adds ``W V``,
        ``n x k`` for the ``k <= m / 4`` refined eigenvalues). Kernels are taken whole.
    name : str
        The matrix's name in error messages.

    Returns
    -------
    ESD

    Examples
    --------
    >>> import numpy as np
    >>> e = esd(np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
    >>> e.eigenvalues.tolist(), e.n, e.m, e.method
    ([1.0, 9.0], 3, 2, 'gram')
    """
    if method not in METHODS:
        raise InputError(f"method={method!r}: expected one of {METHODS}")
    shape = tuple(int(d) for d in np.shape(W))
    mat = _check_array(W, name)
    if mat is not None:
        lam, used, n, m = _matrix_eigenvalues(mat, method, name)
        return ESD(_ro(lam), shape, n, m, 1, used)
    s = _slices(W, name)
    lam, used = _eigenvalues(s, method)
    return ESD(_ro(lam), shape, int(s.shape[1]), int(s.shape[2]), int(s.shape[0]), used)


# ---- the Marchenko-Pastur bulk ---------------------------------------------------------------
@dataclass(frozen=True)
class MPFit:
    """The Marchenko-Pastur bulk fitted to an ESD (unnormalised: the eigenvalues of ``W^T W``).

    For ``W`` (``n x m``, ``n >= m``) with i.i.d. entries of variance ``sigma^2`` the bulk of
    ``W^T W`` lies in ``[lambda_minus, lambda_plus] = sigma^2 (sqrt n -+ sqrt m)^2``, i.e.
    ``n sigma^2 (1 -+ 1/sqrt(q))^2``. ``sigma^2`` is the mean bulk eigenvalue over ``n``
    (the trace of the bulk), refitted until the bulk is stable. A **spike** is an eigenvalue
    above ``threshold = lambda_plus + 2.0234 tw_scale``: the edge plus the 99th percentile of
    the Tracy-Widom law (beta = 1) in Johnstone's scale
    ``tw_scale = sigma^2 (sqrt n + sqrt m) (1/sqrt n + 1/sqrt m)^(1/3)``, so a pure random
    matrix has no spike with probability about 0.99. ``n_above_edge`` counts the eigenvalues
    above the bare edge ``lambda_plus``.
    """

    sigma: float
    q: float
    lambda_minus: float
    lambda_plus: float
    tw_scale: float
    threshold: float
    n_spikes: int
    n_above_edge: int
    n_iter: int

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON's own types."""
        from netsci_dl._results import plain

        return {k: plain(getattr(self, k)) for k in self.__dataclass_fields__}


def mp_fit(lam: np.ndarray, n: int, m: int) -> MPFit:
    """The Marchenko-Pastur bulk of the eigenvalues ``lam`` of ``W^T W`` (see :class:`MPFit`).

    The bulk only shrinks from one step to the next (a smaller mean, a lower threshold), so
    the refit stops within ``len(lam)`` steps; it never empties (the threshold is at least the
    bulk's mean).

    Examples
    --------
    >>> import numpy as np
    >>> r = mp_fit(np.array([0.5, 1.0, 1.0, 1.5, 400.0]), 100, 5)
    >>> round(r.sigma, 3), round(r.lambda_plus, 3), r.n_above_edge, r.n_spikes
    (0.1, 1.497, 2, 1)
    """
    sn, sm = np.sqrt(n), np.sqrt(m)
    bulk = np.ones(len(lam), bool)
    it = 0
    while True:
        it += 1
        s2 = float(np.mean(lam[bulk])) / n
        thr = s2 * (sn + sm) ** 2 + TW1_Q99 * s2 * (sn + sm) * (1 / sn + 1 / sm) ** (1 / 3)
        new = lam <= thr
        if np.array_equal(new, bulk):
            break
        bulk = new
    plus = s2 * (sn + sm) ** 2
    return MPFit(
        sigma=float(np.sqrt(s2)),
        q=n / m,
        lambda_minus=s2 * (sn - sm) ** 2,
        lambda_plus=plus,
        tw_scale=s2 * (sn + sm) * (1 / sn + 1 / sm) ** (1 / 3),
        threshold=thr,
        n_spikes=int(np.count_nonzero(lam > thr)),
        n_above_edge=int(np.count_nonzero(lam > plus)),
        n_iter=it,
    )


# ---- the power-law tail ----------------------------------------------------------------------
def esd_peak(lam: np.ndarray) -> float:
    """The peak of an ESD: ``10 ** e`` where ``e`` is the left edge of the fullest of 100 equal
    bins of ``log10(lam)`` (the first one on ties), as the peer computes it."""
    h, edges = np.histogram(np.log10(lam), bins=PEAK_BINS)
    return float(10.0 ** edges[int(np.argmax(h))])


def peak_window(lam: np.ndarray, compat: str | None = None) -> tuple[float, float, float]:
    """``(peak, lo, hi)``: the closed range of eigenvalues the ``xmin="peak"`` scan tries.

    Fixed (``compat=None``): ``[0.95 peak, 1.5 peak]``, both bounds in linear units.
    ``compat="weightwatcher"``: the peer's lower bound ``lo = log10(0.95 peak)``, a number in
    log units compared with linear eigenvalues. ``log10(y) < y`` for every ``y > 0``, so the
    peer's window always contains the fixed one and reaches further down: to the ESD's start
    when ``peak < 1/0.95`` (``lo <= 0``), to ``log10(0.95 peak)`` otherwise. The two scans pick
    different ``xmin`` exactly when the peer's best ``xmin`` lies below ``0.95 peak``.
    (The peer hands the window to the ``powerlaw`` package, whose own edge rules, an open upper
    end and the last candidate skipped in version 2, are not reproduced.)

    Examples
    --------
    >>> import numpy as np
    >>> lam = np.array([1.0, 10.0, 10.0, 10.0, 100.0])
    >>> [round(v, 3) for v in peak_window(lam)]
    [10.0, 9.5, 15.0]
    >>> [round(v, 3) for v in peak_window(lam, "weightwatcher")]
    [10.0, 0.978, 15.0]
    """
    peak = esd_peak(lam)
    lo = float(np.log10(0.95 * peak)) if compat is not None else 0.95 * peak
    return peak, lo, 1.5 * peak


def fitted_eigenvalues(e: ESD, compat: str | None = None) -> np.ndarray:
    """The eigenvalues a tail fit sees: above :attr:`ESD.numerical_zero`, or with
    ``compat="weightwatcher"`` above the peer's fixed floor ``1e-5``."""
    floor = _WW_THRESH if compat is not None else e.numerical_zero
    return e.eigenvalues[e.eigenvalues > floor]
