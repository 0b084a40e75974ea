"""Figures: drawn from a summary, titled with the model, labelled, saved as PNG + SVG."""

from __future__ import annotations

import numpy as np
import pytest

from netsci_dl.analysis._compare import structural_summary
from netsci_dl.plot import (
    plot_degree_ccdf,
    plot_degree_strength,
    plot_knn,
    plot_strength_distributions,
    plot_weight_distributions,
    save_figure,
    structure_figures,
)
from tests.conftest import random_layered


@pytest.fixture(scope="module")
def summaries():
    a = structural_summary(
        random_layered((20, 15, 10), seed=0), threshold="quantile:0.8", name="netA"
    )
    b = structural_summary(
        random_layered((20, 15, 10), seed=1), threshold="quantile:0.8", name="netB"
    )
    return a, b


@pytest.mark.parametrize(
    "fn",
    [
        plot_weight_distributions,
        plot_strength_distributions,
        plot_degree_ccdf,
        plot_knn,
        plot_degree_strength,
    ],
)
def test_every_figure_has_title_and_labels(fn, summaries):
    a, b = summaries
    fig = fn(a) if fn is plot_degree_strength else fn(a, reference=b)
    assert "netA" in fig._suptitle.get_text()
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel()
        assert "(" in ax.get_xlabel() and "(" in ax.get_ylabel()  # units in parentheses
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_degree_ccdf_is_log_log(summaries):
    fig = plot_degree_ccdf(summaries[0])
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"


def test_degree_strength_legend_has_correlation(summaries):
    a = summaries[0]
    fig = plot_degree_strength(a)
    text = fig.axes[0].get_legend().get_texts()[0].get_text()
    assert f"{a.degree_strength.pearson[0]:.2f}" in text


def test_structure_figures_saved_png_svg(tmp_path, summaries):
    out = structure_figures(summaries[0], tmp_path, reference=summaries[1])
    assert set(out) == {"weights", "strength", "degree_ccdf", "knn", "degree_strength"}
    for png, svg in out.values():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in svg.read_bytes()[:2000]
    assert not list(tmp_path.glob(".*.tmp"))


def test_save_figure_no_partial_file_on_error(tmp_path):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    with pytest.raises(FileNotFoundError):
        save_figure(fig, tmp_path / "missing" / "x")
    assert not (tmp_path / "missing").exists()
    np.testing.assert_equal(len(list(tmp_path.iterdir())), 0)
