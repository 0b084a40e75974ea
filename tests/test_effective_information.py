"""Graph EI: closed forms, a dense reference, einet's published karate value, invariants."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from netsci_dl.analysis.information._effective_information import (
    effective_information,
    ei_per_block,
)
from netsci_dl.graph import LayeredGraph
from tests.conftest import random_layered


def dense_reference(A: np.ndarray) -> dict[str, float | np.ndarray]:
    """The same formulas on a dense matrix (row i = out-weights of i), numpy only."""
    A = np.asarray(A, dtype=np.float64)
    n = A.shape[0]
    s = A.sum(1)
    out = s > 0
    if not out.any() or n <= 1:
        return {"ei": 0.0, "det": 0.0, "deg": 0.0, "ei_i": np.zeros(n)}
    P = A[out] / s[out, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        H = -np.nansum(np.where(P > 0, P * np.log2(P), 0.0), axis=1)
        w_in = P.mean(0)
        h_in = -np.sum(np.where(w_in > 0, w_in * np.log2(np.where(w_in > 0, w_in, 1)), 0.0))
        kl = np.sum(
            np.where(P > 0, P * np.log2(np.where(P > 0, P, 1) / np.where(w_in > 0, w_in, 1)), 0.0),
            1,
        )
    ei_i = np.zeros(n)
    ei_i[out] = kl
    return {
        "ei": h_in - H.mean(),
        "det": np.log2(n) - H.mean(),
        "deg": np.log2(n) - h_in,
        "ei_i": ei_i,
    }


def test_directed_cycle_eff_one() -> None:
    r = effective_information(nx.cycle_graph(7, create_using=nx.DiGraph))
    np.testing.assert_allclose(r.eff, 1.0, atol=1e-12)
    np.testing.assert_allclose(r.ei, np.log2(7), atol=1e-12)
    assert r.directed and r.n_sinks == 0


@pytest.mark.parametrize("n", [5, 16, 33])
def test_ring_lattice(n: int) -> None:
    r = effective_information(nx.watts_strogatz_graph(n, 2, 0))
    np.testing.assert_allclose(r.ei, np.log2(n) - 1, atol=1e-12)


def test_complete_graph_with_self_loops_is_zero() -> None:
    K = nx.complete_graph(6)
    K.add_edges_from((i, i) for i in K)
    r = effective_information(K)
    np.testing.assert_allclose(r.ei, 0.0, atol=1e-12)
    np.testing.assert_allclose(r.degeneracy, 0.0, atol=1e-12)
    # a self-loop is one out-edge: each node has 6 equal out-weights
    np.testing.assert_allclose(r.mean_h_out, np.log2(6), atol=1e-12)


def test_karate_published_einet_value() -> None:
    """einet's README: EI(karate) = 2.3500950888734686 (unweighted; networkx < 2.7 had no weights)."""
    G = nx.karate_club_graph()
    r = effective_information(G, weights=None)
    np.testing.assert_allclose(r.ei, 2.3500950888734686, atol=1e-12)
    # networkx >= 2.7 carries weights: the default uses them and differs
    if nx.get_edge_attributes(G, "weight"):
        assert abs(effective_information(G).ei - r.ei) > 1e-3


def test_dense_reference_random_layered() -> None:
    for directed in (True, False):
        for seed in range(3):
            G = random_layered((6, 5, 4), seed=seed, sparse_p=0.5).with_meta(directed=directed)
            r = effective_information(G)
            A = np.abs(G.adjacency(directed=directed, weights="signed").toarray())
            ref = dense_reference(A)
            np.testing.assert_allclose(r.ei, ref["ei"], atol=1e-12)
            np.testing.assert_allclose(r.determinism, ref["det"], atol=1e-12)
            np.testing.assert_allclose(r.degeneracy, ref["deg"], atol=1e-12)
            np.testing.assert_allclose(r.effect_information, ref["ei_i"], atol=1e-12)
            assert r.directed is directed


def test_weights_options_match_reference() -> None:
    G = random_layered((5, 4, 3), seed=1).with_meta(directed=False)
    A = G.adjacency(directed=False, weights="signed").toarray()
    for weights, M in [
        ("pos", np.maximum(A, 0)),
        ("neg", np.maximum(-A, 0)),
        (None, (A != 0) * 1.0),
    ]:
        r = effective_information(G, weights=weights)
        np.testing.assert_allclose(r.ei, dense_reference(M)["ei"], atol=1e-12)
        assert r.weights == weights


def test_thresholded_pos_neg_use_original_sign() -> None:
    import netsci_dl as nd

    G = random_layered((6, 5, 4), seed=2)
    H = nd.threshold.by_quantile(G, 0.5)  # unit weights, signs in edge_attrs
    r_pos = effective_information(H, weights="pos")
    Hk = nd.threshold.by_quantile(G, 0.5, keep_weights=True)
    A = Hk.adjacency(directed=bool(Hk.meta.get("directed", False)), weights="signed").toarray()
    np.testing.assert_allclose(r_pos.ei, dense_reference((A > 0) * 1.0)["ei"], atol=1e-12)


def test_feed_forward_top_layer_sinks_and_default_direction() -> None:
    import netsci_dl as nd

    G = nd.from_matrices([np.ones((3, 2), np.float32), np.ones((2, 4), np.float32)])
    r = effective_information(G)
    assert r.directed == bool(G.meta.get("directed", False))
    if r.directed:
        assert r.n_sinks == 4 and r.n_out == 5
    G2 = G.with_meta(directed=False)
    r2 = effective_information(G2)
    assert not r2.directed and r2.n_sinks == 0
    # RBM-like meta without "directed": undirected by default
    G3 = LayeredGraph(G.layer_sizes, G.blocks)
    assert not effective_information(G3).directed


def test_identities_and_to_dict() -> None:
    G = random_layered((4, 6, 3), seed=3, sparse_p=0.6)
    r = effective_information(G, per_block=True)
    np.testing.assert_allclose(r.ei, r.determinism - r.degeneracy, atol=1e-12)
    np.testing.assert_allclose(r.eff, r.determinism_norm - r.degeneracy_norm, atol=1e-12)
    np.testing.assert_allclose(r.ei, r.effect_information[r.has_out].mean(), atol=1e-12)
    assert len(r.blocks) == 2 and [b.block for b in r.blocks] == [0, 1]
    d = json.loads(json.dumps(r.to_dict(per_node=True)))
    assert (
        d["units"] == "bits" and len(d["blocks"]) == 2 and len(d["effect_information"]) == G.n_nodes
    )


def test_per_block_matches_bipartite_reference() -> None:
    G = random_layered((4, 5, 3), seed=4).with_meta(directed=True)
    for li, r in enumerate(ei_per_block(G)):
        B = np.abs(G.dense_block(li))
        n, m = B.shape
        A = np.zeros((n + m, n + m))
        A[:n, n:] = B
        np.testing.assert_allclose(r.ei, dense_reference(A)["ei"], atol=1e-12)
        assert r.n_nodes == n + m and r.n_sinks == m
    one = effective_information(G, block=-1)
    assert one.block == 1


def test_sinks_isolated_no_out_edges() -> None:
    A = sp.csr_array(np.array([[0, 1, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]], float))
    r = effective_information(A)
    assert r.n_sinks == 2 and r.n_out == 2 and r.n_nodes == 4
    np.testing.assert_allclose(r.ei, 0.0, atol=1e-12)  # both go to node 1: degenerate
    np.testing.assert_allclose(r.degeneracy, 2.0, atol=1e-12)
    empty = effective_information(sp.csr_array((5, 5)))
    assert (
        empty.ei == 0.0
        and empty.determinism == 0.0
        and empty.degeneracy == 0.0
        and empty.n_sinks == 5
    )
    single = effective_information(sp.csr_array(np.ones((1, 1))))
    assert single.ei == 0.0 and single.eff == 0.0


def test_refuses_nan_and_negative() -> None:
    A = sp.csr_array(np.array([[0, -1.0], [1.0, 0]]))
    with pytest.raises(ValueError, match="negative"):
        effective_information(A, weights="signed")
    with pytest.raises(ValueError, match="weights must be one of"):
        effective_information(A, weights="raw")  # the 0.2 name of "signed"
    np.testing.assert_allclose(effective_information(abs(A), weights="signed").ei, 1.0)
    np.testing.assert_allclose(effective_information(A).ei, 1.0)  # abs: a 2-cycle
    B = sp.csr_array(np.array([[0, np.nan], [1.0, 0]]))
    with pytest.raises(ValueError, match="NaN"):
        effective_information(B)
    with pytest.raises(ValueError, match="NaN"):  # a graph cannot even hold NaN weights
        LayeredGraph((2, 2), (np.array([[np.nan, 1], [1, 1]], np.float32),))
    with pytest.raises(ValueError, match="weights"):
        effective_information(A, weights="signed")
    with pytest.raises(ValueError, match="square"):
        effective_information(sp.csr_array(np.ones((2, 3))))
    with pytest.raises(TypeError):
        effective_information([[0, 1], [1, 0]])


def test_matrix_undirected_symmetrises() -> None:
    upper = sp.csr_array(np.triu(np.ones((4, 4)), 1))
    r = effective_information(upper, directed=False)
    ref = effective_information(nx.complete_graph(4))
    np.testing.assert_allclose(r.ei, ref.ei, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 25),
    p=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
    directed=st.booleans(),
    weighted=st.booleans(),
)
def test_eff_bounds_and_reference(
    n: int, p: float, seed: int, directed: bool, weighted: bool
) -> None:
    rng = np.random.default_rng(seed)
    A = (rng.random((n, n)) < p) * (rng.random((n, n)) if weighted else 1.0)
    r = effective_information(sp.csr_array(A), directed=directed)
    assert -1e-12 <= r.eff <= 1 + 1e-12
    np.testing.assert_allclose(r.ei, r.determinism - r.degeneracy, atol=1e-12)
    M = A if directed else np.maximum(A, A.T)
    np.testing.assert_allclose(r.ei, dense_reference(M)["ei"], atol=1e-12)
