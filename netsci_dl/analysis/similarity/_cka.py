"""Centred kernel alignment (Kornblith et al. 2019; minibatch: Nguyen et al. 2021).

Notation: ``X`` is ``(n, p)``, rows = examples; ``X_c = H X`` with ``H = I - 11^T/n``.

- Linear CKA in feature space: ``||Y_c^T X_c||_F^2 / (||X_c^T X_c||_F ||Y_c^T Y_c||_F)``; no
  ``n x n`` matrix unless a layer is wider than the sample count (then its Gram ``X_c X_c^T`` is
  the cheaper way to its norm, and two wide layers meet in Gram space).
- Gram space: ``<HKH, HLH>_F / (||HKH||_F ||HLH||_F)`` with ``K = X X^T`` (``space="gram"``), or
  an RBF kernel ``K_ij = exp(-d_ij^2 / (2 sigma^2))``, ``sigma^2 = rbf_scale^2 median(d^2)`` over
  the full ``n x n`` matrix, diagonal included (Kornblith et al.'s reference code).
- Debiased: HSIC replaced by its unbiased estimator (Song et al. 2012) through the U-centred
  Gram matrix (zero diagonal); in feature space by the equivalent closed form
  ``||X_c^T Y_c||^2 - n/(n-2) <d_x, d_y> + ||X_c||^2 ||Y_c||^2 / ((n-1)(n-2))`` with
  ``d_x`` the squared row norms of ``X_c``. It can be negative.
- Minibatch: the three unbiased HSIC terms averaged over batches, then the ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl.analysis.similarity._sim_common import as_pair, center, fro2, warn, xp_of
from netsci_dl.errors import InputError

__all__ = ["cka", "minibatch_cka", "rbf_gram", "center_gram"]

SPACES = ("auto", "feature", "gram")
KERNELS = ("linear", "rbf")


# ---------------------------------------------------------------------- Gram matrices
def rbf_gram(X: Any, rbf_scale: float = 0.5) -> Any:
    """``exp(-d^2 / (2 rbf_scale^2 median(d^2)))`` for the rows of ``X`` ``(n, p)`` -> ``(n, n)``.

    The median runs over the full matrix of squared distances, zero diagonal included. The
    distances come from the column-centred rows (a copy; the same distances in exact arithmetic),
    so a large common offset does not cancel in ``|x_i|^2 + |x_j|^2 - 2 x_i.x_j``.
    """
    rbf_scale = _args.real("rbf_scale", rbf_scale, lo=0, lo_open=True)
    xp = xp_of(X)
    X = center(X.copy() if xp is np else X.clone())
    G = X @ X.T
    sq = G.diagonal()
    D2 = sq[:, None] + sq[None, :] - 2 * G
    D2 = D2.clip(0, None) if xp is np else D2.clamp(min=0)
    med = float(np.median(D2)) if xp is np else _torch_median(D2)
    if med <= 0:
        med = 1.0  # all rows equal: every distance is 0, the kernel is all ones
    return xp.exp(-D2 / (2.0 * rbf_scale**2 * med))


def _torch_median(A: Any) -> float:
    """numpy's median (mean of the two middle values) of a tensor of any size."""
    flat = A.reshape(-1)
    m = flat.numel()
    lo = float(flat.kthvalue((m + 1) // 2).values)
    hi = float(flat.kthvalue(m // 2 + 1).values)
    return 0.5 * (lo + hi)


def center_gram(K: Any, *, unbiased: bool = False) -> Any:
    """``H K H`` (biased), or the U-centred Gram matrix with zero diagonal (``unbiased``).

    ``<U(K), U(L)>_F / (n (n - 3))`` is the unbiased HSIC estimator of Song et al. (2012).
    """
    n = K.shape[0]
    if not unbiased:
        m = K.mean(0)
        return K - m[:, None] - m[None, :] + m.mean()
    if n < 4:
        raise InputError(f"the unbiased (debiased) estimator needs >= 4 samples, got {n}")
    K = _zero_diag(K.copy() if xp_of(K) is np else K.clone())
    means = K.sum(0) / (n - 2)
    means = means - means.sum() / (2 * (n - 1))
    return _zero_diag(K - means[:, None] - means[None, :])


def _zero_diag(K: Any) -> Any:
    if xp_of(K) is np:
        np.fill_diagonal(K, 0)
    else:
        K.fill_diagonal_(0)
    return K


# ---------------------------------------------------------------------- prepared layers
class _Feature:
    """A centred layer and the quantities every pair with it needs (feature space)."""

    __slots__ = ("Xc", "n", "p", "row2", "sq", "self2", "K")

    def __init__(self, X: Any, *, allow_gram: bool = True) -> None:
        self.Xc = center(X)
        self.n, self.p = int(X.shape[0]), int(X.shape[1])
        self.row2 = xp_of(X).einsum("ij,ij->i", self.Xc, self.Xc)
        self.sq = float(self.row2.sum())
        self.K = self.Xc @ self.Xc.T if (allow_gram and self.p > self.n) else None
        self.self2 = fro2(self.K) if self.K is not None else fro2(self.Xc.T @ self.Xc)

    @property
    def constant(self) -> bool:
        return self.sq <= 0.0


def _cross2(a: _Feature, b: _Feature) -> float:
    """``||X_c^T Y_c||_F^2`` (= ``<K_c, L_c>_F``), in the cheaper space."""
    if a.K is not None and b.K is not None:
        return float((a.K * b.K).sum())
    return fro2(a.Xc.T @ b.Xc)


def _debias(cross2: float, a: _Feature, b: _Feature) -> float:
    """``n (n - 3)`` times the unbiased HSIC of two linear kernels, from feature-space sums."""
    n = a.n
    rr = float((a.row2 * b.row2).sum())
    return cross2 - n / (n - 2) * rr + a.sq * b.sq / ((n - 1) * (n - 2))


def _feature_pair(a: _Feature, b: _Feature, debiased: bool) -> float:
    if a.constant or b.constant:
        return math.nan
    c2 = _cross2(a, b)
    if not debiased:
        return c2 / math.sqrt(a.self2 * b.self2)
    den = _debias(a.self2, a, a) * _debias(b.self2, b, b)
    return _debias(c2, a, b) / math.sqrt(den) if den > 0 else math.nan


class _Gram:
    """A centred (or U-centred) Gram matrix and its squared norm."""

    __slots__ = ("Kc", "self2", "n", "flat")

    def __init__(self, K: Any, *, debiased: bool, flat: bool = False) -> None:
        self.n = int(K.shape[0])
        self.Kc = center_gram(K, unbiased=debiased)
        self.self2 = fro2(self.Kc)
        self.flat = flat

    @property
    def constant(self) -> bool:
        return self.flat or self.self2 <= 0.0


def _gram_pair(a: _Gram, b: _Gram) -> float:
    if a.constant or b.constant:
        return math.nan
    return float((a.Kc * b.Kc).sum()) / math.sqrt(a.self2 * b.self2)


def prepare(X: Any, *, kernel: str, debiased: bool, rbf_scale: float, space: str) -> Any:
    """The prepared form of one float64 layer for :func:`pair` (``X`` is centred in place).

    Gram matrices are built from the centred rows (``H X X^T H = X_c X_c^T``; RBF distances do
    not change), so a large offset does not cancel; a layer constant to rounding
    (:func:`~netsci_dl.analysis.similarity._sim_common.center`) is marked constant.
    """
    if kernel == "rbf" or space == "gram":
        Xc = center(X)
        flat = not bool((Xc != 0).any())
        K = rbf_gram(Xc, rbf_scale) if kernel == "rbf" else Xc @ Xc.T
        return _Gram(K, debiased=debiased, flat=flat)
    return _Feature(X, allow_gram=space == "auto")


def pair(a: Any, b: Any, *, debiased: bool) -> float:
    """CKA of two prepared layers (same kind)."""
    if isinstance(a, _Gram):
        return _gram_pair(a, b)
    return _feature_pair(a, b, debiased)


def _check(kernel: str, space: str, rbf_scale: float) -> None:
    if kernel not in KERNELS:
        raise InputError(f"kernel={kernel!r}: expected one of {KERNELS}")
    if space not in SPACES:
        raise InputError(f"space={space!r}: expected one of {SPACES}")
    if not (rbf_scale > 0 and math.isfinite(rbf_scale)):
        raise InputError(f"rbf_scale must be a positive number, got {rbf_scale!r}")


def cka(
    X: Any,
    Y: Any,
    *,
    kernel: str = "linear",
    debiased: bool = False,
    rbf_scale: float = 0.5,
    space: str = "auto",
    device: Any = None,
) -> float:
    """Centred kernel alignment of two representations of the same examples.

    Parameters
    ----------
    X : (n_samples, p) array or tensor
    Y : (n_samples, q) array or tensor
        Rows are the same examples in both.
    kernel : {"linear", "rbf"}
    debiased : bool
        Unbiased HSIC (U-centred Gram matrices); the value can be negative and is near 0 for
        independent representations at any sample count.
    rbf_scale : float
        RBF bandwidth: ``sigma^2 = rbf_scale^2 * median(squared distances)`` (K19: 0.5).
    space : {"auto", "feature", "gram"}
        Linear kernel only. ``"auto"``/``"feature"``: feature-space formula (``p x q``
        cross-products; a layer wider than ``n`` uses its ``n x n`` Gram for its norm);
        ``"gram"``: centred ``n x n`` Gram matrices. Equal to rounding (about 1e-12).
    device : None, "numpy" or torch device
        Where the float64 computation runs (None: numpy, or torch's faster CPU kernels for
        inputs of >= 2**20 elements when torch is installed).

    Returns
    -------
    float
        In [0, 1] for the biased estimator; NaN (with a SimilarityWarning) when a
        representation is constant over the samples.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> round(cka(X, 3 * X + 1), 12), round(cka(X, X[:, :1]), 2) < 1
    (1.0, True)
    """
    rbf_scale = _args.real("rbf_scale", rbf_scale, lo=0, lo_open=True)
    _check(kernel, space, rbf_scale)
    X, Y = as_pair(X, Y, device=device, min_rows=4 if debiased else 2)
    a = prepare(X, kernel=kernel, debiased=debiased, rbf_scale=rbf_scale, space=space)
    b = prepare(Y, kernel=kernel, debiased=debiased, rbf_scale=rbf_scale, space=space)
    v = pair(a, b, debiased=debiased)
    if math.isnan(v):
        warn("CKA is undefined (nan): a representation is constant over the samples")
    return v


# ---------------------------------------------------------------------- minibatch
def batch_slices(n: int, batch_size: int, seed: int | None) -> list[Any]:
    """Row indices of each minibatch: ``ceil(n / batch_size)`` nearly equal batches (each >= 4)."""
    if int(batch_size) < 4:
        raise InputError(f"batch_size must be >= 4 for the unbiased HSIC, got {batch_size}")
    k = max(1, math.ceil(n / int(batch_size)))
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    parts = np.array_split(order, k)
    if min(len(p) for p in parts) < 4:
        raise InputError(f"{n} samples cannot be split into batches of >= 4")
    return parts


def hsic_terms(a: _Feature, b: _Feature) -> float:
    """Unbiased HSIC of two prepared batches (divided by ``n (n - 3)``)."""
    n = a.n
    return _debias(_cross2(a, b), a, b) / (n * (n - 3))


def minibatch_matrix(
    As: Sequence[Any], Bs: Sequence[Any] | None, *, batch_size: int, seed: int | None
) -> np.ndarray:
    """Minibatch CKA of every pair (``As[i]``, ``Bs[j]``) of float64 matrices; ``Bs=None``: As."""
    same = Bs is None
    Bs = As if same else Bs
    n = int(As[0].shape[0])
    xp = xp_of(As[0])
    xy = np.zeros((len(As), len(Bs)))
    xx, yy = np.zeros(len(As)), np.zeros(len(Bs))
    for idx in batch_slices(n, batch_size, seed):
        if xp is not np:
            idx = xp.as_tensor(idx, device=As[0].device)
        pa = [_Feature(A[idx]) for A in As]
        sa = np.array([hsic_terms(p, p) for p in pa])
        xx += sa
        if same:
            pb = pa
        else:
            pb = [_Feature(B[idx]) for B in Bs]
            yy += np.array([hsic_terms(p, p) for p in pb])
        for i, a in enumerate(pa):
            for j, b in enumerate(pb):
                if same and j <= i:
                    if j == i:
                        xy[i, i] += sa[i]
                    continue
                xy[i, j] += hsic_terms(a, b)
    if same:
        yy = xx
        iu = np.triu_indices(len(As), 1)
        xy[iu[1], iu[0]] = xy[iu]
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.sqrt(np.outer(xx, yy))
        out = np.where(den > 0, xy / np.where(den > 0, den, 1.0), np.nan)
    return out


def minibatch_cka(
    X: Any, Y: Any, *, batch_size: int, seed: int | None = None, device: Any = None
) -> float:
    """Minibatch linear CKA (Nguyen et al. 2021): unbiased HSIC terms averaged over batches.

    ``sum_b HSIC_1(X_b, Y_b) / sqrt(sum_b HSIC_1(X_b, X_b) sum_b HSIC_1(Y_b, Y_b))`` over
    ``ceil(n / batch_size)`` nearly equal batches (never the mean of per-batch CKAs). With one
    batch it is the debiased CKA of all samples.

    Parameters
    ----------
    X, Y : (n_samples, p), (n_samples, q)
    batch_size : int
        Target batch size (>= 4).
    seed : int, optional
        Shuffle the rows before batching (default: consecutive rows).
    device : None, "numpy" or torch device
        As in :func:`cka`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3)); Y = X @ rng.normal(size=(3, 5))
    >>> bool(abs(minibatch_cka(X, Y, batch_size=40) - cka(X, Y, debiased=True)) < 1e-12)
    True
    """
    batch_size = _args.count("batch_size", batch_size, hi=2**31 - 1)
    seed = _args.seed("seed", seed)
    X, Y = as_pair(X, Y, device=device, min_rows=4)
    v = float(minibatch_matrix([X], [Y], batch_size=batch_size, seed=seed)[0, 0])
    if math.isnan(v):
        warn("minibatch CKA is undefined (nan): a representation has no variance in the batches")
    return v
