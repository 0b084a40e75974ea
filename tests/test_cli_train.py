"""``netsci-dl train-dbn``: run folder, snapshots, resume, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")

from netsci_dl.cli import cli  # noqa: E402
from netsci_dl.models.train import list_snapshots  # noqa: E402

ARGS = [
    "train-dbn",
    "--data",
    "digits",
    "--layers",
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


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--layers", "10,5"], "64 features"),
        (["--layers", "64"], "--layers"),
        (["--layers", "a,b"], "--layers"),
        (["--data", "mnist:/nope"], "does not exist"),
        (["--device", "cuda"], "CUDA"),
    ],
)
def test_bad_input_exit_2_and_no_file(tmp_path, args, match):
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("CUDA present")
    out = tmp_path / "run"
    base = ["train-dbn", "--layers", "64,8", "--epochs", "1", "-o", str(out)]
    r = CliRunner().invoke(cli, [*base, *args])
    assert r.exit_code == 2, r.output
    assert match in r.output
    assert not (out / "model.safetensors").exists()
    assert not (out / "config.json").exists()
