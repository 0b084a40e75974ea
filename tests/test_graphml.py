"""GraphML writer/reader: round trips through networkx, igraph, graph-tool and our own reader."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import scipy.sparse as sp

from netsci_dl import threshold
from netsci_dl.graph import LayeredGraph
from netsci_dl.io.graphml import _float_tokens, layered_layout, read_graphml, write_graphml
from tests.conftest import random_layered

HOSTILE = ('a<b&"c"', "ünï©ødé λ", "x>y 'q'")


def _graph_with_bias(seed: int = 0) -> LayeredGraph:
    G = random_layered((4, 3, 2), seed=seed)
    bias = np.full(G.n_nodes, np.nan, np.float32)
    bias[4:] = np.arange(5, dtype=np.float32) - 2.5
    return G.replace(
        node_attrs={"bias": bias}, layer_names=HOSTILE, meta={"source": "t<&>.pt", "directed": True}
    )


@pytest.fixture(params=["dense", "thresholded", "sparse"])
def graph(request) -> LayeredGraph:
    G = _graph_with_bias()
    if request.param == "thresholded":
        return threshold.apply_spec(G, "quantile:0.5")
    if request.param == "sparse":
        return random_layered((5, 4, 3), seed=1, sparse_p=0.4)
    return G


def test_own_reader_round_trip(graph, tmp_path):
    p = tmp_path / "g.graphml"
    write_graphml(graph, p)
    ET.parse(p)  # valid XML
    H = read_graphml(p)
    assert H.equals(graph)


def test_gz_round_trip(graph, tmp_path):
    p = tmp_path / "g.graphml.gz"
    write_graphml(graph, p)
    with gzip.open(p) as fh:
        assert fh.read(5) == b"<?xml"
    assert read_graphml(p).equals(graph)


def test_networkx_reads(graph, tmp_path):
    import networkx as nx

    p = tmp_path / "g.graphml"
    write_graphml(graph, p, directed=False)
    H = nx.read_graphml(p)
    assert H.number_of_nodes() == graph.n_nodes
    assert H.number_of_edges() == graph.n_edges
    assert not H.is_directed()
    layer = np.array([H.nodes[f"n{i}"]["layer"] for i in range(graph.n_nodes)])
    assert all(isinstance(H.nodes[f"n{i}"]["layer"], int) for i in range(graph.n_nodes))
    np.testing.assert_array_equal(layer, graph.node_layer)
    assert [H.nodes[f"n{i}"]["layer_name"] for i in graph.offsets[:-1]] == list(graph.layer_names)
    src, dst, _ = graph.edges()
    w0 = graph.edge_values("weight") if "weight" in graph.edge_attrs else graph.edge_values()
    w = np.array([H.edges[f"n{s}", f"n{d}"]["weight"] for s, d in zip(src, dst, strict=False)])
    np.testing.assert_array_equal(w.astype(np.float32), w0)
    aw = np.array([H.edges[f"n{s}", f"n{d}"]["abs_weight"] for s, d in zip(src, dst, strict=False)])
    np.testing.assert_array_equal(aw.astype(np.float32), np.abs(w0))
    sg = np.array([H.edges[f"n{s}", f"n{d}"]["sign"] for s, d in zip(src, dst, strict=False)])
    np.testing.assert_array_equal(sg, np.sign(w0))
    assert H.graph.get("source") == graph.meta.get("source")
    assert "netsci_dl" in H.graph


def test_networkx_reads_directed_and_bias(tmp_path):
    import networkx as nx

    G = _graph_with_bias()
    p = tmp_path / "g.graphml"
    write_graphml(G, p)  # meta directed=True
    H = nx.read_graphml(p)
    assert H.is_directed()
    b = np.array([H.nodes[f"n{i}"]["bias"] for i in range(G.n_nodes)])
    np.testing.assert_array_equal(b.astype(np.float32), G.node_attrs["bias"])
    assert H.graph["source"] == "t<&>.pt"


def test_igraph_reads(graph, tmp_path):
    import igraph as ig

    p = tmp_path / "g.graphml"
    write_graphml(graph, p)
    g = ig.Graph.Read_GraphML(str(p))
    assert g.vcount() == graph.n_nodes
    assert g.ecount() == graph.n_edges
    np.testing.assert_array_equal(np.array(g.vs["layer"]), graph.node_layer)
    w0 = graph.edge_values("weight") if "weight" in graph.edge_attrs else graph.edge_values()
    np.testing.assert_array_equal(np.array(g.es["weight"]).astype(np.float32), w0)


def test_graph_tool_reads(graph, tmp_path):
    pytest.importorskip("graph_tool")
    import graph_tool.all as gt

    p = tmp_path / "g.graphml"
    write_graphml(graph, p)
    g = gt.load_graph(str(p))
    assert g.num_vertices() == graph.n_nodes
    assert g.num_edges() == graph.n_edges
    assert g.vp["layer"].value_type() == "int32_t"
    np.testing.assert_array_equal(g.vp["layer"].a, graph.node_layer)
    w0 = graph.edge_values("weight") if "weight" in graph.edge_attrs else graph.edge_values()
    e = g.get_edges([g.ep["weight"]])
    order = np.lexsort((e[:, 1], e[:, 0]))
    np.testing.assert_array_equal(e[order, 2].astype(np.float32), w0)


def test_node_attrs_types(tmp_path):
    import networkx as nx

    G = random_layered((3, 2), seed=2)
    extra = {
        "degree": np.array([2, 2, 2, 3, 3]),
        "strength": np.array([0.5, -1.25, 1e-30, 3e20, np.nan]),
        "module": np.array(["a&b", "<m>", "c", "ü", '"q"']),
        "hub": np.array([True, False, True, False, False]),
    }
    p = tmp_path / "g.graphml"
    write_graphml(G, p, node_attrs=extra)
    text = p.read_text()
    for name, typ in [
        ("degree", "long"),
        ("strength", "double"),
        ("module", "string"),
        ("hub", "boolean"),
    ]:
        assert f'attr.name="{name}" attr.type="{typ}"' in text
    H = nx.read_graphml(p)
    for k, v in extra.items():
        got = np.array([H.nodes[f"n{i}"][k] for i in range(G.n_nodes)])
        if v.dtype.kind == "f":
            np.testing.assert_array_equal(got, v)  # float64 via repr: exact
        else:
            np.testing.assert_array_equal(got, v)
    with pytest.raises(ValueError, match="degree"):
        write_graphml(G, tmp_path / "bad.graphml", node_attrs={"degree": np.ones(3)})
    with pytest.raises(ValueError, match="layer"):
        write_graphml(G, tmp_path / "bad.graphml", node_attrs={"layer": np.ones(5)})
    assert not (tmp_path / "bad.graphml").exists()


def test_float_tokens_round_trip_float32():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.normal(0, 1, 20000).astype(np.float32)
            * np.float32(10) ** rng.integers(-40, 38, 20000).astype(np.float32),
            np.array(
                [0, -0.0, 1, -1, 9.9999999e-3, 1e-45, 3.4028235e38, 1e-38, 0.1, 100], np.float32
            ),
        ]
    ).astype(np.float32)
    x = x[np.isfinite(x)]
    t, tl = _float_tokens(x)
    back = np.array([float(bytes(r[:n])) for r, n in zip(t, tl, strict=False)]).astype(np.float32)
    np.testing.assert_array_equal(back, x)
    t, tl = _float_tokens(np.array([np.nan, np.inf, -np.inf], np.float32))
    assert [bytes(r[:n]) for r, n in zip(t, tl, strict=False)] == [b"NaN", b"INF", b"-INF"]


def test_edge_cases(tmp_path):
    import networkx as nx

    single = LayeredGraph((3,), (), layer_names=(HOSTILE[0],))
    empty_layer = LayeredGraph(
        (2, 0, 1), (np.zeros((2, 0), np.float32), np.zeros((0, 1), np.float32))
    )
    no_edges = LayeredGraph((2, 2), (sp.csr_array((2, 2), dtype=np.float32),))
    for i, G in enumerate([single, empty_layer, no_edges]):
        p = tmp_path / f"e{i}.graphml"
        write_graphml(G, p)
        assert read_graphml(p).equals(G)
        H = nx.read_graphml(p)
        assert (H.number_of_nodes(), H.number_of_edges()) == (G.n_nodes, 0)


def test_float64_weights_exact(tmp_path):
    G = LayeredGraph((2, 2), (np.array([[0.1, 1 / 3], [-2e-300, 7.0]]),))
    p = tmp_path / "g.graphml"
    write_graphml(G, p)
    assert read_graphml(p).equals(G)


def test_refuses_non_graph(tmp_path):
    with pytest.raises(TypeError):
        write_graphml(np.zeros((2, 2)), tmp_path / "x.graphml")
    p = tmp_path / "x.graphml"
    p.write_text('<?xml version="1.0"?><graphml><graph/></graphml>')
    with pytest.raises(ValueError, match="netsci_dl"):
        read_graphml(p)


def test_layout_columns():
    G = random_layered((4, 2, 1), seed=0)
    xy = layered_layout(G, width=2, height=1)
    np.testing.assert_array_equal(xy[:, 0], G.node_layer.astype(np.float32))
    assert np.all(np.abs(xy[:, 1]) < 0.5)
    np.testing.assert_allclose(xy[4:6, 1], [0.25, -0.25])


@pytest.mark.parametrize("suffix", [".graphml.gz", ".gexf.gz"])
def test_gzip_bomb_is_refused_within_the_bound(tmp_path, suffix):
    """Issue 28 (4): 512 MiB of blanks in 0.5 MB of gzip; read with the cap, the reader holds at
    most about twice the bound (64 MiB floor) before refusing, never the 512 MiB."""
    import tracemalloc
    import zlib

    from netsci_dl.errors import InputError
    from netsci_dl.io._graphml_read import GZIP_FLOOR
    from netsci_dl.io.gexf import read_gexf

    read = read_gexf if "gexf" in suffix else read_graphml

    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [c.compress(b"<?xml version='1.0'?>\n<graphml>")]
    parts += [c.compress(b" " * (1 << 20)) for _ in range(512)]
    parts.append(c.flush())
    p = tmp_path / f"bomb{suffix}"
    p.write_bytes(b"".join(parts))
    assert p.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="gzip bomb"):
            read(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.5 * GZIP_FLOOR, peak


def test_gzip_multi_member_and_truncated(tmp_path):
    """Two gzip members read as their concatenation (as gzip.decompress does); a cut one is
    refused as broken."""
    from netsci_dl.errors import InputError

    G = _graph_with_bias()
    p = tmp_path / "g.graphml"
    write_graphml(G, p)
    raw = p.read_bytes()
    q = tmp_path / "two.graphml.gz"
    q.write_bytes(gzip.compress(raw[:100]) + gzip.compress(raw[100:]))
    assert read_graphml(q).equals(G)
    cut = tmp_path / "cut.graphml.gz"
    cut.write_bytes(gzip.compress(raw)[:-40])
    with pytest.raises(InputError, match="broken gzip"):
        read_graphml(cut)
