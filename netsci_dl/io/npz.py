"""Lossless ``.npz`` storage of a `LayeredGraph`: arrays plus JSON meta, never pickle."""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.graph import LayeredGraph
from netsci_dl.io._atomic import atomic_path

__all__ = ["save_graph", "load_graph", "is_graph_npz", "FORMAT_KEY", "FORMAT_VERSION"]

FORMAT_KEY = "__netsci_dl_graph__"
FORMAT_VERSION = 1


def _put_blocks(arrays: dict[str, np.ndarray], prefix: str, blocks: tuple[Any, ...]) -> None:
    for i, b in enumerate(blocks):
        if sp.issparse(b):
            arrays[f"{prefix}{i}.data"] = b.data
            arrays[f"{prefix}{i}.indices"] = b.indices
            arrays[f"{prefix}{i}.indptr"] = b.indptr
            arrays[f"{prefix}{i}.shape"] = np.asarray(b.shape, dtype=np.int64)
        else:
            arrays[f"{prefix}{i}"] = np.asarray(b)


def _get_blocks(z: Any, prefix: str, n: int) -> tuple[Any, ...]:
    out = []
    for i in range(n):
        if f"{prefix}{i}" in z:
            out.append(z[f"{prefix}{i}"])
        else:
            shape = tuple(int(s) for s in z[f"{prefix}{i}.shape"])
            out.append(
                sp.csr_array(
                    (z[f"{prefix}{i}.data"], z[f"{prefix}{i}.indices"], z[f"{prefix}{i}.indptr"]),
                    shape=shape,
                )
            )
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
    try:
        with zipfile.ZipFile(path) as zf:
            return f"{FORMAT_KEY}.npy" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def load_graph(path: str | os.PathLike) -> LayeredGraph:
    """Read a graph written by :func:`save_graph` (``allow_pickle=False``)."""
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a readable .npz file ({e})") from e
    with z:
        if FORMAT_KEY not in z:
            raise ValueError(f"{path}: not a netsci_dl graph file (no {FORMAT_KEY} entry)")
        header = json.loads(bytes(z[FORMAT_KEY]).decode())
        if header.get("version", 0) > FORMAT_VERSION:
            raise ValueError(
                f"{path}: graph format v{header['version']} is newer than this netsci_dl"
            )
        n_blocks = len(header["layer_sizes"]) - 1
        return LayeredGraph(
            layer_sizes=tuple(header["layer_sizes"]),
            blocks=_get_blocks(z, "block", n_blocks),
            layer_names=tuple(header["layer_names"]),
            node_attrs={k: z[f"node.{k}"] for k in header["node_attrs"]},
            edge_attrs={k: _get_blocks(z, f"edge.{k}.", n_blocks) for k in header["edge_attrs"]},
            meta=header["meta"],
        )
