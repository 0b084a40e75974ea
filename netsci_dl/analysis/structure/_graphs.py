"""The graphs the neuron-level measures read (undirected, over all layers): the signed graph,
the positive graph, their patterns and degrees, and the checks they share."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__: list[str] = []

#: cells of a ``(n, batch)`` work array of the batched shortest-path sweeps
_BATCH_CELLS = 1 << 21


# ---- the graphs --------------------------------------------------------------------------------
def _check_graph(G: Any) -> LayeredGraph:
    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    return G


def _weight_graph(G: LayeredGraph, include_identity: bool) -> LayeredGraph:
    """``G`` without its identity blocks (unless ``include_identity``); the same object when it
    has none."""
    _check_graph(G)
    keep = [b for b, k in enumerate(G.block_kinds) if include_identity or k != "identity"]
    if len(keep) == G.n_blocks:
        return G
    return G.replace(
        blocks=tuple(G.blocks[b] for b in keep),
        block_src=tuple(G.block_src[b] for b in keep),
        block_dst=tuple(G.block_dst[b] for b in keep),
        block_kinds=tuple(G.block_kinds[b] for b in keep),
        edge_attrs={k: tuple(v[b] for b in keep) for k, v in G.edge_attrs.items()},
    )


def _signed(G: LayeredGraph, include_identity: bool) -> sp.csr_array:
    """Symmetric float64 adjacency of the signed graph (explicit zeros kept: a weight 0 is an
    edge)."""
    H = _weight_graph(G, include_identity)
    return sp.csr_array(H.adjacency(directed=False, weights="signed"), dtype=np.float64)


def _positive(G: LayeredGraph, include_identity: bool) -> sp.csr_array:
    """The signed adjacency with every entry ``w <= 0`` removed (weights kept)."""
    A = _signed(G, include_identity)
    A.data[A.data <= 0] = 0.0
    A.eliminate_zeros()
    return A


def _pattern(A: sp.csr_array) -> sp.csr_array:
    B = A.copy()
    B.data = np.ones_like(B.data)
    return B


def _degree(A: sp.csr_array) -> np.ndarray:
    return np.diff(A.indptr).astype(np.float64)


def _require_connected(A: sp.csr_array, what: str, graph: str) -> None:
    n_comp, _ = csgraph.connected_components(A, directed=False)
    if n_comp > 1:
        raise InputError(
            f"{what} needs a connected {graph} graph; it has {n_comp} connected components"
        )
