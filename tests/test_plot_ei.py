"""The causal plane and EI-over-training figures (netsci_dl.plot.ei): markers per snapshot,
the hand-over between RBMs, start and end, y = x, the noise floor (oracle: scikit-learn's
plug-in mutual information on independent samples)."""

from __future__ import annotations

import numpy as np
import pytest

from netsci_dl.plot import ei
from netsci_dl.plot._base import pyplot
from tests.test_plot_layout import _trajectory


def _lines(ax, marker):
    return [ln for ln in ax.get_lines() if ln.get_marker() == marker]


def test_causal_plane_marks_snapshots_handover_start_end():
    T = _trajectory(3, n_snap=7)  # RBM s // 3: training moves on at snapshots 3 and 6
    floor = ei.noise_floor(T)
    fig = ei.plot_causal_plane(T, noise_floor=floor)
    ax = fig.axes[0]
    x, y = T.sensitivity, T.degeneracy
    paths = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert len(paths) == 3
    for l, ln in enumerate(paths):
        assert ln.get_marker() == "o" and len(ln.get_xdata()) == 7  # a marker per snapshot
        # snapshot 0 holds 7.1e-13 bits and a negative degeneracy: within the floor, drawn as 0
        assert ln.get_xdata()[0] == 0.0 and ln.get_ydata()[0] == 0.0
        np.testing.assert_allclose(ln.get_xdata()[1:], x[1:, l])
    diamonds = _lines(ax, "D")
    assert len(diamonds) == 3
    np.testing.assert_allclose(diamonds[0].get_xdata(), x[[3, 6], 0])
    np.testing.assert_allclose(diamonds[2].get_ydata(), y[[3, 6], 2])
    starts = [ln for ln in _lines(ax, "o") if ln.get_markerfacecolor() == "white"]
    assert len(starts) == 3
    diag = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(diag) == 1
    np.testing.assert_allclose(diag[0].get_xdata(), diag[0].get_ydata())  # y = x
    texts = " | ".join(t.get_text() for t in ax.get_legend().get_texts())
    for want in ("first snapshot", "last snapshot", "training moves to the next RBM", "y = x"):
        assert want in texts
    assert f"{floor.min():.2g}" in texts and "noise floor" in texts and "shown as 0" in texts
    pyplot().close(fig)
    # without a floor the raw values are drawn and no floor is claimed
    fig = ei.plot_causal_plane(T)
    ax = fig.axes[0]
    assert [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"][0].get_xdata()[0] == 7.1e-13
    assert "noise floor" not in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    with pytest.raises(ValueError, match="noise_floor"):
        ei.plot_causal_plane(T, noise_floor=-1.0)
    pyplot().close(fig)


def test_ei_trajectory_marks_handovers_and_floor():
    T = _trajectory(2, n_snap=7)
    fig = ei.plot_ei_trajectory(T, noise_floor=[1e-2, 1e-2])
    a, b = fig.axes
    v = [ln for ln in b.get_lines() if ln.get_linestyle() == ":"]
    np.testing.assert_allclose([ln.get_xdata()[0] for ln in v], T.steps[[3, 6]])
    layer0 = [ln for ln in b.get_lines() if ln.get_linestyle() == "-"][0]
    assert layer0.get_ydata()[0] == 0.0  # -1e-3 bits, within the floor
    assert "noise floor" in " ".join(t.get_text() for t in b.get_legend().get_texts())
    pyplot().close(fig)


def test_plugin_floor_matches_sklearn_on_independent_samples():
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(0)
    bins, n, trials = 8, 2000, 150
    mi = [
        mutual_info_score(rng.integers(0, bins, n), rng.integers(0, bins, n)) / np.log(2)
        for _ in range(trials)
    ]
    np.testing.assert_allclose(
        np.mean(mi), ei.plugin_mi_floor(1, bins=bins, n_samples=n), rtol=0.05
    )
    T = _trajectory(2)
    a, b = T.layer_shapes[1]
    np.testing.assert_allclose(
        ei.noise_floor(T)[1], ei.plugin_mi_floor(a * b, bins=8, n_samples=5000)
    )


def test_ei_figures_accept_old_call(tmp_path):
    T = _trajectory(2, n_snap=4)
    out = ei.ei_figures(T, tmp_path, name="tiny")
    assert set(out) == {"causal_plane", "ei_vs_step"}
    for png, svg in out.values():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and svg.stat().st_size > 0
