"""The small MLP trainer (netsci_dl.models.mlp) and its snapshots."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

import netsci_dl as nd
from netsci_dl.errors import InputError
from netsci_dl.models.mlp import MLPConfig, build_mlp, train_mlp
from netsci_dl.models.train import list_snapshots


def _iris():
    from sklearn.datasets import load_iris

    b = load_iris()
    X = (b.data - b.data.min(0)) / (b.data.max(0) - b.data.min(0))
    return X.astype(np.float32), b.target


def test_iris_loss_drops_and_snapshots(tmp_path):
    X, y = _iris()
    cfg = MLPConfig(
        layers=(4, 5, 5, 3), epochs=40, learning_rate=1.0, batch_size=10, snapshot_every=10
    )
    net, hist = train_mlp(X, y, cfg, tmp_path, data_name="iris")
    assert [h["epoch"] for h in hist] == list(range(41))
    assert hist[-1]["train_loss"] < 0.7 * hist[0]["train_loss"]
    assert set(hist[0]) == {"epoch", "step", "train_loss", "train_accuracy", "seconds"}
    snaps = list_snapshots(tmp_path)
    assert [i["epoch"] for _, i in snaps] == [0, 10, 20, 30, 40]
    assert [i["step"] for _, i in snaps] == [0, 10, 20, 30, 40]
    for p, info in snaps:
        assert p.name == f"step{info['step']:05d}_layer0_epoch{info['epoch']:04d}.safetensors"
        assert {
            "format",
            "file",
            "layer",
            "epoch",
            "step",
            "layers",
            "epochs",
            "recon_error",
            "elapsed_s",
            "image_shape",
            "train_loss",
            "train_accuracy",
        } <= set(info)
        assert info["train_loss"] == hist[info["epoch"]]["train_loss"]
        side = json.loads(p.with_suffix(".json").read_text())
        assert "loss" not in side and "accuracy" not in side  # one vocabulary (runs.format)
        G = nd.load(p)
        assert G.layer_sizes == (4, 5, 5, 3)
        assert G.meta["directed"] and G.meta["model_kind"] == "mlp"
    G = nd.load(snaps[-1][0])
    np.testing.assert_allclose(G.blocks[0], net[0].weight.detach().numpy().T)
    np.testing.assert_allclose(G.node_attrs["bias"][4:9], net[0].bias.detach().numpy())
    assert json.loads((tmp_path / "config.json").read_text())["config"]["layers"] == [4, 5, 5, 3]
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "history.json").exists()
    with pytest.raises(FileExistsError):
        train_mlp(X, y, cfg, tmp_path)
    train_mlp(
        X,
        y,
        cfg.__class__(**{**cfg.to_dict(), "layers": (4, 5, 5, 3), "epochs": 2}),
        tmp_path,
        force=True,
    )
    assert [i["epoch"] for _, i in list_snapshots(tmp_path)] == [0, 2]  # old snapshots removed


def test_same_seed_same_run():
    X, y = _iris()
    cfg = MLPConfig(layers=(4, 3, 3), epochs=3, seed=5)
    a, ha = train_mlp(X, y, cfg)
    b, hb = train_mlp(X, y, cfg)
    for k, v in a.state_dict().items():
        torch.testing.assert_close(v, b.state_dict()[k])
    assert [h["train_loss"] for h in ha] == [h["train_loss"] for h in hb]
    c, _ = train_mlp(X, y, MLPConfig(layers=(4, 3, 3), epochs=3, seed=6))
    assert not torch.equal(a[0].weight, c[0].weight)


def test_build_and_errors():
    net = build_mlp((4, 5, 3), device="cpu")
    assert isinstance(net[1], torch.nn.Sigmoid) and len(net) == 3
    X, y = _iris()
    with pytest.raises(InputError, match="input layer"):
        train_mlp(X[:, :3], y, MLPConfig(layers=(4, 3), epochs=1))
    with pytest.raises(InputError, match="labels"):
        train_mlp(X, y + 5, MLPConfig(layers=(4, 3), epochs=1))
    with pytest.raises(InputError, match="layers"):
        MLPConfig(layers=(4,), epochs=1)


def _tree(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"learning_rate": float("inf")}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"momentum": 1.0}, "momentum"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"epochs": -1}, "epochs"),
        ({"snapshot_every": -1}, "snapshot_every"),
        ({"seed": -1}, "seed"),
        ({"layers": (4, 0, 3)}, "layers"),
        ({"layers": "4,3"}, "layers"),
    ],
)
def test_config_refuses_bad_settings(kw, match):
    with pytest.raises(InputError, match=match):
        MLPConfig(**{"layers": (4, 3), "epochs": 1, **kw})


def test_bad_arguments_and_data_refused_before_anything(tmp_path):
    X, y = _iris()
    cfg = MLPConfig(layers=(4, 3), epochs=1)
    run = tmp_path / "run"
    Xn = X.copy()
    Xn[0, 0] = np.nan
    cases = [
        ({"num_threads": 0}, X, y, "num_threads"),
        ({}, Xn, y, "NaN"),
        ({}, X, y.astype(float) + 0.5, "whole"),
        ({}, X[:0], y[:0], "no rows"),
        ({}, np.full(X.shape, 1e39), y, "float32"),
    ]
    for kw, Xc, yc, match in cases:
        with pytest.raises(InputError, match=match):
            train_mlp(Xc, yc, cfg, run, **kw)
    with pytest.raises(InputError, match="device"):
        train_mlp(X, y, MLPConfig(layers=(4, 3), epochs=1, device="warp9"), run)
    assert not run.exists()


def test_folder_with_snapshots_needs_force_or_resume(tmp_path):
    X, y = _iris()
    cfg = MLPConfig(layers=(4, 3, 3), epochs=2)
    train_mlp(X, y, cfg, tmp_path)
    for name in ("config.json", "model.safetensors", "history.json"):
        (tmp_path / name).unlink()
    before = _tree(tmp_path)
    with pytest.raises(FileExistsError):
        train_mlp(X, y, cfg, tmp_path)
    with pytest.raises(InputError, match="no config.json"):
        train_mlp(X, y, cfg, tmp_path, resume=True)
    assert _tree(tmp_path) == before


class _Stop(Exception):
    pass


def _run_until(X, y, cfg, run, stop_epoch):
    """Train, but crash right after the snapshot of ``stop_epoch`` is written."""
    import netsci_dl.models.mlp as m

    real = m._save

    def save(*a, **kw):
        real(*a, **kw)
        if kw["epoch"] == stop_epoch:
            raise _Stop

    m._save = save
    try:
        with pytest.raises(_Stop):
            train_mlp(X, y, cfg, run)
    finally:
        m._save = real


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_resume_equals_uninterrupted(tmp_path, momentum):
    X, y = _iris()
    cfg = MLPConfig(layers=(4, 5, 3), epochs=6, snapshot_every=2, momentum=momentum, seed=2)
    full, hfull = train_mlp(X, y, cfg, tmp_path / "a")
    _run_until(X, y, cfg, tmp_path / "b", 4)
    net, hist = train_mlp(X, y, cfg, tmp_path / "b", resume=True)
    for k, v in full.state_dict().items():
        torch.testing.assert_close(net.state_dict()[k], v, rtol=0, atol=0)
    assert [h["train_loss"] for h in hist] == [h["train_loss"] for h in hfull]
    assert [i["epoch"] for _, i in list_snapshots(tmp_path / "b")] == [0, 2, 4, 6]
    with pytest.raises(InputError, match="learning_rate"):
        train_mlp(
            X, y, MLPConfig(**{**cfg.to_dict(), "learning_rate": 0.1}), tmp_path / "b", resume=True
        )


def test_resume_and_read_a_run_written_before_0_3(tmp_path):
    """A run folder of the 0.2 MLP trainer ("loss" / "accuracy" in its sidecars and in the
    history of its training state) is read and resumed in today's vocabulary."""
    X, y = _iris()
    cfg = MLPConfig(layers=(4, 5, 3), epochs=6, snapshot_every=2, seed=2)
    _, hfull = train_mlp(X, y, cfg, tmp_path / "a")
    _run_until(X, y, cfg, tmp_path / "b", 4)
    old = {"train_loss": "loss", "train_accuracy": "accuracy"}
    for p, _ in list_snapshots(tmp_path / "b"):
        side = p.with_suffix(".json")
        d = json.loads(side.read_text())
        side.write_text(json.dumps({old.get(k, k): v for k, v in d.items()}))

    def old_history(meta):
        hist = [{old.get(k, k): v for k, v in r.items()} for r in json.loads(meta["history"])]
        return dict(meta, history=json.dumps(hist))

    _rewrite(_last_state(tmp_path / "b")[1], meta_change=old_history)
    snaps = list_snapshots(tmp_path / "b")
    assert all(
        "loss" not in i and i["train_loss"] == hfull[i["epoch"]]["train_loss"] for _, i in snaps
    )
    _, hist = train_mlp(X, y, cfg, tmp_path / "b", resume=True)
    assert hist == [dict(h, seconds=r["seconds"]) for h, r in zip(hfull, hist)]


def _last_state(run):
    path, _ = list_snapshots(run)[-1]
    return path, path.with_name(path.name.replace(".safetensors", ".state.safetensors"))


def _rewrite(path, change=None, meta_change=None):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
        t = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    save_file(
        change(t) if change else t, str(path), metadata=meta_change(meta) if meta_change else meta
    )


MLP_HOSTILE = {
    "model truncated": lambda m, s: m.write_bytes(m.read_bytes()[:40]),
    "state empty": lambda m, s: s.write_bytes(b""),
    "state missing": lambda m, s: s.unlink(),
    "weights NaN": lambda m, s: _rewrite(
        m, lambda t: dict(t, **{"0.weight": t["0.weight"] * np.nan})
    ),
    "foreign tensor": lambda m, s: _rewrite(m, lambda t: dict(t, extra=torch.zeros(2))),
    "momentum buffer missing": lambda m, s: _rewrite(
        s, lambda t: {k: v for k, v in t.items() if k != "opt.0.momentum_buffer"}
    ),
    "epoch 99": lambda m, s: _rewrite(s, meta_change=lambda d: dict(d, epoch="99")),
    "history short": lambda m, s: _rewrite(s, meta_change=lambda d: dict(d, history="[]")),
    "generator corrupt": lambda m, s: _rewrite(
        s, lambda t: dict(t, generator=torch.zeros(16, dtype=torch.uint8))
    ),
}


@pytest.mark.parametrize("case", list(MLP_HOSTILE))
def test_resume_refuses_broken_snapshots(tmp_path, case):
    X, y = _iris()
    cfg = MLPConfig(layers=(4, 5, 3), epochs=6, snapshot_every=2, momentum=0.5)
    _run_until(X, y, cfg, tmp_path, 4)
    MLP_HOSTILE[case](*_last_state(tmp_path))
    before = _tree(tmp_path)
    with pytest.raises(InputError) as e:
        train_mlp(X, y, cfg, tmp_path, resume=True)
    assert "\n" not in str(e.value)
    assert _tree(tmp_path) == before


def test_layers_too_large_for_memory_are_refused(tmp_path):
    X, y = _iris()
    with pytest.raises(InputError, match="memory"):
        train_mlp(X, y, MLPConfig(layers=(4, 10**7, 10**6, 3), epochs=1), tmp_path / "run")
    assert not (tmp_path / "run").exists()
