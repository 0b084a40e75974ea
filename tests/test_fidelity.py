"""Issue 29 items 1-4: near-constant layers, the causal plane of Sequential(Linear, ReLU) layers,
CCA's mean and sample-size warning, Gram-space CKA under a large offset."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from netsci_dl.analysis.similarity import (
    LinearCKAStats,
    SimilarityWarning,
    cca,
    cka,
    minibatch_cka,
    pwcca,
    svcca,
)


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def _nan_with_warning(fn, what: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        v = fn()
    _check(math.isnan(v), f"{what}: expected nan, got {v!r}")
    _check(
        any(issubclass(w.category, SimilarityWarning) for w in caught),
        f"{what}: no SimilarityWarning ({[str(w.message) for w in caught]})",
    )


MEASURES = {
    "cka": lambda X, Y: cka(X, Y),
    "cka_gram": lambda X, Y: cka(X, Y, space="gram"),
    "cka_rbf": lambda X, Y: cka(X, Y, kernel="rbf"),
    "cka_debiased": lambda X, Y: cka(X, Y, debiased=True),
    "cka_rbf_debiased": lambda X, Y: cka(X, Y, kernel="rbf", debiased=True),
    "cka_minibatch": lambda X, Y: minibatch_cka(X, Y, batch_size=20),
    "cca": lambda X, Y: cca(X, Y).mean,
    "cca_rank": lambda X, Y: cca(X, Y, normalize="rank").mean,
    "svcca": lambda X, Y: svcca(X, Y).mean,
    "pwcca": lambda X, Y: pwcca(X, Y).value,
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("c", [0.1, 1 / 3, 7.0])
@pytest.mark.parametrize("measure", sorted(MEASURES))
def test_constant_layer_is_nan_with_a_warning(measure, c, dtype):
    rng = np.random.default_rng(1)
    X = np.full((80, 3), c, dtype=dtype)
    Y = rng.normal(size=(80, 5)).astype(dtype)
    _nan_with_warning(lambda: MEASURES[measure](X, Y), f"{measure} of a constant {c}")
    _nan_with_warning(lambda: MEASURES[measure](Y, X), f"{measure} against a constant {c}")


@pytest.mark.parametrize("c", [0.1, 1 / 3, 7.0])
def test_streamed_constant_layer_is_nan_with_a_warning(c):
    rng = np.random.default_rng(2)
    X, Y = np.full((80, 3), c), rng.normal(size=(80, 4))
    st = LinearCKAStats([3, 4], [(0, 1)], min_batch=4)
    for k in range(0, 80, 20):
        st.update([X[k : k + 20], Y[k : k + 20]])
    _nan_with_warning(lambda: st.cka(0, 1), "streamed cka")
    _nan_with_warning(lambda: st.cka(0, 1, debiased=True), "streamed debiased cka")
    _nan_with_warning(lambda: st.minibatch_cka(0, 1), "streamed minibatch cka")


def test_near_constant_column_among_varying_ones():
    """A column of 0.1 adds nothing: CKA as without it, and CCA drops its direction."""
    rng = np.random.default_rng(3)
    Z, Y = rng.normal(size=(100, 2)), rng.normal(size=(100, 3))
    X = np.c_[Z, np.full(100, 0.1)]
    for kw in ({}, {"debiased": True}, {"kernel": "rbf"}, {"space": "gram"}):
        a, b = cka(X, Y, **kw), cka(Z, Y, **kw)
        _check(abs(a - b) < 1e-12, f"cka {kw}: {a} with the constant column, {b} without")
    r = cca(X, Y)
    _check(r.dims == (2, 3), f"the constant column's direction is kept: dims {r.dims}")
    ref = cca(Z, Y).coefficients
    _check(np.allclose(r.coefficients, ref, atol=1e-12), "cca coefficients changed")


def _ref_linear_cka(X, Y):
    X, Y = X - X.mean(0), Y - Y.mean(0)
    return np.linalg.norm(Y.T @ X) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y))


def _ref_cca(X, Y):
    qx, _ = np.linalg.qr(X - X.mean(0))
    qy, _ = np.linalg.qr(Y - Y.mean(0))
    return np.linalg.svd(qx.T @ qy, compute_uv=False)


def test_ordinary_data_unchanged():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 6)) * rng.uniform(0.1, 5, 6) + rng.uniform(-3, 3, 6)
    Y = X[:, :4] @ rng.normal(size=(4, 5)) + rng.normal(size=(300, 5))
    for kw in ({}, {"space": "gram"}):
        _check(abs(cka(X, Y, **kw) - _ref_linear_cka(X, Y)) < 1e-12, f"cka {kw}")
    rho = _ref_cca(X, Y)
    r = cca(X, Y)
    _check(np.allclose(r.coefficients, rho, atol=1e-12, rtol=0), "cca coefficients")
    _check(abs(r.mean - rho.mean()) < 1e-12, "cca mean of full-rank views")


@pytest.mark.parametrize(
    "kw", [{"kernel": "rbf"}, {"space": "gram"}, {"kernel": "rbf", "debiased": True}]
)
def test_gram_cka_with_a_large_offset(kw):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 4))
    Y = np.tanh(X @ rng.normal(size=(4, 3))) + 0.3 * rng.normal(size=(120, 3))
    a, b = cka(X + 1e6, Y - 1e6, **kw), cka(X - X.mean(0), Y - Y.mean(0), **kw)
    _check(abs(a - b) < 1e-10, f"cka {kw}: {a} with an offset of 1e6, {b} centred ({a - b:.2e})")


def test_cca_mean_normalize_min_and_rank():
    """6 dead units of 20: the papers' mean divides by min(p, q) = 20, "rank" by 14."""
    rng = np.random.default_rng(6)
    n = 400
    X = np.c_[rng.normal(size=(n, 14)), np.zeros((n, 6))]
    Y = X[:, :14] @ rng.normal(size=(14, 20)) * 0.2 + rng.normal(size=(n, 20))
    r, rr = cca(X, Y), cca(X, Y, normalize="rank")
    s = float(r.coefficients.sum())
    _check(r.dims == (14, 20), f"dims {r.dims}")
    _check(abs(r.mean - s / 20) < 1e-15, f"default mean {r.mean} != sum / 20 = {s / 20}")
    _check(abs(rr.mean - s / 14) < 1e-15, f"rank mean {rr.mean} != sum / 14 = {s / 14}")
    with pytest.raises(Exception, match="normalize"):
        cca(X, Y, normalize="max")


def test_cca_warns_below_ten_samples_per_direction():
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(41, 20)), rng.normal(size=(41, 20))
    with pytest.warns(SimilarityWarning, match="per direction"):
        v = cca(X, Y).mean
    _check(v > 0.5, f"independent views at n = 41 gave {v}")
    X, Y = rng.normal(size=(200, 20)), rng.normal(size=(200, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cca(X, Y)  # 10 samples per direction: no warning


def test_shuffle_edges_keeps_multigraph_degrees_only():
    """What shuffle_edges' docstring states: row sums (multiplicities counted) and the edge
    count between groups are kept; multi-edges appear, so distinct neighbours can drop."""
    from netsci_dl.analysis.structure.null_models import shuffle_edges

    rng = np.random.default_rng(8)
    B = (rng.random((50, 40)) < 0.5).astype(float)
    A = np.zeros((90, 90))
    A[:50, 50:] = B
    A += A.T
    S = shuffle_edges(A, [0] * 50 + [1] * 40, seed=1).toarray()
    _check(np.allclose(S.sum(1), A.sum(1)), "multigraph degrees changed")
    _check(S[:50, :50].sum() == 0 and S[50:, 50:].sum() == 0, "edges inside a group")
    merged = (S > 1).sum() / 2 / (A.sum() / 2)
    _check(0.05 < merged < 0.3, f"{merged:.3f} of the edges became multi-edges")
    _check(((S > 0).sum(1) < (A > 0).sum(1)).any(), "no simple-graph degree dropped")
