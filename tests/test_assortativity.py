"""Assortativity, knn and degree-strength correlation (oracles: networkx, igraph, scipy)."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hs

import netsci_dl as nd
from netsci_dl.analysis.structure.assortativity import (
    average_neighbor_degree,
    block_assortativity,
    degree_assortativity,
    degree_strength_correlation,
    knn_curve,
    strength_assortativity,
)
from netsci_dl.analysis.structure.distributions import degree, strength
from tests.conftest import random_layered


def _thr(sizes, seed, q=0.6):
    return nd.threshold.by_quantile(random_layered(sizes, seed=seed), q)


def _to_nx(H, attr=None):
    """Oracle graph (test-only conversion): all nodes, undirected, optional |weight| attribute."""
    src, dst, _ = H.edges()
    w = np.abs(H.edge_values("weight" if "weight" in H.edge_attrs else None)).astype(float)
    g = nx.Graph()
    g.add_nodes_from(range(H.n_nodes))
    for u, v, x in zip(src.tolist(), dst.tolist(), w.tolist()):
        g.add_edge(u, v, w=x)
    return g


def _to_ig(H):
    import igraph as ig

    src, dst, _ = H.edges()
    g = ig.Graph(n=H.n_nodes, edges=list(zip(src.tolist(), dst.tolist())))
    g.es["w"] = np.abs(H.edge_values("weight")).astype(float).tolist()
    return g


@pytest.mark.parametrize(("sizes", "seed"), [((6, 5, 4), 0), ((8, 3, 7, 2), 1), ((10, 10), 2)])
def test_degree_assortativity_matches_networkx(sizes, seed):
    H = _thr(sizes, seed)
    g = _to_nx(H)
    np.testing.assert_allclose(
        degree_assortativity(H), nx.degree_assortativity_coefficient(g), rtol=0, atol=1e-12
    )


def test_per_block_assortativity_matches_networkx_on_block_subgraph():
    H = _thr((7, 6, 5), 3, q=0.5)
    src, dst, _ = H.edges()
    el = H.edge_layer()
    for l, r in enumerate(block_assortativity(H)):
        g = nx.Graph()
        g.add_edges_from(zip(src[el == l].tolist(), dst[el == l].tolist()))
        np.testing.assert_allclose(r, nx.degree_assortativity_coefficient(g), atol=1e-12)


def test_average_neighbor_degree_matches_networkx_and_igraph():
    import igraph as ig  # noqa: F401  (a hard dev dependency)

    H = _thr((8, 6, 5), 4, q=0.7)
    g = _to_nx(H)
    knn = average_neighbor_degree(H)
    ref = nx.average_neighbor_degree(g)
    k = degree(H)
    ref = np.array([ref[i] for i in range(H.n_nodes)])
    np.testing.assert_allclose(knn[k > 0], ref[k > 0], rtol=0, atol=1e-12)
    assert np.isnan(knn[k == 0]).all()  # networkx gives 0.0 there; we give NaN (igraph)
    knn_w = average_neighbor_degree(H, weights="abs")
    ref_w = nx.average_neighbor_degree(g, weight="w")
    np.testing.assert_allclose(
        knn_w[k > 0], np.array([ref_w[i] for i in range(H.n_nodes)])[k > 0], rtol=1e-12, atol=1e-12
    )
    gi = _to_ig(H)
    knn_i, knnk_i = gi.knn()
    np.testing.assert_allclose(knn[k > 0], np.array(knn_i)[k > 0], atol=1e-12)
    c = knn_curve(H)
    knnk_i = np.array(knnk_i)
    np.testing.assert_allclose(c.knn, knnk_i[c.k - 1], atol=1e-12)
    knn_wi, _ = gi.knn(weights="w")
    np.testing.assert_allclose(knn_w[k > 0], np.array(knn_wi)[k > 0], rtol=1e-9)
    np.testing.assert_allclose(
        gi.assortativity_degree(directed=False), degree_assortativity(H), atol=1e-12
    )
    np.testing.assert_allclose(c.reference, (k.astype(float) ** 2).mean() / k.mean())
    assert c.weights is None and knn_curve(H, weights="abs").weights == "abs"
    np.testing.assert_allclose(knn_curve(H, weights="abs").knn[0], knn_w[k == c.k[0]].mean())
    with pytest.raises(ValueError, match="weights must be None or 'abs'"):
        average_neighbor_degree(H, weights="signed")
    for fn, kw in [
        (average_neighbor_degree, {"weighted": True}),
        (degree_assortativity, {"per_block": True}),
        (strength_assortativity, {"kind": "abs"}),
    ]:
        with pytest.raises(TypeError):  # the 0.2 keywords are gone
            fn(H, **kw)


def test_strength_assortativity_matches_networkx_full_and_thresholded():
    G = random_layered((5, 4, 3), seed=5)
    g = _to_nx(G)
    np.testing.assert_allclose(
        strength_assortativity(G), nx.degree_assortativity_coefficient(g, weight="w"), atol=1e-9
    )
    H = nd.threshold.by_quantile(G, 0.5)
    np.testing.assert_allclose(
        strength_assortativity(H),
        nx.degree_assortativity_coefficient(_to_nx(H), weight="w"),
        atol=1e-9,
    )


@settings(max_examples=20, deadline=None)
@given(
    hs.lists(hs.integers(2, 8), min_size=2, max_size=4), hs.integers(0, 10_000), hs.floats(0.3, 0.8)
)
def test_assortativity_bounded_and_relabelling_invariant(sizes, seed, q):
    G = random_layered(tuple(sizes), seed=seed)
    H = nd.threshold.by_quantile(G, q)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = degree_assortativity(H)
        rb = block_assortativity(H)
        rs = strength_assortativity(G)
    for v in (r, rs, *rb):
        assert np.isnan(v) or -1 - 1e-12 <= v <= 1 + 1e-12
    # permute the nodes within each layer: every value moves with its node, scalars unchanged
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(n) for n in sizes]
    blocks = tuple(G.blocks[l][perms[l]][:, perms[l + 1]] for l in range(len(G.blocks)))
    G2 = G.replace(blocks=blocks)
    H2 = nd.threshold.by_quantile(G2, q)
    gperm = np.concatenate([G.offsets[l] + p for l, p in enumerate(perms)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(degree_assortativity(H2), r, atol=1e-12, equal_nan=True)
        np.testing.assert_allclose(strength_assortativity(G2), rs, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(
        average_neighbor_degree(H2), average_neighbor_degree(H)[gperm], equal_nan=True
    )
    np.testing.assert_allclose(strength(G2), strength(G)[gperm], rtol=1e-6, atol=1e-6)


def test_degree_strength_correlation_matches_scipy():
    G = random_layered((20, 15, 10), seed=6)
    H = nd.threshold.by_quantile(G, 0.7)
    c = degree_strength_correlation(G, H)
    k, s = degree(H, direction="up"), strength(G, direction="up")
    off = G.offsets
    for l in range(3):
        kl, sl = k[off[l] : off[l + 1]], s[off[l] : off[l + 1]]
        np.testing.assert_allclose(c.pearson[l], st.pearsonr(kl, sl)[0], atol=1e-12)
        np.testing.assert_allclose(c.spearman[l], st.spearmanr(kl, sl)[0], atol=1e-12)
    assert list(c.to_frame().index) == list(G.layer_names)


def test_bad_inputs():
    G = random_layered((4, 3), seed=0)
    for f in (degree_assortativity, average_neighbor_degree, knn_curve):
        with pytest.raises(ValueError, match="needs a thresholded graph"):
            f(G)
    with pytest.raises(ValueError, match="thresholding of G"):
        degree_strength_correlation(G, _thr((4, 4), 0))
    empty = nd.LayeredGraph((3, 2), (sp.csr_array((3, 2), dtype=np.float32),))
    with pytest.warns(RuntimeWarning, match="no edge"):
        assert np.isnan(degree_assortativity(empty))
    # a complete bipartite block: every node of a side has the same degree -> r = -1 globally is
    # defined, but a regular graph (all degrees equal) has zero variance -> NaN + warning
    regular = nd.LayeredGraph((2, 2), (sp.csr_array(np.ones((2, 2), np.float32)),))
    with pytest.warns(RuntimeWarning, match="zero variance"):
        assert np.isnan(degree_assortativity(regular))
    with pytest.warns(RuntimeWarning, match="constant"):
        c = degree_strength_correlation(
            regular.replace(blocks=(np.ones((2, 2), np.float32),)), regular
        )
    assert np.isnan(c.pearson[0])
