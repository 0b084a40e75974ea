"""Weight statistics, strength, degree, histograms and fits (oracles: scipy, numpy)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hs

import netsci_dl as nd
from netsci_dl.analysis.structure.distributions import (
    ccdf,
    degree,
    log_binned_histogram,
    strength,
    weight_stats,
)
from netsci_dl.analysis.structure.fits import fit_distributions
from tests.conftest import random_layered


def test_weight_stats_match_scipy_and_numpy():
    G = random_layered((30, 20, 10), seed=1)
    ws = weight_stats(G)
    allw = np.concatenate([b.ravel() for b in G.blocks]).astype(np.float64)
    for s, x in [
        (ws.blocks[0], G.blocks[0].ravel().astype(float)),
        (ws.blocks[1], G.blocks[1].ravel().astype(float)),
        (ws.overall, allw),
    ]:
        np.testing.assert_allclose(s.mean, x.mean(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(s.std, x.std(), rtol=1e-12)
        np.testing.assert_allclose(s.skewness, st.skew(x), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(s.kurtosis, st.kurtosis(x), rtol=1e-9, atol=1e-12)
        qs = [q for q, _ in s.quantiles]
        np.testing.assert_allclose(
            [v for _, v in s.quantiles], np.quantile(x, qs), rtol=0, atol=1e-7
        )
        assert s.frac_negative == np.mean(x < 0)
        assert sum(s.hist_counts) == len(x)
    df = ws.to_frame()
    assert list(df.index) == ["L0->L1", "L1->L2", "all"]
    assert ws.to_dict()["overall"]["n"] == 800


def test_weight_stats_thresholded_uses_original_weights():
    G = random_layered((10, 8), seed=2)
    H = nd.threshold.by_quantile(G, 0.5)
    ws = weight_stats(H)
    kept = H.edge_values("weight").astype(float)
    np.testing.assert_allclose(ws.overall.mean, kept.mean(), rtol=1e-12)


def test_strength_directions_and_kinds():
    G = random_layered((4, 3, 2), seed=3)
    W0, W1 = (b.astype(np.float64) for b in G.blocks)
    up = strength(G, direction="up")
    np.testing.assert_allclose(up[:4], W0.sum(1))
    np.testing.assert_allclose(up[4:7], W1.sum(1))
    np.testing.assert_allclose(up[7:], W1.sum(0))  # fallback: last layer = s_down
    np.testing.assert_allclose(strength(G, direction="up", fallback=False)[7:], 0)
    down = strength(G, direction="down", fallback=False)
    np.testing.assert_allclose(down, np.r_[np.zeros(4), W0.sum(0), W1.sum(0)])
    tot = strength(G, direction="total", weights="abs")
    A = G.adjacency(weights="abs")
    np.testing.assert_allclose(tot, np.asarray(A.sum(axis=1)).ravel(), rtol=1e-6)
    pos = strength(G, direction="total", weights="pos")
    neg = strength(G, direction="total", weights="neg")
    np.testing.assert_allclose(pos + neg, strength(G, direction="total"), atol=1e-12)
    assert (pos >= 0).all() and (neg <= 0).all()
    with pytest.raises(ValueError, match="direction"):
        strength(G, direction="sideways")
    with pytest.raises(ValueError, match="weights must be one of"):
        strength(G, weights="square")
    with pytest.raises(TypeError, match="kind"):
        strength(G, kind="abs")  # the 0.2 keyword is gone


def test_strength_matches_igraph():
    import igraph as ig  # a hard dev dependency: never skipped

    G = random_layered((6, 5, 4), seed=4)
    src, dst, w = G.edges()
    g = ig.Graph(n=G.n_nodes, edges=list(zip(src.tolist(), dst.tolist())))
    g.es["weight"] = w.astype(float).tolist()
    np.testing.assert_allclose(
        strength(G, direction="total"), g.strength(weights="weight"), rtol=1e-6, atol=1e-9
    )


@settings(max_examples=25, deadline=None)
@given(hs.lists(hs.integers(1, 7), min_size=2, max_size=4), hs.integers(0, 10_000))
def test_strength_flow_invariant(sizes, seed):
    """sum of out-strength of layer l == sum of in-strength of layer l+1 == W_l.sum()."""
    G = random_layered(tuple(sizes), seed=seed)
    up = strength(G, direction="up", fallback=False)
    down = strength(G, direction="down", fallback=False)
    off = G.offsets
    for l, W in enumerate(G.blocks):
        tot = W.astype(np.float64).sum()
        np.testing.assert_allclose(up[off[l] : off[l + 1]].sum(), tot, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(down[off[l + 1] : off[l + 2]].sum(), tot, rtol=1e-9, atol=1e-9)


def test_degree_on_thresholded_graph():
    G = random_layered((6, 5, 4), seed=5)
    H = nd.threshold.by_quantile(G, 0.6)
    A = H.adjacency(weights=None)
    np.testing.assert_array_equal(degree(H), np.asarray(A.sum(axis=1)).ravel().astype(int))
    kd, ku = degree(H, direction="down", fallback=False), degree(H, direction="up", fallback=False)
    np.testing.assert_array_equal(kd + ku, degree(H))
    off = H.offsets
    for l in range(len(H.blocks)):
        assert (
            ku[off[l] : off[l + 1]].sum() == kd[off[l + 1] : off[l + 2]].sum() == H.block_n_edges[l]
        )
    assert degree(H).dtype == np.int64


def test_degree_refuses_full_graph():
    G = random_layered((3, 2), seed=0)
    with pytest.raises(ValueError, match="needs a thresholded graph"):
        degree(G)


def test_isolated_nodes_stay():
    H = nd.LayeredGraph((3, 2), (sp.csr_array(np.array([[1, 0], [0, 0], [1, 1]], np.float32)),))
    np.testing.assert_array_equal(degree(H), [1, 0, 2, 2, 1])


def test_log_binned_histogram_integrates_to_one():
    x = np.random.default_rng(0).pareto(1.5, 5000) + 1
    c, d, e = log_binned_histogram(x, bins_per_decade=8)
    counts, _ = np.histogram(x, bins=e)
    np.testing.assert_allclose(np.sum(counts / len(x)), 1.0)
    widths = np.diff(e)[counts > 0]
    np.testing.assert_allclose(np.sum(d * widths), 1.0)
    k = np.random.default_rng(1).geometric(0.1, 3000)
    c, d, e = log_binned_histogram(k)
    assert (c > 0).all() and (d > 0).all()


def test_ccdf():
    v, p = ccdf(np.array([3, 1, 1, 2]))
    np.testing.assert_array_equal(v, [1, 2, 3])
    np.testing.assert_allclose(p, [1.0, 0.5, 0.25])


def test_fit_recovers_power_law_continuous():
    rng = np.random.default_rng(0)
    x = 2.0 * (1 - rng.random(5000)) ** (-1 / 1.5)  # Pareto, alpha = 2.5, xmin = 2
    r = fit_distributions(x)
    a = r.fit("power_law").params["alpha"]
    assert abs(a - 2.5) < 0.1, a
    assert r.xmin >= 2.0 and r.xmin < 3.0
    assert (
        r.best == "power_law" and not r.fit("lognormal").ok
    )  # a Pareto tail: lognormal degenerate
    pe = [t for t in r.tests if {t.a, t.b} == {"power_law", "exponential"}][0]
    assert pe.favoured == "power_law"
    assert set(r.to_frame().index) == {"power_law", "exponential", "lognormal"}


def test_fit_exponential_data_prefers_exponential():
    x = 1.0 + np.random.default_rng(1).exponential(2.0, 4000)
    r = fit_distributions(x, xmin=1.0)
    np.testing.assert_allclose(r.fit("exponential").params["lambda"], 0.5, rtol=0.05)
    t = [t for t in r.tests if {t.a, t.b} == {"power_law", "exponential"}][0]
    assert t.favoured == "exponential"


def test_fit_discrete_zeta():
    from scipy.stats import zipf

    k = zipf.rvs(2.5, size=4000, random_state=2)
    r = fit_distributions(k, xmin=1)
    assert r.discrete
    assert abs(r.fit("power_law").params["alpha"] - 2.5) < 0.1
    r2 = fit_distributions(k)  # xmin scanned
    assert r2.xmin >= 1 and r2.n_tail >= 10
    assert r2.to_dict()["discrete"] is True


def test_fit_too_few_values():
    r = fit_distributions(np.array([0, 0, 1, 2]))
    assert r.fits == () and "too few" in r.note
    with pytest.raises(ValueError, match="candidates"):
        fit_distributions(np.arange(1, 50), candidates=("cauchy",))
