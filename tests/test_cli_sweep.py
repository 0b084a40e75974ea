"""``netsci-dl sweep`` and its figure."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

import netsci_dl as nd
from netsci_dl.analysis.structure.sweep import threshold_sweep
from netsci_dl.cli import cli


def _ckpt(path, seed=0):
    """A two-layer MLP's weights in an .npz (in, out): no torch needed."""
    rng = np.random.default_rng(seed)
    np.savez(path, W0=rng.normal(size=(16, 12)), W1=rng.normal(size=(12, 8)))
    return str(path)


def test_sweep_writes_csv_json_and_figure(tmp_path):
    ck = _ckpt(tmp_path / "m.npz")
    out = tmp_path / "out"
    args = ["sweep", ck, "-o", str(out), "--cuts", "0.5,1.0,1.5", "--n-null", "2", "--seed", "3"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["sweep.csv", "sweep.json", "sweep.png", "sweep.svg"]
    got = pd.read_csv(out / "sweep.csv")
    want = threshold_sweep(nd.load(ck), [0.5, 1.0, 1.5], n_null=2, seed=3)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    params = json.loads((out / "sweep.json").read_text())
    assert params["rule"] == "value" and params["cuts"] == [0.5, 1.0, 1.5]
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    # again: refused without --force (exit 2, files untouched), fine with it
    before = (out / "sweep.csv").read_bytes()
    r = CliRunner().invoke(cli, [*args[:-2], "--seed", "4"])
    assert r.exit_code == 2 and "--force" in r.output
    assert (out / "sweep.csv").read_bytes() == before
    r = CliRunner().invoke(cli, [*args[:-2], "--seed", "4", "--force", "--no-plots"])
    assert r.exit_code == 0, r.output
    assert (out / "sweep.csv").read_bytes() != before


def test_sweep_default_grid_rule_and_no_nulls(tmp_path):
    ck = _ckpt(tmp_path / "m.npz")
    out = tmp_path / "q"
    r = CliRunner().invoke(
        cli,
        [
            "sweep",
            ck,
            "-o",
            str(out),
            "--rule",
            "quantile",
            "--n-cuts",
            "4",
            "--nulls",
            "none",
            "--no-plots",
        ],
    )
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out / "sweep.csv")
    assert df.model.tolist() == ["net"] * 4 and not (out / "sweep.png").exists()
    np.testing.assert_allclose(df.cut, 1 - np.geomspace(0.2, 5e-4, 4))


def test_sweep_bad_input(tmp_path):
    ck = _ckpt(tmp_path / "m.npz")
    out = tmp_path / "out"
    for extra in (
        ["--nulls", "replica,shuffle"],
        ["--n-null", "-1"],
        ["--cuts", "0.5,nan"],
        ["--cuts", "0.5,abc"],
    ):
        r = CliRunner().invoke(cli, ["sweep", ck, "-o", str(out), *extra])
        assert r.exit_code == 2 and "error" in r.output, (extra, r.output)
        assert not out.exists()
    r = CliRunner().invoke(cli, ["sweep", str(tmp_path / "missing.pt"), "-o", str(out)])
    assert r.exit_code == 2 and not out.exists()


def _drawn_texts(fig):
    """Every text matplotlib draws: titles, axis labels, tick labels inside the view, legend."""
    texts = [*fig.texts, fig._suptitle]
    for leg in fig.legends:
        texts += leg.get_texts()
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            for minor in (False, True):
                for tick in axis.get_major_ticks() if not minor else axis.get_minor_ticks():
                    loc = tick.get_loc()
                    if min(lo, hi) <= loc <= max(lo, hi):
                        texts.append(tick.label1)
    unique = {id(t): t for t in texts if t is not None}.values()  # the suptitle is in fig.texts
    return [t for t in unique if t.get_visible() and t.get_text().strip()]


def test_sweep_figure_has_no_overlapping_text():
    from netsci_dl.plot.sweep import plot_sweep

    rng = np.random.default_rng(0)
    G = nd.from_matrices([rng.normal(size=(30, 20)), rng.normal(size=(20, 10))])
    df = threshold_sweep(G, np.linspace(0.5, 2.5, 6), n_null=2, geodesic_sources=10)
    fig = plot_sweep(df, name="a model with a long name")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 7 and max(len(row) for row in [fig.axes[:4], fig.axes[4:]]) <= 4
    labels = {ax.get_xlabel() for ax in visible}
    assert labels == {"cut c (keep |w| > c, both signs)"}
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(r)) for t in _drawn_texts(fig)]
    assert len(boxes) > 40
    for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), f"{ta!r} overlaps {tb!r}"
