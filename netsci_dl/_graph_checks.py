"""The invariants :class:`netsci_dl.graph.LayeredGraph` enforces at construction: float blocks,
canonical CSR, finite values, JSON-able meta, read-only arrays."""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    """int32 while ``src * n_nodes + dst`` cannot overflow it (``n_nodes**2 < 2**31``), else
    int64: the dtype of :meth:`LayeredGraph.edges`' node ids."""
    return np.int32 if n_nodes * n_nodes < 2**31 else np.int64


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
