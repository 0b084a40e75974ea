"""A per-node column of a file (GraphML, GEXF, node tables) from one layer's values."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["layer_column"]


def layer_column(G: Any, layer: int, values: Any, *, fill: int = -1) -> np.ndarray:
    """An ``(n_nodes,)`` int64 column: ``values`` on the nodes of ``layer`` (in their order),
    ``fill`` on every other node (e.g. the module of each unit of one layer, -1 elsewhere).

    Examples
    --------
    >>> from netsci_dl.graph import LayeredGraph
    >>> G = LayeredGraph((2, 3), (np.ones((2, 3), np.float32),))
    >>> layer_column(G, 1, [0, 1, 1]).tolist()
    [-1, -1, 0, 1, 1]
    """
    out = np.full(G.n_nodes, fill, np.int64)
    out[G.layer_slice(layer)] = values
    return out
