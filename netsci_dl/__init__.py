"""netsci_dl: trained neural networks as complex networks.

    >>> import netsci_dl as nd
    >>> G = nd.load("model.pt")                      # doctest: +SKIP
    >>> H = nd.threshold.apply_spec(G, "auto")       # doctest: +SKIP

One object flows one way: checkpoint or model -> :class:`LayeredGraph` (a DAG of node groups)
-> threshold -> analysis -> io/plot/report. Importing this package loads numpy and scipy only;
torch and the graph libraries are imported by the functions that need them.

The rooms, each a subpackage (``nd.analysis``, ``nd.activations``, ``nd.runs``, ``nd.models``,
``nd.datasets``, ``nd.plot``, ...); the names below are the ones most scripts need.
"""

from __future__ import annotations

from netsci_dl import activations, analysis, datasets, models, parallel, runs, threshold
from netsci_dl.activations import (
    fisher_trace,
    gradient_covariance,
    hessian_top_eigenvalue,
    hessian_trace,
    layer_activations,
    layer_interactions,
)
from netsci_dl.analysis import (
    agreement,
    analyze_modules,
    cca,
    cka,
    communities,
    compare,
    effective_information,
    emd_matrix,
    layer_causal_plane,
    pwcca,
    receptive_fields,
    similarity_matrix,
    structural_summary,
    svcca,
    threshold_sweep,
    to_distributions,
)
from netsci_dl.convert import from_networkx, to_graph_tool, to_igraph, to_networkx, to_scipy_sparse
from netsci_dl.errors import InputError
from netsci_dl.export import from_matrices, from_rbm_stack, from_sklearn_rbm, inspect, load
from netsci_dl.graph import LayeredGraph
from netsci_dl.io.write_graph import read, save, write
from netsci_dl.report import write_report
from netsci_dl.runs.critical import CriticalPeriodOptions, critical_period
from netsci_dl.runs.measures import TrainingMeasureOptions, training_measures
from netsci_dl.runs.similarity import training_similarity
from netsci_dl.runs.trajectory import ei_trajectory

__version__ = "0.3.0"

__all__ = [
    "LayeredGraph",
    "InputError",
    # export, files
    "load",
    "save",
    "read",
    "write",
    "inspect",
    "from_matrices",
    "from_rbm_stack",
    "from_sklearn_rbm",
    "to_networkx",
    "to_igraph",
    "to_graph_tool",
    "to_scipy_sparse",
    "from_networkx",
    # rooms
    "threshold",
    "analysis",
    "activations",
    "runs",
    "models",
    "datasets",
    "parallel",
    # analyses of a graph
    "structural_summary",
    "compare",
    "effective_information",
    "layer_causal_plane",
    "receptive_fields",
    "to_distributions",
    "emd_matrix",
    "analyze_modules",
    "communities",
    "agreement",
    "threshold_sweep",
    # representations
    "cka",
    "cca",
    "svcca",
    "pwcca",
    "similarity_matrix",
    # models on data
    "layer_activations",
    "fisher_trace",
    "hessian_top_eigenvalue",
    "hessian_trace",
    "gradient_covariance",
    "layer_interactions",
    # over training
    "ei_trajectory",
    "training_similarity",
    "training_measures",
    "TrainingMeasureOptions",
    "critical_period",
    "CriticalPeriodOptions",
    # the report
    "write_report",
    "__version__",
]
