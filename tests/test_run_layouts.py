"""Runs the way users have them (netsci_dl.runs.format.discover / snapshot_sources): a folder
of checkpoint files, Hugging Face Trainer checkpoint-N/ folders, Lightning .ckpt files, an
explicit list; the axis says step, epoch or checkpoint index as the names say."""

from __future__ import annotations

import json

import numpy as np
import pytest

import netsci_dl as nd
from netsci_dl.analysis import LayerEIOptions
from netsci_dl.errors import InputError
from netsci_dl.runs.format import discover, name_step, snapshot_sources
from netsci_dl.runs.trajectory import ei_trajectory

torch = pytest.importorskip("torch")

KW = {
    "options": LayerEIOptions(bins=4, n_samples=500, sensitivity_samples=50, device="cpu"),
    "num_threads": 1,
    "activations": "sigmoid",
}


def _net(seed: int):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 3))


def _w0(path) -> np.ndarray:
    """The first weight matrix of a checkpoint, as the loader reads it (an oracle of order)."""
    return np.asarray(nd.load(path).blocks[0])


def test_folder_of_epoch_files_in_natural_order(tmp_path):
    for e in (10, 1, 2):
        torch.save(_net(e).state_dict(), tmp_path / f"epoch_{e}.pt")
    torch.save({"state": {}, "param_groups": []}, tmp_path / "optimizer.pt")  # not a model
    found = discover(tmp_path)
    assert [(lab, s, u) for lab, s, u, _ in found] == [
        ("epoch_1", 1, "epoch"),
        ("epoch_2", 2, "epoch"),
        ("epoch_10", 10, "epoch"),
    ]
    T = ei_trajectory(tmp_path, **KW)
    np.testing.assert_array_equal(T.steps, [1, 2, 10])
    assert T.epochs == (1, 2, 10) and T.settings["x_label"] == "epoch"
    W = _net(10).state_dict()["0.weight"].numpy().T  # the last one is epoch 10's net
    np.testing.assert_allclose(_w0(found[-1][3]), W, rtol=1e-6)
    from netsci_dl.plot.ei import plot_ei_trajectory

    assert plot_ei_trajectory(T).axes[0].get_xlabel() == "epoch"


@pytest.mark.parametrize(
    ("names", "unit", "steps"),
    [
        (["step-1200.safetensors", "step-300.safetensors"], "step", [300, 1200]),
        (["model_10.pth", "model_9.pth"], "number", [9, 10]),
        (["ckpt_e5.bin", "ckpt_e12.bin"], "epoch", [5, 12]),
        (["first.pt", "second.pt"], "index", [0, 1]),  # no numbers: the position, never epochs
        (["epoch_3.pt", "step-7.pt"], "index", [0, 1]),  # units that disagree
    ],
)
def test_units_from_the_names(tmp_path, names, unit, steps):
    for i, n in enumerate(names):
        sd = _net(i).state_dict()
        if n.endswith(".safetensors"):
            from safetensors.torch import save_file

            save_file({k: v.contiguous() for k, v in sd.items()}, tmp_path / n)
        else:
            torch.save(sd, tmp_path / n)
    found = discover(tmp_path)
    assert [s for _, s, _, _ in found] == steps and {u for _, _, u, _ in found} == {unit}
    from netsci_dl.runs.format import UNIT_LABELS, axis_label

    assert axis_label([i for _, i in snapshot_sources(tmp_path)]) == UNIT_LABELS[unit]


def test_hugging_face_trainer_checkpoints(tmp_path):
    from safetensors.torch import save_file

    for step, epoch in ((1000, 2.0), (500, 1.0)):
        d = tmp_path / f"checkpoint-{step}"
        d.mkdir()
        sd = _net(step).state_dict()
        save_file({k: v.contiguous() for k, v in sd.items()}, d / "model.safetensors")
        (d / "trainer_state.json").write_text(json.dumps({"epoch": epoch, "global_step": step}))
        torch.save({}, d / "optimizer.pt")
    (tmp_path / "runs").mkdir()  # a TensorBoard folder beside them
    items = snapshot_sources(tmp_path)
    assert [i["step"] for _, i in items] == [500, 1000]
    assert [i["epoch"] for _, i in items] == [1, 2] and items[0][1]["unit"] == "step"
    assert [i["label"] for _, i in items] == ["checkpoint-500", "checkpoint-1000"]
    W = _net(1000).state_dict()["0.weight"].numpy().T
    np.testing.assert_allclose(_w0(items[-1][0]), W, rtol=1e-6)
    T = ei_trajectory(tmp_path, **KW)
    assert T.settings["x_label"] == "training step"
    from netsci_dl.runs.files import final_model

    assert final_model(tmp_path).parent.name == "checkpoint-1000"


def _lightning(path, net, epoch, step):
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(2, 6)).sum().backward()
    opt.step()
    torch.save(
        {
            "epoch": epoch,
            "global_step": step,
            "pytorch-lightning_version": "2.2.0",
            "state_dict": {f"model.{k}": v for k, v in net.state_dict().items()},
            "optimizer_states": [opt.state_dict()],
            "lr_schedulers": [],
            "hyper_parameters": {"lr": 0.1},
        },
        path,
    )


def test_lightning_ckpt(tmp_path):
    nets = {s: _net(s) for s in (40, 80, 120)}
    _lightning(tmp_path / "epoch=0-step=40.ckpt", nets[40], 0, 40)
    _lightning(tmp_path / "epoch=1-step=80.ckpt", nets[80], 1, 80)
    _lightning(tmp_path / "last.ckpt", nets[120], 2, 120)  # no number: read from the file
    items = snapshot_sources(tmp_path)
    assert [i["step"] for _, i in items] == [40, 80, 120]
    assert [i["epoch"] for _, i in items] == [0, 1, 2]
    assert {i["unit"] for _, i in items} == {"step"}
    G = nd.load(items[-1][0], model=_net(0))  # the user's module: "model." is stripped
    assert G.meta["loading"]["stripped_prefix"] == "model."
    W = nets[120].state_dict()["0.weight"].numpy().T
    np.testing.assert_allclose(np.asarray(G.blocks[0]), W, rtol=1e-6)


def test_explicit_list_keeps_its_order(tmp_path):
    paths = []
    for e in (3, 1):
        torch.save(_net(e).state_dict(), tmp_path / f"epoch_{e}.pt")
        paths.append(tmp_path / f"epoch_{e}.pt")
    items = snapshot_sources(paths)  # decreasing numbers: a list's order is kept, by position
    assert [i["label"] for _, i in items] == ["epoch_3", "epoch_1"]
    assert [(i["step"], i["unit"]) for _, i in items] == [(0, "index"), (1, "index")]


def test_graphs_are_plotted_at_their_index_not_at_epochs():
    rng = np.random.default_rng(0)
    Gs = [nd.from_matrices([rng.normal(size=(3, 2))]) for i in range(3)]
    T = ei_trajectory(Gs, **KW)
    np.testing.assert_array_equal(T.steps, [0, 1, 2])
    assert T.settings["x_label"] == "checkpoint index"
    from netsci_dl.plot.ei import plot_ei_trajectory

    assert plot_ei_trajectory(T).axes[0].get_xlabel() == "checkpoint index"


def test_snapshots_folder_without_sidecars_says_so(tmp_path):
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "snapshots" / "step00001_layer0_epoch0001.safetensors").write_bytes(b"")
    with pytest.raises(InputError, match="no snapshot with its JSON sidecar") as e:
        snapshot_sources(tmp_path)
    assert "no snapshots found" not in str(e.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        InputError, match="not a run, no checkpoints: expected a netsci_dl run folder"
    ):
        snapshot_sources(empty)


def test_name_step():
    assert name_step("epoch=4-step=1000") == (1000, "step")
    assert name_step("checkpoint-12") == (12, "step")
    assert name_step("weights") == (None, "index")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from netsci_dl.datasets import load_digits
    from netsci_dl.models.mlp import MLPConfig, train_mlp

    d = load_digits()
    run = tmp_path_factory.mktemp("small") / "run"
    train_mlp(d.X[:60], d.y[:60], MLPConfig(layers=(64, 4, 10), epochs=2), run)
    return run


@pytest.mark.parametrize(
    ("key", "value"),
    [("step", "three"), ("step", 10**400), ("step", -1), ("step", 1.5), ("epoch", "x")],
)
def test_a_malformed_sidecar_is_named(small_run, tmp_path, key, value):
    """Issue 28 (2): a sidecar whose step is a string or a huge integer was an internal error
    (TypeError, OverflowError); now an InputError naming the file, the key and the range."""
    import json
    import shutil

    from netsci_dl.errors import InputError
    from netsci_dl.runs.format import list_snapshots

    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    side = sorted((run / "snapshots").glob("*.json"))[1]
    doc = json.loads(side.read_text())
    doc[key] = value
    side.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=rf"{side.name}: '{key}' is .*expected an integer"):
        list_snapshots(run)


def test_a_snapshot_that_is_a_fifo_is_refused_without_opening_it(small_run, tmp_path):
    """Issue 28 (7): a FIFO in snapshots/ made similarity hang; it is refused by its kind."""
    import os
    import shutil

    from netsci_dl.errors import InputError
    from netsci_dl.runs.format import list_snapshots

    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    snap = sorted((run / "snapshots").glob("*0001.safetensors"))[0]
    snap.unlink()
    os.mkfifo(snap)
    with pytest.raises(InputError, match="not a regular file"):
        list_snapshots(run)
