"""Trainer: snapshots (format, epoch 0), resume equals an uninterrupted run, history, config."""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import pytest
import torch

from netsci_dl.errors import InputError
from netsci_dl.models.dbn import DBN
from netsci_dl.models.train import TrainConfig, TrainHistory, list_snapshots, train_dbn


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
    full = DBN(**CFG, persistent=persistent).fit(X, run_dir=tmp_path / "a", progress=False)
    dbn = DBN(**CFG, persistent=persistent)
    with pytest.raises(_Stop):
        dbn.fit(X, run_dir=tmp_path / "b", callback=_stopper(stop), progress=False)
    resumed = DBN(**CFG, persistent=persistent).fit(
        X, run_dir=tmp_path / "b", resume=True, progress=False
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
    dbn = DBN(**CFG, image_shape=(3, 4)).fit(X, run_dir=tmp_path, progress=False)
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
    DBN(**CFG).fit(X, run_dir=tmp_path, progress=False)
    with pytest.raises(FileExistsError, match="resume"):
        DBN(**CFG).fit(X, run_dir=tmp_path, progress=False)
    before = _tree(tmp_path)
    with pytest.raises(FileExistsError):  # a snapshot folder alone, without config.json
        train_dbn(X, TrainConfig(**CFG), tmp_path, progress=False)
    assert _tree(tmp_path) == before


def test_history_and_config_roundtrip():
    c = TrainConfig(layers=(5, 4, 3), epochs=(2, 1), per_layer=({"learning_rate": 0.05},))
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert c.rbm_params(0)["learning_rate"] == 0.05
    assert c.rbm_params(1)["learning_rate"] == 0.1
    assert c.rbm_params(1)["sparsity_target"] == 0.05
    assert c.rbm_params(0)["sparsity_target"] is None
    h = DBN(config=c).fit(_X(40, 5), progress=False).history_
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
        ({"learning_rate": float("inf")}, "learning_rate"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"cd_k": 0}, "cd_k"),
        ({"momentum": 1.0}, "momentum"),
        ({"weight_decay": float("nan")}, "weight_decay"),
        ({"sparsity_target": 1.5}, "sparsity_target"),
        ({"sparsity_rule": "other"}, "sparsity_rule"),
        ({"seed": -3}, "seed"),
        ({"layers": (5, 0)}, "layers"),
        ({"layers": (5, 2.5)}, "layers"),
        ({"epochs": 1.5}, "epochs"),
        ({"dtype": "int8"}, "dtype"),
        ({"visible": "poisson"}, "visible"),
        ({"per_layer": ({"learning_rate": float("inf")},)}, "RBM 0: learning_rate"),
    ],
)
def test_config_errors(kw, match):
    base = {"layers": (5, 4, 3), "epochs": 1}
    with pytest.raises(InputError, match=match):
        TrainConfig(**{**base, **kw})


def test_train_dbn_run_folder_and_resume_check(tmp_path):
    from netsci_dl.datasets import Dataset

    X = _X(60, 12)
    ds = Dataset(X, np.zeros(60, np.int64), (3, 4), "toy")
    cfg = TrainConfig(layers=(12, 6), epochs=2, batch_size=20)
    dbn, hist = train_dbn(ds, cfg, tmp_path, progress=False)
    for name in ("model.safetensors", "history.json", "config.json"):
        assert (tmp_path / name).exists()
    assert json.loads((tmp_path / "config.json").read_text())["image_shape"] == [3, 4]
    with pytest.raises(FileExistsError):
        train_dbn(ds, cfg, tmp_path, progress=False)
    with pytest.raises(InputError, match="learning_rate"):
        train_dbn(ds, cfg.replace(learning_rate=0.2), tmp_path, resume=True, progress=False)
    again, _ = train_dbn(ds, cfg, tmp_path, resume=True, progress=False)
    torch.testing.assert_close(again.rbms_[0].weights_, dbn.rbms_[0].weights_)


def _tree(folder):
    """Every file under ``folder`` with its content hash: equal trees mean nothing was written."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_sparsity_rule_recorded_and_old_configs_read_as_momentum(tmp_path):
    from safetensors import safe_open

    X = _X()
    cfg = TrainConfig(**CFG)
    assert cfg.sparsity_rule == "lab"
    train_dbn(X, cfg.replace(sparsity_rule="momentum"), tmp_path, progress=False)
    doc = json.loads((tmp_path / "config.json").read_text())
    assert doc["config"]["sparsity_rule"] == "momentum"
    for path, info in list_snapshots(tmp_path):
        assert info["sparsity_rule"] == "momentum"
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads(f.metadata()["netsci_dl"])
        assert meta["config"]["sparsity_rule"] == "momentum"
    old = dict(doc["config"])
    del old["sparsity_rule"]
    assert TrainConfig.from_dict(old).sparsity_rule == "momentum"


def test_lab_and_momentum_rules_train_differently():
    X = _X()
    a = DBN(**CFG).fit(X, progress=False)
    b = DBN(**CFG, sparsity_rule="momentum").fit(X, progress=False)
    torch.testing.assert_close(a.rbms_[0].weights_, b.rbms_[0].weights_, rtol=0, atol=0)  # no push
    assert not torch.equal(a.rbms_[1].hidden_bias_, b.rbms_[1].hidden_bias_)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.full((40, 12), np.nan, np.float32), "NaN"),
        (np.full((40, 12), -0.5, np.float32), r"\[0, 1\]"),
        (np.full((40, 12), 3.0, np.float32), r"\[0, 1\]"),
        (np.zeros((40, 11), np.float32), "visible layer"),
        (np.zeros((0, 12), np.float32), "no rows"),
    ],
)
def test_train_dbn_refuses_bad_data_before_creating_anything(tmp_path, X, match):
    run = tmp_path / "run"
    with pytest.raises(InputError, match=match):
        train_dbn(X, TrainConfig(**CFG), run, progress=False)
    assert not run.exists()


def test_train_dbn_refuses_bad_arguments_before_creating_anything(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(InputError, match="num_threads"):
        train_dbn(_X(), TrainConfig(**CFG), run, progress=False, num_threads=0)
    with pytest.raises(InputError, match="device"):
        train_dbn(_X(), TrainConfig(**CFG, device="warp9"), run, progress=False)
    with pytest.raises(InputError, match="memory"):
        train_dbn(_X(), TrainConfig(**{**CFG, "layers": (12, 8, 10**9)}), run, progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        train_dbn(_X(), TrainConfig(**CFG), tmp_path / "file", progress=False)
    assert not run.exists()


def test_divergence_stops_before_a_nan_snapshot(tmp_path):
    with pytest.raises(InputError, match="diverged"):
        train_dbn(_X(), TrainConfig(**{**CFG, "learning_rate": 1e30}), tmp_path, progress=False)
    for path, _ in list_snapshots(tmp_path):
        assert all(bool(torch.isfinite(t).all()) for t in DBN.load(path).state_dict().values())
    assert not (tmp_path / "model.safetensors").exists()


@pytest.fixture
def stopped_run(tmp_path):
    """A run folder stopped after step 5; its last snapshot is step 4 (layer 0, epoch 4)."""
    X = _X()
    with pytest.raises(_Stop):
        train_dbn(X, TrainConfig(**CFG), tmp_path, progress=False, callback=_stopper(5))
    return tmp_path, X


def _last(run):
    path, _ = list_snapshots(run)[-1]
    return path, path.with_name(path.name.replace(".safetensors", ".state.safetensors"))


def _rewrite(path, change_tensors=None, change_meta=None):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    if change_tensors:
        tensors = change_tensors(tensors)
    if change_meta:
        meta = change_meta(meta)
    save_file(tensors, str(path), metadata=meta)


def _nan_first(prefix):
    def change(t):
        k = next(k for k in sorted(t) if k.startswith(prefix))
        return dict(t, **{k: torch.full_like(t[k], float("nan"))})

    return change


HOSTILE = {
    "model truncated": lambda m, s: m.write_bytes(m.read_bytes()[:100]),
    "model empty": lambda m, s: m.write_bytes(b""),
    "model random bytes": lambda m, s: m.write_bytes(np.random.default_rng(0).bytes(300)),
    "state truncated": lambda m, s: s.write_bytes(s.read_bytes()[:-10]),
    "state empty": lambda m, s: s.write_bytes(b""),
    "state missing": lambda m, s: s.unlink(),
    "state is a folder": lambda m, s: (s.unlink(), s.mkdir()),
    "model lacks rbm.1.weights": lambda m, s: _rewrite(
        m, lambda t: {k: v for k, v in t.items() if k != "rbm.1.weights"}
    ),
    "state lacks a velocity": lambda m, s: _rewrite(
        s, lambda t: {k: v for k, v in t.items() if "velocity.weights" not in k}
    ),
    "state lacks a generator": lambda m, s: _rewrite(
        s, lambda t: {k: v for k, v in t.items() if k != "rbm.0.generator"}
    ),
    "metadata names layer 99": lambda m, s: _rewrite(s, change_meta=lambda d: dict(d, layer="99")),
    "metadata epoch not a number": lambda m, s: _rewrite(
        s, change_meta=lambda d: dict(d, epoch="one")
    ),
    "metadata lacks the step": lambda m, s: _rewrite(
        s, change_meta=lambda d: {k: v for k, v in d.items() if k != "step"}
    ),
    "history not JSON": lambda m, s: _rewrite(s, change_meta=lambda d: dict(d, history="[{")),
    "history too short": lambda m, s: _rewrite(s, change_meta=lambda d: dict(d, history="[]")),
    "weights hold NaN": lambda m, s: _rewrite(m, _nan_first("rbm.0.weights")),
    "velocity holds NaN": lambda m, s: _rewrite(s, _nan_first("rbm.0.velocity")),
    "weights of another shape": lambda m, s: _rewrite(
        m, lambda t: dict(t, **{"rbm.0.weights": torch.zeros(12, 9)})
    ),
    "generator state corrupt": lambda m, s: _rewrite(
        s, lambda t: dict(t, **{"rbm.0.generator": torch.zeros(100, dtype=torch.uint8)})
    ),
    "snapshot of another config": lambda m, s: _rewrite(
        m,
        change_meta=lambda d: {
            "netsci_dl": json.dumps(
                dict(
                    json.loads(d["netsci_dl"]),
                    config=dict(json.loads(d["netsci_dl"])["config"], learning_rate=0.5),
                )
            )
        },
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_resume_refuses_a_broken_snapshot_and_writes_nothing(stopped_run, case):
    run, X = stopped_run
    model, state = _last(run)
    HOSTILE[case](model, state)
    before = _tree(run)
    with pytest.raises(InputError) as e:
        train_dbn(X, TrainConfig(**CFG), run, resume=True, progress=False)
    assert "\n" not in str(e.value)
    assert _tree(run) == before


def test_resume_without_config_json_is_refused(stopped_run):
    run, X = stopped_run
    (run / "config.json").unlink()
    with pytest.raises(InputError, match="no config.json"):
        train_dbn(X, TrainConfig(**CFG), run, resume=True, progress=False)
    (run / "config.json").write_text("{broken")
    with pytest.raises(InputError, match="not valid JSON"):
        train_dbn(X, TrainConfig(**CFG), run, resume=True, progress=False)


def _as_if_trained_on_cuda(run):
    """Rewrite the last state as a CUDA run would have saved it (16-byte Philox states)."""
    _, state = _last(run)
    philox = torch.tensor([7, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0], dtype=torch.uint8)
    _rewrite(
        state,
        lambda t: {k: (philox.clone() if k.endswith("generator") else v) for k, v in t.items()},
        lambda d: dict(d, device="cuda"),
    )


def test_resume_on_another_device_type_reseeds_and_warns(tmp_path):
    """A state saved on CUDA resumes on the CPU: reproducibly, with a warning that says why it
    differs from an uninterrupted run."""
    X = _X()
    results = []
    for name in ("a", "b"):
        run = tmp_path / name
        with pytest.raises(_Stop):
            train_dbn(X, TrainConfig(**CFG), run, progress=False, callback=_stopper(5))
        _as_if_trained_on_cuda(run)
        with pytest.warns(RuntimeWarning, match="trained on cuda"):
            dbn, hist = train_dbn(X, TrainConfig(**CFG), run, resume=True, progress=False)
        assert [r["step"] for r in hist.records] == list(range(1, 8))
        results.append(dbn)
    for a, b in zip(_weights(results[0]), _weights(results[1])):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    full, _ = train_dbn(X, TrainConfig(**CFG), tmp_path / "full", progress=False)
    # the trained bottom RBM came from the snapshot; the top one continued on new numbers
    torch.testing.assert_close(results[0].rbms_[0].weights_, full.rbms_[0].weights_)
    assert not torch.equal(results[0].rbms_[1].weights_, full.rbms_[1].weights_)


def test_same_device_resume_does_not_warn(stopped_run):
    run, X = stopped_run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_dbn(X, TrainConfig(**CFG), run, resume=True, progress=False)


def test_state_that_fits_no_device_is_refused(stopped_run):
    run, X = stopped_run
    _as_if_trained_on_cuda(run)
    _, state = _last(run)
    _rewrite(state, change_meta=lambda d: {k: v for k, v in d.items() if k != "device"})
    _rewrite(state, lambda t: dict(t, **{"rbm.1.generator": torch.zeros(5, dtype=torch.uint8)}))
    with pytest.raises(InputError, match="corrupt"):
        train_dbn(X, TrainConfig(**CFG), run, resume=True, progress=False)


def test_python_api_bad_device_is_an_input_error():
    with pytest.raises(InputError, match="device"):
        DBN(**CFG, device="warp9").fit(_X(), progress=False)
    DBN(**CFG, device="auto").fit(_X(), progress=False)  # auto: CUDA when present, else the CPU


@pytest.mark.gpu
@pytest.mark.parametrize(("first", "then"), [("cuda", "cpu"), ("cpu", "cuda")])
def test_resume_across_real_devices(tmp_path, first, then):
    X = _X()
    with pytest.raises(_Stop):
        train_dbn(
            X, TrainConfig(**CFG, device=first), tmp_path, progress=False, callback=_stopper(5)
        )
    with pytest.warns(RuntimeWarning, match=f"trained on {first}"):
        dbn, hist = train_dbn(
            X, TrainConfig(**CFG, device=then), tmp_path, resume=True, progress=False
        )
    assert dbn.rbms_[0].weights_.device.type == then
    assert [r["step"] for r in hist.records] == list(range(1, 8))
