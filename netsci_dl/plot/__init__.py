"""Figures (seaborn / matplotlib, Agg backend; imported inside the functions).

Every figure names the model in its title and the value on every axis ("signed weight",
"kernel l2 norm", "|w|": :func:`value_name`, :func:`block_value_names`), lays its panels out in
a grid of at most :data:`MAX_COLS` per row under constrained layout (labels, titles and tick
labels never overlap; legends sit outside the data), shows every name through
:func:`display_name` (an SVG stays well-formed whatever the layer names hold), and is saved as
PNG and SVG by :func:`save_figure`. One module per topic: :mod:`netsci_dl.plot.structure`
(distributions, assortativity), :mod:`netsci_dl.plot.ei` (causal plane, EI over training),
:mod:`netsci_dl.plot.modules` (functional modules, communities), :mod:`netsci_dl.plot.spectra`
(weight-matrix ESDs, alpha per layer).
"""

from netsci_dl.plot._base import (
    MAX_COLS,
    block_value_names,
    display_name,
    save_figure,
    value_name,
)
from netsci_dl.plot._layout_check import layout_problems, svg_problem
from netsci_dl.plot.ei import (
    ei_figures,
    noise_floor,
    plot_causal_plane,
    plot_ei_trajectory,
    plugin_mi_floor,
)
from netsci_dl.plot.spectra import plot_alpha, plot_alpha_over_training, plot_esd, spectra_figures
from netsci_dl.plot.structure import (
    plot_degree_ccdf,
    plot_degree_strength,
    plot_knn,
    plot_strength_distributions,
    plot_weight_distributions,
    structure_figures,
)

__all__ = [
    "MAX_COLS",
    "save_figure",
    "value_name",
    "block_value_names",
    "display_name",
    "layout_problems",
    "svg_problem",
    "plot_weight_distributions",
    "plot_strength_distributions",
    "plot_degree_ccdf",
    "plot_knn",
    "plot_degree_strength",
    "structure_figures",
    "plot_causal_plane",
    "plot_ei_trajectory",
    "ei_figures",
    "noise_floor",
    "plugin_mi_floor",
    "plot_esd",
    "plot_alpha",
    "plot_alpha_over_training",
    "spectra_figures",
]
