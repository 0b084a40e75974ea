"""The user workflow end to end (issue 24's Check): an own CNN class in its own module file
(RGB 3x8x8 input: conv -> relu -> flatten -> linear), three own checkpoints ``epoch_1.pt`` ..
``epoch_3.pt`` (a few SGD steps apart), own RGB data saved as npz (uint8) with per-channel
``--normalize``. Each data-path command runs from the CLI and its numbers (read back from its
CSV/JSON) equal the Python API's on the same inputs; a HF Trainer layout and a Lightning
``.ckpt`` are read as runs by ``analyze``."""

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

NET_CODE = """
import torch
from torch import nn


class RGBNet(nn.Module):
    def __init__(self, width=6):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.fc = nn.Linear(width * 8 * 8, 4)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(192, 4)

    def forward(self, x, scale):
        return self.fc(torch.flatten(x, 1)) * scale


class DictInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(192, 4)

    def forward(self, batch):
        return self.fc(torch.flatten(batch["image"], 1))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 3))

    def forward(self, x):
        return self.net(x)
"""
MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
NORMALIZE = "0.4,0.5,0.6/0.2,0.25,0.3"
N = 64  # examples: enough for CKA on 4..6 units, small for the CPU
# same models, same data, same float32 forward in the same process: the CLI and Python agree
# up to summation order (float32 sums of a few hundred terms, then float64 statistics)
RTOL, ATOL = 1e-6, 1e-7


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A dict: the module spec, the class, the checkpoint folder and paths, the npz path, the
    data as the model takes them (scaled and normalised by hand: the oracle) and labels."""
    d = tmp_path_factory.mktemp("workflow")
    (d / "wf_net.py").write_text(textwrap.dedent(NET_CODE))
    sys.path.insert(0, str(d))
    try:
        import wf_net

        rng = np.random.default_rng(0)
        X8 = rng.integers(0, 256, size=(N, 3, 8, 8), dtype=np.uint8)
        y = (X8[:, 0].mean(axis=(1, 2)) > 127).astype(np.int64) + 2 * (
            X8[:, 2].mean(axis=(1, 2)) > 127
        )
        np.savez(d / "rgb.npz", X=X8, y=y)
        Xn = (X8 / np.float32(255) - np.reshape(MEAN, (1, 3, 1, 1))) / np.reshape(STD, (1, 3, 1, 1))
        Xn = Xn.astype(np.float32)
        torch.manual_seed(0)
        net = wf_net.RGBNet()
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        ck = d / "checkpoints"
        ck.mkdir()
        for epoch in (1, 2, 3):
            for _ in range(4):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(
                    net(torch.as_tensor(Xn)), torch.as_tensor(y)
                )
                loss.backward()
                opt.step()
            torch.save(net.state_dict(), ck / f"epoch_{epoch}.pt")
        yield {
            "spec": "wf_net:RGBNet",
            "cls": wf_net.RGBNet,
            "folder": ck,
            "paths": [ck / f"epoch_{e}.pt" for e in (1, 2, 3)],
            "npz": d / "rgb.npz",
            "X": Xn,
            "y": y,
            "module": wf_net,
        }
    finally:
        sys.path.remove(str(d))
        sys.modules.pop("wf_net", None)


def _invoke(args):
    res = CliRunner().invoke(cli, ["-q", *map(str, args)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


def _data(user):
    return ["--data", f"npz:{user['npz']}", "--normalize", NORMALIZE]


def _model(user):
    return ["--model", user["spec"], "--input-shape", "1,3,8,8"]


def test_the_data_spec_scales_and_normalises_per_channel(user):
    ds = nd.datasets.load(f"npz:{user['npz']}", normalize=(MEAN, STD))
    assert ds.image_shape == (3, 8, 8)
    # float32 rounding of (x / 255 - m) / s
    np.testing.assert_allclose(ds.X.reshape(N, 3, 8, 8), user["X"], rtol=1e-6, atol=1e-6)


def test_a_folder_of_checkpoints_is_a_run_with_epochs_from_the_names(user):
    items = nd.runs.checkpoint_models(user["folder"], user["cls"])
    assert [(it.label, it.step, it.unit, it.epoch) for it in items] == [
        (f"epoch_{e}", e, "epoch", e) for e in (1, 2, 3)
    ]
    # an explicit list in another order keeps that order, and says it is an index
    rev = nd.runs.checkpoint_models(user["paths"][::-1], user["cls"])
    assert [(it.label, it.step, it.unit) for it in rev] == [
        ("epoch_3", 0, "index"),
        ("epoch_2", 1, "index"),
        ("epoch_1", 2, "index"),
    ]


def test_similarity_cli_on_the_folder_equals_python(user, tmp_path):
    out = tmp_path / "sim"
    _invoke(["similarity", user["folder"], *_model(user), *_data(user), "--probe-size", N,
             "-o", out])  # fmt: skip
    got = pd.read_csv(out / "similarity.csv")
    doc = json.loads((out / "similarity.json").read_text())
    ds = nd.datasets.load(f"npz:{user['npz']}", normalize=(MEAN, STD))
    T = nd.runs.training_similarity(nd.runs.checkpoint_models(user["folder"], user["cls"]), ds)
    want = T.to_frame()
    key = ["step", "layer", "other_layer", "comparison"]
    m = got.merge(want, on=key, suffixes=("_cli", "_py"))
    assert len(m) == len(want) == len(got) > 0
    np.testing.assert_allclose(m["value_cli"], m["value_py"], rtol=RTOL, atol=ATOL)
    assert sorted(set(got["step"])) == [1, 2, 3]
    assert doc["settings"]["x_label"] == "epoch"
    # the oracle: the same numbers from the models loaded by hand on the hand-normalised data
    nets = []
    for p in user["paths"]:
        net = user["cls"]()
        net.load_state_dict(torch.load(p, weights_only=True))
        nets.append(net.eval())
    hand = nd.runs.training_similarity(nets, user["X"]).to_reference
    np.testing.assert_allclose(T.to_reference, hand, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # about 30 s on a loaded 2-core machine (Lanczos, Fisher, CKA, EI)
def test_measures_cli_on_the_folder_equals_python(user, tmp_path):
    out = tmp_path / "m"
    args = ["--probe-size", N, "--lanczos-iter", "4", "--threshold", "none"]
    _invoke(["measures", user["folder"], *_model(user), *_data(user), *args, "-o", out])
    got = pd.read_csv(out / "measures.csv")
    ds = nd.datasets.load(f"npz:{user['npz']}", normalize=(MEAN, STD)).subset(N, seed=0)
    opts = nd.runs.TrainingMeasureOptions(lanczos_iter=4, ei_threshold="none")
    items = nd.runs.checkpoint_models(user["folder"], user["cls"])
    want = nd.runs.training_measures(items, ds.X.reshape(N, 3, 8, 8), ds.y, options=opts)
    assert want.attrs["x_label"] == "epoch"
    assert set(got["family"]) == {"ei", "fisher", "curvature", "similarity"}
    key = ["snapshot", "step", "layer", "metric"]
    m = got.merge(want, on=key, suffixes=("_cli", "_py"))
    assert len(m) == len(got) == len(want) > 0
    # the same computation twice (float32 forward and gradients, the same seeds)
    np.testing.assert_allclose(m["value_cli"], m["value_py"], rtol=1e-5, atol=1e-9)
    # an independent number: the model-exact Fisher trace of fc at epoch 3, from the model
    # loaded by hand on the hand-normalised examples in the CLI's order
    net = user["cls"]()
    net.load_state_dict(torch.load(user["paths"][-1], weights_only=True))
    flat = user["X"].reshape(N, -1)
    idx = [int(np.argmin(np.abs(flat - row).sum(1))) for row in ds.X]  # the subset's order
    assert sorted(idx) == list(range(N))
    F = nd.activations.fisher_trace(net.eval(), user["X"][idx], user["y"][idx], kind="model_exact")
    want_fc = F.to_frame().query("metric == 'fisher_trace' and layer == 'fc'")["value"]
    row = got.query("snapshot == 'epoch_3' and metric == 'fisher_trace' and layer == 'fc'")
    np.testing.assert_allclose(row["value"].to_numpy(), want_fc.to_numpy(), rtol=1e-5)


def test_interactions_cli_on_the_folder_equals_python(user, tmp_path):
    out = tmp_path / "i"
    args = ["--players", "2x2", "--explain", "2", "--split", "lp", "--sample-shape", "3x8x8"]
    _invoke(["interactions", user["folder"], "--model", user["spec"], *_data(user), *args,
             "--no-plots", "-o", out])  # fmt: skip
    got = pd.read_csv(out / "interactions.csv")
    opts = nd.runs.InteractionOptions(
        players=(2, 2),
        explain=2,
        sample_shape=(3, 8, 8),
        split=nd.analysis.SplitOptions(method="lp"),
    )
    spec = nd.datasets.join_spec(f"npz:{user['npz']}", normalize=(MEAN, STD))
    items = nd.runs.checkpoint_models(user["folder"], user["cls"])
    want = nd.runs.run_interactions(items, spec, options=opts).to_frame()
    assert list(dict.fromkeys(got["snapshot"])) == ["epoch_1", "epoch_2", "epoch_3"]
    assert len(got) == len(want) > 0 and set(got["layer"]) == set(want["layer"])
    value = [c for c in want.columns if want[c].dtype.kind == "f"]
    # the same models on the same examples, the exact LP split: equal to float32 rounding
    np.testing.assert_allclose(got[value].to_numpy(), want[value].to_numpy(), rtol=1e-5, atol=1e-6)


def test_critical_period_cli_trains_the_users_class_on_rgb_data(user, tmp_path):
    grid = ["--epochs", "1", "--onsets", "0", "--window", "1", "--n-train", "40"]
    grid += ["--probe-size", "16", "--lanczos-iter", "0", "--no-gradcov", "--no-plots"]
    _invoke(["critical-period", "--model", user["spec"], *_data(user), *grid,
             "-o", tmp_path / "cli"])  # fmt: skip
    got = pd.read_csv(tmp_path / "cli" / "critical_period.csv")
    opts = nd.runs.CriticalPeriodOptions(
        model=user["spec"], epochs=1, onsets=(0,), windows=(1,), n_train=40, probe_size=16,
        lanczos_iter=0, gradcov=False,
    )  # fmt: skip
    spec = nd.datasets.join_spec(f"npz:{user['npz']}", normalize=(MEAN, STD))
    want = nd.runs.critical_period(spec, tmp_path / "py", options=opts).summary
    cols = ["removal_epoch", "epochs", "final_test_accuracy", "final_train_accuracy"]
    assert list(got["run"]) == list(want["run"]) == ["control", "blur_onset000_window001"]
    # the same seeds, the same training on the CPU: the same accuracies
    np.testing.assert_allclose(got[cols].to_numpy(float), want[cols].to_numpy(float))
    snap = nd.runs.list_snapshots(tmp_path / "cli" / "runs" / "control")[-1][0]
    from safetensors.torch import load_file

    user["cls"]().load_state_dict(load_file(str(snap)), strict=True)  # the user's class


def test_analyze_on_the_folder_equals_python(user, tmp_path):
    out = tmp_path / "report"
    _invoke(["analyze", user["folder"], *_model(user), *_data(user), "-o", out])
    doc = json.loads((out / "summary.json").read_text())
    graph = doc["sections"]["Training: the graph at each snapshot"]
    sim = doc["sections"]["Training: similarity to the final state"]
    assert graph["x_label"] == sim["x_label"] == "epoch" and graph["steps"] == [1, 2, 3]
    assert doc["model"] == "checkpoints"  # the folder's name; the graph is epoch_3's
    # graph measures per snapshot: the Python function the CLI calls, on the same checkpoints
    items = nd.runs.checkpoint_models(user["folder"], user["cls"])
    want = nd.runs.graph_measures_over_training(
        items, load_with={"example_input": torch.zeros(1, 3, 8, 8)}
    )
    got = pd.read_csv(out / "training_graph.csv")
    key = ["snapshot", "step", "layer", "metric"]
    m = got.merge(want, on=key, suffixes=("_cli", "_py"))
    assert len(m) == len(got) == len(want) > 0
    # the same weights exported twice: identical up to float64 summation order
    np.testing.assert_allclose(m["value_cli"], m["value_py"], rtol=1e-9, atol=1e-12, equal_nan=True)
    # its last snapshot is the report's own graph: blocks.csv of epoch_3 (made by the report's
    # structural summary of nd.load with the class) holds the same kept edges and spreads
    blocks = pd.read_csv(out / "blocks.csv").set_index("block").drop(index="all")
    last = want[want["snapshot"] == "epoch_3"]
    for metric, col in (("edges_kept", "edges_kept"), ("weight_std", "std")):
        v = last[(last["metric"] == metric) & (last["layer"] != "all")].set_index("layer")
        assert list(v.index) == list(blocks.index) == ["input->conv", "conv->fc"]
        np.testing.assert_allclose(v["value"], blocks[col], rtol=1e-9)
    # the data-dependent part: the similarity of each layer to epoch 3 on the user's data
    ds = nd.datasets.load(f"npz:{user['npz']}", normalize=(MEAN, STD))
    T = nd.runs.training_similarity(items, ds, within=False)
    got_s = pd.read_csv(out / "training_similarity.csv")
    key = ["step", "layer", "other_layer", "comparison"]
    m = got_s.merge(T.to_frame(), on=key, suffixes=("_cli", "_py"))
    assert len(m) == len(got_s) == 12  # 3 snapshots x 2 layers x 2 layers
    np.testing.assert_allclose(m["value_cli"], m["value_py"], rtol=RTOL, atol=ATOL)


# ---- the other layouts: Hugging Face Trainer checkpoint-N/ folders, Lightning .ckpt files
def _mlp(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 3))


@pytest.fixture
def hf_trainer_run(tmp_path):
    """checkpoint-500/ and checkpoint-1000/ (model.safetensors, trainer_state.json, optimizer)."""
    from safetensors.torch import save_file

    run = tmp_path / "trainer_out"
    for step, epoch in ((1000, 2.0), (500, 1.0)):
        d = run / f"checkpoint-{step}"
        d.mkdir(parents=True)
        sd = _mlp(step).state_dict()
        save_file({k: v.contiguous() for k, v in sd.items()}, d / "model.safetensors")
        (d / "trainer_state.json").write_text(json.dumps({"epoch": epoch, "global_step": step}))
        torch.save({"state": {}}, d / "optimizer.pt")
    return run


@pytest.fixture
def lightning_run(user, tmp_path):
    """Three Lightning .ckpt files of the user's MLP class (its weights under ``model.``)."""
    run = tmp_path / "lightning_logs"
    run.mkdir()
    for epoch, step in ((0, 40), (1, 80), (2, 120)):
        net = user["module"].MLP()
        torch.manual_seed(step)
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.5)
        torch.save(
            {"epoch": epoch, "global_step": step, "pytorch-lightning_version": "2.2.0",
             "state_dict": {f"model.{k}": v for k, v in net.state_dict().items()},
             "optimizer_states": [], "lr_schedulers": [], "hyper_parameters": {"lr": 0.1}},
            run / f"epoch={epoch}-step={step}.ckpt",
        )  # fmt: skip
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "tab.npz", X=rng.normal(size=(40, 6)).astype(np.float32))
    return run, tmp_path / "tab.npz"


def test_hf_trainer_layout_is_a_run_for_causal_plane(hf_trainer_run, tmp_path):
    small = ["--ei-samples", "200", "--sensitivity-samples", "20", "--threshold", "none"]
    small += ["--activation", "sigmoid"]
    _invoke(["causal-plane", hf_trainer_run, *small, "-o", tmp_path / "cp"])
    got = pd.read_csv(tmp_path / "cp" / "trajectory.csv")
    assert list(dict.fromkeys(got["label"])) == ["checkpoint-500", "checkpoint-1000"]
    assert list(dict.fromkeys(got["step"])) == [500, 1000]
    opts = nd.analysis.LayerEIOptions(n_samples=200, sensitivity_samples=20)
    # the oracle: the graphs of the modules built by hand from each state_dict
    nets = [_mlp(s) for s in (500, 1000)]
    want = nd.runs.ei_trajectory(
        [nd.load(n) for n in nets], threshold="none", options=opts, activations="sigmoid"
    )
    num = [c for c in want.to_frame().columns if c in got.columns and c.startswith("graph_")]
    np.testing.assert_allclose(got[num].to_numpy(float), want.to_frame()[num].to_numpy(float),
                               rtol=1e-6)  # fmt: skip


def test_lightning_ckpts_are_a_run_for_similarity(user, lightning_run, tmp_path):
    run, tab = lightning_run
    _invoke(["similarity", run, "--model", "wf_net:MLP", "--data", f"npz:{tab}", "--no-within",
             "-o", tmp_path / "s"])  # fmt: skip
    doc = json.loads((tmp_path / "s" / "similarity.json").read_text())
    got = pd.read_csv(tmp_path / "s" / "similarity.csv")
    assert doc["settings"]["x_label"] == "training step"
    assert sorted(set(got["step"])) == [40, 80, 120]
    # the oracle: the Lightning state_dicts loaded by hand (prefix "model." removed)
    nets = []
    for f in sorted(run.glob("*.ckpt")):
        sd = torch.load(f, weights_only=True)["state_dict"]
        net = user["module"].MLP()
        net.load_state_dict({k.removeprefix("model."): v for k, v in sd.items()})
        nets.append(net.eval())
    X = np.load(tab)["X"]
    T = nd.runs.training_similarity(nets, X, within=False)
    ref = got[(got["comparison"] == "reference") & (got["layer"] == got["other_layer"])]
    ref = ref.pivot_table(index="step", columns="layer", values="value", sort=False)
    np.testing.assert_allclose(ref[list(T.layers)].to_numpy(), T.to_reference, rtol=RTOL, atol=ATOL)


@pytest.mark.slow  # two full reports
def test_analyze_reads_hf_trainer_and_lightning_runs(user, hf_trainer_run, lightning_run, tmp_path):
    _invoke(["analyze", hf_trainer_run, "-o", tmp_path / "hf"])
    doc = json.loads((tmp_path / "hf" / "summary.json").read_text())
    graph = doc["sections"]["Training: the graph at each snapshot"]
    assert graph["steps"] == [500, 1000] and graph["x_label"] == "training step"
    assert "--model" in doc["sections"]["Training: similarity to the final state"]["skipped"]
    run, tab = lightning_run
    _invoke(["analyze", run, "--model", "wf_net:MLP", "--data", f"npz:{tab}",
             "-o", tmp_path / "pl"])  # fmt: skip
    doc = json.loads((tmp_path / "pl" / "summary.json").read_text())
    sim = doc["sections"]["Training: similarity to the final state"]
    assert sim["n_snapshots"] == 3 and sim["x_label"] == "training step"
    got = pd.read_csv(tmp_path / "pl" / "training_graph.csv")
    assert list(dict.fromkeys(got["step"])) == [40, 80, 120]


# ---- refusals of what the Python API can do name the function to use
def _refused(args):
    res = CliRunner().invoke(cli, ["-q", *map(str, args)])
    assert res.exit_code == 2, res.output + repr(res.exception)
    line = res.output.strip().splitlines()[-1]
    assert line.startswith("netsci-dl: error: ") and "internal error" not in line
    return line


def _resolve(dotted):
    """The object a message names (``pkg.mod.fn``), imported: the function must exist."""
    import importlib

    mod, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(mod), name)


def _named_function(line):
    import re

    m = re.search(r"From Python, .* to (netsci_dl[\w.]+)\(", line)
    assert m, line
    assert line.endswith(")."), line  # the sentence ends the message
    return _resolve(m.group(1))


@pytest.mark.parametrize(
    ("command", "function"),
    [("similarity", "training_similarity"), ("measures", "training_measures")],
)
def test_a_data_set_that_is_no_spec_names_the_python_function(user, tmp_path, command, function):
    line = _refused([command, user["folder"], *_model(user), "--data", "parquet:x.parquet",
                     "-o", tmp_path / "o"])  # fmt: skip
    fn = _named_function(line)
    assert fn is getattr(nd.runs, function) and "DataLoader" in line
    assert not (tmp_path / "o").exists()


def test_players_that_are_index_groups_name_the_python_function(user, tmp_path):
    line = _refused(["interactions", user["folder"], "--model", user["spec"], *_data(user),
                     "--players", "0,5,9", "-o", tmp_path / "o"])  # fmt: skip
    assert _named_function(line) is nd.activations.layer_interactions
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("cls", ["TwoInputs", "DictInput"])
def test_a_model_with_another_forward_is_an_input_error_naming_python(user, tmp_path, cls):
    ck = tmp_path / "ck.pt"
    torch.save(getattr(user["module"], cls)().state_dict(), ck)
    line = _refused(["similarity", ck, "--model", f"wf_net:{cls}", "--input-shape", "1,3,8,8",
                     *_data(user), "--no-within", "-o", tmp_path / "o"])  # fmt: skip
    assert _named_function(line) is nd.runs.training_similarity and "nn.Module" in line
    assert not (tmp_path / "o").exists()
    # and the advice works: the wrapped model runs from Python
    net = getattr(user["module"], cls)()
    net.load_state_dict(torch.load(ck, weights_only=True))

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x, 2.0) if cls == "TwoInputs" else self.net({"image": x})

    T = nd.runs.training_similarity([Wrapped().eval()], user["X"], within=False)
    assert T.n_snapshots == 1 and np.isfinite(T.to_reference).all()


def test_an_error_of_ours_stays_an_internal_error():
    from netsci_dl.cli._python_api import with_python_hint

    e = KeyError("x")  # raised in netsci_dl's code, not in a model's forward
    assert with_python_hint("similarity", e) is e


@pytest.mark.slow  # one full report
def test_analyze_on_an_explicit_list_keeps_its_order_on_an_index_axis(user, tmp_path):
    paths = [user["paths"][2], user["paths"][0]]  # decreasing epochs: the order given is kept
    _invoke(["analyze", *paths, *_model(user), "-o", tmp_path / "r"])
    doc = json.loads((tmp_path / "r" / "summary.json").read_text())
    graph = doc["sections"]["Training: the graph at each snapshot"]
    assert graph["snapshots"] == ["epoch_3", "epoch_1"] and graph["steps"] == [0, 1]
    assert graph["x_label"] == "checkpoint index"
    assert doc["model"] == "epoch_1.pt"  # the last one given: the report's graph
    assert "--data" in doc["sections"]["Training: similarity to the final state"]["skipped"]
