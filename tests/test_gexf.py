"""GEXF writer: valid XML, read by networkx, viz positions/colours, escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from netsci_dl import threshold
from netsci_dl.graph import LayeredGraph
from netsci_dl.io.gexf import PALETTE, write_gexf
from netsci_dl.io.graphml import layered_layout
from tests.conftest import random_layered

VIZ = "{http://www.gexf.net/1.2draft/viz}"


@pytest.mark.parametrize("kind", ["dense", "thresholded"])
def test_networkx_reads_gexf(kind, tmp_path):
    import networkx as nx

    G = random_layered((4, 3, 2), seed=0).replace(layer_names=('a<b&"c"', "ü", "o"))
    if kind == "thresholded":
        G = threshold.apply_spec(G, "quantile:0.5")
    p = tmp_path / "g.gexf"
    write_gexf(G, p, node_attrs={"module": np.arange(G.n_nodes) % 2})
    H = nx.read_gexf(p)
    assert H.number_of_nodes() == G.n_nodes
    assert H.number_of_edges() == G.n_edges
    assert [H.nodes[str(i)]["layer_name"] for i in G.offsets[:-1]] == list(G.layer_names)
    np.testing.assert_array_equal(
        [H.nodes[str(i)]["layer"] for i in range(G.n_nodes)], G.node_layer
    )
    np.testing.assert_array_equal(
        [H.nodes[str(i)]["module"] for i in range(G.n_nodes)], np.arange(G.n_nodes) % 2
    )
    src, dst, _ = G.edges()
    w0 = G.edge_values("weight") if "weight" in G.edge_attrs else G.edge_values()
    e = [H.edges[str(s), str(d)] for s, d in zip(src, dst, strict=False)]
    np.testing.assert_array_equal(np.array([x["weight"] for x in e], np.float32), np.abs(w0))
    np.testing.assert_array_equal(np.array([x["signed_weight"] for x in e], np.float32), w0)
    np.testing.assert_array_equal([x["sign"] for x in e], np.sign(w0))
    xy = layered_layout(G)
    np.testing.assert_array_equal(
        np.array(
            [[H.nodes[str(i)]["viz"]["position"][c] for c in "xy"] for i in range(G.n_nodes)],
            np.float32,
        ),
        xy,
    )


def test_viz_color_and_signed_weight(tmp_path):
    G = LayeredGraph((2, 1), (np.array([[0.5], [-2.0]], np.float32),))
    p = tmp_path / "g.gexf"
    write_gexf(G, p, weights="signed", directed=True)
    root = ET.parse(p).getroot()
    colors = [(int(c.get("r")), int(c.get("g")), int(c.get("b"))) for c in root.iter(f"{VIZ}color")]
    assert colors == [PALETTE[0], PALETTE[0], PALETTE[1]]
    ns = "{http://www.gexf.net/1.2draft}"
    assert root.find(f"{ns}graph").get("defaultedgetype") == "directed"
    assert [float(e.get("weight")) for e in root.iter(f"{ns}edge")] == [0.5, -2.0]
    with pytest.raises(ValueError, match="weights must be"):
        write_gexf(G, tmp_path / "x.gexf", weights="log")
    with pytest.raises(TypeError, match="weight"):
        write_gexf(G, tmp_path / "x.gexf", weight="signed")  # the 0.2 keyword
    assert not (tmp_path / "x.gexf").exists()


def test_gexf_edge_cases(tmp_path):
    import networkx as nx

    for i, G in enumerate(
        [LayeredGraph((3,), ()), LayeredGraph((2, 0), (np.zeros((2, 0), np.float32),))]
    ):
        p = tmp_path / f"e{i}.gexf"
        write_gexf(G, p)
        H = nx.read_gexf(p)
        assert (H.number_of_nodes(), H.number_of_edges()) == (G.n_nodes, 0)
