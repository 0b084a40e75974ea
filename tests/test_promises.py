"""The promises of the graph and the exporters (Issue "Every promise holds", items 1-4)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn as nn
from click.testing import CliRunner

import netsci_dl as nd
from netsci_dl.cli import cli
from netsci_dl.graph import LayeredGraph


def test_frozen_means_frozen_for_the_exporters():
    W = np.ones((3, 2), np.float32)
    G = nd.from_matrices([W])
    W[0, 0] = 99.0  # the caller's array changes; the exported graph does not
    assert G.blocks[0][0, 0] == 1.0
    for arr in (G.blocks[0], *G.edges(), G.edge_values()):
        assert not arr.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        G.blocks[0][0, 0] = 5.0
    H = nd.threshold.top_k(G, 1)
    assert (
        not H.blocks[0].data.flags.writeable and not H.edge_attrs["weight"][0].data.flags.writeable
    )
    net = nn.Linear(3, 2)
    Gm = nd.load(net)
    with torch.no_grad():
        net.weight.mul_(0)
    assert np.abs(Gm.blocks[0]).sum() > 0


def test_canonical_csr_dtypes_and_json_meta():
    dup = sp.csr_array(
        (np.ones(2, np.float32), np.array([1, 1]), np.array([0, 2, 2])), shape=(2, 2)
    )
    with pytest.raises(ValueError, match="duplicate entries"):
        LayeredGraph((2, 2), (dup,))
    unsorted = sp.csr_array(
        (np.array([1.0, 2.0], np.float32), np.array([1, 0]), np.array([0, 2, 2])), shape=(2, 2)
    )
    G = LayeredGraph((2, 2), (unsorted,))
    assert G.blocks[0].indices.tolist() == [0, 1] and G.blocks[0].data.tolist() == [2.0, 1.0]
    assert unsorted.indices.tolist() == [1, 0]  # the caller's matrix is not touched
    with pytest.raises(ValueError, match="dtype int64"):
        LayeredGraph((2, 2), (np.ones((2, 2), np.int64),))
    with pytest.raises(ValueError, match=r"meta\['x'\] is not JSON-able"):
        LayeredGraph((2, 2), (np.ones((2, 2), np.float32),), meta={"x": np.float32(1.0)})
    bad = sp.csr_array(
        (np.ones(1, np.float32), np.array([5]), np.array([0, 1, 1])), shape=(2, 2), copy=False
    )
    with pytest.raises(ValueError, match="column index"):
        LayeredGraph((2, 2), (bad,))


def test_cast_then_check_and_bias_mask():
    with pytest.raises(ValueError, match=r"Inf values after conversion to float32"):
        nd.from_matrices([np.array([[1e39, 1.0]])])
    G = nd.from_matrices([np.ones((2, 2))], biases=[np.array([0.5, -1.0])])
    assert G.node_attrs["has_bias"].tolist() == [False, False, True, True]
    with pytest.raises(ValueError, match="bias.*NaN"):
        nd.from_matrices([np.ones((2, 2))], biases=[np.array([np.nan, 1.0])])


@pytest.fixture
def partial_bias_ckpt(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3, bias=False))
    path = tmp_path / "partial.pt"
    torch.save(net.state_dict(), path)
    return path


def test_partial_biases_through_ei_causal_plane_and_analyze(partial_bias_ckpt, tmp_path):
    r = CliRunner().invoke(cli, ["ei", str(partial_bias_ckpt), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["n_nodes"] == 13
    cp = tmp_path / "cp"
    r = CliRunner().invoke(
        cli,
        [
            "causal-plane",
            str(partial_bias_ckpt),
            "-o",
            str(cp),
            "--ei-samples",
            "2000",
            "--sensitivity-samples",
            "200",
            "--activation",
            "relu",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = (cp / "trajectory.csv").read_text().splitlines()
    assert len(rows) == 1 + 2  # header + one row per layer block
    rep = tmp_path / "rep"
    r = CliRunner().invoke(cli, ["analyze", str(partial_bias_ckpt), "-o", str(rep)])
    assert r.exit_code == 0, r.output
    assert "Causal plane" in (rep / "index.html").read_text()
