"""``netsci-dl similarity``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch  # noqa: F401
from click.testing import CliRunner

from netsci_dl.cli import cli
from netsci_dl.datasets import load_digits
from netsci_dl.models.mlp import MLPConfig, train_mlp
from netsci_dl.runs.format import list_snapshots

FILES = [
    "similarity.csv",
    "similarity_summary.csv",
    "similarity.json",
    *[
        f"{s}.{e}"
        for s in (
            "similarity_to_reference",
            "similarity_map",
            "similarity_first_vs_reference",
            "similarity_within",
        )
        for e in ("png", "svg")
    ],
]


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("mlp_digits")
    d = load_digits()
    X, y = d.X[:300], d.y[:300]
    train_mlp(X, y, MLPConfig(layers=(64, 8, 6, 10), epochs=3, learning_rate=0.5), run)
    return run


def _run(args):
    return CliRunner().invoke(cli, ["-q", "similarity", *args])


def test_writes_tables_and_figures(mlp_run, tmp_path):
    out = tmp_path / "out"
    r = _run([str(mlp_run), "--data", "digits", "--probe-size", "150", "-o", str(out)])
    assert r.exit_code == 0, r.output
    for f in FILES:
        assert (out / f).stat().st_size > 0, f
    df = pd.read_csv(out / "similarity.csv")
    assert list(df.columns) == [
        "snapshot",
        "step",
        "epoch",
        "layer",
        "other_layer",
        "measure",
        "value",
        "comparison",
    ]
    assert sorted(df.step.unique()) == [0, 1, 2, 3] and set(df.measure) == {"cka"}
    last = df[(df.step == 3) & (df.comparison == "reference") & (df.layer == df.other_layer)]
    np.testing.assert_allclose(last.value, 1.0, atol=1e-6)
    summ = pd.read_csv(out / "similarity_summary.csv", dtype={"layer": str})
    assert list(summ.layer) == ["0", "2", "4"] and "converged_at_0.9" in summ
    d = json.loads((out / "similarity.json").read_text())
    assert d["settings"]["n_samples"] == 150 and d["settings"]["data"] == "digits"
    assert set(d["bottom_up"]) == {"0.9", "0.95", "0.99"}
    assert "bottom-up:" in r.output


def test_refuses_existing_outputs(mlp_run, tmp_path):
    out = tmp_path / "out"
    args = [str(mlp_run), "--probe-size", "100", "-o", str(out), "--no-within"]
    assert _run(args).exit_code == 0
    assert not (out / "similarity_within.png").exists()
    before = (out / "similarity.csv").read_bytes()
    r = _run([*args, "--measure", "svcca"])
    assert r.exit_code == 2 and "exists" in r.output
    assert (out / "similarity.csv").read_bytes() == before
    r = _run([*args, "--measure", "svcca", "--keep", "3", "--force"])
    assert r.exit_code == 0, r.output
    assert set(pd.read_csv(out / "similarity.csv").measure) == {"svcca"}


def test_checkpoints_stream_and_errors(mlp_run, tmp_path):
    snaps = [str(p) for p, _ in list_snapshots(mlp_run)]
    out = tmp_path / "o"
    r = _run([snaps[0], snaps[-1], "--probe-size", "120", "--stream", "-o", str(out)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out / "similarity.csv")
    assert df.snapshot.nunique() == 2
    r = _run([snaps[0], "--stream", "--measure", "pwcca", "-o", str(tmp_path / "p")])
    assert r.exit_code == 2 and "stream" in r.output
    r = _run([str(tmp_path / "nope"), "-o", str(tmp_path / "q")])
    assert r.exit_code == 2 and "no such" in r.output
    r = _run([snaps[0], "--data", "cifar", "-o", str(tmp_path / "q")])
    assert r.exit_code == 2 and "--data" in r.output
    r = _run([snaps[0], "--activation-layers", "fc9", "-o", str(tmp_path / "q")])
    assert r.exit_code == 2 and "fc9" in r.output
