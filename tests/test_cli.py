"""CLI: `info`, `export`, `demo`, and every bad input -> one stderr line, exit 2, no file."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from click.testing import CliRunner

import netsci_dl as nd
from netsci_dl.cli import cli


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4), nn.BatchNorm1d(4))
    path = tmp_path / "model.pt"
    torch.save(m.state_dict(), path)
    return path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_info(ckpt):
    r = run("info", ckpt)
    assert r.exit_code == 0, r.output
    assert "graph: 28 nodes in 3 groups, 160 edges in 2 blocks (a chain)" in r.output
    assert "input -> 0: weight 16x8 (128 edges)" in r.output and "0 -> 2: weight 8x4" in r.output
    assert "3.weight" in r.output and "normalisation" in r.output
    r = run("info", ckpt, "--json")
    assert r.exit_code == 0
    assert '"layer_sizes": [\n    16,' in r.output


def test_export_npz_and_threshold(ckpt, tmp_path):
    out = tmp_path / "g.npz"
    r = run("export", ckpt, "-o", out)
    assert r.exit_code == 0, r.output
    G = nd.load(out)
    assert G.layer_sizes == (16, 8, 4)
    out2 = tmp_path / "h.npz"
    r = run("export", ckpt, "-o", out2, "--threshold", "quantile:0.9", "--layers", "^0$")
    assert r.exit_code == 0, r.output
    H = nd.load(out2)
    assert H.layer_sizes == (16, 8) and H.n_edges == 13
    assert H.meta["thresholds"][0]["rule"] == "quantile"
    # info on a saved graph summarises it
    r = run("info", out2)
    assert r.exit_code == 0 and "unweighted" in r.output


def _bad_inputs(tmp_path, ckpt):
    sd = torch.load(ckpt, weights_only=True)
    nan = dict(sd)
    nan["2.weight"] = sd["2.weight"].clone()
    nan["2.weight"][1, 1] = float("nan")
    torch.save(nan, tmp_path / "nan.pt")
    torch.save({"a.weight": torch.ones(3, 4, 5, 1, 1, 1)}, tmp_path / "dims.pt")
    torch.save({"a.weight": torch.ones(3, 4), "b.weight": torch.ones(2, 5)}, tmp_path / "chain.pt")
    data = ckpt.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 3])
    (tmp_path / "text.pt").write_text("not a checkpoint")
    (tmp_path / "exists.npz").write_bytes(b"old")
    return [
        (["export", tmp_path / "nan.pt"], "1 NaN"),
        (["export", tmp_path / "dims.pt", "--layers", "a,"], "not weight matrices"),
        (["export", tmp_path / "chain.pt"], "broken shape chain"),
        (["export", ckpt, "--layers", "nomatch"], "matches no weight"),
        (["export", ckpt, "--threshold", "abs:1000"], "leaves no edge"),
        (["export", ckpt, "--threshold", "bogus"], "not understood"),
        (["export", tmp_path / "cut.pt"], "truncated"),
        (["export", tmp_path / "text.pt"], "not a readable torch checkpoint"),
        (["export", tmp_path / "missing.pt"], "no such file"),
        (["export", ckpt, "--image-shape", "4xz"], "image-shape"),
    ]


def test_bad_inputs_exit_2_no_file(ckpt, tmp_path):
    for args, msg in _bad_inputs(tmp_path, ckpt):
        out = tmp_path / "out.npz"
        r = run(*args, "-o", out)
        assert r.exit_code == 2, (args, r.output)
        assert msg in r.output, (args, r.output)
        assert r.output.count("\n") == 1, r.output  # one line
        assert not out.exists(), args
        assert not list(tmp_path.glob(".out.npz*")), "temporary file left behind"


def test_existing_output_needs_force(ckpt, tmp_path):
    out = tmp_path / "g.npz"
    out.write_bytes(b"old")
    r = run("export", ckpt, "-o", out)
    assert r.exit_code == 2 and "--force" in r.output
    assert out.read_bytes() == b"old"
    r = run("export", ckpt, "-o", out, "--force", "--threshold", "none")
    assert r.exit_code == 0
    assert nd.load(out).n_edges == 16 * 8 + 8 * 4
    r = run("export", ckpt, "-o", out, "--force")  # the default: auto:0.95
    assert r.exit_code == 0
    H = nd.load(out)
    assert H.n_edges == 8 and H.meta["thresholds"][-1]["q"] == 0.95


def test_info_bad_file(tmp_path):
    (tmp_path / "x.safetensors").write_bytes(b"junk")
    r = run("info", tmp_path / "x.safetensors")
    assert r.exit_code == 2 and "safetensors" in r.output
