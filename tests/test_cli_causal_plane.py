"""``netsci-dl causal-plane``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch  # noqa: F401
from click.testing import CliRunner

from netsci_dl.cli import cli
from netsci_dl.models.mlp import MLPConfig, train_mlp
from netsci_dl.models.train import list_snapshots

FAST = [
    "--bins",
    "4",
    "--ei-samples",
    "1000",
    "--sensitivity-samples",
    "100",
    "--threads",
    "1",
    "--device",
    "cpu",
]
FILES = [
    "trajectory.csv",
    "trajectory.json",
    "causal_plane.png",
    "causal_plane.svg",
    "ei_vs_step.png",
    "ei_vs_step.svg",
]


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("mlp_run")
    rng = np.random.default_rng(0)
    X = rng.random((50, 4)).astype(np.float32)
    train_mlp(
        X, (X[:, 0] > 0.5).astype(int), MLPConfig(layers=(4, 3, 2), epochs=3, snapshot_every=1), run
    )
    return run


def test_writes_files(mlp_run, tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["causal-plane", str(mlp_run), "-o", str(out), *FAST])
    assert r.exit_code == 0, r.output
    for f in FILES:
        assert (out / f).stat().st_size > 0
    d = json.loads((out / "trajectory.json").read_text())
    assert [s["step"] for s in d["snapshots"]] == [0, 1, 2, 3]
    assert d["settings"]["bins"] == 4 and d["settings"]["n_samples"] == 1000
    assert "path lengths" in r.output
    # existing outputs need --force
    r = CliRunner().invoke(cli, ["causal-plane", str(mlp_run), "-o", str(out), *FAST])
    assert r.exit_code == 2 and "exists" in r.output
    r = CliRunner().invoke(cli, ["causal-plane", str(mlp_run), "-o", str(out), "--force", *FAST])
    assert r.exit_code == 0, r.output


def test_checkpoint_list(mlp_run, tmp_path):
    paths = [str(p) for p, _ in list_snapshots(mlp_run)][::2]
    r = CliRunner().invoke(cli, ["causal-plane", *paths, "-o", str(tmp_path / "o"), *FAST])
    assert r.exit_code == 0, r.output
    d = json.loads((tmp_path / "o" / "trajectory.json").read_text())
    assert [s["step"] for s in d["snapshots"]] == [0, 2]


def test_bad_input(tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["causal-plane", str(tmp_path / "missing"), "-o", str(out), *FAST])
    assert r.exit_code == 2 and not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    r = CliRunner().invoke(cli, ["causal-plane", str(empty), "-o", str(out), *FAST])
    assert r.exit_code == 2 and "no checkpoints" in r.output and not out.exists()
