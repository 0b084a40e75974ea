"""``netsci-dl analyze``."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from netsci_dl.cli import cli


def _ckpt(path, seed):
    import torch

    rng = np.random.default_rng(seed)
    sd = {
        "0.weight": torch.tensor(rng.normal(size=(6, 8)), dtype=torch.float32),
        "2.weight": torch.tensor(rng.normal(size=(4, 6)), dtype=torch.float32),
    }
    torch.save(sd, path)
    return str(path)


def test_analyze_writes_report(tmp_path):
    a, b = _ckpt(tmp_path / "a.pt", 0), _ckpt(tmp_path / "b.pt", 1)
    out = tmp_path / "rep"
    r = CliRunner().invoke(
        cli, ["analyze", a, "-o", str(out), "--compare", b, "--threshold", "quantile:0.7"]
    )
    assert r.exit_code == 0, r.output
    assert "index.html" in r.output and (out / "index.html").is_file()
    s = json.loads((out / "summary.json").read_text())
    assert s["threshold"] == "quantile:0.7" and s["model"] == "a.pt"
    assert s["reference"]["name"] == "b.pt"
    # again without --force: refused, exit 2; with --force: fine
    r = CliRunner().invoke(cli, ["analyze", a, "-o", str(out)])
    assert r.exit_code == 2 and "--force" in r.output
    r = CliRunner().invoke(cli, ["analyze", a, "-o", str(out), "--force"])
    assert r.exit_code == 0, r.output


def test_analyze_bad_input(tmp_path):
    a = _ckpt(tmp_path / "a.pt", 0)
    out = tmp_path / "rep"
    r = CliRunner().invoke(cli, ["analyze", a, "-o", str(out), "--threshold", "nonsense:1"])
    assert r.exit_code == 2 and "error" in r.output
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["a.pt"]
    r = CliRunner().invoke(cli, ["analyze", str(tmp_path / "missing.pt"), "-o", str(out)])
    assert r.exit_code == 2 and not out.exists()
