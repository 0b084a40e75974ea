"""``netsci-dl ei``: table, JSON, per-block, output file, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

import netsci_dl as nd
from netsci_dl.analysis.information._effective_information import effective_information
from netsci_dl.cli import cli


def _graph(tmp_path: Path) -> tuple[Path, nd.LayeredGraph]:
    rng = np.random.default_rng(0)
    G = nd.from_matrices(
        [rng.normal(0, 1, (6, 5)).astype(np.float32), rng.normal(0, 1, (5, 4)).astype(np.float32)]
    )
    p = tmp_path / "g.npz"
    nd.save(G, p)
    return p, G


def test_ei_table_and_json(tmp_path: Path) -> None:
    p, G = _graph(tmp_path)
    res = CliRunner().invoke(cli, ["ei", str(p), "--per-block"])
    assert res.exit_code == 0, res.output
    assert G.block_names[1] in res.output and "weights=abs" in res.output
    args = ["ei", str(p), "--json", "--undirected", "--weights", "none"]
    res = CliRunner().invoke(cli, [*args, "--threshold", "none"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    ref = effective_information(G, weights=None, directed=False)
    np.testing.assert_allclose(d["ei"], ref.ei)
    assert d["directed"] is False and d["weights"] == "none"
    # the default is the package's one threshold rule, "auto"
    d = json.loads(CliRunner().invoke(cli, args).output)
    H = nd.threshold.apply_spec(G, "auto")
    np.testing.assert_allclose(d["ei"], effective_information(H, weights=None, directed=False).ei)
    assert d["threshold"] == "auto"


def test_ei_threshold_and_output(tmp_path: Path) -> None:
    p, G = _graph(tmp_path)
    out = tmp_path / "ei.json"
    res = CliRunner().invoke(cli, ["ei", str(p), "--threshold", "quantile:0.5", "-o", str(out)])
    assert res.exit_code == 0, res.output
    d = json.loads(out.read_text())
    H = nd.threshold.apply_spec(G, "quantile:0.5")
    np.testing.assert_allclose(d["ei"], effective_information(H).ei)
    assert d["threshold"] == "quantile:0.5"
    res = CliRunner().invoke(cli, ["ei", str(p), "-o", str(out)])
    assert res.exit_code == 2 and "exists" in res.output
    res = CliRunner().invoke(cli, ["ei", str(p), "-o", str(out), "--force", "--weights", "pos"])
    assert res.exit_code == 0 and json.loads(out.read_text())["weights"] == "pos"


def test_ei_bad_input_no_file(tmp_path: Path) -> None:
    p, _ = _graph(tmp_path)
    out = tmp_path / "bad.json"
    res = CliRunner().invoke(cli, ["ei", str(p), "--threshold", "nonsense:1", "-o", str(out)])
    assert res.exit_code == 2 and not out.exists()
    res = CliRunner().invoke(cli, ["ei", str(tmp_path / "missing.npz")])
    assert res.exit_code == 2
