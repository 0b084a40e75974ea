"""The report of a run folder: its training section (similarity of each layer to its end)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from netsci_dl.cli import cli
from netsci_dl.datasets import PROBE_SIZE, load_digits
from netsci_dl.models.mlp import MLPConfig, train_mlp
from netsci_dl.runs.similarity import training_similarity

TITLE = "Training: similarity to the final state"


@pytest.fixture(scope="module")
def dbn_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "dbn"
    args = ["-q", "train-dbn", "--data", "digits", "--sizes", "64,16,8", "--epochs", "2"]
    r = CliRunner().invoke(cli, [*args, "--snapshot-every", "1", "-o", str(run)])
    assert r.exit_code == 0, r.output
    return run


def test_run_folder_report_has_a_training_section(dbn_run, tmp_path):
    out = tmp_path / "rep"
    r = CliRunner().invoke(cli, ["-q", "analyze", str(dbn_run), "-o", str(out)])
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    sec = summary["sections"][TITLE]
    assert sec["data"] == "digits" and sec["probe_size"] == PROBE_SIZE == 256
    # the section's numbers are training_similarity's on the same probe set
    ds = load_digits().subset(PROBE_SIZE, seed=0)
    T = training_similarity(dbn_run, ds, within=False)
    assert sec["n_snapshots"] == T.n_snapshots and sec["bottom_up"] == bool(T.bottom_up(0.9))
    conv = T.converged_at(0.9)
    assert sec["converged_at"] == {k: (None if v != v else int(v)) for k, v in zip(T.layers, conv)}
    assert (out / "figures" / "training_similarity.png").is_file()
    page = (out / "index.html").read_text()
    assert TITLE in page and "bottom-up" in page
    # the graph analysed is the final model of the run, named after the run folder
    assert summary["model"] == "dbn"
    assert summary["structure"]["layers"] == {"visible": 64, "h1": 16, "h2": 8}


def test_run_without_its_data_is_skipped_with_a_note(tmp_path):
    d = load_digits()
    run = tmp_path / "mlp"
    train_mlp(d.X[:100], d.y[:100], MLPConfig(layers=(64, 6, 10), epochs=2), run)
    out = tmp_path / "rep"
    r = CliRunner().invoke(cli, ["-q", "analyze", str(run), "-o", str(out)])
    assert r.exit_code == 0, r.output
    sec = json.loads((out / "summary.json").read_text())["sections"][TITLE]
    assert "does not record its data" in sec["skipped"]
    r = CliRunner().invoke(
        cli, ["-q", "analyze", str(run), "--data", "digits", "-o", str(out / "b")]
    )
    assert r.exit_code == 0, r.output
    sec = json.loads((out / "b" / "summary.json").read_text())["sections"][TITLE]
    assert sec["n_snapshots"] == 3 and np.isfinite(list(sec["converged_at"].values())[0] or 0)


def test_data_is_for_run_folders(dbn_run, tmp_path):
    ck = dbn_run / "model.safetensors"
    r = CliRunner().invoke(cli, ["analyze", str(ck), "--data", "digits", "-o", str(tmp_path / "r")])
    assert r.exit_code == 2 and "run folder" in r.output and not (tmp_path / "r").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    r = CliRunner().invoke(cli, ["analyze", str(empty), "-o", str(tmp_path / "r")])
    assert r.exit_code == 2 and "not a run" in r.output


def test_run_trained_on_mnist_records_a_spec_that_loads(tmp_path):
    """A run trained with --data mnist:PATH records that spec (not the name 'mnist-train');
    an older run that records the name gets a skipped section saying so, not a failure."""
    import shutil
    import struct

    from netsci_dl.datasets import load

    imgs = np.random.default_rng(0).integers(0, 256, (30, 4, 4)).astype(np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 2051, 30, 4, 4) + imgs.tobytes()
    )
    run = tmp_path / "run"
    args = ["-q", "train-dbn", "--data", f"mnist:{tmp_path}", "--sizes", "16,6,4", "--epochs", "1"]
    r = CliRunner().invoke(cli, [*args, "--snapshot-every", "1", "-o", str(run)])
    assert r.exit_code == 0, r.output
    spec = json.loads((run / "config.json").read_text())["data"]
    assert spec == f"mnist:{tmp_path.resolve()}"
    np.testing.assert_allclose(load(spec).X, imgs.reshape(30, -1) / 255.0, rtol=1e-6)
    old = tmp_path / "old"
    shutil.copytree(run, old)
    cfg = json.loads((old / "config.json").read_text())
    (old / "config.json").write_text(json.dumps(dict(cfg, data="mnist-train")))
    from netsci_dl.report.training import training_section

    sec = training_section(None, run=old).summary  # skipped before it needs the report
    assert "'mnist-train', which does not load" in sec["skipped"]
    assert "--data SPEC" in sec["skipped"]
