"""Graph communities: Leiden, Louvain, SBM, modularity, shuffle null, agreement."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from netsci_dl.analysis.structure._communities import (
    Partition,
    agreement,
    communities,
    leiden,
    louvain,
    modularity,
    restrict,
    sbm,
)
from netsci_dl.analysis.structure.null_models import shuffle_edges, shuffle_null
from netsci_dl.graph import LayeredGraph
from tests.conftest import random_layered


@pytest.fixture(scope="module")
def planted():
    import networkx as nx

    H = nx.planted_partition_graph(4, 16, 0.7, 0.02, seed=3)
    A = sp.csr_array(nx.to_scipy_sparse_array(H, nodelist=range(64), dtype=np.float64))
    truth = np.repeat(np.arange(4), 16)
    return A, truth


@pytest.mark.parametrize("method", ["leiden", "louvain", "sbm"])
def test_planted_partition_recovered(planted, method):
    A, truth = planted
    kw = {"n_init": 5} if method == "sbm" else {}
    p = communities(A, method, seed=1, **kw)
    assert adjusted_rand_score(truth, p.labels) == 1.0
    assert p.labels.shape == (64,) and p.method == method and p.seed == 1
    if method == "sbm":
        assert p.quality_name == "description_length" and p.quality > 0
    else:
        np.testing.assert_allclose(p.quality, modularity(A, truth))
    # same seed, same result
    np.testing.assert_array_equal(communities(A, method, seed=1, **kw).labels, p.labels)


def test_nested_sbm_levels(planted):
    A, truth = planted
    p = sbm(A, nested=True, n_init=3, seed=0)
    assert p.method == "nested-sbm" and p.levels is not None
    assert adjusted_rand_score(truth, p.levels[0]) == 1.0
    assert all(lv.shape == (64,) for lv in p.levels)
    assert "level_0" not in p.to_frame().columns


def test_modularity_equals_igraph():
    import igraph as ig

    G = random_layered((8, 10, 6), seed=4)
    A = abs(G.adjacency(weights="signed")).tocoo()
    m = A.row < A.col
    g = ig.Graph(n=G.n_nodes, edges=list(zip(A.row[m].tolist(), A.col[m].tolist())))
    w = A.data[m].tolist()
    rng = np.random.default_rng(0)
    for res in (1.0, 0.5, 2.0):
        lab = rng.integers(0, 4, G.n_nodes)
        np.testing.assert_allclose(
            modularity(G, lab, resolution=res),
            g.modularity(lab.tolist(), weights=w, resolution=res),
            rtol=1e-10,
        )
        np.testing.assert_allclose(
            modularity(G, lab, weights=None, resolution=res),
            g.modularity(lab.tolist(), resolution=res),
            rtol=1e-10,
        )
    # on a Leiden partition of the graph too
    p = leiden(G, seed=0)
    np.testing.assert_allclose(p.quality, g.modularity(p.labels.tolist(), weights=w), rtol=1e-10)


def test_thresholded_graph_and_louvain_resolution():
    G = random_layered((10, 12, 8), seed=2, sparse_p=0.3)
    p = louvain(G.replace(meta={**G.meta, "weighted": False}), resolution=0.5, seed=0)
    assert p.params["resolution"] == 0.5 and p.labels.shape == (G.n_nodes,)


def test_auto_weights_mean_the_same_for_every_method():
    """ "auto": |w| for a weighted graph or a matrix, 1 for a thresholded graph, in every method."""
    G = random_layered((6, 7, 5), seed=3, sparse_p=0.5)
    H = G.replace(meta={**G.meta, "weighted": False})
    A = G.adjacency()
    for method in ("leiden", "louvain", "sbm"):
        assert communities(G, method, seed=0).params["weights"] == "abs"
        assert communities(A, method, seed=0).params["weights"] == "abs"
        assert communities(H, method, seed=0).params["weights"] is None
    assert sbm(G, seed=0).params["weights"] is None  # the SBM's own default: topology only
    assert sbm(G, weights="auto", seed=0).params["weights"] == "abs"
    lab = np.arange(G.n_nodes) % 3
    assert modularity(G, lab) == modularity(G, lab, weights="abs")
    assert modularity(H, lab) == modularity(H, lab, weights=None)
    with pytest.raises(ValueError, match="weights must be 'abs', None or 'auto'"):
        sbm(G, weights="signed")


def test_keep_layers_apart_never_mixes_layers():
    G = random_layered((10, 12, 8), seed=5, sparse_p=0.4)
    p = sbm(G, keep_layers_apart=True, seed=0)
    for c in range(p.n_communities):
        assert np.unique(G.node_layer[p.labels == c]).size == 1
    q = sbm(G, keep_layers_apart=True, nested=True, seed=0)
    for c in range(q.n_communities):
        assert np.unique(G.node_layer[q.labels == c]).size == 1
    with pytest.raises(ValueError, match="LayeredGraph"):
        sbm(G.adjacency(), keep_layers_apart=True)


def test_shuffle_keeps_degrees_per_block():
    G = random_layered((9, 11, 7, 5), seed=1, sparse_p=0.35)
    A = G.adjacency(weights=None)
    onehot = sp.csr_array((np.ones(G.n_nodes), (np.arange(G.n_nodes), G.node_layer)))
    before = (A @ onehot).toarray()
    for seed in range(3):
        B = shuffle_edges(G, weights=None, seed=seed)
        np.testing.assert_array_equal((B @ onehot).toarray(), before)
        assert (B != B.T).nnz == 0
        # still k-partite: no edge inside a layer or across non-adjacent layers
        C = B.tocoo()
        assert (np.abs(G.node_layer[C.row] - G.node_layer[C.col]) == 1).all()
    assert (shuffle_edges(G, weights=None, seed=0) != shuffle_edges(G, weights=None, seed=1)).nnz


def test_shuffle_null(planted):
    A, truth = planted
    r = shuffle_null(A, truth, n_samples=10, seed=0)
    assert r.quality_name == "modularity" and r.null.shape == (10,)
    assert r.observed > r.null.max() and r.p == 1 / 11 and r.z > 3
    p = leiden(A, seed=0)
    r2 = shuffle_null(A, p, n_samples=3, refit=True, seed=0)
    assert r2.observed == p.quality and r2.to_dict()["n_samples"] == 3
    r3 = shuffle_null(A, truth, n_samples=3, quality="description_length", seed=0)
    assert r3.observed < r3.null.min()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), min_size=2, max_size=40))
def test_agreement_against_sklearn(pairs):
    a, b = np.array(pairs).T
    r = agreement(a, b)
    np.testing.assert_allclose(r.ari, adjusted_rand_score(a, b), atol=1e-12)
    np.testing.assert_allclose(r.nmi, normalized_mutual_info_score(a, b), atol=1e-12)
    assert r.contingency.sum() == a.size


def test_rf_modules_vs_communities():
    G = LayeredGraph((3, 4), (np.ones((3, 4), np.float32),))
    part = Partition(np.array([0, 0, 1, 1, 1, 2, 2]), "leiden", 0.0, "modularity")
    r = agreement(np.array([5, 5, 6, 6]), restrict(part, G, 1))
    assert r.ari == 1.0 and r.contingency.shape == (2, 2)


@pytest.mark.slow
def test_workload_sbm_recovers_layers():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from workload import dbn_weights, threshold_95

    import netsci_dl as nd
    from netsci_dl.threshold import by_value

    Ws = dbn_weights()
    H = by_value(nd.from_matrices(Ws), threshold_95(Ws))
    # one greedy fit is not enough here: graph-tool's own minimize_blockmodel_dl gave ARI 0.998
    # (seed 0) and 0.85 (seed 1) on this machine; the lowest description length of 5 fits is kept
    p = sbm(H, n_init=5, seed=0)
    assert adjusted_rand_score(H.node_layer, p.labels) == 1.0
