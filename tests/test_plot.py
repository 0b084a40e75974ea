"""Figures: drawn from a summary, titled with the model, axes naming their values, PNG + SVG."""

from __future__ import annotations

import numpy as np
import pytest

import netsci_dl as nd
from netsci_dl.analysis import structural_summary
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
    title = fig._suptitle.get_text() if fig._suptitle else fig.axes[0].get_title()
    assert "netA" in title
    for ax in fig.axes:
        assert ax.get_xlabel()
        if ax.get_subplotspec().is_first_col():
            assert ax.get_ylabel()
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_axes_name_the_values(summaries):
    a = summaries[0]
    fig = plot_weight_distributions(a)
    assert fig.axes[0].get_xlabel() == "signed weight (dimensionless)"
    fig = plot_strength_distributions(a)
    assert [ax.get_xlabel() for ax in fig.axes] == [
        "s_up = sum of signed weight",
        "s_up = sum of signed weight",
        "s_down = sum of signed weight",
    ]
    # from the graph: a convolution's kernel norms, a Linear layer's weights
    rng = np.random.default_rng(0)
    G = nd.LayeredGraph(
        (4, 3, 2),
        (rng.random((4, 3)).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)),
        meta={"edge_weight": ["l2 of each 3x3 kernel", "weight"]},
    )
    S = structural_summary(G, threshold="quantile:0.5")
    fig = plot_weight_distributions(S, G=G)
    assert [ax.get_xlabel() for ax in fig.axes] == [
        "kernel l2 norm (dimensionless)",
        "signed weight (dimensionless)",
    ]
    fig = plot_strength_distributions(S, G=G)
    assert fig.axes[0].get_xlabel() == "s_up = sum of kernel l2 norm"


def test_degree_ccdf_is_log_log(summaries):
    fig = plot_degree_ccdf(summaries[0])
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"


def test_degree_strength_legend_has_correlation(summaries):
    a = summaries[0]
    fig = plot_degree_strength(a)
    text = fig.axes[0].get_title()
    assert f"Pearson {a.degree_strength.pearson[0]:.2f}" in text


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


# ---- value names and hostile names (plot/_base.py) ------------------------------------------
def test_value_names():
    from netsci_dl.plot._base import block_value_names, value_name

    assert value_name("weight") == value_name("") == value_name(None) == "signed weight"
    assert value_name("weight", weights="abs") == "|w|"
    assert value_name("l2 of each 3x3 kernel, 2 groups") == "kernel l2 norm"
    assert value_name("l2 of each 3x3 kernel", weights="abs") == "kernel l2 norm"
    assert value_name("mean of each 5 kernel", weights="abs") == "|kernel mean|"
    assert value_name("flatten: l2 over 16 features per channel").startswith("l2 norm over")
    assert value_name("weight", kind="identity").startswith("identity")
    assert value_name("weight", weights=None) == "edge (unweighted, 1)"
    with pytest.raises(ValueError, match="weights"):
        value_name("weight", weights="absolute")
    G = nd.LayeredGraph((2, 2, 2), (np.eye(2), np.eye(2)), meta={"edge_weight": ["x"]})
    assert block_value_names(G) == ("signed weight", "signed weight")  # wrong length: ignored
    from netsci_dl.threshold import by_quantile

    H = by_quantile(G, 0.5)  # unweighted: 1 per kept edge
    assert not H.weighted and block_value_names(H) == ("edge (unweighted, 1)",) * 2


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("conv\x07", "conv\\x07"),
        ("h1\ufffe", "h1\\ufffe"),
        ("h\ud800", "h\\ud800"),
        ("a\nb\tc", "a b c"),
        ("$x^2$", "\\$x^2\\$"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("ok name", "ok name"),
    ],
)
def test_display_name_is_safe_for_svg(name, shown):
    import xml.etree.ElementTree as ET

    from netsci_dl.plot._base import display_name, pyplot
    from netsci_dl.plot._layout_check import svg_problem

    assert display_name(name) == shown
    plt = pyplot()
    fig, ax = plt.subplots()
    ax.set_title(display_name(name))
    ax.set_xlabel(display_name(name))
    assert svg_problem(fig) == ""
    ET.fromstring(b"<a>" + display_name(name).encode("utf-8", "surrogatepass") + b"</a>")
    plt.close(fig)


@pytest.mark.filterwarnings("ignore:Glyph")
def test_raw_hostile_name_breaks_svg():
    """The check itself fails when a name is not sanitised (what display_name prevents)."""
    from netsci_dl.plot._base import pyplot
    from netsci_dl.plot._layout_check import svg_problem

    plt = pyplot()
    fig, ax = plt.subplots()
    ax.set_title("h1\x07")
    assert svg_problem(fig) != ""
    plt.close(fig)


def test_log_axis_under_a_decade_keeps_labels_apart():
    from netsci_dl.plot._base import new_figure, pyplot, tidy_log_axis
    from netsci_dl.plot._layout_check import layout_problems

    def fig_with(tidy):
        fig, (ax,) = new_figure(1, width=2.2, height=2.0)
        ax.loglog([1.5, 9.0], [1.5, 9.0], "o")
        if tidy:
            tidy_log_axis(ax.xaxis)
            tidy_log_axis(ax.yaxis)
        return fig, ax

    fig, _ = fig_with(False)
    assert layout_problems(fig)  # matplotlib's minor labels 2x10^0, 3x10^0... collide
    pyplot().close(fig)
    fig, ax = fig_with(True)
    assert layout_problems(fig) == []
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert {"2", "5"} <= set(shown)
    pyplot().close(fig)
