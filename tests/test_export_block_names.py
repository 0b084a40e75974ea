"""One name per block (issue 23): two blocks between the same two groups (a weight layer and a skip
into one add: ``y = fc(h) + h``) get distinct, stable names, and every consumer of block names
(the report's panels and blocks.csv, ``info``, GraphML/GEXF read back, the per-block cut's
table, the comparison of two graphs) holds one block per name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
from click.testing import CliRunner

import netsci_dl as nd
from netsci_dl.cli import cli
from netsci_dl.io.write_graph import write
from tests.test_report_dag import _cheap_causal_plane, _check_panels, _report


class SkipIntoLinear(nn.Module):
    """``a = fc1(h) + fc2(h)``: two Linear layers from one group into one add, summed into one
    block (one map between the same units); ``out(fc(a) + a)``: the weights of ``fc`` and the
    skip both join ``fc1`` -> ``fc``, two blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.inp, self.fc, self.out = nn.Linear(3, 4), nn.Linear(4, 4), nn.Linear(4, 2)
        self.fc1, self.fc2 = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.inp(x))
        a = torch.relu(self.fc1(h) + self.fc2(h))
        return self.out(torch.relu(self.fc(a) + a))


def _graph() -> nd.LayeredGraph:
    torch.manual_seed(2)
    return nd.load(SkipIntoLinear().eval(), example_input=torch.randn(1, 3))


def test_two_blocks_between_the_same_groups_have_distinct_names():
    G = _graph()
    pairs = list(zip(G.block_src, G.block_dst))
    shared = [b for b, p in enumerate(pairs) if pairs.count(p) > 1]
    assert len(shared) == 2, (G.block_names, G.block_kinds)  # the weight and the skip
    assert len(set(G.block_names)) == G.n_blocks, G.block_names
    w = next(b for b in shared if G.block_kinds[b] == "weight")
    i = next(b for b in shared if G.block_kinds[b] == "identity")
    assert G.block_names[w] == "fc1->fc" and G.block_names[i] == "fc1->fc [identity]"
    np.testing.assert_array_equal(G.dense_block(i), np.eye(4))


def test_two_linears_from_one_group_into_one_add_are_one_block():
    """``fc1(h) + fc2(h)``: one block ``inp->fc1`` whose weights are the sum (exact: the map
    from ``h`` to the add)."""
    G = _graph()
    torch.manual_seed(2)
    m = SkipIntoLinear().eval()
    b = G.block_names.index("inp->fc1")
    W = (m.fc1.weight + m.fc2.weight).detach().numpy().T
    np.testing.assert_allclose(G.dense_block(b), W, rtol=1e-6)
    assert G.layer_names == ("input", "inp", "fc1", "fc", "out")


@pytest.mark.parametrize("fmt", ["graphml", "npz"])
def test_names_survive_the_files(tmp_path, fmt):
    G = _graph()
    path = tmp_path / f"g.{fmt}"
    write(G, path)
    H = nd.load(path)
    assert H.block_names == G.block_names and H.block_kinds == G.block_kinds


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_xml_metadata_names_each_block_once(tmp_path, fmt):
    """The graph-level metadata of GraphML and GEXF (what Gephi or networkx users read) lists
    the blocks' names, one per block, in the order of their kinds and groups."""
    import json
    import xml.etree.ElementTree as ET

    G = _graph()
    path = tmp_path / f"g.{fmt}"
    write(G, path)
    texts = [e.text for e in ET.parse(path).iter() if e.text and '"block_names"' in e.text]
    assert len(texts) == 1, texts
    meta = json.loads(texts[0][texts[0].index("{") :])  # GEXF: "netsci_dl {...}" keywords
    assert meta["block_names"] == list(G.block_names)
    assert len(set(meta["block_names"])) == len(meta["block_kinds"]) == G.n_blocks


def test_report_and_info_hold_one_block_per_name(tmp_path, monkeypatch):
    _cheap_causal_plane(monkeypatch)
    G = _graph()
    folder, drawn = _report(G, tmp_path / "r")
    _check_panels(G, folder, drawn)  # every panel is the row of blocks.csv it names
    blocks = pd.read_csv(folder / "blocks.csv", index_col=0)
    assert blocks.index.is_unique, list(blocks.index)
    assert "fc1->fc" in blocks.index and "fc1->fc [identity]" not in blocks.index
    page = (folder / "index.html").read_text()
    assert "fc1-&gt;fc [identity]" in page or "fc1->fc [identity]" in page
    path = tmp_path / "g.npz"
    write(G, path)
    r = CliRunner().invoke(cli, ["info", str(path)])
    assert r.exit_code == 0, r.output
    for name in G.block_names:
        assert name in r.output.replace("-&gt;", "->"), (name, r.output)


def test_comparison_pairs_blocks_by_their_own_names():
    G = _graph()
    c = nd.compare(G, G, threshold="quantile:0.5")
    weight = tuple(n for n, k in zip(G.block_names, G.block_kinds) if k == "weight")
    assert tuple(c.before.block_names) == weight == tuple(c.after.block_names)
