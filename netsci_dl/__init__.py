"""netsci_dl: trained neural networks as complex networks.

    >>> import netsci_dl as nd
    >>> G = nd.load("model.pt")                      # doctest: +SKIP
    >>> H = nd.threshold.by_quantile(G, 0.95, on="abs")  # doctest: +SKIP

One object flows one way: checkpoint -> :class:`LayeredGraph` -> threshold -> analysis -> io/plot.
Importing this package loads numpy and scipy only (about 0.1 s); torch and the graph libraries are imported
by the functions that need them.
"""

from netsci_dl import analysis, threshold
from netsci_dl.analysis._agreement import agreement
from netsci_dl.analysis._communities import communities
from netsci_dl.analysis._compare import compare, structural_summary
from netsci_dl.analysis._effective_information import effective_information
from netsci_dl.analysis._receptive_fields import receptive_fields, to_distributions
from netsci_dl.analysis.causal_plane import layer_causal_plane
from netsci_dl.analysis.emd import emd_matrix
from netsci_dl.analysis.modules import analyze_modules
from netsci_dl.analysis.trajectory import ei_trajectory
from netsci_dl.convert import from_networkx, to_graph_tool, to_igraph, to_networkx, to_scipy_sparse
from netsci_dl.export import from_matrices, from_rbm_stack, from_sklearn_rbm, inspect, load
from netsci_dl.graph import LayeredGraph
from netsci_dl.io.report import write_report
from netsci_dl.io.write_graph import write

__version__ = "0.1.0"

__all__ = [
    "LayeredGraph",
    "load",
    "inspect",
    "from_matrices",
    "from_rbm_stack",
    "from_sklearn_rbm",
    "threshold",
    "analysis",
    "write",
    "write_report",
    "structural_summary",
    "compare",
    "effective_information",
    "layer_causal_plane",
    "ei_trajectory",
    "receptive_fields",
    "to_distributions",
    "emd_matrix",
    "analyze_modules",
    "communities",
    "agreement",
    "to_networkx",
    "to_igraph",
    "to_graph_tool",
    "to_scipy_sparse",
    "from_networkx",
    "__version__",
]
