"""Trainer: snapshots (format, epoch 0), resume equals an uninterrupted run, history, config."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from netsci_dl.models.dbn import DBN  # noqa: E402
from netsci_dl.models.train import TrainConfig, TrainHistory, list_snapshots, train_dbn  # noqa: E402


def _X(n=120, d=12, seed=0):
    return (np.random.default_rng(seed).random((n, d)) < 0.3).astype(np.float32)


CFG = {
    "layers": (12, 8, 6),
    "epochs": (4, 3),
    "batch_size": 25,
    "snapshot_every": 2,
    "seed": 3,
    "momentum_epochs": 2,
}


class _Stop(Exception):
    pass


def _stopper(at_step):
    def cb(rec):
        if rec["step"] == at_step:
            raise _Stop

    return cb


def _weights(dbn):
    return [t for r in dbn.rbms_ for t in r._params()]


@pytest.mark.parametrize(("persistent", "stop"), [(False, 3), (False, 5), (True, 6)])
def test_resume_equals_uninterrupted(tmp_path, persistent, stop):
    X = _X()
    full = DBN(**CFG, persistent=persistent).fit(X, run_dir=tmp_path / "a", quiet=True)
    dbn = DBN(**CFG, persistent=persistent)
    with pytest.raises(_Stop):
        dbn.fit(X, run_dir=tmp_path / "b", callback=_stopper(stop), quiet=True)
    resumed = DBN(**CFG, persistent=persistent).fit(
        X, run_dir=tmp_path / "b", resume=True, quiet=True
    )
    for a, b in zip(_weights(full), _weights(resumed)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert [r["step"] for r in resumed.history_.records] == list(range(1, 8))
    np.testing.assert_allclose(
        [r["recon_error"] for r in resumed.history_.records],
        [r["recon_error"] for r in full.history_.records],
    )


def test_snapshots_format_and_epoch0(tmp_path):
    import netsci_dl as nd

    X = _X()
    dbn = DBN(**CFG, image_shape=(3, 4)).fit(X, run_dir=tmp_path, quiet=True)
    snaps = list_snapshots(tmp_path)
    keys = [(i["layer"], i["epoch"], i["step"]) for _, i in snaps]
    assert keys == [(0, 0, 0), (0, 2, 2), (0, 4, 4), (1, 2, 6), (1, 3, 7)]
    first, info0 = snaps[0]
    assert info0["recon_error"] is None
    assert info0["image_shape"] == [3, 4]
    e0 = DBN.load(first)
    ref = DBN(**CFG).initialize()
    for a, b in zip(_weights(e0), _weights(ref)):  # epoch 0 = the initial parameters
        torch.testing.assert_close(a, b)
    last = DBN.load(snaps[-1][0])
    for a, b in zip(_weights(last), _weights(dbn)):
        torch.testing.assert_close(a, b)
    assert not torch.allclose(e0.rbms_[0].weights_, dbn.rbms_[0].weights_)
    # mid-run snapshot: trained RBM 0, RBM 1 at its initial value
    mid = DBN.load(snaps[2][0])
    torch.testing.assert_close(mid.rbms_[0].weights_, dbn.rbms_[0].weights_)
    torch.testing.assert_close(mid.rbms_[1].weights_, ref.rbms_[1].weights_)
    G = nd.load(first)
    assert G.layer_sizes == (12, 8, 6)
    assert G.meta["image_shape"] == [3, 4]


def test_existing_snapshots_need_resume_or_force(tmp_path):
    X = _X()
    DBN(**CFG).fit(X, run_dir=tmp_path, quiet=True)
    with pytest.raises(FileExistsError, match="resume"):
        DBN(**CFG).fit(X, run_dir=tmp_path, quiet=True)


def test_history_and_config_roundtrip():
    c = TrainConfig(layers=(5, 4, 3), epochs=(2, 1), per_layer=({"learning_rate": 0.05},))
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert c.rbm_params(0)["learning_rate"] == 0.05
    assert c.rbm_params(1)["learning_rate"] == 0.1
    assert c.rbm_params(1)["sparsity_target"] == 0.05
    assert c.rbm_params(0)["sparsity_target"] is None
    h = DBN(config=c).fit(_X(40, 5), quiet=True).history_
    assert isinstance(h, TrainHistory)
    assert [(r["layer"], r["epoch"]) for r in h.records] == [(0, 1), (0, 2), (1, 1)]
    assert list(h.to_frame().columns) == ["layer", "epoch", "step", "recon_error", "seconds"]
    json.dumps(h.to_dict())


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"layers": (5,)}, "layers"),
        ({"epochs": (1, 2, 3)}, "epochs"),
        ({"sparsity_layers": "mid"}, "sparsity_layers"),
        ({"per_layer": ({"bogus": 1},)}, "bogus"),
        ({"snapshot_every": -1}, "snapshot_every"),
    ],
)
def test_config_errors(kw, match):
    base = {"layers": (5, 4, 3), "epochs": 1}
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{**base, **kw})


def test_train_dbn_run_folder_and_resume_check(tmp_path):
    from netsci_dl.datasets import Dataset

    X = _X(60, 12)
    ds = Dataset(X, np.zeros(60, np.int64), (3, 4), "toy")
    cfg = TrainConfig(layers=(12, 6), epochs=2, batch_size=20)
    dbn, hist = train_dbn(ds, cfg, tmp_path, quiet=True)
    for name in ("model.safetensors", "history.json", "config.json"):
        assert (tmp_path / name).exists()
    assert json.loads((tmp_path / "config.json").read_text())["image_shape"] == [3, 4]
    with pytest.raises(FileExistsError):
        train_dbn(ds, cfg, tmp_path, quiet=True)
    with pytest.raises(ValueError, match="learning_rate"):
        train_dbn(ds, cfg.replace(learning_rate=0.2), tmp_path, resume=True, quiet=True)
    again, _ = train_dbn(ds, cfg, tmp_path, resume=True, quiet=True)
    torch.testing.assert_close(again.rbms_[0].weights_, dbn.rbms_[0].weights_)
