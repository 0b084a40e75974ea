"""``netsci-dl train-dbn``: run folder, snapshots, resume, errors."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from click.testing import CliRunner

from netsci_dl.cli import cli
from netsci_dl.models.train import list_snapshots

ARGS = [
    "train-dbn",
    "--data",
    "digits",
    "--sizes",
    "64,16,8",
    "--epochs",
    "2",
    "--snapshot-every",
    "1",
    "--batch-size",
    "200",
]


def test_train_dbn_writes_run_folder(tmp_path):
    import netsci_dl as nd

    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["-q", *ARGS, "-o", str(out)])
    assert r.exit_code == 0, r.output
    for name in ("model.safetensors", "history.json", "config.json"):
        assert (out / name).exists()
    assert [i["step"] for _, i in list_snapshots(out)] == [0, 1, 2, 3, 4]
    G = nd.load(out / "model.safetensors")
    assert G.layer_sizes == (64, 16, 8)
    assert G.meta["image_shape"] == [8, 8]
    hist = json.loads((out / "history.json").read_text())
    assert len(hist["records"]) == 4
    r = CliRunner().invoke(cli, [*ARGS, "-o", str(out)])
    assert r.exit_code == 2
    assert "exists" in r.output
    r = CliRunner().invoke(cli, ["-q", *ARGS, "-o", str(out), "--resume"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["-q", *ARGS, "-o", str(out), "--force"])
    assert r.exit_code == 0, r.output


def _tree(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _refused(r, match):
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.output
    assert match in lines[0], lines[0]


BASE = ["train-dbn", "--sizes", "64,8", "--epochs", "1"]

BAD_ARGS = [
    (["--sizes", "10,5"], "64 features"),
    (["--sizes", "64"], "--sizes"),
    (["--sizes", "a,b"], "--sizes"),
    (["--sizes", "64,0"], "--sizes"),
    (["--sizes", "64,-3"], "--sizes"),
    (["--sizes", "64,,8"], "--sizes"),
    (["--sizes", "64,100000000000"], "memory"),
    (["--data", "mnist:/nope"], "does not exist"),
    (["--data", "cifar"], "--data"),
    (["--device", "cuda"], "CUDA"),
    (["--device", "warp9"], "--device"),
    (["--threads", "0"], "--threads"),
    (["--threads", "-2"], "--threads"),
    (["--lr", "inf"], "--lr"),
    (["--lr", "-inf"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "0"], "--lr"),
    (["--batch-size", "0"], "--batch-size"),
    (["--batch-size", "-5"], "--batch-size"),
    (["--epochs", "-1"], "--epochs"),
    (["--cd-k", "0"], "--cd-k"),
    (["--seed", "-1"], "--seed"),
    (["--snapshot-every", "-1"], "--snapshot-every"),
    (["--lr", "1e30"], "diverged"),
]


@pytest.mark.parametrize(("args", "match"), BAD_ARGS)
def test_bad_input_exit_2_one_line_nothing_created(tmp_path, args, match):
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("CUDA present")
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, [*BASE, *args, "-o", str(out)])
    _refused(r, match)
    if match != "diverged":  # divergence shows only in training: its epoch-0 snapshot stays
        assert not out.exists()
    assert not (out / "model.safetensors").exists()


def test_click_choices_are_usage_errors(tmp_path):
    # click's own usage errors (several lines) are the CLI front end's to shape; exit 2, no files
    r = CliRunner().invoke(cli, [*BASE, "--sparsity-rule", "other", "-o", str(tmp_path / "r")])
    assert r.exit_code == 2
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("fill", "match"),
    [
        (-1.0, "probabilities in [0, 1]"),  # floats are kept as given; Bernoulli units refuse
        (300.0, "probabilities in [0, 1]"),
        (np.nan, "NaN"),
        (np.inf, "NaN or Inf"),
    ],
)
def test_bad_mnist_values_refused_before_anything(tmp_path, fill, match):
    imgs = np.random.default_rng(0).random((20, 8, 8))
    imgs[3, 2, 1] = fill
    np.savez(tmp_path / "m.npz", x_train=imgs, y_train=np.zeros(20, np.int64))
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, [*BASE, "--data", f"mnist:{tmp_path / 'm.npz'}", "-o", str(out)])
    _refused(r, match)
    assert not out.exists()


def test_folder_with_another_runs_snapshots_needs_force(tmp_path):
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, ["-q", *ARGS, "-o", str(out)]).exit_code == 0
    (out / "config.json").unlink()
    (out / "model.safetensors").unlink()
    (out / "history.json").unlink()
    (out / "snapshots" / "notes.txt").write_text("mine")
    before = _tree(out)
    r = CliRunner().invoke(cli, [*BASE, "-o", str(out)])
    _refused(r, "snapshots")
    assert _tree(out) == before
    r = CliRunner().invoke(cli, ["-q", *BASE, "-o", str(out), "--force"])
    assert r.exit_code == 0, r.output
    assert [i["step"] for _, i in list_snapshots(out)] == [0, 1]
    assert (out / "snapshots" / "notes.txt").read_text() == "mine"  # --force removes only ours


def test_resume_of_a_broken_snapshot_is_one_line(tmp_path):
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, ["-q", *ARGS, "-o", str(out)]).exit_code == 0
    last, _ = list_snapshots(out)[-1]
    last.write_bytes(last.read_bytes()[:50])
    before = _tree(out)
    r = CliRunner().invoke(cli, [*ARGS, "-o", str(out), "--resume"])
    _refused(r, "truncated")
    assert _tree(out) == before


def test_sparsity_rule_option_is_recorded(tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["-q", *BASE, "--sparsity-rule", "momentum", "-o", str(out)])
    assert r.exit_code == 0, r.output
    cfg = json.loads((out / "config.json").read_text())["config"]
    assert cfg["sparsity_rule"] == "momentum"
    r = CliRunner().invoke(cli, ["-q", *BASE, "-o", str(out), "--resume"])
    _refused(r, "sparsity_rule")  # the default (lab) is another configuration
