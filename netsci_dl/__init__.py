"""netsci_dl: trained neural networks as complex networks.

    >>> import netsci_dl as nd
    >>> G = nd.load("model.pt")                      # doctest: +SKIP
    >>> H = nd.threshold.apply_spec(G, "auto")       # doctest: +SKIP

One object flows one way: checkpoint or model -> :class:`LayeredGraph` (a DAG of node groups)
-> threshold -> analysis -> io/plot/report. Importing this package loads numpy and scipy only;
torch and the graph libraries are imported by the functions that need them.
"""

from __future__ import annotations

import os
from typing import Any

from netsci_dl import analysis, threshold
from netsci_dl.analysis import (
    agreement,
    analyze_modules,
    communities,
    compare,
    effective_information,
    ei_trajectory,
    emd_matrix,
    layer_causal_plane,
    receptive_fields,
    structural_summary,
    threshold_sweep,
    to_distributions,
)
from netsci_dl.convert import from_networkx, to_graph_tool, to_igraph, to_networkx, to_scipy_sparse
from netsci_dl.errors import InputError
from netsci_dl.export import from_matrices, from_rbm_stack, from_sklearn_rbm, inspect, load
from netsci_dl.graph import LayeredGraph
from netsci_dl.io.write_graph import write
from netsci_dl.report import write_report

__version__ = "0.2.0"


def save(G: LayeredGraph, path: str | os.PathLike, *, force: bool = False) -> Any:
    """Write ``G`` losslessly to ``path`` (``.npz``: arrays plus a JSON header, no pickle);
    ``netsci_dl.load(path)`` reads it back. Atomic; an existing file needs ``force=True``."""
    return write(G, path, force=force, fmt="npz")


__all__ = [
    "LayeredGraph",
    "InputError",
    "load",
    "save",
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
    "threshold_sweep",
    "to_networkx",
    "to_igraph",
    "to_graph_tool",
    "to_scipy_sparse",
    "from_networkx",
    "__version__",
]
