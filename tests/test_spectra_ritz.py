"""The Gram + Rayleigh-Ritz route of esd (analysis.spectra._ritz): the tridiagonal reduction's
back-transformation, the refined eigenvalues against scipy's singular values squared (every
eigenvalue to 1e-10 of itself, the promise of method="auto"), the same result by chunks of
rows as whole, and the fallback to the SVD where the refinement cannot be shown."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import lapack

import netsci_dl.analysis.spectra._esd as E
import netsci_dl.analysis.spectra._ritz as R
from netsci_dl.analysis.spectra import esd


def _svd_eigs(W: np.ndarray) -> np.ndarray:
    return np.sort(scipy.linalg.svdvals(np.asarray(W, dtype=np.float64)) ** 2)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(2, 90), seed=st.integers(0, 2**31 - 1))
def test_back_transformation_gives_q_of_the_tridiagonal_reduction(m: int, seed: int) -> None:
    """Q from the reflectors (blocks of 32, so m past 32 crosses blocks) is orthogonal and
    Q^T G Q is the tridiagonal (d, e) that dsytrd returned."""
    A = np.random.default_rng(seed).normal(size=(m, m))
    G = A + A.T
    a, d, e, tau, info = lapack.dsytrd(G, lower=1)
    assert info == 0
    Q = R._apply_q(a, tau, np.eye(m))
    T = np.diag(d) + np.diag(e, -1) + np.diag(e, 1)
    scale = np.abs(G).max()
    np.testing.assert_allclose(Q.T @ Q, np.eye(m), atol=1e-13 * m)
    np.testing.assert_allclose(Q.T @ G @ Q, T, atol=1e-13 * m * scale)


@pytest.mark.parametrize("shape", [(160, 160), (170, 160), (160, 150), (300, 300)])
def test_refined_eigenvalues_equal_the_svds(shape) -> None:
    """Square and near-square Gaussian matrices: the smallest eigenvalues are below the Gram's
    accuracy (lambda_min / lambda_max ~ 1e-6 .. 1e-8); auto refines them, each to 1e-10."""
    W = np.random.default_rng(sum(shape)).normal(size=shape).astype(np.float32)
    ref = _svd_eigs(W)
    e = esd(W)
    assert e.method == "gram+ritz"
    np.testing.assert_allclose(e.eigenvalues, ref, rtol=1e-10, atol=0)
    lam = np.linalg.eigvalsh(W.astype(np.float64).T @ W.astype(np.float64))
    assert not E._gram_is_accurate(lam, max(shape))  # the Gram alone would not do


def test_chunks_give_the_whole_matrix_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """X V and X^T X V summed over chunks of rows (here 7) equal the whole-matrix pass."""
    W = np.random.default_rng(5).normal(size=(204, 200))
    whole = esd(W)
    monkeypatch.setattr(E, "CHUNK_BYTES", 48 << 10)
    parts = esd(W)
    assert whole.method == parts.method == "gram+ritz"
    np.testing.assert_allclose(parts.eigenvalues, whole.eigenvalues, rtol=1e-11, atol=0)
    np.testing.assert_allclose(parts.eigenvalues, _svd_eigs(W), rtol=1e-10, atol=0)
    np.testing.assert_allclose(esd(W.T).eigenvalues, whole.eigenvalues, rtol=1e-11)


def test_what_cannot_be_shown_falls_back_to_the_svd(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(6)
    # rank-deficient: zero eigenvalues have no relative accuracy to show
    W = rng.normal(size=(120, 40)) @ rng.normal(size=(40, 120))
    assert esd(W).method == "svd"
    # many eigenvalues below the threshold: the SVD costs no more
    u, _ = np.linalg.qr(rng.normal(size=(200, 60)))
    W2 = (u * np.logspace(0, -6, 60)) @ np.linalg.qr(rng.normal(size=(60, 60)))[0]
    assert esd(W2).method == "svd"
    # a refinement whose bound fails is not kept: eigenvectors a little off (1e-4) give Ritz
    # values near the truth, but a residual bound that shows nothing at 1e-10
    W3 = rng.normal(size=(150, 150))
    G = W3.T @ W3
    assert R.ritz_values(G, 150, lambda: iter([W3]), E._GRAM_RTOL)[1]
    exact = R._apply_q

    def off(a, tau, Z):
        V = exact(a, tau, Z)
        return np.linalg.qr(V + 1e-4 * rng.normal(size=V.shape))[0]

    monkeypatch.setattr(R, "_apply_q", off)
    assert R.ritz_values(G, 150, lambda: iter([W3]), E._GRAM_RTOL) is None
    e = esd(W3)
    assert e.method == "svd"
    np.testing.assert_allclose(e.eigenvalues, _svd_eigs(W3), rtol=1e-10, atol=0)


def test_the_split_takes_the_widest_relative_gap() -> None:
    lam = np.array([1e-9, 2e-9, 3e-9, 3.1e-9, 9e-9, 1.0, 2.0])
    assert R._split(lam, 2) == 4  # 3.1e-9 -> 9e-9 is the widest gap in k = 2..4
    assert R._split(lam, 3) == 5  # up to 6: the gap to 1.0
