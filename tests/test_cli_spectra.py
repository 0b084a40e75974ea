"""``netsci-dl spectra``, the checkpoint reader behind it (export.weight_tensors,
runs.checkpoint_spectra) and its figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from netsci_dl.analysis import layer_spectra
from netsci_dl.cli import cli
from netsci_dl.errors import InputError
from netsci_dl.export import weight_tensors
from netsci_dl.plot._layout_check import layout_problems
from netsci_dl.plot.spectra import plot_alpha, plot_alpha_over_training, plot_esd
from netsci_dl.runs.spectra import checkpoint_spectra, spectra_over_training


def _state_dict(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "conv.weight": rng.normal(size=(16, 3, 3, 3)).astype(np.float32),
        "bn.weight": np.ones(16, np.float32),
        "bn.running_mean": np.zeros(16, np.float32),
        "bn.num_batches_tracked": np.array(3),
        "fc1.weight": rng.standard_t(3, size=(64, 144)).astype(np.float32),
        "fc1.bias": np.zeros(64, np.float32),
        "emb.weight": rng.normal(size=(50, 8)).astype(np.float32),
        "fc2.weight": rng.normal(size=(10, 64)).astype(np.float32),
    }


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    from safetensors.numpy import save_file

    p = tmp_path / "model.safetensors"
    save_file({k: v for k, v in _state_dict().items() if v.ndim}, str(p))
    return p


def test_weight_tensors_keeps_matrices_and_kernels_as_stored(tmp_path: Path) -> None:
    sd = _state_dict()
    w = weight_tensors(sd)
    assert list(w) == ["conv", "fc1", "emb", "fc2"]  # file order; biases, BN, ints left out
    np.testing.assert_array_equal(w["conv"], sd["conv.weight"])
    assert list(weight_tensors(sd, layers="^fc")) == ["fc1", "fc2"]
    assert list(weight_tensors(sd, layers=["emb"])) == ["emb"]
    raw = tmp_path / "raw.npz"  # raw names: in_out, where a 4-D array is no torch kernel
    np.savez(raw, W0=np.ones((3, 4)), b0=np.ones(3), K=np.ones((2, 2, 3, 3)))
    assert list(weight_tensors(raw)) == ["W0"]
    assert list(weight_tensors(raw, layout="out_in")) == ["W0", "K"]
    with pytest.raises(InputError, match="matches none"):
        weight_tensors(sd, layers="^nothing")
    with pytest.raises(InputError, match="no weight matrix"):
        weight_tensors({"a.bias": np.ones(3)})


def test_checkpoint_spectra_is_layer_spectra_of_the_raw_tensors(ckpt: Path) -> None:
    S = checkpoint_spectra(ckpt, xmin="peak", seed=3)
    w = weight_tensors(_state_dict())
    assert S.names == ("conv", "emb", "fc1", "fc2")  # safetensors sorts: natural name order
    ref = layer_spectra({k: w[k] for k in S.names}, xmin="peak", seed=3)
    pd.testing.assert_frame_equal(S.to_frame(), ref.to_frame())
    assert S.settings["source"] == str(ckpt) and S["conv"].esd.n_slices == 9


def test_cli_spectra_writes_table_json_and_figures(ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["spectra", str(ckpt), "-o", str(out), "--seed", "3"])
    assert res.exit_code == 0, res.output
    names = ["spectra.csv", "spectra.json", "esd.png", "esd.svg", "alpha.png", "alpha.svg"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    df = pd.read_csv(out / "spectra.csv")
    w = weight_tensors(_state_dict())
    ref = layer_spectra({k: w[k] for k in ("conv", "emb", "fc1", "fc2")}, seed=3).to_frame()
    assert list(df["name"]) == list(ref["name"])
    for col in ("alpha", "alpha_stderr", "ks", "lambda_max", "stable_rank", "mp_sigma"):
        # CSV keeps 17 significant digits: the values round-trip
        np.testing.assert_allclose(df[col], ref[col], rtol=1e-15)
    for col in ("n_spikes", "n_traps", "n_slices"):
        assert list(df[col]) == list(ref[col])
    d = json.loads((out / "spectra.json").read_text())
    assert d["settings"]["source"] == str(ckpt) and len(d["matrices"]) == 4
    res = CliRunner().invoke(cli, ["spectra", str(ckpt), "-o", str(out)])
    assert res.exit_code == 2 and "exists" in res.output
    res = CliRunner().invoke(
        cli, ["spectra", str(ckpt), "-o", str(out), "--force", "--xmin", "peak"]
    )
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(out / "spectra.csv")["xmin_rule"]) == {"peak"}


def test_cli_spectra_delta_and_errors(ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "delta"
    res = CliRunner().invoke(cli, ["spectra", str(ckpt), "--delta-from", str(ckpt), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert (pd.read_csv(out / "spectra.csv")["lambda_max"] == 0).all()  # W - W = 0
    assert json.loads((out / "spectra.json").read_text())["settings"]["delta"] is True
    bad = [
        (["--model", "x:Y"], "--model"),
        (["--conv-reduce", "sum"], "--conv-reduce"),
        (["--xmin", "mode"], "--xmin"),
        (["--layers", "^nothing"], "matches none"),
        (["--compat", "ww"], "compat"),
    ]
    for args, text in bad:
        res = CliRunner().invoke(cli, ["spectra", str(ckpt), "-o", str(tmp_path / "e"), *args])
        assert res.exit_code == 2 and text in res.output, (args, res.output)
        assert not (tmp_path / "e" / "spectra.csv").exists()
    res = CliRunner().invoke(
        cli, ["spectra", str(tmp_path / "missing.pt"), "-o", str(tmp_path / "m")]
    )
    assert res.exit_code == 2 and "missing.pt" in res.output


def test_figures_keep_their_layout() -> None:
    rng = np.random.default_rng(0)
    W = {
        f"layer.{i}.a_long_module_name": rng.standard_t(3, (80, 40)) * 10.0 ** (i - 6)
        for i in range(30)
    }
    W["conv"] = rng.normal(size=(8, 4, 3, 3))
    S = layer_spectra(W, traps=False)
    zero = layer_spectra({"a": np.ones((5, 4))}, reference={"a": np.ones((5, 4))})
    for fig in (plot_esd(S), plot_alpha(S), plot_esd(zero), plot_alpha(zero)):
        fig.canvas.draw()
        assert layout_problems(fig) == []
    assert "24 of 31" in plot_esd(S)._suptitle.get_text()


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    from netsci_dl.models.mlp import MLPConfig, train_mlp

    run = tmp_path_factory.mktemp("mlp_run")
    rng = np.random.default_rng(0)
    X = rng.random((120, 20)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    train_mlp(X, y, MLPConfig(layers=(20, 16, 12, 2), epochs=3, learning_rate=1.0), run)
    return run


def test_spectra_over_training_of_a_run_folder(mlp_run: Path) -> None:
    from netsci_dl.runs.format import list_snapshots

    snaps = list_snapshots(mlp_run)
    T = spectra_over_training(mlp_run, seed=4)
    assert len(T.spectra) == len(snaps) >= 3 and list(T.steps) == [i["step"] for _, i in snaps]
    for (path, _), S in zip(snaps, T.spectra):  # each snapshot: checkpoint_spectra of its file
        pd.testing.assert_frame_equal(S.to_frame(), checkpoint_spectra(path, seed=4).to_frame())
    alpha = T.metric("alpha")
    assert alpha.shape == (len(snaps), len(T.names))
    np.testing.assert_array_equal(alpha[-1], T.spectra[-1].alpha)
    df = T.to_frame()
    assert list(df.columns) == ["snapshot", "step", "epoch", "layer", "metric", "value"]
    a = df[(df["metric"] == "alpha") & (df["layer"] == T.names[0])]["value"].to_numpy()
    np.testing.assert_array_equal(a, alpha[:, 0])
    json.dumps(T.to_dict(), allow_nan=False)
    D = spectra_over_training(mlp_run, delta=True, traps=False)
    np.testing.assert_array_equal(D.metric("lambda_max")[0], 0.0)  # W_0 - W_0
    w0, w1 = weight_tensors(snaps[0][0]), weight_tensors(snaps[1][0])
    name = D.names[0]
    ref = layer_spectra({name: w1[name]}, reference={name: w0[name]}, traps=False)[0]
    np.testing.assert_array_equal(D.spectra[1][name].esd.eigenvalues, ref.esd.eigenvalues)
    assert "W - W_first" in repr(D) and len(repr(T)) < 300
    fig = plot_alpha_over_training(T)
    fig.canvas.draw()
    assert layout_problems(fig) == []


def test_spectra_of_a_hugging_face_folder(tmp_path):
    """A local transformers folder: the spectra of every matrix its weight file holds."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel  # the extra [hf], in [dev]

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=64, n_embd=16, n_layer=2, n_head=2, n_positions=32)
    GPT2LMHeadModel(cfg).save_pretrained(tmp_path / "gpt2")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["spectra", str(tmp_path / "gpt2"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out / "spectra.csv")
    names = set(df["name"])
    assert {f"transformer.h.{i}.attn.c_attn" for i in range(2)} <= names
    row = df.set_index("name").loc["transformer.h.0.attn.c_attn"]
    assert (row["n"], row["m"]) == (48, 16)  # Conv1D stores (in, out) = (16, 48): larger side n
