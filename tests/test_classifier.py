"""Classifier builders, trainer, run folder, loading and exact resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import netsci_dl
from netsci_dl.errors import InputError
from netsci_dl.models.classifier import (
    ArchConfig,
    ClassifierConfig,
    Deficit,
    build_classifier,
    load_classifier,
    read_classifier_meta,
    train_classifier,
)
from netsci_dl.runs.format import list_snapshots

BASE_SIDECAR_KEYS = {
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
}


@pytest.fixture(scope="module")
def digits():
    from netsci_dl.datasets import load_digits

    d = load_digits()
    return d.X[:240], d.y[:240], d.X[240:300], d.y[240:300]


@pytest.mark.parametrize(
    ("kind", "shape", "names", "n_flat"),
    [
        ("mlp", (8, 8), ["fc1", "fc2"], 64),
        ("lenet", (8, 8), ["conv1", "conv2", "fc1", "fc2", "fc3"], 64),
        ("lenet", (28, 28), ["conv1", "conv2", "fc1", "fc2", "fc3"], 400),
        ("allcnn", (8, 8), [f"conv{i}" for i in range(1, 9)], None),
    ],
)
def test_builders(kind, shape, names, n_flat) -> None:
    net = build_classifier(ArchConfig(kind, shape, 10), seed=0)
    mods = [n for n, m in net.named_children() if any(True for _ in m.parameters())]
    assert mods == names
    n = int(np.prod(shape))
    assert tuple(net(torch.zeros(3, n)).shape) == (3, 10)
    assert tuple(net(torch.zeros(3, 1, *shape)).shape) == (3, 10)
    if n_flat is not None:
        assert net.fc1.in_features == n_flat


def test_seeded_init_leaves_global_rng() -> None:
    a = ArchConfig("lenet", (8, 8), 10)
    state = torch.random.get_rng_state()
    n1, n2, n3 = (
        build_classifier(a, seed=3),
        build_classifier(a, seed=3),
        build_classifier(a, seed=4),
    )
    assert torch.equal(torch.random.get_rng_state(), state)
    torch.testing.assert_close(n1.fc1.weight, n2.fc1.weight, rtol=0, atol=0)
    assert not torch.equal(n1.fc1.weight, n3.fc1.weight)


def test_config_validation_and_schedules() -> None:
    a = ArchConfig("mlp", (4,), 3)
    with pytest.raises(InputError, match="arch"):
        ArchConfig("resnet", (8, 8), 10)
    with pytest.raises(InputError, match="image"):
        ArchConfig("lenet", (64,), 10)
    with pytest.raises(InputError, match="optimizer"):
        ClassifierConfig(a, epochs=1, optimizer="lbfgs")
    c = ClassifierConfig(a, epochs=1, schedule="step", step_size=3, gamma=0.1, learning_rate=1.0)
    np.testing.assert_allclose([c.lr_at(i) for i in range(7)], [1, 1, 1, 0.1, 0.1, 0.1, 0.01])
    assert ClassifierConfig(a, epochs=1).lr_at(50) == 0.05
    d = c.replace(deficit=Deficit("vflip", 1, 2)).to_dict()
    assert ClassifierConfig.from_dict(json.loads(json.dumps(d))) == c.replace(
        deficit=Deficit("vflip", 1, 2)
    )


@pytest.mark.parametrize(("optimizer", "arch"), [("sgd", "mlp"), ("adam", "lenet")])
def test_training_learns_digits(digits, optimizer, arch) -> None:
    X, y, Xt, yt = digits
    cfg = ClassifierConfig(
        ArchConfig(arch, (8, 8), 10),
        epochs=6,
        optimizer=optimizer,
        learning_rate=0.1 if optimizer == "sgd" else 0.005,
        batch_size=16,
        weight_decay=1e-4,
    )
    _, hist = train_classifier((X, y), cfg, test=(Xt, yt))
    assert hist[0]["epoch"] == 0 and len(hist) == 7
    assert hist[-1]["train_accuracy"] > 0.6 and hist[-1]["test_accuracy"] > 0.5
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_run_folder_snapshots_and_load(tmp_path, digits) -> None:
    X, y, Xt, yt = digits
    cfg = ClassifierConfig(
        ArchConfig("lenet", (8, 8), 10),
        epochs=3,
        batch_size=32,
        deficit=Deficit("blur", 0, 2, factor=2),
        snapshot_every=2,
    )
    net, hist = train_classifier((X, y), cfg, tmp_path / "run", test=(Xt, yt))
    snaps = list_snapshots(tmp_path / "run")
    assert [i["epoch"] for _, i in snaps] == [0, 2, 3]
    info = snaps[1][1]
    assert BASE_SIDECAR_KEYS <= set(info)
    assert info["model_kind"] == "classifier" and info["layer"] == 0 and info["recon_error"] is None
    assert info["layers"] == [1, 6, 16, 120, 84, 10] and info["epochs"] == [3]
    assert info["test_accuracy"] == hist[2]["test_accuracy"]
    side = json.loads(snaps[1][0].with_suffix(".json").read_text())
    assert not {"loss", "accuracy"} & set(side)  # one vocabulary: train_loss, train_accuracy
    assert side["train_loss"] == hist[2]["train_loss"]
    assert info["deficit"]["active"] is True and info["deficit"]["removed"] is True
    assert snaps[2][1]["deficit"]["active"] is False
    meta, _ = read_classifier_meta(snaps[1][0])
    assert meta["model_kind"] == "classifier" and meta["epoch"] == 2 and meta["layer"] == 0
    assert meta["arch"] == cfg.arch.to_dict()
    final = load_classifier(tmp_path / "run" / "model.safetensors")
    for (k, v), (k2, v2) in zip(final.state_dict().items(), net.state_dict().items()):
        assert k == k2
        torch.testing.assert_close(v, v2, rtol=0, atol=0)
    assert not final.training
    G = netsci_dl.load(snaps[-1][0])
    assert G.layer_sizes == (1, 6, 16, 120, 84, 10)
    doc = json.loads((tmp_path / "run" / "config.json").read_text())
    assert doc["model_kind"] == "classifier" and doc["config"] == cfg.to_dict()
    hist_file = json.loads((tmp_path / "run" / "history.json").read_text())["records"]
    assert hist_file == hist
    with pytest.raises(FileExistsError):
        train_classifier((X, y), cfg, tmp_path / "run")


def test_load_is_strict_and_safe(tmp_path) -> None:
    from safetensors.torch import save_file

    a = ArchConfig("mlp", (4,), 3, hidden=(5,))
    net = build_classifier(a)
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    meta = json.dumps({"model_kind": "classifier", "arch": a.to_dict()})
    save_file(dict(sd, extra=torch.zeros(1)), str(tmp_path / "x.safetensors"), {"netsci_dl": meta})
    with pytest.raises(InputError, match="do not match"):
        load_classifier(tmp_path / "x.safetensors")
    save_file(sd, str(tmp_path / "y.safetensors"), {"netsci_dl": json.dumps({"model_kind": "mlp"})})
    with pytest.raises(InputError, match="not a netsci_dl classifier"):
        load_classifier(tmp_path / "y.safetensors")
    torch.save({"netsci_dl": meta, "state_dict": sd}, tmp_path / "z.pt")
    m = load_classifier(tmp_path / "z.pt")
    torch.testing.assert_close(m.fc1.weight, net.fc1.weight)
    from netsci_dl._array import resolve_device

    auto = resolve_device("auto")
    for dev in (None, "auto"):  # None and "auto" both mean: CUDA when present, else the CPU
        assert next(load_classifier(tmp_path / "z.pt", device=dev).parameters()).device == auto
    (tmp_path / "w.npz").write_bytes(b"")
    with pytest.raises(InputError, match="expected a .safetensors"):
        load_classifier(tmp_path / "w.npz")


class _Stop(Exception):
    pass


@pytest.mark.parametrize(
    ("optimizer", "deficit", "every", "stop"),
    [
        ("sgd", Deficit("noise", 1, 2), 1, 2),
        ("adam", Deficit("label_permutation", 0, 2), 2, 3),
    ],
)
def test_exact_resume(tmp_path, digits, optimizer, deficit, every, stop) -> None:
    X, y, Xt, yt = digits
    cfg = ClassifierConfig(
        ArchConfig("mlp", (8, 8), 10, hidden=(16,)),
        epochs=5,
        optimizer=optimizer,
        learning_rate=0.05 if optimizer == "sgd" else 0.003,
        schedule="exponential",
        gamma=0.9,
        weight_decay=1e-3,
        batch_size=32,
        deficit=deficit,
        snapshot_every=every,
    )
    full, hist_full = train_classifier((X, y), cfg, tmp_path / "a", test=(Xt, yt))

    def stopper(rec):
        if rec["epoch"] == stop:
            raise _Stop

    with pytest.raises(_Stop):
        train_classifier((X, y), cfg, tmp_path / "b", test=(Xt, yt), callback=stopper)
    part, hist = train_classifier((X, y), cfg, tmp_path / "b", test=(Xt, yt), resume=True)
    for (k, v), v2 in zip(full.state_dict().items(), part.state_dict().values()):
        torch.testing.assert_close(v, v2, rtol=0, atol=0, msg=k)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in hist]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in hist_full]
    # a finished run resumes to itself
    again, _ = train_classifier((X, y), cfg, tmp_path / "b", test=(Xt, yt), resume=True)
    torch.testing.assert_close(again.fc1.weight, full.fc1.weight, rtol=0, atol=0)
    with pytest.raises(InputError, match="differs"):
        train_classifier((X, y), cfg.replace(learning_rate=0.5), tmp_path / "b", resume=True)


def test_bad_data() -> None:
    cfg = ClassifierConfig(ArchConfig("mlp", (4,), 3), epochs=1)
    with pytest.raises(InputError, match="features"):
        train_classifier((np.zeros((5, 3)), np.zeros(5, int)), cfg)
    with pytest.raises(InputError, match="labels"):
        train_classifier((np.zeros((5, 4)), np.full(5, 3)), cfg)


@pytest.mark.gpu
def test_cuda_training_and_load(tmp_path, digits) -> None:
    X, y, Xt, yt = digits
    cfg = ClassifierConfig(ArchConfig("lenet", (8, 8), 10), epochs=2, batch_size=32, device="cuda")
    net, hist = train_classifier((X, y), cfg, tmp_path / "run", test=(Xt, yt))
    assert next(net.parameters()).is_cuda and len(hist) == 3
    m = load_classifier(tmp_path / "run" / "model.safetensors")
    assert not next(m.parameters()).is_cuda  # loads on the CPU unless asked
    from netsci_dl.models.load import load_model

    for dev in (None, "auto"):  # None and "auto" both mean: CUDA when present
        p = tmp_path / "run" / "model.safetensors"
        assert next(load_classifier(p, device=dev).parameters()).is_cuda
        assert next(load_model(p, device=dev).parameters()).is_cuda
    torch.testing.assert_close(m.fc1.weight, net.fc1.weight.cpu())
