"""EI trajectories over the snapshots of a training run (netsci_dl.runs.trajectory)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import netsci_dl as nd
from netsci_dl.analysis import LayerEIOptions
from netsci_dl.models.train import TrainConfig, list_snapshots, train_dbn
from netsci_dl.runs.trajectory import EITrajectory, ei_trajectory, snapshot_sources

KW = {
    "options": LayerEIOptions(bins=4, n_samples=2000, sensitivity_samples=200, device="cpu"),
    "num_threads": 1,
}


@pytest.fixture(scope="module")
def dbn_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("dbn_run")
    X = (np.random.default_rng(0).random((60, 9)) > 0.5).astype(np.float32)
    cfg = TrainConfig(
        layers=(9, 5, 4), epochs=2, snapshot_every=1, batch_size=20, learning_rate=0.5
    )
    train_dbn(X, cfg, run, progress=False)
    return run


def test_points_and_order(dbn_run):
    T = ei_trajectory(dbn_run, **KW)
    snaps = list_snapshots(dbn_run)
    assert isinstance(T, EITrajectory)
    assert T.n_snapshots == len(snaps) == 5  # epoch 0, then 2 epochs x 2 RBMs
    np.testing.assert_array_equal(T.steps, [0, 1, 2, 3, 4])
    assert T.layers == (0, 0, 0, 1, 1) and T.epochs == (0, 1, 2, 1, 2)
    assert T.n_layers == 2 and T.layer_shapes == [(9, 5), (5, 4)]
    assert T.sensitivity.shape == T.degeneracy.shape == T.ei_parts.shape == (5, 2)
    np.testing.assert_allclose(T.degeneracy, T.sensitivity - T.ei_parts, atol=1e-9)
    assert not T.settings["directed"] and T.settings["bins"] == 4


def test_training_moves_the_points(dbn_run):
    T = ei_trajectory(dbn_run, **KW)
    assert T.ei[0] != T.ei[-1]
    assert not np.allclose(T.sensitivity[0], T.sensitivity[-1])
    # layer 1 (the second RBM) is untouched until step 3: same weights, same seed, same point
    np.testing.assert_allclose(T.sensitivity[:3, 1], T.sensitivity[0, 1])
    assert np.all(T.path_lengths() > 0)


def test_same_seed_same_numbers(dbn_run):
    def run(seed):
        opts = dataclasses.replace(KW["options"], seed=seed)
        return ei_trajectory(dbn_run, options=opts, num_threads=1).to_dict()

    a, b, c = run(3), run(3), run(4)
    assert a == b
    assert a != c


def test_list_of_checkpoints_and_graphs(dbn_run):
    paths = [p for p, _ in list_snapshots(dbn_run)]
    T1 = ei_trajectory(paths, **KW)
    np.testing.assert_array_equal(T1.steps, [0, 1, 2, 3, 4])  # read from the sidecars
    T2 = ei_trajectory([nd.load(p) for p in paths], **KW)
    np.testing.assert_array_equal(T2.steps, T1.steps)  # read from the checkpoint metadata
    np.testing.assert_allclose(T2.sensitivity, T1.sensitivity)
    Gs = [nd.from_matrices([np.eye(3) * s]) for s in (0.5, 4.0)]
    T3 = ei_trajectory(Gs, activations="sigmoid", threshold="none", **KW)
    np.testing.assert_array_equal(T3.steps, [0, 1])
    assert T3.layers == (None, None) and T3.settings["directed"]


def test_threshold_and_export(dbn_run):
    T = ei_trajectory(dbn_run, threshold="quantile:0.5", **KW)
    full = ei_trajectory(dbn_run, threshold="none", **KW)
    assert T.settings["threshold"] == "quantile:0.5"
    assert not np.allclose(T.ei, full.ei)
    np.testing.assert_allclose(T.sensitivity, full.sensitivity)  # causal plane: weighted graph
    # the default: the package's one threshold rule ("auto", the CLI's --threshold)
    auto = ei_trajectory(dbn_run, **KW)
    assert auto.settings["threshold"] == "auto"
    want = [
        nd.analysis.effective_information(nd.threshold.apply_spec(nd.load(p), "auto")).ei
        for p, _ in list_snapshots(dbn_run)
    ]
    np.testing.assert_allclose(auto.ei, want, rtol=1e-12)
    assert not np.allclose(auto.ei, full.ei)
    none = ei_trajectory(dbn_run, threshold=None, **KW)
    np.testing.assert_array_equal(none.ei, full.ei)
    d = json.loads(json.dumps(T.to_dict()))
    assert len(d["snapshots"]) == 5 and d["units"] == "bits"
    df = T.to_frame()
    assert len(df) == 5 * 2
    assert {
        "step",
        "layer",
        "epoch",
        "label",
        "graph_ei",
        "block",
        "sensitivity",
        "degeneracy",
        "ei_parts",
    } <= set(df)


def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError):
        snapshot_sources(tmp_path / "missing")
    with pytest.raises(ValueError, match="no checkpoints"):
        snapshot_sources(tmp_path)
    with pytest.raises(TypeError, match="snapshot 0"):
        snapshot_sources([3])
    with pytest.raises(ValueError, match="layer sizes"):
        ei_trajectory(
            [nd.from_matrices([np.eye(3)]), nd.from_matrices([np.eye(2)])],
            activations="sigmoid",
            threshold="none",
            **KW,
        )


def test_plots(dbn_run, tmp_path):
    from netsci_dl.plot.ei import ei_figures

    T = ei_trajectory(dbn_run, **KW)
    files = ei_figures(T, tmp_path, name="tiny DBN")
    for png, svg in files.values():
        assert png.stat().st_size > 0 and svg.stat().st_size > 0


def test_report_ei_section(dbn_run, tmp_path, monkeypatch):
    from netsci_dl.report import DEFAULT_SECTIONS, write_report
    from netsci_dl.report import ei as report_ei

    assert report_ei.ei_section in DEFAULT_SECTIONS
    monkeypatch.setattr(
        report_ei, "_CP", LayerEIOptions(n_samples=2000, sensitivity_samples=100, whole=False)
    )
    G = nd.load(dbn_run / "model.safetensors")
    write_report(G, tmp_path / "r", threshold="quantile:0.5", sections=[report_ei.ei_section])
    d = json.loads((tmp_path / "r" / "summary.json").read_text())["sections"][
        "Effective information"
    ]
    np.testing.assert_allclose(d["full_abs"]["ei"], nd.analysis.effective_information(G).ei)
    assert d["thresholded"]["threshold"] == "quantile:0.5" and len(d["causal_plane"]) == 2
    assert (tmp_path / "r" / "ei.csv").exists() and (tmp_path / "r" / "causal_plane.csv").exists()
    monkeypatch.setattr(report_ei, "CAUSAL_PLANE_MAX_PAIRS", 10)
    write_report(G, tmp_path / "r2", threshold="quantile:0.5", sections=[report_ei.ei_section])
    assert (
        "causal_plane"
        not in json.loads((tmp_path / "r2" / "summary.json").read_text())["sections"][
            "Effective information"
        ]
    )
