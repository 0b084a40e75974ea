"""The invariants :class:`netsci_dl.graph.LayeredGraph` enforces at construction: float blocks,
canonical CSR, finite values, JSON-able meta, read-only arrays."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a`` (the caller's array keeps its own flags)."""
    if not a.flags.writeable:
        return a
    v = a.view()
    v.flags.writeable = False
    return v


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


def _node_id_dtype(n_nodes: int) -> type:
    """The narrowest signed integer type that holds every node id and the node count itself
    (so ``n`` fits too, as a bound or a sentinel): int16 up to 32,767 nodes, int32 up to
    ``2**31 - 1``, int64 beyond. The dtype of :meth:`LayeredGraph.edges`' node ids; arithmetic
    that can pass the id range (a pair key ``src * n + dst``) casts to int64 first."""
    for t in (np.int16, np.int32):
        if n_nodes <= np.iinfo(t).max:
            return t
    return np.int64


def _sparse_index_dtype(n_nodes: int) -> type:
    """The index type scipy.sparse wants for an ``(n_nodes, n_nodes)`` matrix (int32, or int64
    past its range): node ids widened to it in the same pass that concatenates them, rather
    than scipy's own copy of narrower ids."""
    return np.int32 if n_nodes <= np.iinfo(np.int32).max else np.int64


def _coo_edges(
    src: np.ndarray, dst: np.ndarray, w: np.ndarray, n_nodes: int, directed: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edge arrays for a scipy ``(n_nodes, n_nodes)`` matrix: ids in its index type
    (:func:`_sparse_index_dtype`), and each edge in both directions when not ``directed``."""
    idx = _sparse_index_dtype(n_nodes)
    if directed:
        return src.astype(idx, copy=False), dst.astype(idx, copy=False), w
    both = np.concatenate([src, dst], dtype=idx), np.concatenate([dst, src], dtype=idx)
    return both[0], both[1], np.concatenate([w, w])


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _packed_view(vals: list[np.ndarray]) -> np.ndarray | None:
    """One view over ``vals`` when they lie back to back in one C-contiguous buffer of their
    dtype (blocks packed by the exporter), else None: then concatenating them copies."""
    if len(vals) < 2 or any(not isinstance(v, np.ndarray) for v in vals):
        return None
    root = _root(vals[0])
    dt = vals[0].dtype
    if root.dtype != dt or not root.flags.c_contiguous:
        return None
    pos = vals[0].ctypes.data
    for v in vals:
        if v.dtype != dt or not v.flags.c_contiguous or _root(v) is not root:
            return None
        if v.ctypes.data != pos:
            return None
        pos += v.nbytes
    start = (vals[0].ctypes.data - root.ctypes.data) // dt.itemsize
    return root.reshape(-1)[start : start + sum(v.size for v in vals)]


def _check_finite(what: str, values: np.ndarray) -> None:
    if values.dtype.kind == "f" and values.size and not np.isfinite(values).all():
        bad = ~np.isfinite(values)
        n_nan = int(np.isnan(values).sum())
        raise InputError(
            f"{what} holds {n_nan} NaN and {int(bad.sum()) - n_nan} Inf values "
            f"(first at flat index {int(np.argmax(bad))})"
        )


def _canonical_csr(b: Any, what: str) -> sp.csr_array:
    """``b`` as a canonical csr_array with read-only arrays (sorted indices, no duplicates)."""
    if b.format != "csr":
        raise InputError(f"{what} is sparse {b.format!r}; convert it to csr")
    n, m = b.shape
    indptr, indices = np.asarray(b.indptr), np.asarray(b.indices)
    if (
        indptr.ndim != 1
        or len(indptr) != n + 1
        or indptr[0] != 0
        or np.any(np.diff(indptr) < 0)
        or indptr[-1] != len(indices)
        or len(b.data) != len(indices)
    ):
        raise InputError(f"{what}: inconsistent CSR arrays (indptr, indices and data disagree)")
    if len(indices) and (indices.min() < 0 or indices.max() >= m):
        raise InputError(f"{what}: a column index is outside [0, {m})")
    data = np.asarray(b.data)
    if len(indices) > 1:
        rows = np.repeat(np.arange(n), np.diff(indptr))
        step = np.diff(indices.astype(np.int64))
        same_row = rows[1:] == rows[:-1]
        if np.any(same_row & (step == 0)):
            raise InputError(
                f"{what} has duplicate entries (the same edge stored twice): sum or drop them "
                "first, e.g. block.sum_duplicates()"
            )
        if np.any(same_row & (step < 0)):  # unsorted: sort a copy (the caller's stays as is)
            order = np.lexsort((indices, rows))
            indices, data = indices[order], data[order]
    out = sp.csr_array((data, indices, indptr), shape=(n, m), copy=False)
    out.data, out.indices, out.indptr = _readonly(data), _readonly(indices), _readonly(indptr)
    out.has_sorted_indices = True
    return out


def _check_block(b: Any, what: str, shape: tuple[int, int]) -> Any:
    if sp.issparse(b):
        if b.ndim != 2 or b.shape != shape:
            raise InputError(f"{what} has shape {b.shape}, expected {shape}")
        out = _canonical_csr(b, what)
    elif isinstance(b, np.ndarray):
        if b.ndim != 2 or b.shape != shape:
            raise InputError(f"{what} has shape {b.shape}, expected {shape}")
        out = _readonly(b)
    else:
        raise TypeError(f"{what} must be an ndarray or csr_array, got {type(b).__name__}")
    if out.dtype not in _FLOATS:
        raise InputError(
            f"{what} has dtype {out.dtype}; blocks hold float32 or float64 weights "
            "(cast with .astype(np.float32))"
        )
    _check_finite(what, _block_values(out))
    return out


def _check_json(meta: Mapping[str, Any]) -> None:
    for k, v in meta.items():
        try:
            json.dumps(v, allow_nan=True)
        except (TypeError, ValueError) as e:
            raise InputError(
                f"meta[{k!r}] is not JSON-able ({e}); store plain Python values "
                "(e.g. float(x) for a numpy scalar, x.tolist() for an array)"
            ) from None


#: the kinds of weight block (see :mod:`netsci_dl.graph`)
BLOCK_KINDS = ("weight", "identity")


def _check_structure(
    sizes: tuple[int, ...],
    nb: int,
    src: tuple[int, ...],
    dst: tuple[int, ...],
    kinds: tuple[str, ...],
    *,
    chain: bool,
) -> None:
    """Refuse block lists that do not describe a DAG of topologically ordered groups."""
    if chain and nb != len(sizes) - 1:
        raise InputError(
            f"{len(sizes)} layers need {len(sizes) - 1} blocks for a chain, got {nb} "
            "(pass block_src and block_dst for a graph that is not a chain)"
        )
    if not (len(src) == len(dst) == len(kinds) == nb):
        raise InputError(
            f"{nb} blocks but {len(src)} block_src, {len(dst)} block_dst, {len(kinds)} block_kinds"
        )
    seen = set()
    for b, (s, d, k) in enumerate(zip(src, dst, kinds)):
        if not (0 <= s < d < len(sizes)):
            raise InputError(
                f"block {b} joins groups {s} -> {d}: need 0 <= src < dst < {len(sizes)} "
                "(groups are topologically ordered)"
            )
        if k not in BLOCK_KINDS:
            raise InputError(f"block {b} has kind {k!r}; expected one of {BLOCK_KINDS}")
        if (s, d, k) in seen:
            raise InputError(f"two {k!r} blocks join groups {s} -> {d}; merge them into one")
        seen.add((s, d, k))


def _frozen_edge_attrs(
    edge_attrs: Mapping[str, Any], blocks: tuple[Any, ...]
) -> dict[str, tuple[Any, ...]]:
    """Per-edge attributes checked against the blocks' shapes and patterns, made read-only."""
    out = {}
    for k, v in dict(edge_attrs).items():
        v = tuple(v)
        if len(v) != len(blocks) or any(
            a.shape != b.shape or _block_nnz(a) != _block_nnz(b) or sp.issparse(a) != sp.issparse(b)
            for a, b in zip(v, blocks)
        ):
            raise InputError(f"edge_attrs[{k!r}] must have the shape and pattern of blocks")
        frozen = []
        for a in v:
            if sp.issparse(a):
                c = sp.csr_array((a.data, a.indices, a.indptr), shape=a.shape, copy=False)
                c.data, c.indices, c.indptr = (
                    _readonly(np.asarray(a.data)),
                    _readonly(np.asarray(a.indices)),
                    _readonly(np.asarray(a.indptr)),
                )
                frozen.append(c)
            else:
                frozen.append(_readonly(np.asarray(a)))
        out[str(k)] = tuple(frozen)
    return out


def _same_blocks(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Blocks equal in kind (dense/sparse), dtype, pattern and values (NaN equal to NaN)."""
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


def _same_graph(a: Any, b: Any) -> bool:
    """Two LayeredGraphs with identical structure, weights, attributes and meta."""
    key = ("layer_sizes", "layer_names", "block_src", "block_dst", "block_kinds")
    if any(getattr(a, k) != getattr(b, k) for k in key):
        return False
    if json.dumps(dict(a.meta), sort_keys=True) != json.dumps(dict(b.meta), sort_keys=True):
        return False
    if not _same_blocks(a.blocks, b.blocks):
        return False
    if set(a.node_attrs) != set(b.node_attrs) or set(a.edge_attrs) != set(b.edge_attrs):
        return False
    for k, v in a.node_attrs.items():
        w = b.node_attrs[k]
        if v.dtype != w.dtype or not np.array_equal(v, w, equal_nan=v.dtype.kind == "f"):
            return False
    return all(_same_blocks(v, b.edge_attrs[k]) for k, v in a.edge_attrs.items())
