"""One long table of every measure over a run: training_measures, plot_measures, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from netsci_dl.activations._curvature import hessian_top_eigenvalue
from netsci_dl.activations._fisher import fisher_trace
from netsci_dl.analysis.information.causal_plane import LayerEIOptions
from netsci_dl.cli import cli
from netsci_dl.errors import InputError
from netsci_dl.models.load import load_model
from netsci_dl.models.mlp import MLPConfig, train_mlp
from netsci_dl.runs.format import list_snapshots
from netsci_dl.runs.measures import TrainingMeasureOptions, training_measures
from netsci_dl.runs.similarity import training_similarity
from netsci_dl.runs.trajectory import LONG_COLUMNS, ei_trajectory

EI = LayerEIOptions(n_samples=2000, sensitivity_samples=50, bins=4)
OPTS = TrainingMeasureOptions(ei=EI, lanczos_iter=8, hutchinson_probes=2)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from netsci_dl.datasets import load_digits

    folder = tmp_path_factory.mktemp("mlp_run")
    d = load_digits()
    X, y = d.X[:120], d.y[:120]
    train_mlp(X, y, MLPConfig(layers=(64, 5, 4, 10), epochs=3, learning_rate=0.5), folder)
    return folder, X[:40], y[:40]


@pytest.fixture(scope="module")
def table(run):
    folder, X, y = run
    return training_measures(folder, X, y, options=OPTS)


def test_one_long_table_of_every_family(run, table):
    folder, X, y = run
    assert list(table.columns) == [*LONG_COLUMNS, "family"]
    assert set(table.family) == {"ei", "fisher", "curvature", "similarity", "trainer"}
    labels = [p.name.removesuffix(".safetensors") for p, _ in list_snapshots(folder)]
    # snapshots in training order, each with its step and epoch
    assert list(dict.fromkeys(table.snapshot)) == labels
    assert table.groupby("snapshot", sort=False)["step"].first().tolist() == [0, 1, 2, 3]
    need = {"graph_ei", "layer_ei", "fisher_trace", "fisher_trace_share", "hessian_trace"}
    assert need | {"hessian_top_eigenvalue", "cka_to_reference", "train_loss"} <= set(table.metric)


def test_each_family_equals_its_own_entry_point(run, table):
    folder, X, y = run
    snaps = list_snapshots(folder)
    # Fisher and curvature of one snapshot, computed directly
    path, info = snaps[1]
    label = path.name.removesuffix(".safetensors")
    model = load_model(path)
    F = fisher_trace(model, X, y, kind="model_exact", batch_size=64)
    rows = table[(table.snapshot == label) & (table.metric == "fisher_trace")]
    got = dict(zip(rows.layer, rows.value))
    np.testing.assert_allclose(got["all"], F.total, rtol=1e-10)
    for name, v in F.per_layer.items():
        np.testing.assert_allclose(got[name], v, rtol=1e-10)
    H = hessian_top_eigenvalue(model, X, y, n_iter=8, seed=0)
    top = table[(table.snapshot == label) & (table.metric == "hessian_top_eigenvalue")]
    np.testing.assert_allclose(top.value.iloc[0], H.eigenvalue, rtol=1e-8)
    # the trainer's loss of that epoch, from the sidecar
    loss = table[(table.snapshot == label) & (table.metric == "train_loss")].value.iloc[0]
    np.testing.assert_allclose(loss, info["train_loss"])
    # similarity to the last snapshot
    S = training_similarity(folder, X, within=False)
    sim = table[table.metric == "cka_to_reference"].pivot(
        index="step", columns="layer", values="value"
    )
    np.testing.assert_allclose(sim[list(S.layers)].to_numpy(), S.to_reference, atol=1e-10)
    np.testing.assert_allclose(S.to_reference[-1], 1.0, atol=1e-6)
    # graph and layer EI from the weights
    T = ei_trajectory(folder, options=EI)
    ref = T.to_long_frame()
    mine = table[table.family == "ei"][LONG_COLUMNS].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, ref[LONG_COLUMNS])


def test_worker_processes_give_the_same_table(run, table):
    folder, X, y = run
    P = training_measures(folder, X, y, measures="fisher,similarity", options=OPTS, n_jobs=2)
    base = table[table.family.isin(["fisher", "similarity", "trainer"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(P[base.columns].reset_index(drop=True), base, rtol=1e-6)


def test_refusals(run, tmp_path):
    folder, X, y = run
    with pytest.raises(InputError, match="labels"):
        training_measures(folder, X, measures=("curvature",))
    with pytest.raises(InputError, match="expected some of"):
        training_measures(folder, X, y, measures=("ei", "entropy"))
    with pytest.raises(InputError, match="does not run on the probe examples"):
        training_measures(folder, X[:, :10], y, measures="fisher")
    with pytest.raises(InputError, match="fisher_kind"):
        TrainingMeasureOptions(fisher_kind="observed")
    from netsci_dl.datasets import Dataset
    from netsci_dl.models.train import TrainConfig, train_dbn

    D = (np.random.default_rng(1).random((40, 6)) < 0.4).astype(np.float32)
    dbn_run = tmp_path / "dbn"
    cfg = TrainConfig(layers=(6, 4), epochs=1, batch_size=20)
    train_dbn(Dataset(D, np.zeros(40, np.int64), (2, 3), "toy"), cfg, dbn_run, progress=False)
    with pytest.raises(InputError, match="classifier"):
        training_measures(dbn_run, D, np.zeros(40, np.int64), measures=("fisher",))
    # the weights-only and data-only families still work on a DBN
    df = training_measures(dbn_run, D, measures="similarity")
    assert set(df.metric) == {"cka_to_reference"}


def test_plot_measures(table):
    from netsci_dl.plot.measures import plot_measures

    fig = plot_measures(table, metrics=["fisher_trace", "cka_to_reference"], x="epoch")
    assert [ax.get_title() for ax in fig.axes] == ["fisher_trace", "cka_to_reference"]
    # one line per layer in the Fisher panel: the whole model and each module
    n_layers = table[table.metric == "fisher_trace"].layer.nunique()
    assert len(fig.axes[0].lines) == n_layers
    with pytest.raises(ValueError, match="not in the table"):
        plot_measures(table, metrics=["fisher_trace", "nope"])


def test_cli(run, tmp_path):
    folder, _, _ = run
    out = tmp_path / "m"
    args = ["measures", str(folder), "-o", str(out), "--probe-size", "60", "--ei-samples", "2000"]
    args += ["--sensitivity-samples", "50", "--bins", "4", "--lanczos-iter", "4"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == [
        "measures.csv",
        "measures.json",
        "measures.png",
        "measures.svg",
    ]
    df = pd.read_csv(out / "measures.csv")
    assert set(df.family) == {"ei", "fisher", "curvature", "similarity", "trainer"}
    doc = json.loads((out / "measures.json").read_text())
    assert doc["n_samples"] == 60 and doc["options"]["ei"]["bins"] == 4
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and "exists" in r.output
    r = CliRunner().invoke(cli, [*args, "--force", "--no-plots", "--measures", "fisher"])
    assert r.exit_code == 0, r.output
    assert not (out / "measures.png").exists()
    bad = [*args[:3], str(tmp_path / "x"), *args[4:], "--measures", "ei,magic"]
    r = CliRunner().invoke(cli, bad)
    assert r.exit_code == 2 and "magic" in r.output and not (tmp_path / "x").exists()


def test_cli_leaves_nothing_in_tmpdir(run, tmp_path):
    """Issue 28 (9): importing torch._dynamo (torch.func, for Fisher) creates
    ``$TMPDIR/torchinductor_<user>``; a command keeps it private and removes it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    folder, _, _ = run
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_CACHE_DIR"}
    env.update(TMPDIR=str(tmpdir), PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    args = [sys.executable, "-m", "netsci_dl.cli", "-q", "measures", str(folder)]
    args += ["-o", str(tmp_path / "m"), "--measures", "fisher", "--probe-size", "20", "--no-plots"]
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmpdir.iterdir()) == []


class _FlatCNN(torch.nn.Module):
    """A user's CNN: its first layer a Conv2d of 3 channels, fed 3x6x6 images."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def test_a_cnn_on_an_image_dataset_of_flat_rows(tmp_path):
    """A Dataset holds flat rows and its image_shape: training_measures gives a model that
    starts with a Conv2d the data set's own images (issue 24, from Python; flat arrays from the
    CLI without --input-shape stay refused: tests/test_user_models.py)."""
    from netsci_dl.activations import fisher_trace
    from netsci_dl.datasets import Dataset
    from netsci_dl.runs import checkpoint_models

    torch.manual_seed(0)
    for e in (1, 2):
        torch.save(_FlatCNN().state_dict(), tmp_path / f"epoch_{e}.pt")
    rng = np.random.default_rng(0)
    X = rng.random((30, 108)).astype(np.float32)
    y = rng.integers(0, 5, 30)
    ds = Dataset(X=X, y=y, name="flat", image_shape=(3, 6, 6))
    src = checkpoint_models(tmp_path, model=_FlatCNN)
    D = training_measures(src, ds, measures="fisher")
    got = D[(D.metric == "fisher_trace") & (D.layer == "all")].sort_values("step")["value"]
    want = []
    for item in src:
        model = item.load("cpu")
        F = fisher_trace(model, X.reshape(30, 3, 6, 6), y, kind="model_exact")
        want.append(F.total)
    # the same model, examples and labels: equal up to float32 summation order
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-5)
