"""`LayeredGraph`: a trained network as a k-partite weighted graph, held as arrays.

Nodes are the units of every layer (layer 0 is the input); the global id of unit ``i`` of
layer ``l`` is ``offsets[l] + i``. Edges run only between consecutive layers and are stored as
one weight block per pair of layers: ``blocks[l]`` has shape ``(n_l, n_{l+1})``, rows are the
source layer and columns the target layer, in the feed-forward direction ``l -> l+1``.
A block is either a dense ``float32`` ndarray (every entry is an edge, zeros included: one edge
per weight) or a ``scipy.sparse.csr_array`` (every stored entry is an edge).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["LayeredGraph"]


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _block_nnz(block: Any) -> int:
    return int(block.nnz) if sp.issparse(block) else int(block.size)


def _block_pattern(block: Any) -> tuple[np.ndarray, np.ndarray]:
    """Local (row, col) of every edge of a block, row-major (CSR) order."""
    if sp.issparse(block):
        n_rows = block.shape[0]
        rows = np.repeat(np.arange(n_rows, dtype=np.int32), np.diff(block.indptr))
        return rows, block.indices.astype(np.int32, copy=False)
    n, m = block.shape
    return (
        np.repeat(np.arange(n, dtype=np.int32), m),
        np.tile(np.arange(m, dtype=np.int32), n),
    )


def _block_values(block: Any) -> np.ndarray:
    return block.data if sp.issparse(block) else np.asarray(block).reshape(-1)


@dataclass(frozen=True, eq=False)
class LayeredGraph:
    """A k-partite weighted graph whose edges join consecutive layers.

    Parameters
    ----------
    layer_sizes : tuple of int
        Units per layer, input first: ``(n_0, ..., n_{L-1})``.
    blocks : tuple of arrays
        ``blocks[l]`` : ``(n_l, n_{l+1})`` dense ndarray or ``scipy.sparse.csr_array`` holding
        the signed weight of the edge from unit ``i`` of layer ``l`` to unit ``j`` of layer
        ``l+1``. ``len(blocks) == len(layer_sizes) - 1``.
    layer_names : tuple of str, optional
        One name per layer; defaults to ``("L0", "L1", ...)``.
    node_attrs : mapping of str to (n_nodes,) ndarray, optional
        Per-node arrays in global node order, e.g. ``"bias"`` (NaN where a unit has none).
    edge_attrs : mapping of str to tuple of blocks, optional
        Per-edge values held as blocks with the same shape and sparsity pattern as ``blocks``
        (e.g. ``"sign"`` and the original ``"weight"`` after thresholding).
    meta : mapping, optional
        JSON-able provenance: source file, model kind, ``image_shape``, ``thresholds`` applied...

    Notes
    -----
    The object is frozen and holds arrays only; nothing is copied from the caller's arrays.
    ``__post_init__`` checks shapes only (O(k)); NaN/Inf checks happen in the exporters.
    RBM weights are symmetric: analyses say whether they treat the graph as directed (``l -> l+1``)
    or undirected.

    Examples
    --------
    >>> import numpy as np
    >>> G = LayeredGraph((2, 3), (np.ones((2, 3), dtype=np.float32),))
    >>> G.n_nodes, G.n_edges, G.offsets.tolist()
    (5, 6, [0, 2, 5])
    >>> src, dst, w = G.edges()
    >>> src.tolist(), dst.tolist()
    ([0, 0, 0, 1, 1, 1], [2, 3, 4, 2, 3, 4])
    """

    layer_sizes: tuple[int, ...]
    blocks: tuple[Any, ...]
    layer_names: tuple[str, ...] = ()
    node_attrs: Mapping[str, np.ndarray] = field(default_factory=dict)
    edge_attrs: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sizes = tuple(int(n) for n in self.layer_sizes)
        if len(sizes) < 1:
            raise ValueError("layer_sizes must name at least one layer")
        if any(n < 0 for n in sizes):
            raise ValueError(f"layer_sizes must be non-negative, got {sizes}")
        object.__setattr__(self, "layer_sizes", sizes)
        blocks = tuple(self.blocks)
        if len(blocks) != len(sizes) - 1:
            raise ValueError(f"{len(sizes)} layers need {len(sizes) - 1} blocks, got {len(blocks)}")
        for i, b in enumerate(blocks):
            if not (sp.issparse(b) or isinstance(b, np.ndarray)):
                raise TypeError(f"blocks[{i}] must be an ndarray or csr_array, got {type(b)}")
            if sp.issparse(b) and b.format != "csr":
                raise TypeError(f"blocks[{i}] is sparse {b.format!r}; convert it to csr")
            if b.ndim != 2 or b.shape != (sizes[i], sizes[i + 1]):
                raise ValueError(
                    f"blocks[{i}] has shape {b.shape}, expected {(sizes[i], sizes[i + 1])} "
                    f"(rows = layer {i}, columns = layer {i + 1})"
                )
        object.__setattr__(self, "blocks", blocks)
        names = tuple(str(s) for s in self.layer_names) or tuple(f"L{i}" for i in range(len(sizes)))
        if len(names) != len(sizes):
            raise ValueError(f"{len(sizes)} layers but {len(names)} layer_names")
        object.__setattr__(self, "layer_names", names)
        n = sum(sizes)
        nattrs = {}
        for k, v in dict(self.node_attrs).items():
            arr = np.asarray(v)
            if arr.shape != (n,):
                raise ValueError(f"node_attrs[{k!r}] has shape {arr.shape}, expected ({n},)")
            nattrs[str(k)] = arr
        object.__setattr__(self, "node_attrs", _freeze(nattrs))
        eattrs = {}
        for k, v in dict(self.edge_attrs).items():
            v = tuple(v)
            if len(v) != len(blocks) or any(
                a.shape != b.shape or _block_nnz(a) != _block_nnz(b) for a, b in zip(v, blocks)
            ):
                raise ValueError(f"edge_attrs[{k!r}] must have the shape and pattern of blocks")
            eattrs[str(k)] = v
        object.__setattr__(self, "edge_attrs", _freeze(eattrs))
        object.__setattr__(self, "meta", _freeze(self.meta))

    # ---- derived, cheap -------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of layers (input included)."""
        return len(self.layer_sizes)

    @property
    def offsets(self) -> np.ndarray:
        """``(n_layers + 1,)`` int64: global id of the first unit of each layer, then ``n_nodes``."""
        return np.concatenate([[0], np.cumsum(self.layer_sizes)]).astype(np.int64)

    @property
    def n_nodes(self) -> int:
        """Number of nodes (units of all layers)."""
        return int(sum(self.layer_sizes))

    @property
    def n_edges(self) -> int:
        """Number of edges: entries of dense blocks plus stored entries of sparse ones."""
        return sum(_block_nnz(b) for b in self.blocks)

    @property
    def block_n_edges(self) -> tuple[int, ...]:
        """Edges per block."""
        return tuple(_block_nnz(b) for b in self.blocks)

    @property
    def is_sparse(self) -> bool:
        """True when every block is a sparse array (e.g. after thresholding)."""
        return all(sp.issparse(b) for b in self.blocks)

    @property
    def weighted(self) -> bool:
        """False when the graph was thresholded to an unweighted projection (weights 1)."""
        return bool(self.meta.get("weighted", True))

    def layer_of(self, node: int | np.ndarray) -> np.ndarray | int:
        """Layer index of global node id(s)."""
        nodes = np.asarray(node)
        if np.any(nodes < 0) or np.any(nodes >= self.n_nodes):
            raise ValueError(f"node id out of range [0, {self.n_nodes})")
        out = np.searchsorted(self.offsets, nodes, side="right") - 1
        return int(out) if out.ndim == 0 else out

    @property
    def node_layer(self) -> np.ndarray:
        """``(n_nodes,)`` int32: the layer of every node."""
        return np.repeat(np.arange(self.n_layers, dtype=np.int32), self.layer_sizes)

    @property
    def node_index(self) -> np.ndarray:
        """``(n_nodes,)`` int32: the index of every node within its layer."""
        if self.n_nodes == 0:
            return np.zeros(0, dtype=np.int32)
        return np.concatenate([np.arange(n, dtype=np.int32) for n in self.layer_sizes])

    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All edges as arrays, block by block, row-major within a block.

        Returns
        -------
        src, dst : (n_edges,) int32 (int64 past 2**31 nodes)
            Global node ids, ``src`` in layer ``l`` and ``dst`` in layer ``l+1``.
        w : (n_edges,) ndarray
            The weights (a view of the block when there is a single dense block).
        """
        idx = np.int32 if self.n_nodes < 2**31 - 1 else np.int64
        if not self.blocks:
            return np.zeros(0, idx), np.zeros(0, idx), np.zeros(0, np.float32)
        off = self.offsets
        n_e = self.block_n_edges
        total = sum(n_e)
        src = np.empty(total, dtype=idx)
        dst = np.empty(total, dtype=idx)
        pos = 0
        for l, b in enumerate(self.blocks):
            s, d = src[pos : pos + n_e[l]], dst[pos : pos + n_e[l]]
            if sp.issparse(b):
                r, c = _block_pattern(b)
                np.add(r, off[l], out=s, casting="unsafe")
                np.add(c, off[l + 1], out=d, casting="unsafe")
            else:  # broadcast straight into the output: no temporaries
                n, m = b.shape
                s.reshape(n, m)[...] = np.arange(off[l], off[l] + n, dtype=idx)[:, None]
                d.reshape(n, m)[...] = np.arange(off[l + 1], off[l + 1] + m, dtype=idx)[None, :]
            pos += n_e[l]
        return src, dst, self.edge_values()

    def edge_values(self, name: str | None = None) -> np.ndarray:
        """Per-edge values in the order of :meth:`edges`: the weights, or ``edge_attrs[name]``."""
        src = self.blocks if name is None else self.edge_attrs[name]
        vals = [_block_values(b) for b in src]
        if len(vals) == 1:
            return vals[0]
        if not vals:
            return np.zeros(0, np.float32)
        return np.concatenate(vals)

    def edge_layer(self) -> np.ndarray:
        """``(n_edges,)`` int32: the block (source layer) of every edge."""
        return np.repeat(np.arange(len(self.blocks), dtype=np.int32), self.block_n_edges)

    def adjacency(self, directed: bool = False, *, weights: str | None = "weight") -> sp.csr_array:
        """The ``(n_nodes, n_nodes)`` sparse adjacency matrix.

        Parameters
        ----------
        directed : bool
            False (default): symmetric, ``A[i, j] = A[j, i] = w``. True: only ``l -> l+1``.
        weights : {"weight", "abs", None}
            Signed weights, their absolute value, or 1 for every edge.

        Notes
        -----
        Dense blocks keep an explicit entry for a zero weight.
        """
        src, dst, w = self.edges()
        if weights is None:
            w = np.ones(len(src), dtype=np.float32)
        elif weights == "abs":
            w = np.abs(w)
        elif weights != "weight":
            raise ValueError(f"weights must be 'weight', 'abs' or None, got {weights!r}")
        n = self.n_nodes
        if not directed:
            src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
            w = np.concatenate([w, w])
        A = sp.coo_array((w, (src, dst)), shape=(n, n)).tocsr()
        A.sort_indices()
        return A

    # ---- transforms (pure) ----------------------------------------------------------------
    def replace(self, **changes: Any) -> LayeredGraph:
        """A copy with some fields replaced (arrays are shared, not copied)."""
        fields = {
            "layer_sizes": self.layer_sizes,
            "blocks": self.blocks,
            "layer_names": self.layer_names,
            "node_attrs": dict(self.node_attrs),
            "edge_attrs": dict(self.edge_attrs),
            "meta": dict(self.meta),
        }
        fields.update(changes)
        return LayeredGraph(**fields)

    def with_meta(self, **entries: Any) -> LayeredGraph:
        """A copy whose ``meta`` is updated with ``entries``."""
        meta = dict(self.meta)
        meta.update(entries)
        return self.replace(meta=meta)

    def layer_slice(self, layer: int) -> slice:
        """Global-id slice of the nodes of one layer."""
        off = self.offsets
        if not -self.n_layers <= layer < self.n_layers:
            raise ValueError(f"layer {layer} out of range for {self.n_layers} layers")
        layer %= self.n_layers
        return slice(int(off[layer]), int(off[layer + 1]))

    def dense_block(self, l: int) -> np.ndarray:
        """``blocks[l]`` as a dense ndarray (zeros where no edge)."""
        b = self.blocks[l]
        return b.toarray() if sp.issparse(b) else np.asarray(b)

    # ---- persistence ----------------------------------------------------------------------
    def save(self, path: str) -> None:
        """Write the graph losslessly to ``.npz`` (arrays + JSON meta; no pickle).

        The file is written to a temporary name and renamed, so an error leaves no partial file.
        """
        from netsci_dl.io.npz import save_graph

        save_graph(self, path)

    @classmethod
    def load(cls, path: str) -> LayeredGraph:
        """Read a graph written by :meth:`save`."""
        from netsci_dl.io.npz import load_graph

        return load_graph(path)

    def equals(self, other: LayeredGraph) -> bool:
        """True when structure, weights, attributes and meta are identical."""
        if not isinstance(other, LayeredGraph):
            return False
        if (self.layer_sizes, self.layer_names) != (other.layer_sizes, other.layer_names):
            return False
        if json.dumps(dict(self.meta), sort_keys=True, default=str) != json.dumps(
            dict(other.meta), sort_keys=True, default=str
        ):
            return False

        def same_blocks(a: Sequence[Any], b: Sequence[Any]) -> bool:
            for x, y in zip(a, b):
                if sp.issparse(x) != sp.issparse(y) or x.dtype != y.dtype:
                    return False
                if sp.issparse(x):
                    if not (
                        np.array_equal(x.indptr, y.indptr)
                        and np.array_equal(x.indices, y.indices)
                        and np.array_equal(x.data, y.data, equal_nan=True)
                    ):
                        return False
                elif not np.array_equal(x, y, equal_nan=True):
                    return False
            return True

        if not same_blocks(self.blocks, other.blocks):
            return False
        if set(self.node_attrs) != set(other.node_attrs) or set(self.edge_attrs) != set(
            other.edge_attrs
        ):
            return False
        for k, v in self.node_attrs.items():
            if v.dtype != other.node_attrs[k].dtype or not np.array_equal(
                v, other.node_attrs[k], equal_nan=v.dtype.kind == "f"
            ):
                return False
        return all(same_blocks(v, other.edge_attrs[k]) for k, v in self.edge_attrs.items())

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        w = "weighted" if self.weighted else "unweighted"
        layers = ", ".join(f"{n}:{s}" for n, s in zip(self.layer_names, self.layer_sizes))
        return (
            f"LayeredGraph([{layers}], n_nodes={self.n_nodes}, n_edges={self.n_edges}, {kind}, {w})"
        )
