"""Lossless ``.npz`` storage of a `LayeredGraph`: arrays plus a JSON header, never pickle.

Format version 2 (this version) stores, besides the arrays, ``block_src``, ``block_dst`` and
``block_kinds`` in the header, so graphs that are not chains (skip connections, branches) round
trip. Version-1 files (written before the DAG graph; always chains) still load. Reading checks
every member's declared size against its stored bytes before allocating, and the graph's own
invariants (shapes, finite float weights, canonical CSR, JSON-able meta) on construction.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl._files.atomic import atomic_path
from netsci_dl._files.npz_safe import npz_names, read_npz
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["save_graph", "load_graph", "is_graph_npz", "FORMAT_KEY", "FORMAT_VERSION"]

FORMAT_KEY = "__netsci_dl_graph__"
FORMAT_VERSION = 2


def _put_blocks(arrays: dict[str, np.ndarray], prefix: str, blocks: tuple[Any, ...]) -> None:
    for i, b in enumerate(blocks):
        if sp.issparse(b):
            arrays[f"{prefix}{i}.data"] = b.data
            arrays[f"{prefix}{i}.indices"] = b.indices
            arrays[f"{prefix}{i}.indptr"] = b.indptr
            arrays[f"{prefix}{i}.shape"] = np.asarray(b.shape, dtype=np.int64)
        else:
            arrays[f"{prefix}{i}"] = np.asarray(b)


def _get_blocks(z: dict[str, np.ndarray], prefix: str, n: int, where: str) -> tuple[Any, ...]:
    out = []
    for i in range(n):
        if f"{prefix}{i}" in z:
            out.append(z[f"{prefix}{i}"])
            continue
        keys = [f"{prefix}{i}.{k}" for k in ("data", "indices", "indptr", "shape")]
        missing = [k for k in keys if k not in z]
        if missing:
            raise InputError(f"{where}: block {prefix}{i} is missing ({', '.join(missing)})")
        shape = tuple(int(s) for s in z[keys[3]])
        if len(shape) != 2 or min(shape) < 0:
            raise InputError(f"{where}: block {prefix}{i} declares shape {shape}")
        try:
            out.append(sp.csr_array((z[keys[0]], z[keys[1]], z[keys[2]]), shape=shape))
        except ValueError as e:
            raise InputError(f"{where}: block {prefix}{i} is not a valid CSR array ({e})") from None
    return tuple(out)


def save_graph(G: LayeredGraph, path: str | os.PathLike, *, compress: bool = False) -> None:
    """Write ``G`` to ``path`` (``.npz``) atomically.

    Parameters
    ----------
    G : LayeredGraph
    path : str or path
    compress : bool
        Use ``np.savez_compressed`` (smaller, slower).
    """
    header = {
        "version": FORMAT_VERSION,
        "layer_sizes": list(G.layer_sizes),
        "layer_names": list(G.layer_names),
        "block_src": list(G.block_src),
        "block_dst": list(G.block_dst),
        "block_kinds": list(G.block_kinds),
        "node_attrs": sorted(G.node_attrs),
        "edge_attrs": sorted(G.edge_attrs),
        "meta": dict(G.meta),
    }
    arrays: dict[str, np.ndarray] = {
        FORMAT_KEY: np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    }
    _put_blocks(arrays, "block", G.blocks)
    for k, v in G.node_attrs.items():
        arrays[f"node.{k}"] = v
    for k, v in G.edge_attrs.items():
        _put_blocks(arrays, f"edge.{k}.", v)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            (np.savez_compressed if compress else np.savez)(fh, **arrays)


def is_graph_npz(path: str | os.PathLike) -> bool:
    """True when ``path`` is an ``.npz`` written by :func:`save_graph`."""
    if not os.path.isfile(path):  # a FIFO would block forever, a folder is not a graph
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return f"{FORMAT_KEY}.npy" in zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def _header(raw: np.ndarray, where: str) -> dict[str, Any]:
    try:
        header = json.loads(bytes(raw).decode())
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{where}: the graph header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise InputError(f"{where}: the graph header is not a JSON object")
    version = header.get("version", 0)
    if not isinstance(version, int) or version < 1:
        raise InputError(f"{where}: the graph header has no valid version")
    if version > FORMAT_VERSION:
        raise InputError(f"{where}: graph format v{version} is newer than this netsci_dl")
    for key, typ in (("layer_sizes", list), ("layer_names", list), ("meta", dict)):
        if not isinstance(header.get(key), typ):
            raise InputError(f"{where}: the graph header lacks {key!r}")
    for key in ("node_attrs", "edge_attrs"):
        v = header.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise InputError(f"{where}: the graph header's {key!r} is not a list of names")
    if not all(isinstance(s, int) and s >= 0 for s in header["layer_sizes"]):
        raise InputError(f"{where}: layer_sizes must be non-negative integers")
    return header


def load_graph(path: str | os.PathLike) -> LayeredGraph:
    """Read a graph written by :func:`save_graph` (format v1 or v2; no pickle).

    Raises
    ------
    InputError
        Not a netsci_dl graph file, a malformed header, a member whose declared size does not
        match its bytes, or arrays that break the graph's invariants (NaN weights, an
        inconsistent CSR block, wrong shapes).
    """
    names = npz_names(path)
    if FORMAT_KEY not in names:
        raise InputError(f"{path}: not a netsci_dl graph file (no {FORMAT_KEY} entry)")
    z = read_npz(path)
    header = _header(z[FORMAT_KEY], str(path))
    n_layers = len(header["layer_sizes"])
    if header["version"] >= 2:
        src, dst, kinds = (
            header.get("block_src"),
            header.get("block_dst"),
            header.get("block_kinds"),
        )
        if not (isinstance(src, list) and isinstance(dst, list) and isinstance(kinds, list)):
            raise InputError(f"{path}: the graph header lacks the block structure")
        n_blocks = len(src)
    else:  # v1: a chain
        n_blocks = max(n_layers - 1, 0)
        src, dst, kinds = list(range(n_blocks)), list(range(1, n_blocks + 1)), None
    where = str(path)
    node_attrs = {}
    for k in header["node_attrs"]:
        if f"node.{k}" not in z:
            raise InputError(f"{path}: node attribute {k!r} is missing")
        node_attrs[k] = z[f"node.{k}"]
    if header["version"] < 2 and "bias" in node_attrs and "has_bias" not in node_attrs:
        bias = np.asarray(node_attrs["bias"], dtype=np.float64)  # v1: NaN marked a missing bias
        node_attrs["has_bias"] = ~np.isnan(bias)
        node_attrs["bias"] = np.where(np.isnan(bias), 0.0, bias)
    return LayeredGraph(
        layer_sizes=tuple(header["layer_sizes"]),
        blocks=_get_blocks(z, "block", n_blocks, where),
        layer_names=tuple(str(n) for n in header["layer_names"]),
        node_attrs=node_attrs,
        edge_attrs={k: _get_blocks(z, f"edge.{k}.", n_blocks, where) for k in header["edge_attrs"]},
        meta=header["meta"],
        block_src=tuple(src),
        block_dst=tuple(dst),
        block_kinds=tuple(kinds) if kinds is not None else (),
    )
