"""Conversions: degrees, strengths and edge sets agree across networkx, igraph, graph-tool, scipy."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import netsci_dl as nd
from netsci_dl import threshold
from netsci_dl.convert import from_networkx, to_graph_tool, to_igraph, to_networkx, to_scipy_sparse
from netsci_dl.graph import LayeredGraph
from tests.conftest import random_layered

try:
    import graph_tool.all as gt
except ImportError:  # pragma: no cover
    gt = None


def _views(G, directed):
    """(edge set, degree, strength) per library, node ids = global ids."""
    out = {}
    A = to_scipy_sparse(G, directed=directed).tocoo()
    deg_axis = 1
    out["scipy"] = (
        {(int(a), int(b)) for a, b in zip(A.row, A.col, strict=False) if directed or a < b},
        np.diff(to_scipy_sparse(G, directed=directed, fmt="csr").indptr),
        np.asarray(to_scipy_sparse(G, directed=directed).sum(axis=deg_axis)).ravel(),
    )
    H = to_networkx(G, directed=directed)
    key = (lambda a, b: (a, b)) if directed else (lambda a, b: (min(a, b), max(a, b)))
    nodes = range(G.n_nodes)
    deg = H.out_degree if directed else H.degree
    out["networkx"] = (
        {key(a, b) for a, b in H.edges()},
        np.array([deg(i) for i in nodes]),
        np.array([deg(i, weight="weight") for i in nodes]),
    )
    g = to_igraph(G, directed=directed)
    mode = "out" if directed else "all"
    out["igraph"] = (
        {key(a, b) for a, b in g.get_edgelist()},
        np.array(g.degree(mode=mode)),
        np.array(g.strength(mode=mode, weights="weight")),
    )
    if gt is not None:
        t = to_graph_tool(G, directed=directed)
        e = t.get_edges()
        vs = t.get_vertices()
        out["graph_tool"] = (
            {key(int(a), int(b)) for a, b in e},
            t.get_out_degrees(vs) if directed else t.get_total_degrees(vs),
            t.get_out_degrees(vs, eweight=t.ep["weight"])
            if directed
            else t.get_total_degrees(vs, eweight=t.ep["weight"]),
        )
    return out


def _check_all(G, directed):
    views = _views(G, directed)
    ref_e, ref_d, ref_s = views["scipy"]
    src, dst, _ = G.edges()
    assert ref_e == set(zip(src.tolist(), dst.tolist(), strict=False))
    for name, (e, d, s) in views.items():
        assert e == ref_e, name
        np.testing.assert_array_equal(d, ref_d, err_msg=name)
        np.testing.assert_allclose(s, ref_s, rtol=1e-5, atol=1e-5, err_msg=name)


@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    seed=st.integers(0, 1000),
    p=st.sampled_from([None, 0.3, 0.7]),
    directed=st.booleans(),
)
@settings(max_examples=20, deadline=None)
def test_all_targets_agree(sizes, seed, p, directed):
    _check_all(random_layered(tuple(sizes), seed=seed, sparse_p=p), directed)


def test_thresholded_uses_original_weights():
    G = threshold.apply_spec(random_layered((5, 4, 3), seed=3), "quantile:0.6")
    _check_all(G, False)
    H = to_networkx(G)
    s, d, _ = G.edges()
    w = G.edge_values("weight")
    assert [
        H.edges[a, b]["weight"] for a, b in zip(s[:3].tolist(), d[:3].tolist(), strict=False)
    ] == w[:3].tolist()
    g = to_igraph(G)
    np.testing.assert_array_equal(np.array(g.es["sign"]), np.sign(w))
    np.testing.assert_array_equal(np.array(g.es["abs_weight"], np.float32), np.abs(w))


def test_node_attributes_carried():
    G = random_layered((3, 2), seed=0)
    G = G.replace(node_attrs={"bias": np.arange(5, dtype=np.float32)}, layer_names=("in", "out"))
    extra = {"module": np.array([0, 1, 1, 0, 2]), "tag": np.array(list("abcde"))}
    H = to_networkx(G, node_attrs=extra)
    assert H.nodes[4] == {
        "layer": 1,
        "layer_name": "out",
        "index": 1,
        "depth": 1,
        "bias": 4.0,
        "module": 2,
        "tag": "e",
    }
    g = to_igraph(G, node_attrs=extra)
    assert g.vs["layer_name"] == ["in"] * 3 + ["out"] * 2
    assert g.vs["tag"] == list("abcde")
    if gt is not None:
        t = to_graph_tool(G, node_attrs=extra)
        np.testing.assert_array_equal(t.vp["layer"].a, G.node_layer)
        np.testing.assert_array_equal(t.vp["bias"].a, G.node_attrs["bias"])
        assert list(t.vp["tag"]) == list("abcde")
    with pytest.raises(ValueError, match="module"):
        to_igraph(G, node_attrs={"module": np.ones(2)})


def test_scipy_weight_options():
    G = LayeredGraph((2, 1), (np.array([[0.5], [-2.0]], np.float32),), meta={"directed": True})
    np.testing.assert_array_equal(to_scipy_sparse(G).toarray()[:, 2], [0.5, -2.0, 0])
    np.testing.assert_array_equal(to_scipy_sparse(G, weights="abs").toarray()[:, 2], [0.5, 2.0, 0])
    np.testing.assert_array_equal(to_scipy_sparse(G).sign().toarray()[:, 2], [1, -1, 0])
    np.testing.assert_array_equal(to_scipy_sparse(G, weights=None).toarray()[:, 2], [1, 1, 0])
    for old in ("log", "weight", "sign"):  # "weight" and "sign": the 0.2 names
        with pytest.raises(ValueError, match="weights"):
            to_scipy_sparse(G, weights=old)


def test_from_networkx_round_trip():
    G = random_layered((4, 3, 2), seed=5, sparse_p=0.5)
    H = to_networkx(G, directed=False)
    # shuffle insertion order; the index attribute restores the order
    H2 = nx.Graph()
    H2.add_nodes_from(sorted(H.nodes(data=True), key=lambda t: -t[0]))
    H2.add_edges_from((b, a, d) for a, b, d in H.edges(data=True))
    back = from_networkx(H2)
    assert back.layer_sizes == G.layer_sizes
    for b in range(2):
        np.testing.assert_array_equal(back.dense_block(b), G.dense_block(b))


def test_from_networkx_errors_and_order():
    H = nx.Graph()
    H.add_nodes_from([("b", {"layer": 0}), ("a", {"layer": 0}), ("c", {"layer": 1})])
    H.add_edge("a", "c", w=2.0)
    G = from_networkx(H, weight="w")
    np.testing.assert_array_equal(G.dense_block(0), [[2.0], [0.0]])  # "a" sorts first
    H.add_node("d", layer=2)
    H.add_edge("a", "d")  # a skip edge, layer 0 -> 2: a block between non-consecutive groups
    S = from_networkx(H)
    assert (S.block_src, S.block_dst) == ((0, 0), (1, 2)) and not S.is_chain
    H.add_node("f", layer=1)
    H.add_edge("c", "f")
    with pytest.raises(ValueError, match="same layer"):
        from_networkx(H)
    H.remove_edge("c", "f")
    H.add_node("e")
    with pytest.raises(ValueError, match="layer"):
        from_networkx(H)


def test_dag_round_trip_through_networkx_keeps_blocks_and_kinds():
    G = nd.LayeredGraph(
        (3, 2, 2),
        (
            np.array([[1, 2], [3, 4], [5, 6]], np.float32),
            np.array([[1, -1], [2, -2]], np.float32),
            sp.csr_array(np.array([[0, 0], [0, 0], [7, 0]], np.float32)),
        ),
        block_src=(0, 1, 0),
        block_dst=(1, 2, 2),
    )
    H = to_networkx(G, directed=True)
    assert H.nodes[3]["depth"] == 1 and H.edges[4, 5]["block_kind"] == "weight"
    B = from_networkx(H)
    pairs = {(s, d): b for b, (s, d) in enumerate(zip(B.block_src, B.block_dst))}
    assert set(pairs) == {(0, 1), (1, 2), (0, 2)}
    for b, (s, d) in enumerate(zip(G.block_src, G.block_dst)):
        np.testing.assert_array_equal(B.dense_block(pairs[s, d]), G.dense_block(b))
