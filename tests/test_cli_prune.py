"""``netsci-dl prune``: the CLI equals the Python pruning_percolation / pruning_accuracy on a small
MLP trained on the digits; refusals leave nothing behind."""

from __future__ import annotations

import json
import re
import textwrap

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from numpy.testing import assert_allclose

import netsci_dl as nd
from netsci_dl.activations import pruning_accuracy
from netsci_dl.analysis import pruning_percolation
from netsci_dl.analysis.structure.percolation import first_crossing
from netsci_dl.cli import cli
from netsci_dl.datasets import load_digits
from netsci_dl.runs.pruning import pruning_sweep


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 64-16-10 sigmoid MLP trained 3 epochs on the digits by netsci_dl's trainer."""
    import torch

    from netsci_dl.models.mlp import MLPConfig, train_mlp

    torch.set_num_threads(1)
    d, folder = load_digits(), tmp_path_factory.mktemp("prune") / "run"
    train_mlp(d.X, d.y, MLPConfig(layers=(64, 16, 10), epochs=3, learning_rate=0.5), folder)
    return folder


def _python(ckpt, fr, probe, seed, order="magnitude", scope="global"):
    from netsci_dl.models.load import load_model

    ds = load_digits().subset(probe, seed=seed)
    p = pruning_percolation(nd.load(ckpt), fr, order=order, scope=scope, seed=seed)
    a = pruning_accuracy(load_model(ckpt), ds.X, ds.y, fr, order=order, scope=scope, seed=seed)
    return p, a


@pytest.mark.parametrize(("order", "scope"), [("magnitude", "global"), ("random", "block")])
def test_prune_equals_the_python_functions(run, tmp_path, order, scope):
    out = tmp_path / "p"
    args = ["prune", str(run), "-o", str(out), "--fractions", "0:1:11", "--order", order,
            "--scope", scope, "--seed", "3", "--probe-size", "300", "--device", "cpu"]  # fmt: skip
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    names = ["pruning.csv", "pruning.json", "pruning.png", "pruning.svg"]
    assert sorted(p.name for p in out.iterdir()) == names
    fr = np.linspace(0, 1, 11)
    p, a = _python(run / "model.safetensors", fr, 300, 3, order, scope)
    df = pd.read_csv(out / "pruning.csv")
    assert list(df.columns) == ["fraction", "giant", "n_components", "accuracy"]
    assert_allclose(df["fraction"], fr, rtol=1e-12)
    assert_allclose(df["giant"], p.giant, rtol=1e-12)  # the same masks: exact counts
    assert (df["n_components"].to_numpy() == p.n_components).all()
    assert_allclose(df["accuracy"], a.accuracy, rtol=1e-12)  # counts over the same 300 examples
    doc = json.loads((out / "pruning.json").read_text())
    assert_allclose(doc["critical_fraction"], p.critical_fraction, rtol=1e-12)
    want = first_crossing(fr, a.accuracy, a.accuracy[0] - 0.1)
    if np.isfinite(want):
        assert_allclose(doc["accuracy_fraction"], want, rtol=1e-12)
    else:
        assert doc["accuracy_fraction"] is None
    assert doc["params"]["order"] == order and doc["n_examples"] == 300
    assert a.accuracy[0] > 0.5 and a.accuracy[-1] < 0.3  # trained; all pruned: near chance


def test_prune_with_model_class_equals_the_netsci_checkpoint(run, tmp_path, monkeypatch):
    (tmp_path / "tiny_prune_net.py").write_text(
        textwrap.dedent("""
        import torch.nn as nn

        class Net(nn.Sequential):
            def __init__(self):
                super().__init__(nn.Linear(64, 16), nn.Sigmoid(), nn.Linear(16, 10))
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    base = ["--fractions", "0,0.5,0.8,1", "--no-plots", "--probe-size", "200"]
    ck = str(run / "model.safetensors")
    r1 = CliRunner().invoke(cli, ["prune", ck, "-o", str(tmp_path / "a"), *base])
    r2 = CliRunner().invoke(cli, ["prune", ck, "-o", str(tmp_path / "b"), *base,
                                  "--model", "tiny_prune_net:Net"])  # fmt: skip
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    a, b = (pd.read_csv(tmp_path / x / "pruning.csv") for x in "ab")
    pd.testing.assert_frame_equal(a, b)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["pruning.csv", "pruning.json"]


def test_pruning_sweep_refuses_a_graph_that_is_not_the_model(run):
    import torch

    from netsci_dl.errors import InputError
    from netsci_dl.models.load import load_model

    model = load_model(run / "model.safetensors")
    other = nd.from_matrices([np.ones((64, 16)), np.ones((16, 10))])
    X, y = torch.zeros(4, 64), torch.zeros(4, dtype=torch.long)
    with pytest.raises(InputError, match="weights differ"):
        pruning_sweep(other, model, X, y, [0, 1])
    with pytest.raises(InputError, match="2 nn.Linear"):
        pruning_sweep(nd.from_matrices([np.ones((64, 10))]), model, X, y, [0, 1])


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--fractions", "0.5,0.2"], "increasing"),
        (["--fractions", "0:2:3"], r"\[0, 1\]"),
        (["--fractions", "a:b"], "expected"),
        (["--data", "cifar"], "--data"),
    ],
)
def test_prune_bad_input_exit_2_leaves_nothing(run, tmp_path, extra, match):
    out = tmp_path / "bad"
    r = CliRunner().invoke(cli, ["prune", str(run), "-o", str(out), *extra])
    assert r.exit_code == 2, r.output
    assert re.search(match, r.output), r.output
    assert not out.exists() or not any(out.iterdir())


def test_prune_refuses_a_dbn(tmp_path):
    from netsci_dl.models.dbn import DBN

    X = (np.random.default_rng(0).random((20, 6)) < 0.5).astype(np.float32)
    ck = tmp_path / "d.safetensors"
    DBN((6, 4), epochs=1, batch_size=10).fit(X, progress=False).save(ck)
    out = tmp_path / "o"
    r = CliRunner().invoke(cli, ["prune", str(ck), "-o", str(out), "--probe-size", "20"])
    assert r.exit_code == 2 and "not a classifier" in r.output, r.output
    assert not out.exists() or not any(out.iterdir())
