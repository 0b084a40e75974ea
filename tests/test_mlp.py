"""The small MLP trainer (netsci_dl.models.mlp) and its snapshots."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import netsci_dl as nd  # noqa: E402
from netsci_dl.models.mlp import MLPConfig, build_mlp, train_mlp  # noqa: E402
from netsci_dl.models.train import list_snapshots  # noqa: E402


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
    assert hist[-1]["loss"] < 0.7 * hist[0]["loss"]
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
        } <= set(info)
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
    assert [h["loss"] for h in ha] == [h["loss"] for h in hb]
    c, _ = train_mlp(X, y, MLPConfig(layers=(4, 3, 3), epochs=3, seed=6))
    assert not torch.equal(a[0].weight, c[0].weight)


def test_build_and_errors():
    net = build_mlp((4, 5, 3), device="cpu")
    assert isinstance(net[1], torch.nn.Sigmoid) and len(net) == 3
    X, y = _iris()
    with pytest.raises(ValueError, match="input layer"):
        train_mlp(X[:, :3], y, MLPConfig(layers=(4, 3), epochs=1))
    with pytest.raises(ValueError, match="labels"):
        train_mlp(X, y + 5, MLPConfig(layers=(4, 3), epochs=1))
    with pytest.raises(ValueError, match="layers"):
        MLPConfig(layers=(4,), epochs=1)
