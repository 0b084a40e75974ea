"""``netsci-dl export --format graphml|graphml.gz|gexf|npz``, ``--directed``, ``--node-attrs``."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from netsci_dl.cli import cli
from netsci_dl.io.graphml import read_graphml


@pytest.fixture
def model_pt(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    p = tmp_path / "model.pt"
    torch.save(net.state_dict(), p)
    return p


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_export_graphml_thresholded(model_pt, tmp_path):
    out = tmp_path / "net.graphml"
    r = run("export", model_pt, "--format", "graphml", "-o", out, "--threshold", "quantile:0.95")
    assert r.exit_code == 0, r.output
    H = nx.read_graphml(out)
    assert H.number_of_nodes() == 14
    assert H.number_of_edges() == 3
    G = read_graphml(out)
    assert G.layer_sizes == (6, 5, 3)
    assert G.meta["thresholds"][0]["rule"]


@pytest.mark.parametrize("suffix", [".graphml", ".graphml.gz", ".gexf", ".npz"])
def test_export_formats_from_suffix(model_pt, tmp_path, suffix):
    out = tmp_path / f"net{suffix}"
    r = run("export", model_pt, "-o", out, "--undirected", "--threshold", "none")
    assert r.exit_code == 0, r.output
    assert out.exists()
    if suffix == ".gexf":
        assert not nx.read_gexf(out).is_directed()
    elif suffix.startswith(".graphml"):
        G = read_graphml(out)
        assert G.n_edges == 45
        assert G.meta["directed"] is False


def test_directed_flag(model_pt, tmp_path):
    out = tmp_path / "net.graphml"
    assert run("export", model_pt, "-o", out, "--directed").exit_code == 0
    assert nx.read_graphml(out).is_directed()


def test_node_attrs_csv(model_pt, tmp_path):
    csv = tmp_path / "nodes.csv"
    rows = ["node,layer,degree,module"] + [f"{i},0,{i % 3},m{i % 2}" for i in range(14)]
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "net.graphml"
    r = run("export", model_pt, "-o", out, "--node-attrs", csv)
    assert r.exit_code == 0, r.output
    H = nx.read_graphml(out)
    assert [H.nodes[f"n{i}"]["degree"] for i in range(14)] == [i % 3 for i in range(14)]
    assert H.nodes["n3"]["module"] == "m1"
    np.testing.assert_array_equal(
        [H.nodes[f"n{i}"]["layer"] for i in range(14)], [0] * 6 + [1] * 5 + [2] * 3
    )
    short = tmp_path / "short.npz"
    np.savez(short, degree=np.arange(3))
    out2 = tmp_path / "net2.graphml"
    r = run("export", model_pt, "-o", out2, "--node-attrs", short)
    assert r.exit_code == 2
    assert "degree" in r.output
    assert not out2.exists()


def test_bad_format_and_existing_output(model_pt, tmp_path):
    out = tmp_path / "net.graphml"
    r = run("export", model_pt, "--format", "pajek", "-o", out)
    assert r.exit_code == 2
    assert "pajek" in r.output
    assert not out.exists()
    assert run("export", model_pt, "-o", out).exit_code == 0
    before = out.read_bytes()
    r = run("export", model_pt, "-o", out, "--threshold", "quantile:0.5")
    assert r.exit_code == 2
    assert "exists" in r.output
    assert out.read_bytes() == before
    assert (
        run("export", model_pt, "-o", out, "--force", "--threshold", "quantile:0.5").exit_code == 0
    )
