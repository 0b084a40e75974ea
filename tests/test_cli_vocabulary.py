"""One vocabulary on the command line: every option name has one meaning (and one type) on every
command, and every shared concept one default (probe set, device, jobs, threshold)."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from netsci_dl.cli import _common as common
from netsci_dl.cli import cli

# Every option name of every command, with its type (click's class; the choices of a Choice)
# and the meaning its help states (a regular expression, case-insensitive). A new option, or
# an old name given a new meaning, fails here: add a name for a new concept, reuse a name only
# for its meaning.
LOADER = {
    "--layers": ("StringParamType", r"^Layers to export: a regular expression"),
    "--layout": ("Choice", r"^Weight orientation of a checkpoint"),
    "--conv-reduce": ("Choice", r"convolution kernel becomes one edge weight"),
    "--image-shape": ("StringParamType", r"^Input image shape"),
    "--model": ("StringParamType", r"^The architecture"),
    "--model-kwargs": ("StringParamType", r"^Keyword arguments of --model"),
    "--input-shape": ("StringParamType", r"^Shape of one example input \(batch first\)"),
    "--input-dtype": ("Choice", r"^Dtype of the example input of --input-shape"),
    "--partial": ("BoolParamType", r"^Load the checkpoint's tensors that fit --model"),
    "--flatten-order": ("Choice", r"^How a checkpoint without --model flattens a feature map"),
    # centrality, clusterability, motifs
    "--neuron-measures": ("StringParamType", r"^Comma-separated names among strength"),
    "--nodes": ("Choice", r"^Which nodes get a row"),
    "--types": ("IntParamType", r"^Also cluster the neurons into this many types"),
    "--include-identity": ("BoolParamType", r"^Count identity \(skip\) blocks as edges"),
    "--clusters": ("IntParamType", r"^Number of spectral clusters"),
    "--n-shuffles": ("IntParamType", r"^Nets with each weight matrix shuffled"),
    "--null": ("Choice", r"^The layered null model"),
    "--fold-batchnorm": ("BoolParamType", r"^Fold BatchNorm"),
    "--state-dict-key": ("StringParamType", r"key of a dict checkpoint"),
}
SHARED = {
    "--threshold": ("StringParamType", r"^RULE:VALUE"),
    "--device": ("StringParamType", r"^torch device: auto \(CUDA when present, else the CPU\)"),
    "--jobs": ("IntParamType", r"^Worker processes for the .* \(-1: all cores; 1: this process\)"),
    "--scheduler": ("StringParamType", r"on a running Dask scheduler"),
    "--probe-size": ("IntParamType", r"^Examples of --data in the probe set"),
    "--threads": ("IntParamType", r"^torch CPU threads"),
    "--seed": ("IntParamType", r"^Random seed"),
    "--data": ("StringParamType", r"^The data set.*digits \| mnist:PATH \| npz:PATH"),
    "--normalize": ("StringParamType", r"^Normalise --data after scaling"),
    "--resize": ("StringParamType", r"^Resize --data images"),
    "--limit": ("IntParamType", r"^Read only the first N examples of --data"),
    "-o": ("Path", r"(folder|file)"),
    "--output": ("Path", r"(folder|file)"),
    "--force": ("BoolParamType", r"(overwrite|replace|afresh)"),
    "--plots": ("BoolParamType", r"^Write the figures?"),
    "--no-plots": ("BoolParamType", r"^Write the figures?"),
    "--graphml": ("BoolParamType", r"write graph\.graphml"),
    "--no-graphml": ("BoolParamType", r"write graph\.graphml"),
    "--name": ("StringParamType", r"^Model name"),
    "--json": ("BoolParamType", r"JSON"),
    "--weights": ("Choice", r"^Transition weight of the graph EI"),
    "--directed": ("BoolParamType", r"directed .*undirected"),
    "--undirected": ("BoolParamType", r"directed .*undirected"),
    # the layer EI estimator
    "--bins": ("IntParamType", r"^Bins for layer inputs and outputs"),
    "--ei-samples": ("IntParamType", r"^Noise samples of each layer's EI_parts"),
    "--sensitivity-samples": ("IntParamType", r"^Noise samples per input for the sensitivity"),
    "--activation": ("StringParamType", r"^Activation of every layer"),
    # the measures that run a model on the probe set
    "--fisher-kind": ("Choice", r"^Fisher trace per layer"),
    "--lanczos-iter": ("IntParamType", r"^Lanczos iterations of the top Hessian eigenvalue"),
    "--hutchinson-probes": ("IntParamType", r"^Rademacher probes of the Hessian trace"),
    "--gradcov": ("BoolParamType", r"gradient-covariance spectrum"),
    "--no-gradcov": ("BoolParamType", r"gradient-covariance spectrum"),
    # training
    "--epochs": ("IntParamType", r"^Epochs of training"),
    "--lr": ("FloatParamType", r"learning rate of the training"),
    "--batch-size": ("IntParamType", r"^Examples per batch"),
    # functional modules
    "--modules-layer": ("StringParamType", r"clustered into functional modules"),
    "--layer": ("StringParamType", r"clustered into functional modules"),
    "--modules-k": ("IntParamType", r"^Number of functional modules"),
    "--k": ("IntParamType", r"^Number of functional modules"),
}
ONE_COMMAND = {
    "--activation-layers": ("StringParamType", r"^Layers whose activations are compared"),
    "--analyze-every": ("IntParamType", r"^Measure every"),
    "--arch": ("Choice", r"^Classifier architecture"),
    "--baseline": ("Choice", r"masked patches"),
    "--token-mask": ("Choice", r"^How a token outside a coalition is masked"),
    "--mask-id": ("IntParamType", r"^Token id of masked tokens"),
    "--blur-factor": ("FloatParamType", r"^Blur downsampling factor"),
    "--cd-k": ("IntParamType", r"Gibbs steps"),
    "--compare": ("Path", r"^A second checkpoint"),
    "--compare-by": ("Choice", r"^Pair the layers of --compare"),
    "--control": ("BoolParamType", r"run without deficit"),
    "--no-control": ("BoolParamType", r"run without deficit"),
    "--criterion": ("Choice", r"^SVCCA cut"),
    "--cuts": ("StringParamType", r"^Cuts separated by commas"),
    "--deficit": ("Choice", r"deficit applied"),
    "--distance": ("FloatParamType", r"EMD height"),
    "--distribution": ("Choice", r"RF -> distribution"),
    "--dtype": ("Choice", r"^Floating-point type"),
    "--epochs-mode": ("Choice", r"What --epochs counts"),
    "--explain": ("IntParamType", r"^Examples of --data to explain"),
    "--format": ("StringParamType", r"graphml"),
    "--gamma": ("FloatParamType", r"^Decay factor of the learning-rate schedule"),
    "--geodesic-sources": ("IntParamType", r"mean geodesic"),
    "--ground": ("Choice", r"^EMD ground distance"),
    "--iterations": ("IntParamType", r"^SGD iterations of the split"),
    "--keep": ("StringParamType", r"^SVCCA: variance fraction kept"),
    "--keep-layers-apart": ("BoolParamType", r"^SBM: blocks never mix layers"),
    "--keep-weights": ("BoolParamType", r"signed weights"),
    "--linkage": ("Choice", r"^Linkage of the hierarchical clustering"),
    "--lr-reset": ("BoolParamType", r"^Restart the learning-rate schedule"),
    "--measure": ("Choice", r"^Similarity measure"),
    "--measures": ("StringParamType", r"^Comma-separated families"),
    "--method": ("Choice", r"^Community detection"),
    "--momentum": ("FloatParamType", r"^Momentum of the optimiser"),
    "--n-cuts": ("IntParamType", r"default grid"),
    "--n-init": ("IntParamType", r"^SBM: fits"),
    "--n-null": ("IntParamType", r"^Replicas of each null"),
    "--n-train": ("IntParamType", r"subset of the training set"),
    "--nested": ("BoolParamType", r"^SBM: nested"),
    "--no-within": ("BoolParamType", r"layer x layer grid"),
    "--node-attrs": ("Path", r"per-node columns"),
    "--nulls": ("StringParamType", r"^Null models"),
    "--onsets": ("StringParamType", r"^Window onsets"),
    "--optimizer": ("Choice", r"^Optimiser of the training"),
    "--per-block": ("BoolParamType", r"layer block"),
    "--persistent": ("BoolParamType", r"^Persistent CD"),
    "--players": ("StringParamType", r"^Grid of image patches"),
    "--pool": ("Choice", r"convolutional outputs"),
    "--qthres": ("FloatParamType", r"\|q\|"),
    "--rbf-scale": ("FloatParamType", r"RBF CKA"),
    "--reference": ("StringParamType", r"^Snapshot every layer is compared with"),
    # prune
    "--fractions": ("StringParamType", r"^Pruned fractions of the weights"),
    "--order": ("Choice", r"^Which weights are pruned first"),
    "--scope": ("Choice", r"^Prune over all weights together"),
    # spectra
    "--delta-from": ("Path", r"^A checkpoint to subtract"),
    "--xmin": ("StringParamType", r"^Tail of the power-law fit"),
    "--compat": ("Choice", r"^weightwatcher"),
    "--traps": ("BoolParamType", r"^Count correlation traps"),
    "--no-traps": ("BoolParamType", r"^Count correlation traps"),
    "--resolution": ("FloatParamType", r"resolution"),
    "--resume": ("BoolParamType", r"^Continue from the last snapshot"),
    "--rewire-rounds": ("IntParamType", r"rewiring null"),
    "--rule": ("Choice", r"^Threshold rule"),
    "--salient": ("FloatParamType", r"^Salient threshold"),
    "--sample-shape": ("StringParamType", r"^One example as the model takes it"),
    "--schedule": ("Choice", r"^Learning-rate schedule"),
    "--similarity": ("StringParamType", r"^Similarity of each layer to its final state"),
    "--sizes": ("StringParamType", r"^Layer sizes including the visible layer"),
    "--snapshot-every": ("IntParamType", r"^Snapshot every K epochs"),
    "--snapshots": ("BoolParamType", r"every snapshot of a run"),
    "--sparsity-rule": ("Choice", r"^Sparsity push"),
    "--split": ("Choice", r"^AND-OR split"),
    "--split-lr": ("FloatParamType", r"^SGD learning rate of the split"),
    "--stream": ("BoolParamType", r"activation matrices"),
    "--weight-decay": ("FloatParamType", r"^Weight decay of the optimiser"),
    "--weighted": ("BoolParamType", r"edge weight"),
    "--unweighted": ("BoolParamType", r"edge weight"),
    "--window": ("StringParamType", r"^Window length"),
    "--x": ("Choice", r"^x axis of the figure"),
}
VOCABULARY = {**LOADER, **SHARED, **ONE_COMMAND}

#: one default per concept, on every command that has the option
DEFAULTS = {"--device": "auto", "--jobs": 1, "--probe-size": 256, "--threshold": "auto"}

#: the commands that run a model (and so take --device)
RUN_A_MODEL = {
    "causal-plane",
    "measures",
    "similarity",
    "interactions",
    "critical-period",
    "train-dbn",
    "prune",
}

#: options renamed in 0.3.0: (command, old name, new name)
RENAMED = [
    ("train-dbn", "--layers", "--sizes"),
    ("causal-plane", "--samples", "--ei-samples"),
    ("measures", "--samples", "--ei-samples"),
    ("interactions", "--samples", "--explain"),
    ("interactions", "--input-shape", "--sample-shape"),
    ("interactions", "--method", "--split"),
    ("interactions", "--lr", "--split-lr"),
    ("similarity", "--samples", "--probe-size"),
    ("similarity", "--layers", "--activation-layers"),
    ("modules", "--method", "--linkage"),
]


def options() -> list[tuple[str, str, click.Option]]:
    """(command, name, option) for every name (long, short, --no-) of every command's options."""
    out = []
    for cname, cmd in sorted(cli.commands.items()):
        for p in cmd.params:
            if isinstance(p, click.Option):
                out.extend((cname, name, p) for name in [*p.opts, *p.secondary_opts])
    return out


def kind(p: click.Option) -> tuple[str, tuple[str, ...]]:
    return type(p.type).__name__, tuple(getattr(p.type, "choices", ()))


def test_the_walk_sees_every_command():
    names = {n for _, n, _ in options()}
    assert len(cli.commands) == 19
    assert {"--layers", "--device", "--probe-size", "--sizes", "--explain"} <= names


@pytest.mark.parametrize("name", sorted({n for _, n, _ in options()}))
def test_one_meaning_per_option_name(name):
    assert name in VOCABULARY, f"{name}: a new option name; add it (and its meaning) above"
    type_name, meaning = VOCABULARY[name]
    found = [(c, p) for c, n, p in options() if n == name]
    kinds = {kind(p) for _, p in found}
    assert len(kinds) == 1, f"{name} has several types: {kinds}"
    assert kinds.pop()[0] == type_name
    for cname, p in found:
        assert p.help, f"{cname} {name}: no help"
        assert re.search(meaning, p.help, re.I), f"{cname} {name}: {p.help!r} is another meaning"


def test_no_vocabulary_entry_without_an_option():
    assert set(VOCABULARY) == {n for _, n, _ in options()}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_one_default_per_concept(name):
    found = [(c, p) for c, n, p in options() if n == name]
    assert len(found) >= 3, name
    for cname, p in found:
        assert p.default == DEFAULTS[name], f"{cname} {name} defaults to {p.default!r}"
        assert p.show_default, f"{cname} {name}: the default is not shown"
    # the same words everywhere but the name of what the jobs are
    helps = {re.sub(r"for the .* \(", "(", p.help) for _, p in found}
    assert len(helps) == 1 or name == "--threshold", helps


def test_defaults_are_the_published_constants():
    assert DEFAULTS == {
        "--device": common.DEFAULT_DEVICE,
        "--jobs": common.DEFAULT_JOBS,
        "--probe-size": common.DEFAULT_PROBE_SIZE,
        "--threshold": common.DEFAULT_THRESHOLD,
    }


def test_every_command_that_runs_a_model_takes_a_device():
    has = {c for c, n, _ in options() if n == "--device"}
    assert has == RUN_A_MODEL


def test_every_option_name_has_one_parameter_per_command():
    seen: dict[tuple[str, str], str] = {}
    for cname, name, p in options():
        assert (cname, name) not in seen, f"{cname}: {name} twice"
        seen[(cname, name)] = p.name


@pytest.mark.parametrize(("command", "old", "new"), RENAMED)
def test_renamed_options(command, old, new):
    params = cli.commands[command].params
    names = {n for p in params if isinstance(p, click.Option) for n in p.opts}
    assert new in names and old not in names
    r = CliRunner().invoke(cli, [command, old, "1", "--help"])
    assert r.exit_code == 2 and "No such option" in r.output


def test_auto_device_is_the_device_a_command_runs_on():
    import torch

    assert common.device_arg("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert common.device_arg("cpu") == "cpu"
    with pytest.raises(ValueError, match="--device 'warp9'"):
        common.device_arg("warp9")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["similarity", ".", "--probe-size", "1", "-o", "x"], "--probe-size 1"),
        (["measures", ".", "--probe-size", "0", "-o", "x"], "--probe-size 0"),
        (["critical-period", "--probe-size", "1", "-o", "x"], "--probe-size 1"),
        (["sweep", "m.pt", "--jobs", "0", "-o", "x"], "--jobs 0"),
        (
            ["train-dbn", "--sizes", "64,4", "--epochs", "1", "--threads", "0", "-o", "x"],
            "--threads 0",
        ),
    ],
)
def test_shared_options_are_checked_alike(tmp_path, monkeypatch, args, match):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and match in r.output, r.output
    assert not (tmp_path / "x").exists()
