"""The module / community figures of netsci_dl.plot.modules."""

from __future__ import annotations

import numpy as np
import pytest

from netsci_dl.analysis.structure._agreement import agreement
from netsci_dl.graph import LayeredGraph
from netsci_dl.plot import save_figure
from netsci_dl.plot.modules import plot_agreement, plot_community_layers, plot_module_members


def _rfs(seed=0):
    return np.random.default_rng(seed).normal(size=(9, 5, 5))


def test_module_members_grid(tmp_path):
    rfs = _rfs()
    lab = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2])
    fig = plot_module_members(rfs, lab, n_members=3)
    imgs = [a for a in fig.axes if a.images]
    assert len(imgs) == 3 + 3 + 2 + 3  # a mean plus up to 3 members per module
    for ax in imgs:  # diverging colormap centred at 0
        lo, hi = ax.images[0].get_clim()
        assert lo == -hi and ax.images[0].get_cmap().name == "RdBu_r"
    # the first panel of row 0 is the module mean
    np.testing.assert_allclose(imgs[0].images[0].get_array(), rfs[lab == 0].mean(axis=0))
    png, svg = save_figure(fig, tmp_path / "members")
    assert png.stat().st_size > 0 and svg.is_file()


def test_module_members_order_by_emd():
    rfs = _rfs()
    lab = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1])
    D = np.ones((9, 9)) - np.eye(9)
    D[5, [3, 4, 6, 7, 8]] = D[[3, 4, 6, 7, 8], 5] = 0.1  # unit 5 is module 1's medoid
    fig = plot_module_members(rfs, lab, emd=D, n_members=2)
    imgs = [a for a in fig.axes if a.images]
    np.testing.assert_allclose(imgs[4].images[0].get_array(), rfs[5])  # row 1: mean, then unit 5
    # more than 10 modules: two blocks of rows side by side
    lab12 = np.arange(12)
    fig = plot_module_members(np.random.default_rng(1).normal(size=(12, 3, 3)), lab12, n_members=1)
    assert len([a for a in fig.axes if a.images]) == 24


def test_module_members_errors():
    with pytest.raises(ValueError, match="rfs"):
        plot_module_members(_rfs(), np.zeros(4, int))
    with pytest.raises(ValueError, match="labels"):
        plot_module_members(_rfs(), -np.ones(9, int))


def test_community_layers(tmp_path):
    G = LayeredGraph((3, 4, 2), (np.ones((3, 4), np.float32), np.ones((4, 2), np.float32)))
    lab = np.array([0, 0, 1, 1, 1, 2, 2, 3, 4])  # communities 3 and 4 are singletons
    fig = plot_community_layers(lab, G, max_communities=2)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[:2] == ["1", "0"] and labels[2].startswith("other") and "single" in labels[3]
    heights = np.array([p.get_height() for p in ax.patches]).reshape(3, 4)  # layers x bars
    np.testing.assert_array_equal(heights.sum(axis=0), [3, 2, 2, 2])
    np.testing.assert_array_equal(heights[:, 0], [1, 2, 0])  # community 1: 1 input, 2 hidden
    assert ax.get_xlabel() and ax.get_ylabel() == "nodes"
    save_figure(fig, tmp_path / "cl")
    assert (tmp_path / "cl.svg").is_file()
    with pytest.raises(ValueError, match="partition"):
        plot_community_layers(lab[:3], G)


def test_agreement_heatmap(tmp_path):
    ag = agreement([0, 0, 1, 1, 2], [5, 5, 7, 7, 7])
    fig = plot_agreement(ag, row_label="module", col_label="community")
    ax = fig.axes[0]
    assert f"ARI = {ag.ari:.3f}" in ax.get_title() and f"NMI = {ag.nmi:.3f}" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["5", "7"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1", "2"]
    np.testing.assert_array_equal(ax.images[0].get_array(), ag.contingency)
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "2"]
    assert ax.get_xlabel() == "community" and ax.get_ylabel() == "module"
    save_figure(fig, tmp_path / "ag")
    assert (tmp_path / "ag.png").is_file()


def test_module_profiles_error_bars_never_below_zero():
    from types import SimpleNamespace

    from netsci_dl.plot.modules import plot_module_profiles

    m = np.array([1.0, 3.0, 0.5])
    sd = np.array([2.0, 1.0, 4.0])  # mean - sd < 0 for modules 0 and 2
    s = SimpleNamespace(degree_mean=m, degree_sd=sd, knn_mean=m + 1, knn_sd=2 * sd,
                        strength_mean=m - 2, strength_sd=sd, size=np.array([4, 3, 2]))  # fmt: skip
    fig = plot_module_profiles(s)
    (ax_knn, ax_s) = fig.axes
    for ax, (xlo, ylo) in ((ax_knn, (m - np.minimum(sd, m), m + 1 - np.minimum(2 * sd, m + 1))),
                           (ax_s, (m - 2 - sd, m - np.minimum(sd, m)))):  # fmt: skip
        xerr, yerr = ax.containers[0].lines[2]
        x0 = np.array([seg[:, 0].min() for seg in xerr.get_segments()])
        y0 = np.array([seg[:, 1].min() for seg in yerr.get_segments()])
        np.testing.assert_allclose(x0, xlo)
        np.testing.assert_allclose(y0, ylo)
    assert (ylo := y0).min() >= 0  # degree: lower bars stop at 0
    y_top = np.array([seg[:, 1].max() for seg in yerr.get_segments()])
    np.testing.assert_allclose(y_top, m + sd)  # the upper bars keep the full sd
    assert ylo.size == 3
