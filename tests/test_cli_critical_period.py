"""The critical-period grid: CLI, outputs, resume, shape checks, the per-snapshot measures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from netsci_dl.cli import cli
from netsci_dl.runs._critical_shape import shape_checks
from netsci_dl.runs.critical import load_split, snapshot_measures
from netsci_dl.runs.format import list_snapshots

TINY = [
    "critical-period",
    "--data",
    "digits",
    "--arch",
    "mlp",
    "--deficit",
    "blur",
    "--onsets",
    "0,1",
    "--window",
    "1",
    "--epochs",
    "2",
    "--n-train",
    "150",
    "--probe-size",
    "24",
    "--lanczos-iter",
    "4",
    "--hutchinson-probes",
    "2",
    "--batch-size",
    "50",
]


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("cp") / "out"
    r = CliRunner().invoke(cli, [*TINY, "--no-plots", "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out, r.output


def test_outputs(grid) -> None:
    out, text = grid
    summary = pd.read_csv(out / "critical_period.csv")
    assert summary["run"].tolist() == [
        "control",
        "blur_onset000_window001",
        "blur_onset001_window001",
    ]
    assert summary["removal_epoch"].tolist() == [0, 1, 2]
    assert summary["epochs"].tolist() == [2, 3, 4]  # 2 clean epochs after each window
    traj = pd.read_csv(out / "trajectory.csv")
    assert list(traj.columns) == ["run", "snapshot", "step", "epoch", "layer", "metric", "value"]
    m = set(traj["metric"])
    assert {"fisher_trace", "fisher_trace_share", "hessian_top_eigenvalue", "hessian_trace"} <= m
    assert {"gradcov_top_eigenvalue", "test_accuracy"} <= m
    ctrl = traj[(traj.run == "control") & (traj.metric == "fisher_trace") & (traj.layer == "all")]
    assert sorted(ctrl["epoch"]) == [0, 1, 2]
    shares = traj[(traj.metric == "fisher_trace_share")].groupby(["run", "epoch"])["value"].sum()
    np.testing.assert_allclose(shares.to_numpy(), 1.0, rtol=1e-9)
    s = json.loads((out / "settings.json").read_text())
    assert s["status"] == "done" and s["protocol"]["blur_factor"] == 4.0
    assert s["protocol"]["lr_reset"] is False and s["options"]["epochs_mode"] == "after"
    assert s["figures"] == [] and not list(out.glob("*.png"))
    assert "shape (removal)" in text and "lr_reset=False" in text
    # every run is a normal run folder whose final test accuracy is the summary's
    run = out / "runs" / "blur_onset001_window001"
    snaps = list_snapshots(run)
    assert [i["epoch"] for _, i in snaps] == [0, 1, 2, 3, 4]
    assert snaps[-1][1]["test_accuracy"] == pytest.approx(summary["final_test_accuracy"].iloc[2])
    assert snaps[2][1]["deficit"]["active"] is True and snaps[1][1]["deficit"]["active"] is False


def test_rerun_is_resumed_and_other_settings_refused(grid) -> None:
    out, _ = grid
    run = out / "runs" / "blur_onset001_window001"
    before = pd.read_csv(out / "critical_period.csv")
    # interrupt one run: drop its last snapshot and its measures
    last = list_snapshots(run)[-1][0]
    for p in run.glob("snapshots/" + last.name.removesuffix(".safetensors") + ".*"):
        p.unlink()
    (run / "measures.csv").unlink()
    mtime = (out / "runs" / "control" / "measures.csv").stat().st_mtime_ns
    r = CliRunner().invoke(cli, [*TINY, "--no-plots", "-o", str(out)])
    assert r.exit_code == 0, r.output
    after = pd.read_csv(out / "critical_period.csv")
    cols = ["run", "final_test_accuracy", "final_test_loss"]
    pd.testing.assert_frame_equal(before[cols], after[cols])
    assert (out / "runs" / "control" / "measures.csv").stat().st_mtime_ns == mtime
    r = CliRunner().invoke(cli, [*TINY[:-2], "--batch-size", "30", "--no-plots", "-o", str(out)])
    assert r.exit_code == 2 and "other settings" in r.output


def test_figures(grid, tmp_path) -> None:
    from netsci_dl.plot._base import save_figure
    from netsci_dl.plot.critical import plot_final_accuracy, plot_fisher_shares

    out, _ = grid
    summary = pd.read_csv(out / "critical_period.csv")
    traj = pd.read_csv(out / "trajectory.csv")
    fig = plot_final_accuracy(summary, title="t")
    assert len(fig.axes) == 2  # two onsets: accuracy against removal epoch and onset
    assert save_figure(fig, tmp_path / "acc")[0].stat().st_size > 0
    fig = plot_fisher_shares(traj, ["control"])
    stacks = fig.axes[0].collections
    assert len(stacks) == 2  # the MLP's fc1 and fc2
    assert save_figure(fig, tmp_path / "shares")[1].stat().st_size > 0


@pytest.mark.slow
def test_all_figures(grid, tmp_path) -> None:
    from netsci_dl.plot.critical import critical_figures

    out, _ = grid
    summary = pd.read_csv(out / "critical_period.csv")
    traj = pd.read_csv(out / "trajectory.csv")
    paths = critical_figures(summary, traj, tmp_path)
    names = ["final_accuracy", "test_accuracy", "fisher_trace", "fisher_shares", "curvature"]
    assert [p.stem for p in paths] == names
    assert all(p.stat().st_size > 0 and p.with_suffix(".svg").exists() for p in paths)


def test_bad_input(tmp_path) -> None:
    r = CliRunner().invoke(cli, [*TINY[:8], "a,b", "-o", str(tmp_path / "x")])
    assert r.exit_code == 2 and "--onsets" in r.output
    bad_total = [*TINY, "--epochs-mode", "total", "--epochs", "1", "-o", str(tmp_path / "y")]
    r = CliRunner().invoke(cli, bad_total)
    assert r.exit_code == 2 and "window ends" in r.output


@pytest.mark.parametrize(
    ("extra", "msg"),
    [
        (["--deficit", "blur", "--blur-factor", "0"], "blur_factor=0.0"),
        (["--n-train", "0"], "n_train=0"),
        (["--seed", "-1"], "seed=-1"),
        (["--window", "0", "--no-control"], "no run"),
        (["--window", "1000000000"], "windows=1000000000"),
        (["--epochs", "1000000000"], "epochs=1000000000"),
        (["--lanczos-iter", "1000000000"], "--lanczos-iter 1000000000"),
        (["--data", "mnist:{bad}"], "magic"),
    ],
)
def test_refused_before_the_output_folder_exists(tmp_path, extra, msg) -> None:
    """Issue 28 (1, 2, 4): bad options and data exit 2 naming the value, with no output folder
    (the grid's data and settings are checked before the folder is made), and nothing runs."""
    bad = tmp_path / "badmnist"
    bad.mkdir()
    (bad / "train-images-idx3-ubyte").write_bytes(b"x" * 16)
    out = tmp_path / "o"
    args = [*TINY, *(a.replace("{bad}", str(bad)) for a in extra), "-o", str(out)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2, r.output
    assert msg in r.output and "internal error" not in r.output
    assert not out.exists()


def test_snapshot_measures_is_one_table(grid) -> None:
    out, _ = grid
    train, _ = load_split("digits", n_train=150)
    path, info = list_snapshots(out / "runs" / "control")[1]
    df = snapshot_measures(path, train.X[:16], train.y[:16], lanczos_iter=3, gradcov=False)
    assert list(df.columns) == ["snapshot", "step", "epoch", "layer", "metric", "value"]
    assert set(df["epoch"]) == {info["epoch"]} and set(df["snapshot"]) == {path.stem}
    acc = df[df.metric == "test_accuracy"]["value"].item()
    assert acc == pytest.approx(info["test_accuracy"])
    assert "gradcov_trace" not in set(df["metric"])


def _summary(acc: list[float], onsets: list[int], windows: list[int]) -> pd.DataFrame:
    rows = [
        {
            "run": "control",
            "onset": 0,
            "window": 0,
            "removal_epoch": 0,
            "final_test_accuracy": acc[0],
        }
    ]
    for a, o, w in zip(acc[1:], onsets, windows):
        rows.append(
            {
                "run": f"r{o}_{w}",
                "onset": o,
                "window": w,
                "removal_epoch": o + w,
                "final_test_accuracy": a,
            }
        )
    return pd.DataFrame(rows)


def _fisher(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run": "control",
            "epoch": range(len(values)),
            "layer": "all",
            "metric": "fisher_trace",
            "value": values,
        }
    )


def test_shape_checks() -> None:
    s = _summary([0.97, 0.96, 0.93, 0.80], [0, 0, 0], [5, 10, 20])
    c = shape_checks(s, _fisher([1, 5, 9, 4, 3]))
    assert c["removal"]["holds"] and c["fisher"]["holds"] and not c["onset"]["applicable"]
    assert "compatible with A19" in c["verdict"]
    c = shape_checks(
        _summary([0.97, 0.965, 0.96, 0.962], [0, 0, 0], [5, 10, 20]), _fisher([1, 2, 3])
    )
    assert c["removal"]["holds"] is False and "NOT shown" in c["removal"]["text"]
    assert c["fisher"]["holds"] is False
    c = shape_checks(_summary([0.97, 0.85, 0.90, 0.96], [0, 4, 8], [4, 4, 4]), _fisher([1, 2]))
    assert c["onset"]["holds"] and not c["fisher"]["applicable"]


def _idx(path, arr) -> None:
    import struct

    arr = np.asarray(arr, dtype=np.uint8)
    head = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path.write_bytes(head + arr.tobytes())


def test_load_split_mnist_folder(tmp_path) -> None:
    rng = np.random.default_rng(0)
    for pre, n in (("train", 30), ("t10k", 12)):
        _idx(tmp_path / f"{pre}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _idx(tmp_path / f"{pre}-labels-idx1-ubyte", np.arange(n) % 10)
    train, test = load_split(f"mnist:{tmp_path}", n_train=20)
    assert (len(train), len(test), train.image_shape) == (20, 12, (28, 28))
    assert float(train.X.max()) <= 1.0
    again, _ = load_split(f"mnist:{tmp_path}", n_train=20)
    np.testing.assert_array_equal(again.y, train.y)


def test_runs_in_worker_processes_match(grid, tmp_path) -> None:
    out, _ = grid
    r = CliRunner().invoke(cli, [*TINY, "--no-plots", "--jobs", "2", "-o", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    a = pd.read_csv(out / "critical_period.csv")
    b = pd.read_csv(tmp_path / "p" / "critical_period.csv")
    assert a["run"].tolist() == b["run"].tolist()
    np.testing.assert_allclose(b["final_test_loss"], a["final_test_loss"], rtol=1e-4)
    ta = pd.read_csv(out / "trajectory.csv")
    tb = pd.read_csv(tmp_path / "p" / "trajectory.csv")
    pd.testing.assert_frame_equal(ta.drop(columns="value"), tb.drop(columns="value"))
    np.testing.assert_allclose(tb["value"], ta["value"], rtol=1e-3, atol=1e-6)
