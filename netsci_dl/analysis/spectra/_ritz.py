"""The symmetric eigensolves behind :func:`netsci_dl.analysis.spectra.esd`.

- :func:`gram_values`: all eigenvalues of a float64 Gram matrix (torch's LAPACK when torch is
  there, about twice numpy's speed on one thread; numpy otherwise). The same library on the
  same thread count gives the same bits, in a worker process as in the caller.
- :func:`ritz_values`: the eigenvalues of ``X^T X`` from its Gram matrix ``G`` where the Gram
  alone is not accurate enough for its smallest eigenvalues (a square matrix, say). ``G`` is
  reduced to tridiagonal form once (LAPACK ``dsytrd``); every eigenvalue comes from the
  tridiagonal matrix; those below the Gram's accuracy threshold are replaced by Rayleigh-Ritz
  values: the squared singular values of ``X V`` on the Gram's eigenvectors ``V`` of those
  eigenvalues. Their rounding is that of an SVD (on the scale of the singular values, not of
  their squares), and a residual bound checks that ``V`` spans the right subspace; where it
  cannot be shown, the caller takes the SVD of ``X``. About half the time of the SVD of a
  square matrix.

Rayleigh-Ritz and its quadratic residual bound: Parlett, *The Symmetric Eigenvalue Problem*
(SIAM 1998), ch. 11; Mathias, "Quadratic residual bounds for the Hermitian eigenvalue
problem", SIAM J. Matrix Anal. Appl. 19 (1998).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

#: the Ritz refinement is tried when at most this fraction of the eigenvalues is below the
#: Gram's accuracy threshold (past it, the SVD of ``X`` costs about as much)
MAX_RITZ_FRACTION = 0.25
#: reflectors applied together in the back-transformation (compact WY blocks)
_NB = 32


def gram_values(G: np.ndarray) -> np.ndarray:
    """All eigenvalues of the symmetric float64 ``G`` (or a stack of them), ascending, from the
    lower triangle."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency of the package
        return np.linalg.eigvalsh(G)
    return torch.linalg.eigvalsh(torch.from_numpy(G)).numpy()


def ritz_values(
    G: np.ndarray,
    n: int,
    blocks: Callable[[], Iterator[np.ndarray]],
    rtol: float,
) -> tuple[np.ndarray, bool] | None:
    """The eigenvalues of ``X^T X`` (``G``, ``m x m``; ``blocks()`` yields ``X``'s rows, ``n`` of
    them) to ``rtol`` of each and whether any was refined (False: the Gram's eigenvalues were
    all accurate), or None when the refinement does not apply or is not shown.

    The tridiagonal eigenvalues ``lam`` carry an absolute error of about
    ``delta = n eps lam_max``; those at or above ``delta / rtol`` are kept. Below, the first
    ``k`` (cut at the widest relative gap up to twice their count) are the squared singular
    values ``mu`` of ``X V_k``. With the residual ``R = X^T X V_k Z - V_k Z diag(mu)`` of the
    Ritz vectors and the gap ``eta`` from ``mu`` to the rest of the spectrum (at least
    ``lam_k - delta - ||R||``), every Ritz value lies within ``||R||^2 / eta`` of an
    eigenvalue; they are kept only when that is at most ``rtol mu_j`` for every ``j``.
    """
    from scipy.linalg import eigh_tridiagonal, lapack

    m = G.shape[0]
    lwork, info = lapack.dsytrd_lwork(m, lower=1)
    a, d, e, tau, info = lapack.dsytrd(G, lower=1, lwork=max(1, int(lwork)))
    if info != 0:  # pragma: no cover - only for an illegal argument
        return None
    lam, info = lapack.dsterf(d, e)
    if info != 0:  # pragma: no cover - the QL iteration did not converge
        return None
    lam = np.sort(lam)
    top = float(lam[-1])
    delta = n * float(np.finfo(np.float64).eps) * top
    k0 = int(np.searchsorted(lam, delta / rtol))
    if top == 0.0 or k0 == 0:  # all zero (exact), or all accurate
        return lam, False
    if k0 > MAX_RITZ_FRACTION * m:
        return None
    k = _split(lam, k0)
    _, Zt = eigh_tridiagonal(
        d, e, select="i", select_range=(0, k - 1), lapack_driver="stemr", check_finite=False
    )
    V = _apply_q(a, tau, Zt)  # the Gram's eigenvectors of its k smallest eigenvalues
    Y = np.empty((n, k))
    HV = np.zeros((m, k))  # X^T X V, in the same pass over the rows
    pos = 0
    for B in blocks():
        Yb = Y[pos : pos + len(B)]
        np.matmul(B, V, out=Yb)
        HV += B.T @ Yb
        pos += len(B)
    _, s, Wt = np.linalg.svd(Y, full_matrices=False)
    mu = (s * s)[::-1]  # ascending
    Zr = Wt.T[:, ::-1]  # the Ritz vectors are V @ Zr
    R = HV @ Zr - V @ (Zr * mu)
    r = float(np.linalg.norm(R))
    eta = float(lam[k]) - delta - float(mu[-1]) - r
    if not eta > 0.0 or not np.all(r * r / eta <= rtol * mu):
        return None
    return np.concatenate([mu, lam[k:]]), True


def _split(lam: np.ndarray, k0: int) -> int:
    """The number of smallest eigenvalues to refine: ``k0`` or more, cut where the relative gap
    ``(lam[k] - lam[k-1]) / lam[k]`` is widest for ``k`` up to ``2 k0`` (a wide gap makes the
    Ritz values' bound small)."""
    hi = min(len(lam) - 1, 2 * k0)
    ks = np.arange(k0, hi + 1)
    gaps = (lam[ks] - lam[ks - 1]) / np.maximum(lam[ks], np.finfo(np.float64).tiny)
    return int(ks[int(np.argmax(gaps))])


def _apply_q(a: np.ndarray, tau: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """``Q Z`` for the orthogonal ``Q = H_1 ... H_{m-1}`` of ``dsytrd(lower=1)``: reflector
    ``H_i = I - tau_i v_i v_i^T`` with ``v_i = (0, ..., 0, 1, a[i+2:, i])`` (the 1 at row
    ``i + 1``), applied from the last to the first in blocks of :data:`_NB` as
    ``I - V T V^T`` (``T`` upper triangular, LAPACK's ``dlarft`` recurrence)."""
    m = a.shape[0]
    X = np.array(Z, dtype=np.float64, order="C")
    n_ref = m - 1
    for s in range(((n_ref - 1) // _NB) * _NB, -1, -_NB):
        b = min(_NB, n_ref - s)
        V = np.tril(a[s + 1 :, s : s + b], -1)  # rows s+1.., the unit diagonal set below
        V[np.arange(b), np.arange(b)] = 1.0
        t = tau[s : s + b]
        VtV = V.T @ V
        T = np.zeros((b, b))
        for j in range(b):
            T[j, j] = t[j]
            if j:
                T[:j, j] = -t[j] * (T[:j, :j] @ VtV[:j, j])
        Xs = X[s + 1 :]
        Xs -= V @ (T @ (V.T @ Xs))
    return X


def svd_values(R: np.ndarray) -> np.ndarray:
    """The singular values of ``R`` (LAPACK ``gesdd`` through scipy, no vectors)."""
    from scipy.linalg import svdvals

    return svdvals(R, check_finite=False)
