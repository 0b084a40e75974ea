"""Figures (seaborn / matplotlib, Agg backend; imported inside the functions).

Every figure has axis labels with units, a title naming the model, and is saved as PNG and SVG
by :func:`save_figure`. One module per topic: :mod:`netsci_dl.plot.structure` (distributions,
assortativity); later topics (effective information, modules) add their own module here and
re-export below.
"""

from netsci_dl.plot._base import save_figure
from netsci_dl.plot.structure import (
    plot_degree_ccdf,
    plot_degree_strength,
    plot_knn,
    plot_strength_distributions,
    plot_weight_distributions,
    structure_figures,
)

__all__ = [
    "save_figure",
    "plot_weight_distributions",
    "plot_strength_distributions",
    "plot_degree_ccdf",
    "plot_knn",
    "plot_degree_strength",
    "structure_figures",
]
