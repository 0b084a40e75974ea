"""`LayeredGraph`: a trained network as a weighted graph of node groups, held as arrays.

Nodes are the units of every node group ("layer": the input, a Linear layer's outputs, a
convolution's channels, a residual sum, a concatenation); groups are topologically ordered and
the global id of unit ``i`` of group ``g`` is ``offsets[g] + i``. Edges are stored as weight
blocks between two groups ``src < dst``: block ``b`` is ``blocks[b]`` of shape
``(n_src, n_dst)`` (rows = the source group, columns = the target group, in the feed-forward
direction ``src -> dst``), joining ``block_src[b] -> block_dst[b]``, of kind ``block_kinds[b]``:

============  ===========================================================================
``weight``    a learned matrix (a Linear layer, an RBM) or a reduced kernel (a convolution's
              channel graph; the reduction is recorded in ``meta["edge_weight"]``)
``identity``  a skip connection or a pass-through junction: weight 1 from unit ``i`` of the
              source to its unit of the target; no learned weight
============  ===========================================================================

A **chain** (``block_src[b] = b``, ``block_dst[b] = b + 1``: every block joins consecutive
groups) is the special case; it is the default when ``block_src``/``block_dst`` are not given,
so ``LayeredGraph(sizes, blocks)`` builds the layered (k-partite) graph of an MLP or a DBN.

A block is either a dense ``float32``/``float64`` ndarray (every entry is an edge, zeros
included: one edge per weight) or a canonical ``scipy.sparse.csr_array`` (sorted indices, no
duplicate entries; every stored entry is an edge, explicit zeros included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl._graph_checks import (
    BLOCK_KINDS,
    _block_nnz,
    _block_pattern,
    _block_values,
    _check_block,
    _check_json,
    _check_structure,
    _coo_edges,
    _freeze,
    _frozen_edge_attrs,
    _node_id_dtype,
    _packed_view,
    _readonly,
    _same_graph,
)
from netsci_dl.errors import InputError

__all__ = ["LayeredGraph", "BLOCK_KINDS"]


@dataclass(frozen=True, eq=False)
class LayeredGraph:
    """A weighted graph of node groups joined by weight blocks (a DAG of layers).

    Parameters
    ----------
    layer_sizes : tuple of int
        Units per node group, in topological order (sources, e.g. the input, first).
    blocks : tuple of arrays
        ``blocks[b]`` : ``(n_src, n_dst)`` dense float ndarray or canonical ``csr_array``
        holding the weight of the edge from unit ``i`` of group ``block_src[b]`` to unit ``j``
        of group ``block_dst[b]``.
    layer_names : tuple of str, optional
        One name per group; defaults to ``("L0", "L1", ...)``.
    node_attrs : mapping of str to (n_nodes,) ndarray, optional
        Per-node arrays in global node order, e.g. ``"bias"`` with ``"has_bias"`` (a boolean
        mask: a unit without a bias has ``has_bias`` False and ``bias`` 0).
    edge_attrs : mapping of str to tuple of blocks, optional
        Per-edge values held as blocks with the same shape and sparsity pattern as ``blocks``
        (e.g. ``"sign"`` and the original ``"weight"`` after thresholding).
    meta : mapping, optional
        JSON-able provenance (checked here): source file, model kind, ``image_shape``,
        ``thresholds`` applied, ``junctions`` and what each became...
    block_src, block_dst : tuple of int, optional
        The groups each block joins, ``block_src[b] < block_dst[b]``. Default: a chain,
        ``(0, 1, ..., n_blocks - 1)`` and ``(1, 2, ..., n_blocks)``.
    block_kinds : tuple of str, optional
        One of :data:`BLOCK_KINDS` per block; default ``"weight"`` for every block.

    Notes
    -----
    The object is frozen and every array it holds is read-only. The constructor does not copy
    (it keeps read-only views of the caller's arrays, so a caller who writes to its own array
    afterwards changes the graph); the exporters (:func:`netsci_dl.load`,
    :func:`netsci_dl.from_matrices`) copy what they take from a model or a caller.
    ``__post_init__`` checks shapes, dtypes (float32/float64), finiteness of the blocks, the CSR
    invariants and that ``meta`` is JSON-able. RBM weights are symmetric: analyses say whether
    they treat the graph as directed (``src -> dst``) or undirected.

    Examples
    --------
    >>> import numpy as np
    >>> G = LayeredGraph((2, 3), (np.ones((2, 3), dtype=np.float32),))
    >>> G.n_nodes, G.n_edges, G.offsets.tolist(), G.is_chain
    (5, 6, [0, 2, 5], True)
    >>> src, dst, w = G.edges()
    >>> src.tolist(), dst.tolist(), src.dtype.name   # the narrowest ids: int16 here
    ([0, 0, 0, 1, 1, 1], [2, 3, 4, 2, 3, 4], 'int16')
    >>> key = src.astype(np.int64) * G.n_nodes + dst   # cast before ids can pass int16

    A skip connection: an identity block from the input straight to the last group.

    >>> I = np.eye(2, dtype=np.float32)
    >>> R = LayeredGraph((2, 2, 2), (I, I, I), block_src=(0, 1, 0), block_dst=(1, 2, 2),
    ...                  block_kinds=("weight", "weight", "identity"))
    >>> R.is_chain, R.block_names
    (False, ('L0->L1', 'L1->L2', 'L0->L2'))
    """

    layer_sizes: tuple[int, ...]
    blocks: tuple[Any, ...]
    layer_names: tuple[str, ...] = ()
    node_attrs: Mapping[str, np.ndarray] = field(default_factory=dict)
    edge_attrs: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    block_src: tuple[int, ...] = ()
    block_dst: tuple[int, ...] = ()
    block_kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        sizes = tuple(int(n) for n in self.layer_sizes)
        if len(sizes) < 1:
            raise InputError("layer_sizes must name at least one layer")
        if any(n < 0 for n in sizes):
            raise InputError(f"layer_sizes must be non-negative, got {sizes}")
        object.__setattr__(self, "layer_sizes", sizes)
        raw = tuple(self.blocks)
        nb = len(raw)
        src = tuple(int(s) for s in self.block_src) if self.block_src else tuple(range(nb))
        dst = tuple(int(d) for d in self.block_dst) if self.block_dst else tuple(range(1, nb + 1))
        kinds = tuple(str(k) for k in self.block_kinds) if self.block_kinds else ("weight",) * nb
        _check_structure(
            sizes, nb, src, dst, kinds, chain=not self.block_src and not self.block_dst
        )
        object.__setattr__(self, "block_src", src)
        object.__setattr__(self, "block_dst", dst)
        object.__setattr__(self, "block_kinds", kinds)
        names = tuple(str(s) for s in self.layer_names) or tuple(f"L{i}" for i in range(len(sizes)))
        if len(names) != len(sizes):
            raise InputError(f"{len(sizes)} layers but {len(names)} layer_names")
        object.__setattr__(self, "layer_names", names)
        blocks = tuple(
            _check_block(b, f"blocks[{i}]", (sizes[src[i]], sizes[dst[i]]))
            for i, b in enumerate(raw)
        )
        object.__setattr__(self, "blocks", blocks)
        n = sum(sizes)
        nattrs = {}
        for k, v in dict(self.node_attrs).items():
            arr = np.asarray(v)
            if arr.shape != (n,):
                raise InputError(f"node_attrs[{k!r}] has shape {arr.shape}, expected ({n},)")
            nattrs[str(k)] = _readonly(arr)
        object.__setattr__(self, "node_attrs", _freeze(nattrs))
        eattrs = _frozen_edge_attrs(self.edge_attrs, blocks)
        object.__setattr__(self, "edge_attrs", _freeze(eattrs))
        meta = dict(self.meta)
        _check_json(meta)
        object.__setattr__(self, "meta", _freeze(meta))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle by the constructor's arguments (plain dicts: a mappingproxy does not pickle),
        so worker processes can receive a graph (joblib's memory-mapped shared inputs)."""
        return (
            type(self),
            (self.layer_sizes, self.blocks, self.layer_names, dict(self.node_attrs),
             dict(self.edge_attrs), dict(self.meta), self.block_src, self.block_dst,
             self.block_kinds),
        )  # fmt: skip

    # ---- structure ------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of node groups (input included)."""
        return len(self.layer_sizes)

    @property
    def n_blocks(self) -> int:
        """Number of weight blocks."""
        return len(self.blocks)

    @property
    def is_chain(self) -> bool:
        """True when block ``b`` joins groups ``b -> b + 1`` for every ``b`` (an MLP, a DBN)."""
        nb = self.n_blocks
        return (
            nb == self.n_layers - 1
            and self.block_src == tuple(range(nb))
            and self.block_dst == tuple(range(1, nb + 1))
        )

    @property
    def block_names(self) -> tuple[str, ...]:
        """``"src->dst"`` names of the blocks, by group name, one name per block: where blocks
        join the same two groups (a weight layer and a skip into the same add), those of
        another kind than ``"weight"`` get their kind (``"a->b [identity]"``); two blocks of
        one kind never join the same groups.

        Examples
        --------
        >>> import numpy as np
        >>> I = np.eye(2, dtype=np.float32)
        >>> LayeredGraph((2, 2), (I, I), block_src=(0, 0), block_dst=(1, 1),
        ...              block_kinds=("weight", "identity")).block_names
        ('L0->L1', 'L0->L1 [identity]')
        """
        n = self.layer_names
        return _unique_block_names(
            [f"{n[s]}->{n[d]}" for s, d in zip(self.block_src, self.block_dst)], self.block_kinds
        )

    def blocks_into(self, group: int) -> tuple[int, ...]:
        """Indices of the blocks whose target is ``group``."""
        return tuple(b for b, d in enumerate(self.block_dst) if d == group)

    def blocks_from(self, group: int) -> tuple[int, ...]:
        """Indices of the blocks whose source is ``group``."""
        return tuple(b for b, s in enumerate(self.block_src) if s == group)

    @property
    def depth(self) -> np.ndarray:
        """``(n_layers,)`` int64: topological depth of each group (longest path from a source).

        Examples
        --------
        >>> import numpy as np
        >>> I = np.eye(2, dtype=np.float32)
        >>> LayeredGraph((2, 2, 2), (I, I, I), block_src=(0, 1, 0), block_dst=(1, 2, 2)).depth.tolist()
        [0, 1, 2]
        """
        depth = np.zeros(self.n_layers, dtype=np.int64)
        for b in np.argsort(self.block_dst, kind="stable"):  # targets in topological order
            s, d = self.block_src[b], self.block_dst[b]
            depth[d] = max(depth[d], depth[s] + 1)
        return depth

    @property
    def offsets(self) -> np.ndarray:
        """``(n_layers + 1,)`` int64: global id of the first unit of each group, then ``n_nodes``."""
        return np.concatenate([[0], np.cumsum(self.layer_sizes)]).astype(np.int64)

    @property
    def n_nodes(self) -> int:
        """Number of nodes (units of all groups)."""
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
        """Group index of global node id(s)."""
        nodes = np.asarray(node)
        if np.any(nodes < 0) or np.any(nodes >= self.n_nodes):
            raise InputError(f"node id out of range [0, {self.n_nodes})")
        out = np.searchsorted(self.offsets, nodes, side="right") - 1
        return int(out) if out.ndim == 0 else out

    @property
    def node_layer(self) -> np.ndarray:
        """``(n_nodes,)`` int32: the group of every node."""
        return np.repeat(np.arange(self.n_layers, dtype=np.int32), self.layer_sizes)

    @property
    def node_index(self) -> np.ndarray:
        """``(n_nodes,)`` int32: the index of every node within its group."""
        if self.n_nodes == 0:
            return np.zeros(0, dtype=np.int32)
        return np.concatenate([np.arange(n, dtype=np.int32) for n in self.layer_sizes])

    # ---- edges ----------------------------------------------------------------------------
    def edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All edges as read-only arrays, block by block, row-major within a block.

        Returns
        -------
        src, dst : (n_edges,) int16, int32 or int64
            Global node ids, ``src`` in group ``block_src[b]`` and ``dst`` in ``block_dst[b]``,
            in the narrowest signed type that holds every id and ``n_nodes`` itself: **int16
            up to 32,767 nodes**, int32 up to ``2**31 - 1``, int64 beyond (2 bytes per id on
            most trained nets: the edge arrays cost no more than float32 weights). Use them as
            indices as they are. Arithmetic that can pass the id range (a pair key
            ``src * n_nodes + dst``, a product or a sum of ids) must cast first, e.g.
            ``src.astype(np.int64) * n + dst``: numpy keeps int16 when the other operand is a
            Python int that fits it, and the result wraps silently (on any graph past 181
            nodes for a pair key).
        w : (n_edges,) ndarray
            The weights: a read-only view, not a copy, when the dense blocks lie one after the
            other in one buffer (as :func:`netsci_dl.from_matrices` and :func:`netsci_dl.load`
            store them) or when there is a single dense block.

        Examples
        --------
        >>> G = LayeredGraph((200, 300), (np.ones((200, 300), np.float32),))
        >>> src, dst, w = G.edges()
        >>> src.dtype.name, int(dst.max())
        ('int16', 499)
        >>> key = src.astype(np.int64) * G.n_nodes + dst   # 99,999 > 32,767: cast first
        >>> int(key.max()), int(np.unique(key).size) == G.n_edges
        (99999, True)
        """
        idx = _node_id_dtype(self.n_nodes)
        if not self.blocks:
            e = np.zeros(0, idx)
            return _readonly(e), _readonly(e.copy()), _readonly(np.zeros(0, np.float32))
        off = self.offsets
        n_e = self.block_n_edges
        total = sum(n_e)
        src = np.empty(total, dtype=idx)
        dst = np.empty(total, dtype=idx)
        pos = 0
        for b, blk in enumerate(self.blocks):
            o_s, o_d = off[self.block_src[b]], off[self.block_dst[b]]
            s, d = src[pos : pos + n_e[b]], dst[pos : pos + n_e[b]]
            if sp.issparse(blk):
                r, c = _block_pattern(blk)
                np.add(r, o_s, out=s, casting="unsafe")
                np.add(c, o_d, out=d, casting="unsafe")
            else:  # broadcast straight into the output: no temporaries
                n, m = blk.shape
                s.reshape(n, m)[...] = np.arange(o_s, o_s + n, dtype=idx)[:, None]
                d.reshape(n, m)[...] = np.arange(o_d, o_d + m, dtype=idx)[None, :]
            pos += n_e[b]
        return _readonly(src), _readonly(dst), self.edge_values()

    def edge_values(self, name: str | None = None) -> np.ndarray:
        """Per-edge values in the order of :meth:`edges` (read-only): the weights, or
        ``edge_attrs[name]``."""
        src = self.blocks if name is None else self.edge_attrs[name]
        vals = [_block_values(b) for b in src]
        packed = _packed_view(vals)
        if packed is not None:
            return _readonly(packed)
        if len(vals) == 1:
            return _readonly(vals[0])
        if not vals:
            return _readonly(np.zeros(0, np.float32))
        return _readonly(np.concatenate(vals))

    def edge_block(self) -> np.ndarray:
        """``(n_edges,)`` int32: the block of every edge."""
        return np.repeat(np.arange(self.n_blocks, dtype=np.int32), self.block_n_edges)

    def edge_layer(self) -> np.ndarray:
        """``(n_edges,)`` int32: the source group of every edge (the block, on a chain)."""
        return (
            np.asarray(self.block_src, dtype=np.int32)[self.edge_block()]
            if self.blocks
            else (np.zeros(0, np.int32))
        )

    def adjacency(self, directed: bool = False, *, weights: str | None = "signed") -> sp.csr_array:
        """The ``(n_nodes, n_nodes)`` sparse adjacency matrix.

        Parameters
        ----------
        directed : bool
            False (default): symmetric, ``A[i, j] = A[j, i] = w``. True: only ``src -> dst``.
        weights : {"signed", "abs", None}
            The block values as they are (signed weights; 1 on an unweighted thresholded
            graph), their absolute value, or 1 for every edge.

        Notes
        -----
        Dense blocks keep an explicit entry for a zero weight. Two blocks joining the same
        pair of groups (a ``weight`` and an ``identity`` block) add up where they overlap.
        """
        src, dst, w = self.edges()
        if weights is None:
            w = np.ones(len(src), dtype=np.float32)
        elif weights == "abs":
            w = np.abs(w)
        elif weights != "signed":
            raise InputError(f"weights must be 'signed', 'abs' or None, got {weights!r}")
        n = self.n_nodes
        src, dst, w = _coo_edges(src, dst, w, n, directed)
        A = sp.coo_array((w, (src, dst)), shape=(n, n)).tocsr()
        A.sum_duplicates()
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
            "block_src": self.block_src,
            "block_dst": self.block_dst,
            "block_kinds": self.block_kinds,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"replace() got unknown fields {sorted(unknown)}")
        fields.update(changes)
        return LayeredGraph(**fields)

    def with_meta(self, **entries: Any) -> LayeredGraph:
        """A copy whose ``meta`` is updated with ``entries``."""
        meta = dict(self.meta)
        meta.update(entries)
        return self.replace(meta=meta)

    def layer_slice(self, layer: int) -> slice:
        """Global-id slice of the nodes of one group."""
        off = self.offsets
        if not -self.n_layers <= layer < self.n_layers:
            raise InputError(f"layer {layer} out of range for {self.n_layers} layers")
        layer %= self.n_layers
        return slice(int(off[layer]), int(off[layer + 1]))

    def dense_block(self, b: int) -> np.ndarray:
        """``blocks[b]`` as a dense ndarray (zeros where no edge)."""
        blk = self.blocks[b]
        return blk.toarray() if sp.issparse(blk) else np.asarray(blk)

    def layer_index(self, layer: int | str) -> int:
        """The index of group ``layer``: a name, or an int (negative counts from the top).

        Raises InputError for an unknown name or an index out of range.

        Examples
        --------
        >>> G = LayeredGraph((2, 3), (np.ones((2, 3), np.float32),), layer_names=("in", "out"))
        >>> G.layer_index("out"), G.layer_index(-2)
        (1, 0)
        """
        if isinstance(layer, str):
            if layer not in self.layer_names:
                raise InputError(f"layer={layer!r} is not one of {list(self.layer_names)}")
            return list(self.layer_names).index(layer)
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
            raise InputError(f"layer must be an int or a layer name, not {type(layer).__name__}")
        l = int(layer) + self.n_layers if int(layer) < 0 else int(layer)
        if not 0 <= l < self.n_layers:
            raise InputError(f"layer={layer} is out of range for {self.n_layers} layers")
        return l

    def equals(self, other: LayeredGraph) -> bool:
        """True when structure, weights, attributes and meta are identical."""
        if not isinstance(other, LayeredGraph):
            return False
        return _same_graph(self, other)

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        w = "weighted" if self.weighted else "unweighted"
        layers = ", ".join(f"{n}:{s}" for n, s in zip(self.layer_names, self.layer_sizes))
        shape = "" if self.is_chain else f", {self.n_blocks} blocks (DAG)"
        return (
            f"LayeredGraph([{layers}], n_nodes={self.n_nodes}, n_edges={self.n_edges}"
            f"{shape}, {kind}, {w})"
        )


def _unique_block_names(names: list[str], kinds: Sequence[str]) -> tuple[str, ...]:
    """``names`` made unique by the kind of the blocks that share one with another (see
    :attr:`LayeredGraph.block_names`)."""
    if len(set(names)) == len(names):
        return tuple(names)
    return tuple(
        f"{nm} [{k}]" if names.count(nm) > 1 and k != "weight" else nm
        for nm, k in zip(names, kinds)
    )
