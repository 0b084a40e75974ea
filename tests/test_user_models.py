"""A user's own model on the data-path commands: an own CNN class in its own module, three
checkpoints saved like ``epoch_1.pt``, digits data. The command line must give the numbers the
Python API gives on the same models (loaded here by hand, with torch)."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import netsci_dl as nd
from netsci_dl.cli import cli
from netsci_dl.datasets import load_dataset

NET_CODE = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 6, 3)
        self.fc = nn.Linear(6 * 6 * 6, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.fc(torch.flatten(x, 1))
"""

PROBE = 60  # examples of digits: enough for CKA, small for the CPU


@pytest.fixture(scope="module")
def user_run(tmp_path_factory):
    """(the module name, the class, the three checkpoint paths): a few SGD steps between saves."""
    d = tmp_path_factory.mktemp("usernet")
    (d / "usernet_mod.py").write_text(textwrap.dedent(NET_CODE))
    sys.path.insert(0, str(d))
    try:
        import usernet_mod

        torch.manual_seed(0)
        net = usernet_mod.Net(width=5)
        ds = load_dataset("digits")
        X = torch.as_tensor(ds.X[:300]).reshape(-1, 1, 8, 8)
        y = torch.as_tensor(ds.y[:300]).long()
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        paths = []
        for epoch in (1, 2, 3):
            for _ in range(5):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(X), y).backward()
                opt.step()
            p = d / f"epoch_{epoch}.pt"
            torch.save(net.state_dict(), p)
            paths.append(str(p))
        yield "usernet_mod:Net", usernet_mod.Net, paths
    finally:
        sys.path.remove(str(d))
        sys.modules.pop("usernet_mod", None)


def _nets(cls, paths):
    """The checkpoints loaded by hand (the oracle's models)."""
    out = []
    for p in paths:
        net = cls(width=5)
        net.load_state_dict(torch.load(p, weights_only=True))
        out.append(net.eval())
    return out


def _invoke(args):
    res = CliRunner().invoke(cli, ["-q", *args])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


KW = ["--model", "usernet_mod:Net", "--model-kwargs", '{"width": 5}']


def test_similarity_cli_equals_python(user_run, tmp_path):
    spec, cls, paths = user_run
    _invoke(["similarity", *paths, *KW, "--probe-size", str(PROBE), "-o", str(tmp_path / "s")])
    got = pd.read_csv(tmp_path / "s" / "similarity.csv")
    ds = load_dataset("digits").subset(PROBE, seed=0)
    T = nd.runs.training_similarity(_nets(cls, paths), ds.X)
    # the CLI reads the step from the names (epoch_1..3); the modules given are at positions 0..2
    want = T.to_frame().assign(step=lambda d: d["step"] + 1)
    assert sorted(set(got["layer"])) == ["conv1", "conv2", "fc"]
    key = ["step", "layer", "other_layer", "comparison"]
    m = got.merge(want, on=key, suffixes=("_cli", "_py"))
    assert len(m) == len(want) == len(got)
    # same models, same data, same float32 forward: equal up to summation order
    np.testing.assert_allclose(m["value_cli"], m["value_py"], rtol=1e-6, atol=1e-7)
    # the models differ: the first snapshot is not identical to the last
    assert m.loc[m["comparison"] == "reference", "value_cli"].min() < 0.9999


def test_checkpoint_models_from_python_equal_hand_loaded(user_run):
    spec, cls, paths = user_run
    items = nd.runs.checkpoint_models(paths, cls, model_kwargs={"width": 5})
    X = load_dataset("digits").subset(PROBE, seed=0).X
    a = nd.runs.training_similarity(items, X).to_reference
    b = nd.runs.training_similarity(_nets(cls, paths), X).to_reference
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert [it.label for it in items] == ["epoch_1", "epoch_2", "epoch_3"]


def test_plain_checkpoint_without_model_is_refused_naming_model(user_run):
    _, _, paths = user_run
    with pytest.raises(nd.InputError, match="--model pkg.module:Class"):
        nd.runs.checkpoint_models(paths)


def test_strict_loading_refuses_a_wrong_class(user_run, tmp_path):
    _, _, paths = user_run
    res = CliRunner().invoke(
        cli,
        ["similarity", *paths, "--model", "usernet_mod:Net", "-o", str(tmp_path / "s")],
    )
    assert res.exit_code == 2, res.output
    assert "does not fit Net" in res.output
    assert not (tmp_path / "s" / "similarity.csv").exists()


@pytest.mark.parametrize(
    "families",
    ["fisher,similarity", pytest.param("ei,fisher,curvature,similarity", marks=pytest.mark.slow)],
)
def test_measures_cli_equals_python(user_run, tmp_path, families):
    spec, cls, paths = user_run
    args = ["--probe-size", str(PROBE), "--lanczos-iter", "5", "--threshold", "none"]
    args += ["--measures", families, "--input-shape", "1,1,8,8"]
    _invoke(["measures", *paths, *KW, *args, "-o", str(tmp_path)])
    got = pd.read_csv(tmp_path / "measures.csv")
    doc = json.loads((tmp_path / "measures.json").read_text())
    assert doc["n_snapshots"] == 3
    ds = load_dataset("digits").subset(PROBE, seed=0)
    X4 = ds.X.reshape(-1, 1, 8, 8)
    opts = nd.runs.TrainingMeasureOptions(lanczos_iter=5, ei_threshold="none")
    items = nd.runs.checkpoint_models(paths, cls, model_kwargs={"width": 5})
    want = nd.runs.training_measures(items, X4, ds.y, measures=families, options=opts)
    assert set(got["family"]) == set(families.split(","))
    key = ["snapshot", "layer", "metric"]
    m = got.merge(want, on=key, suffixes=("_cli", "_py"))
    assert len(m) == len(got) == len(want)
    # the same computation twice (float32 forward, the same seeds): equal to rounding
    np.testing.assert_allclose(m["value_cli"], m["value_py"], rtol=1e-5, atol=1e-9)
    # an independent check of one number: the model-exact Fisher trace of fc at the last
    # snapshot from the hand-loaded model (activations.fisher_trace), not via checkpoint_models
    net = _nets(cls, paths)[-1]
    F = nd.activations.fisher_trace(net, X4, ds.y, kind="model_exact")
    row = got[(got.snapshot == "epoch_3") & (got.metric == "fisher_trace") & (got.layer == "fc")]
    fc = F.to_frame().query("metric == 'fisher_trace' and layer == 'fc'")["value"]
    np.testing.assert_allclose(row["value"].to_numpy(), fc.to_numpy(), rtol=1e-5)


def test_measures_flat_data_on_a_cnn_names_input_shape(user_run, tmp_path):
    _, _, paths = user_run
    res = CliRunner().invoke(
        cli, ["measures", *paths, *KW, "--measures", "fisher", "-o", str(tmp_path / "m")]
    )
    assert res.exit_code == 2, res.output
    assert "--input-shape" in res.output


def test_interactions_cli_equals_python(user_run, tmp_path):
    _, cls, paths = user_run
    args = ["--players", "2x2", "--explain", "2", "--split", "lp", "--sample-shape", "1x8x8"]
    _invoke(["interactions", *paths[1:], *KW, *args, "--no-plots", "-o", str(tmp_path)])
    got = pd.read_csv(tmp_path / "interactions.csv")
    opts = nd.runs.InteractionOptions(
        players=(2, 2),
        explain=2,
        sample_shape=(1, 8, 8),
        split=nd.analysis.SplitOptions(method="lp"),
    )
    run = nd.runs.run_interactions(_nets(cls, paths[1:]), "digits", options=opts)
    want = run.to_frame()
    assert list(dict.fromkeys(got["snapshot"])) == ["epoch_2", "epoch_3"]
    assert len(got) == len(want) > 0
    assert set(got["layer"]) == set(want["layer"]) and len(set(got["layer"])) > 1
    value = [c for c in want.columns if want[c].dtype.kind == "f"]
    # the same models (here loaded by hand) on the same examples: equal to float32 rounding
    np.testing.assert_allclose(got[value].to_numpy(), want[value].to_numpy(), rtol=1e-5, atol=1e-6)


def test_causal_plane_cli_equals_python(user_run, tmp_path):
    _, cls, paths = user_run
    small = ["--ei-samples", "200", "--sensitivity-samples", "20", "--threshold", "none"]
    _invoke(["causal-plane", *paths, *KW, *small, "-o", str(tmp_path)])
    got = pd.read_csv(tmp_path / "trajectory.csv")
    opts = nd.analysis.LayerEIOptions(n_samples=200, sensitivity_samples=20)
    # the graphs of the hand-loaded models, exported by nd.load (the oracle's path)
    T = nd.runs.ei_trajectory(
        [nd.load(n) for n in _nets(cls, paths)], threshold="none", options=opts
    )
    want = T.to_frame()
    assert len(got) == len(want) == 9  # 3 snapshots x 3 weight blocks
    assert list(dict.fromkeys(got["label"])) == ["epoch_1", "epoch_2", "epoch_3"]
    num = [c for c in want.columns if want[c].dtype.kind == "f" and c in got.columns]
    assert num
    np.testing.assert_allclose(got[num].to_numpy(float), want[num].to_numpy(float), rtol=1e-6)


def test_critical_period_trains_the_users_class(user_run, tmp_path):
    _, cls, _ = user_run
    grid = ["--epochs", "1", "--onsets", "0", "--window", "1", "--n-train", "150"]
    grid += ["--probe-size", "20", "--lanczos-iter", "0", "--no-gradcov", "--no-plots"]
    _invoke(["critical-period", *KW, *grid, "-o", str(tmp_path / "cli")])
    got = pd.read_csv(tmp_path / "cli" / "critical_period.csv")
    opts = nd.runs.CriticalPeriodOptions(
        model="usernet_mod:Net", model_kwargs={"width": 5}, epochs=1, onsets=(0,), windows=(1,),
        n_train=150, probe_size=20, lanczos_iter=0, gradcov=False,
    )  # fmt: skip
    res = nd.runs.critical_period("digits", tmp_path / "py", options=opts)
    want = res.summary
    cols = ["run", "removal_epoch", "epochs", "final_test_accuracy", "final_train_accuracy"]
    assert list(got["run"]) == ["control", "blur_onset000_window001"]
    np.testing.assert_allclose(got[cols[1:]].to_numpy(float), want[cols[1:]].to_numpy(float))
    # the snapshots hold the user's class (they load strictly into a hand-built Net), and the
    # Fisher trace is measured per module of it
    snap = nd.runs.list_snapshots(tmp_path / "cli" / "runs" / "control")[-1][0]
    from safetensors.torch import load_file

    net = cls(width=5)
    net.load_state_dict(load_file(str(snap)), strict=True)
    traj = pd.read_csv(tmp_path / "cli" / "trajectory.csv")
    fisher = traj[(traj.run == "control") & (traj.metric == "fisher_trace") & (traj.epoch == 1)]
    assert set(fisher["layer"]) == {"all", "conv1", "conv2", "fc"}  # per module and in all


# 4 players of unequal size, their ends on central pixels (an off-by-one would show)
FEATURES = "features:0-19,20-35,36-43,44-63"


def test_feature_players_equal_brute_force(user_run, tmp_path):
    _, cls, paths = user_run
    net = _nets(cls, paths)[-1]
    opts = nd.runs.InteractionOptions(
        players=FEATURES, explain=3, sample_shape=(1, 8, 8), baseline="mean",
        split=nd.analysis.SplitOptions(method="lp"),
    )  # fmt: skip
    run = nd.runs.run_interactions([net], "digits", options=opts)
    R = run.final
    k = list(R.layers).index("output")
    v = R.v[k] + R.v_empty[k][:, None]  # (n_samples, 16): raw v(S), player i = bit i
    # brute force: mask by hand, run the model, log-odds of the target from the logits
    ds = load_dataset("digits")
    base = ds.X.mean(axis=0)  # "mean": the mean of the clean data the probes are fitted on
    groups = [range(0, 20), range(20, 36), range(36, 44), range(44, 64)]
    want = np.empty_like(v)
    for i, row in enumerate(run.sample_indices):
        x, t = ds.X[row], int(ds.y[row])
        for m in range(16):
            xm = base.copy()
            for b, g in enumerate(groups):
                if m >> b & 1:
                    xm[list(g)] = x[list(g)]
            with torch.no_grad():
                z = net(torch.as_tensor(xm, dtype=torch.float32).reshape(1, 1, 8, 8))[0].double()
            want[i, m] = float(z[t] - torch.logsumexp(torch.cat([z[:t], z[t + 1 :]]), 0))
    # float32 forward passes in different batch sizes: equal to float32 rounding of logits ~10
    np.testing.assert_allclose(v, want, rtol=1e-5, atol=1e-4)
    # the command line on the checkpoint gives the same table
    args = ["--players", FEATURES, "--explain", "3", "--baseline", "mean", "--split", "lp"]
    _invoke(["interactions", paths[-1], *KW, *args, "--sample-shape", "1x8x8", "--no-plots",
             "-o", str(tmp_path)])  # fmt: skip
    got = pd.read_csv(tmp_path / "interactions.csv")
    mine = run.to_frame()
    num = [c for c in mine.columns if mine[c].dtype.kind == "f"]
    np.testing.assert_allclose(got[num].to_numpy(), mine[num].to_numpy(), rtol=1e-5, atol=1e-6)


def test_too_many_players_is_refused_naming_the_bound(user_run, tmp_path):
    _, _, paths = user_run
    many = "features:" + ",".join(str(i) for i in range(17))
    res = CliRunner().invoke(
        cli, ["interactions", paths[-1], *KW, "--players", many, "-o", str(tmp_path / "x")]
    )
    assert res.exit_code == 2, res.output
    assert "at most 16 players" in res.output
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def _linear_cka(A, B):
    """Linear CKA by its closed form (Kornblith et al. 2019, eq. 5), float64."""
    A = A - A.mean(0)
    B = B - B.mean(0)
    return np.linalg.norm(B.T @ A) ** 2 / (np.linalg.norm(A.T @ A) * np.linalg.norm(B.T @ B))


def test_hugging_face_folder_layer_cka_on_tokens(tmp_path):
    transformers = pytest.importorskip("transformers")
    cfg = transformers.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=16,
    )  # fmt: skip
    torch.manual_seed(0)
    bert = transformers.BertModel(cfg).eval()
    bert.save_pretrained(tmp_path / "bert")  # a local folder: nothing is downloaded
    ids = torch.randint(1, 50, (40, 8), generator=torch.Generator().manual_seed(1))
    items = nd.runs.checkpoint_models([tmp_path / "bert"])
    layers = ("encoder.layer.0.output.dense", "encoder.layer.1.output.dense")
    spec = nd.runs.ActivationSpec(layers=layers)
    T = nd.runs.training_similarity(items, ids.numpy(), spec=spec)
    # the oracle: forward hooks on the model built by transformers itself, token-averaged
    acts = {}
    hooks = [
        bert.get_submodule(n).register_forward_hook(
            lambda m, a, out, n=n: acts.__setitem__(n, out.mean(1).double().numpy())
        )
        for n in layers
    ]
    with torch.no_grad():
        bert(input_ids=ids)
    for h in hooks:
        h.remove()
    want = _linear_cka(acts[layers[0]], acts[layers[1]])
    # float32 forward, float64 CKA on both sides
    np.testing.assert_allclose(T.snapshots[0].within[0, 1], want, rtol=1e-5)
    np.testing.assert_allclose(T.snapshots[0].within[0, 0], 1.0, rtol=1e-12)
