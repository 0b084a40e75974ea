"""LayeredGraph: structure, edges, adjacency, persistence; oracles networkx and scipy."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import netsci_dl as nd
from netsci_dl import LayeredGraph
from netsci_dl.io.npz import load_graph
from tests.conftest import random_layered


def test_offsets_edges_dense():
    G = random_layered((3, 2, 4))
    np.testing.assert_array_equal(G.offsets, [0, 3, 5, 9])
    assert G.n_nodes == 9
    assert G.n_edges == 3 * 2 + 2 * 4
    src, dst, w = G.edges()
    assert src.dtype == dst.dtype == np.int16  # 9 nodes: the narrowest ids (test_node_ids.py)
    # oracle: nonzero positions of the matrices
    W0, W1 = G.blocks
    np.testing.assert_array_equal(w[:6], W0.ravel())
    np.testing.assert_array_equal(w[6:], W1.ravel())
    np.testing.assert_array_equal(src[:6], np.repeat(np.arange(3), 2))
    np.testing.assert_array_equal(dst[:6], np.tile(np.arange(2), 3) + 3)
    np.testing.assert_array_equal(src[6:], np.repeat(np.arange(2), 4) + 3)
    np.testing.assert_array_equal(dst[6:], np.tile(np.arange(4), 2) + 5)
    np.testing.assert_array_equal(G.edge_layer(), [0] * 6 + [1] * 8)


def test_edges_sparse_match_dense():
    Gs = random_layered((6, 5, 4), seed=3, sparse_p=0.5)
    dense = LayeredGraph(Gs.layer_sizes, tuple(b.toarray() for b in Gs.blocks))
    s, d, w = Gs.edges()
    s2, d2, w2 = dense.edges()
    keep = w2 != 0
    np.testing.assert_array_equal(s, s2[keep])
    np.testing.assert_array_equal(d, d2[keep])
    np.testing.assert_array_equal(w, w2[keep])


def test_layer_of_and_node_arrays():
    G = random_layered((3, 2, 4))
    np.testing.assert_array_equal(G.layer_of(np.arange(9)), [0, 0, 0, 1, 1, 2, 2, 2, 2])
    assert G.layer_of(4) == 1
    np.testing.assert_array_equal(G.node_layer, [0, 0, 0, 1, 1, 2, 2, 2, 2])
    np.testing.assert_array_equal(G.node_index, [0, 1, 2, 0, 1, 0, 1, 2, 3])
    with pytest.raises(ValueError, match="out of range"):
        G.layer_of(9)


def test_adjacency_matches_networkx():
    G = random_layered((4, 3, 5), seed=1, sparse_p=0.6)
    src, dst, w = G.edges()
    ref = nx.Graph()
    ref.add_nodes_from(range(G.n_nodes))
    ref.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), w.tolist()))
    A = G.adjacency()
    B = nx.to_scipy_sparse_array(ref, nodelist=range(G.n_nodes), weight="weight")
    np.testing.assert_allclose(A.toarray(), B.toarray(), rtol=1e-6)
    # degrees and strengths against networkx
    np.testing.assert_array_equal(np.diff(A.indptr), [d for _, d in ref.degree()])
    np.testing.assert_allclose(
        A.sum(axis=1), [s for _, s in ref.degree(weight="weight")], rtol=1e-5, atol=1e-6
    )
    D = G.adjacency(directed=True, weights="abs")
    np.testing.assert_allclose(D.toarray(), np.triu(np.abs(A.toarray())))
    U = G.adjacency(weights=None)
    assert set(np.unique(U.data)) == {1.0}
    np.testing.assert_array_equal(G.adjacency(weights="signed").toarray(), A.toarray())
    with pytest.raises(ValueError, match="weights must be 'signed'"):
        G.adjacency(weights="weight")  # the 0.2 name of "signed"


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    seed=st.integers(0, 1000),
    sparse=st.booleans(),
)
def test_strength_conservation(sizes, seed, sparse):
    """sum of out-strength of layer l == sum of in-strength of layer l+1 == W_l.sum()."""
    G = random_layered(tuple(sizes), seed=seed, sparse_p=0.5 if sparse else None)
    A = G.adjacency(directed=True)
    out_s = np.asarray(A.sum(axis=1)).ravel()
    in_s = np.asarray(A.sum(axis=0)).ravel()
    for l in range(len(sizes) - 1):
        total = float(G.dense_block(l).sum(dtype=np.float64))
        np.testing.assert_allclose(out_s[G.layer_slice(l)].sum(), total, atol=1e-4)
        np.testing.assert_allclose(in_s[G.layer_slice(l + 1)].sum(), total, atol=1e-4)


def test_shape_checks():
    with pytest.raises(ValueError, match=r"blocks\[0\] has shape"):
        LayeredGraph((2, 3), (np.ones((3, 2), np.float32),))
    with pytest.raises(ValueError, match="need 1 blocks"):
        LayeredGraph((2, 3), ())
    with pytest.raises(ValueError, match="convert it to csr"):
        LayeredGraph((2, 3), (sp.coo_array(np.ones((2, 3))),))
    with pytest.raises(ValueError, match="layer_names"):
        LayeredGraph((2, 3), (np.ones((2, 3)),), layer_names=("a",))
    with pytest.raises(ValueError, match="node_attrs"):
        LayeredGraph((2, 3), (np.ones((2, 3)),), node_attrs={"bias": np.ones(4)})


def test_frozen_and_meta_readonly():
    G = random_layered((2, 2))
    with pytest.raises(AttributeError):
        G.blocks = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        G.meta["x"] = 1  # type: ignore[index]
    H = G.with_meta(x=1)
    assert H.meta["x"] == 1
    assert "x" not in G.meta


def test_single_layer_and_empty():
    G = LayeredGraph((4,), ())
    assert G.n_edges == 0
    s, d, w = G.edges()
    assert len(s) == len(d) == len(w) == 0
    assert G.adjacency().shape == (4, 4)


@pytest.mark.parametrize("sparse", [False, True])
def test_save_load_roundtrip(tmp_path, sparse):
    G = random_layered((4, 3, 2), seed=2, sparse_p=0.5 if sparse else None)
    G = G.replace(
        layer_names=("in", "h<1>", "out&"),
        node_attrs={"bias": np.r_[np.full(4, np.nan), np.arange(5.0)]},
        meta={"source": "x.pt", "thresholds": [{"rule": "value", "t": 0.1}]},
    )
    if sparse:
        G = G.replace(edge_attrs={"sign": tuple(b.sign() for b in G.blocks)})
    nd.save(G, tmp_path / "g.npz")
    H = nd.load(tmp_path / "g.npz")
    assert G.equals(H)
    assert H.meta["thresholds"][0]["t"] == 0.1


def test_load_rejects_foreign_npz(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not a netsci_dl graph"):
        load_graph(tmp_path / "x.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable"):
        load_graph(tmp_path / "bad.npz")


def test_save_leaves_no_partial_file(tmp_path, monkeypatch):
    G = random_layered((3, 3))

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(RuntimeError):
        nd.save(G, tmp_path / "g.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("sizes", "dtype"),
    [
        ((20000, 12000, 767), np.int16),  # 32,767 nodes: the last count whose ids fit int16
        ((20000, 13000, 3), np.int32),  # 33,003 nodes: past int16
    ],
)
def test_edge_ids_index_and_pair_keys_do_not_overflow_on_large_graphs(sizes, dtype):
    """Ids up to and past 32767 nodes index correctly, and a pair key cast to int64 first is
    exact (in the ids' own dtype it would wrap: the docstring's rule)."""
    rng = np.random.default_rng(0)
    blocks = []
    for a, b in zip(sizes, sizes[1:]):  # sparse: a few edges per block, the last rows included
        r = np.concatenate([rng.integers(0, a, 50), [a - 1]])
        c = np.concatenate([rng.integers(0, b, 50), [b - 1]])
        M = sp.coo_array((rng.normal(size=len(r)).astype(np.float32), (r, c)), shape=(a, b))
        M.sum_duplicates()
        blocks.append(M.tocsr())
    G = LayeredGraph(sizes, tuple(blocks))
    src, dst, w = G.edges()
    assert src.dtype == dst.dtype == dtype
    assert int(dst.max()) == G.n_nodes - 1 >= 32766
    # oracle: the scipy adjacency built from each block's own (row, col) and the offsets
    A = G.adjacency(directed=True)
    np.testing.assert_array_equal(A[src, dst], w)
    np.testing.assert_array_equal(G.node_layer[src], G.edge_layer())
    key = src.astype(np.int64) * G.n_nodes + dst  # the documented arithmetic: cast first
    exact = src.astype(object) * G.n_nodes + dst.astype(object)
    np.testing.assert_array_equal(key.astype(object), exact)


def test_exported_dense_blocks_share_one_buffer_with_edge_values():
    """from_matrices stores the weights once: edges()'s w is a view of the blocks (no copy)."""
    rng = np.random.default_rng(1)
    Ws = [rng.normal(size=s).astype(np.float32) for s in [(7, 5), (5, 6), (6, 3)]]
    G = nd.from_matrices(Ws)
    _, _, w = G.edges()
    assert all(np.shares_memory(w, b) for b in G.blocks)
    assert not w.flags.writeable
    np.testing.assert_array_equal(w, np.concatenate([W.ravel() for W in Ws]))
    Ws[0][0, 0] = 99.0  # the caller's arrays stay apart from the graph
    assert G.blocks[0][0, 0] != 99.0
    # a graph of separate arrays still concatenates (a copy, same values)
    H = LayeredGraph(G.layer_sizes, tuple(np.array(b) for b in G.blocks))
    np.testing.assert_array_equal(H.edge_values(), w)
    assert not np.shares_memory(H.edge_values(), H.blocks[0])
