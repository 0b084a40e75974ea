"""The analyses on graphs that are not chains, against networkx and the model itself."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn as nn

import netsci_dl as nd
from netsci_dl import analysis as A
from netsci_dl.graph import LayeredGraph


def dag(seed: int = 0, sparse: bool = False) -> LayeredGraph:
    """input(5) -> h(4) -> out(3), a skip input -> out, a head h -> aux(2), an identity h -> g."""
    rng = np.random.default_rng(seed)

    def blk(n, m):
        W = rng.normal(0, 1, (n, m)).astype(np.float32)
        if sparse:
            W[rng.random((n, m)) < 0.5] = 0
            return sp.csr_array(W)
        return W

    return LayeredGraph(
        (5, 4, 3, 2, 4),
        (blk(5, 4), blk(4, 3), blk(5, 3), blk(4, 2), sp.csr_array(np.eye(4, dtype=np.float32))),
        layer_names=("in", "h", "out", "aux", "g"),
        block_src=(0, 1, 0, 1, 1),
        block_dst=(1, 2, 2, 3, 4),
        block_kinds=("weight", "weight", "weight", "weight", "identity"),
    )


def weight_digraph(G: LayeredGraph) -> nx.DiGraph:
    """networkx oracle: every edge of the weight blocks (identity blocks left out)."""
    D = nx.DiGraph()
    D.add_nodes_from(range(G.n_nodes))
    off = G.offsets
    for b, k in enumerate(G.block_kinds):
        if k == "identity":
            continue
        M = G.dense_block(b) if not sp.issparse(G.blocks[b]) else G.blocks[b].toarray()
        pattern = (
            np.ones_like(M, bool) if not sp.issparse(G.blocks[b]) else G.blocks[b].toarray() != 0
        )
        for i, j in zip(*np.nonzero(pattern)):
            D.add_edge(
                int(off[G.block_src[b]] + i), int(off[G.block_dst[b]] + j), weight=float(M[i, j])
            )
    return D


def test_strength_sums_every_block_of_a_group():
    G = dag()
    D = weight_digraph(G)
    out = np.array([D.out_degree(n, weight="weight") for n in range(G.n_nodes)])
    inn = np.array([D.in_degree(n, weight="weight") for n in range(G.n_nodes)])
    np.testing.assert_allclose(A.strength(G, direction="up", fallback=False), out, rtol=1e-5)
    np.testing.assert_allclose(A.strength(G, direction="down", fallback=False), inn, rtol=1e-5)
    up = A.strength(G, direction="up")  # sinks (out, aux, g) fall back to their in-strength
    sinks = np.r_[G.layer_slice(2), G.layer_slice(3)]
    np.testing.assert_allclose(up[sinks], inn[sinks], rtol=1e-5)
    g = A.strength(G, direction="down", include_identity=True)[G.layer_slice(4)]
    np.testing.assert_allclose(g, 1.0)  # the identity block counts only when asked
    assert not A.strength(G, direction="down", fallback=False)[G.layer_slice(4)].any()


def test_degree_assortativity_and_knn_equal_networkx_on_a_dag():
    H = dag(seed=1, sparse=True)
    U = weight_digraph(H).to_undirected()
    np.testing.assert_allclose(
        A.degree_assortativity(H), nx.degree_assortativity_coefficient(U), atol=1e-10
    )
    k = A.degree(H)
    np.testing.assert_array_equal(k, [U.degree(n) for n in range(H.n_nodes)])
    knn = A.average_neighbor_degree(H)
    ref = nx.average_neighbor_degree(U)
    for n in range(H.n_nodes):
        if U.degree(n):
            np.testing.assert_allclose(knn[n], ref[n])
        else:
            assert np.isnan(knn[n])
    r = A.block_assortativity(H)
    assert np.isnan(r[4])  # the identity block is not scored
    curve = A.knn_curve(H, block=2)
    assert curve.name == "in->out"


def test_graph_ei_on_a_dag_equals_the_matrix_path():
    G = dag(seed=2).with_meta(directed=True)
    D = weight_digraph(G)
    M = nx.to_scipy_sparse_array(D, nodelist=range(G.n_nodes), weight="weight", format="csr")
    r = A.effective_information(G, per_block=True)
    np.testing.assert_allclose(r.ei, A.effective_information(abs(M)).ei, atol=1e-12)
    assert [b.block_name for b in r.blocks] == ["in->h", "h->out", "in->out", "h->aux"]
    with_id = A.effective_information(G, include_identity=True)
    assert with_id.n_transitions == r.n_transitions + 4


def test_receptive_fields_are_the_models_linear_map():
    class SkipCat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 3, bias=False)
            self.b = nn.Linear(3, 3, bias=False)
            self.c = nn.Linear(6, 2, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.a(x)
            return self.c(torch.cat([self.b(h) + h, h], dim=1))

    torch.manual_seed(0)
    m = SkipCat()
    G = nd.load(m, image_shape=(2, 2))
    rf = A.receptive_fields(G, G.n_layers - 1)  # (2 outputs, 2, 2)
    linear_map = m(torch.eye(4)).detach().numpy()  # (4 inputs, 2 outputs)
    np.testing.assert_allclose(rf.reshape(2, 4), linear_map.T, atol=1e-6)


def test_layer_causal_plane_names_weight_blocks_only():
    G = dag(seed=3)
    o = A.LayerEIOptions(n_samples=1000, sensitivity_samples=100, device="cpu")
    pts = A.layer_causal_plane(G, activations="sigmoid", options=o)
    assert [p.name for p in pts] == ["in->h", "h->out", "in->out", "h->aux"]
    assert pts[1].in_range == (0.0, 1.0)  # h is a sigmoid group


def test_structural_summary_and_compare_on_a_dag():
    G = dag(seed=4)
    S = A.structural_summary(G, threshold="quantile:0.5")
    assert S.block_names == ("in->h", "h->out", "in->out", "h->aux")
    assert set(S.blocks_frame().index) >= set(S.block_names)
    other = G.replace(layer_names=("x", "h", "y", "aux", "g"))
    with pytest.raises(ValueError, match=r"only in before: \['h->out', 'in', 'in->h'"):
        A.compare(G, other, threshold="quantile:0.5")
    c = A.compare(G, other, threshold="quantile:0.5", compare_by="position")
    assert "r.in->out" in c.shifts()
