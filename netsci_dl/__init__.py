"""netsci_dl: trained neural networks as complex networks.

    >>> import netsci_dl as nd
    >>> G = nd.load("model.pt")                      # doctest: +SKIP
    >>> H = nd.threshold.by_quantile(G, 0.95, on="abs")  # doctest: +SKIP

One object flows one way: checkpoint -> :class:`LayeredGraph` -> threshold -> analysis -> io/plot.
Importing this package loads numpy and scipy only; torch and the graph libraries are imported
by the functions that need them.
"""

from netsci_dl import threshold
from netsci_dl.export import from_matrices, from_rbm_stack, from_sklearn_rbm, inspect, load
from netsci_dl.graph import LayeredGraph

__version__ = "0.1.0"

__all__ = [
    "LayeredGraph",
    "load",
    "inspect",
    "from_matrices",
    "from_rbm_stack",
    "from_sklearn_rbm",
    "threshold",
    "__version__",
]
