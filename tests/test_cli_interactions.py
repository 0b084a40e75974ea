"""``netsci-dl interactions``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from netsci_dl.cli import cli
from netsci_dl.datasets import load_digits
from netsci_dl.models.mlp import MLPConfig, build_mlp, train_mlp

FAST = ["--players", "2x2", "--explain", "3", "--iterations", "50", "--device", "cpu"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlp_digits")
    d = load_digits()
    cfg = MLPConfig(layers=(64, 8, 10), epochs=2, snapshot_every=1, batch_size=64)
    train_mlp(d.X[:300], d.y[:300], cfg, folder, image_shape=(8, 8), data_name="digits")
    return folder


def test_run_folder_writes_every_output(run, tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["interactions", str(run), "-o", str(out), *FAST])
    assert r.exit_code == 0, r.output
    for f in [
        "interactions.csv",
        "summary.json",
        "strength_by_order.csv",
        "layer_changes.csv",
        "strength_by_order.png",
        "strength_by_order.svg",
        "layer_changes.png",
        "top_interactions_sample0.png",
    ]:
        assert (out / f).stat().st_size > 0, f
    df = pd.read_csv(out / "interactions.csv")
    # the hidden layer "0" (taken after its sigmoid) and the output: 2 layers x 3 samples x
    # 16 sets x (and, or); the last Linear layer is the output itself, not probed again
    assert len(df) == 2 * 3 * 16 * 2
    assert set(df.layer.astype(str)) == {"0", "output"}
    doc = json.loads((out / "summary.json").read_text())
    assert doc["n_players"] == 4 and doc["n_samples"] == 3 and len(doc["sample_indices"]) == 3
    assert doc["settings"]["split"]["iterations"] == 50
    assert doc["bit_order"].startswith("player i is bit i")
    s = pd.read_csv(out / "strength_by_order.csv")
    assert len(s) == 2 * 5
    assert "salient fraction" in r.output
    # the values are the model's: v(N) of the output = log-odds on the clean sample
    from netsci_dl.models.load import load_model

    net = load_model(run / "model.safetensors")
    i = doc["sample_indices"][0]
    d = load_digits()
    with torch.no_grad():
        z = net(torch.as_tensor(d.X[i : i + 1])).double().numpy()[0]
        z0 = net(torch.zeros(1, 64)).double().numpy()[0]
    t = d.y[i]

    def lo(z):
        return z[t] - np.log(np.exp(np.delete(z, t)).sum())

    row = df[(df.layer.astype(str) == "output") & (df["sample"] == 0) & (df.set == 15)]
    assert row.v.iloc[0] == pytest.approx(lo(z) - lo(z0), rel=1e-5)


def test_refuses_to_overwrite_and_snapshots(run, tmp_path):
    out = tmp_path / "out"
    args = ["interactions", str(run), "-o", str(out), *FAST, "--snapshots", "--no-plots"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    sc = pd.read_csv(out / "snapshot_changes.csv")
    # snapshots at epochs 0, 1, 2 and the final model: 3 consecutive pairs x 2 layers x 5 orders
    assert len(sc) == 3 * 2 * 5
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and "exists" in r.output
    assert CliRunner().invoke(cli, [*args, "--force"]).exit_code == 0
    # the snapshots in two worker processes: the same table
    par = tmp_path / "par"
    r = CliRunner().invoke(cli, [*args[:3], str(par), *args[4:], "--jobs", "2"])
    assert r.exit_code == 0, r.output
    a, b = (pd.read_csv(d / "interactions.csv") for d in (out, par))
    pd.testing.assert_frame_equal(a.drop(columns="v"), b.drop(columns="v"))
    np.testing.assert_allclose(b["v"], a["v"], rtol=1e-5, atol=1e-6)


def test_checkpoint_file_and_bad_input(tmp_path):
    import json

    from safetensors.torch import save_file

    net = build_mlp((64, 5, 10), seed=1)
    path = tmp_path / "net.safetensors"
    meta = {"netsci_dl": json.dumps({"model_kind": "mlp", "layers": [64, 5, 10]})}
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path), metadata=meta)
    bare = tmp_path / "bare.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(bare))
    r = CliRunner().invoke(cli, ["interactions", str(bare), "-o", str(tmp_path / "b"), *FAST])
    assert r.exit_code == 2 and "cannot tell which model it holds" in r.output
    out = tmp_path / "o"
    r = CliRunner().invoke(cli, ["interactions", str(path), "-o", str(out), *FAST, "--no-plots"])
    assert r.exit_code == 0, r.output
    assert (out / "summary.json").exists() and not (out / "strength_by_order.png").exists()
    r = CliRunner().invoke(
        cli, ["interactions", str(path), "-o", str(tmp_path / "p"), "--players", "3by3"]
    )
    assert r.exit_code == 2 and "--players" in r.output
    r = CliRunner().invoke(
        cli, ["interactions", str(path), "-o", str(tmp_path / "q"), "--sample-shape", "1x7x7"]
    )
    assert r.exit_code == 2 and "sample shape 1x7x7" in r.output


@pytest.mark.parametrize(
    ("extra", "msg"),
    [
        (["--explain", "0"], "explain=0"),
        (["--explain", "-1"], "explain=-1"),
        (["--explain", "10000000000"], "explain=10000000000"),
        (["--seed", "-1"], "seed=-1"),
    ],
)
def test_bad_counts_are_refused_before_the_output_folder(run, tmp_path, extra, msg):
    """Issue 28 (2, 3): --explain 0/-1 were accepted (silently 1), 1e10 ran without end,
    --seed -1 was an internal error; each is now exit 2 naming the value, no folder."""
    out = tmp_path / "o"
    r = CliRunner().invoke(
        cli, ["interactions", str(run), "-o", str(out), "--players", "2x2", *extra]
    )
    assert r.exit_code == 2 and msg in r.output, r.output
    assert not out.exists()
