"""Read back a GraphML file written by :func:`netsci_dl.io.graphml.write_graphml`.

The file's graph-level ``netsci_dl`` key (layer sizes and names, block kinds, dtypes, meta)
says how to rebuild an equal :class:`LayeredGraph` from the node and edge records.
"""

from __future__ import annotations

import gzip
import json
import os
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph
from netsci_dl.io.graphml import HEADER_KEY

__all__ = ["read_graphml"]


def _parse(values: list[str | None], typ: str, dtype: str | None) -> np.ndarray:
    if typ in ("int", "long", "integer"):
        out = np.array([int(v) if v is not None else 0 for v in values], dtype=np.int64)
    elif typ in ("double", "float"):
        out = np.array([float(v) if v is not None else np.nan for v in values], dtype=np.float64)
    elif typ == "boolean":
        out = np.array([str(v).strip().lower() in ("true", "1") for v in values])
    else:
        out = np.array(["" if v is None else v for v in values], dtype=object)
    if dtype is not None:
        out = out.astype(dtype)
    return out


def read_graphml(path: str | os.PathLike) -> LayeredGraph:
    """Read a GraphML file written by :func:`write_graphml` back into a :class:`LayeredGraph`.

    Nodes are placed by their ``layer`` and ``index`` attributes; the ``netsci_dl`` graph header
    restores layer names, block kinds (dense or csr), dtypes, attributes and ``meta``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from netsci_dl.io.graphml import write_graphml
    >>> G = LayeredGraph((1, 2), (np.array([[1.5, -2]], np.float32),), layer_names=("in", "a<b"))
    >>> p = os.path.join(tempfile.mkdtemp(), "g.graphml.gz")
    >>> write_graphml(G, p)
    >>> read_graphml(p).layer_names
    ('in', 'a<b')
    """
    import xml.etree.ElementTree as ET

    with open(path, "rb") as fh:
        opener = gzip.open if fh.read(2) == b"\x1f\x8b" else open
    keys: dict[str, tuple[str, str, str]] = {}
    gdata: dict[str, str] = {}
    nodes: dict[str, dict[str, str]] = {}
    e_src: list[str] = []
    e_dst: list[str] = []
    e_data: dict[str, list[str | None]] = {}
    with opener(path, "rb") as fh:
        for _, el in ET.iterparse(fh, events=("end",)):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "key":
                keys[el.get("id")] = (
                    el.get("for"),
                    el.get("attr.name"),
                    el.get("attr.type", "string"),
                )
            elif tag == "edge":
                i = len(e_src)
                e_src.append(el.get("source"))
                e_dst.append(el.get("target"))
                for d in el:
                    name = keys[d.get("key")][1]
                    if name not in e_data:
                        e_data[name] = [None] * i
                    e_data[name].append(d.text)
                for col in e_data.values():
                    if len(col) == i:
                        col.append(None)
                el.clear()
            elif tag == "node":
                nodes[el.get("id")] = {keys[d.get("key")][1]: d.text or "" for d in el}
                el.clear()
            elif tag == "data" and keys.get(el.get("key"), ("",))[0] == "graph":
                gdata[keys[el.get("key")][1]] = el.text or ""
    if HEADER_KEY not in gdata:
        raise InputError(
            f"{path}: no {HEADER_KEY!r} graph data; not written by netsci_dl.write_graphml"
        )
    h = json.loads(gdata[HEADER_KEY])
    sizes = tuple(h["layer_sizes"])
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    ntype = {name: typ for dom, name, typ in keys.values() if dom == "node"}
    ids = list(nodes)
    col = {k: [nodes[i].get(k) for i in ids] for k in ["layer", "index", *h["node_attrs"]]}
    gid = off[_parse(col["layer"], "int", None)] + _parse(col["index"], "int", None)
    if len(ids) != off[-1] or len(np.unique(gid)) != len(ids):
        raise InputError(f"{path}: nodes do not match layer sizes {sizes}")
    pos = dict(zip(ids, gid.tolist(), strict=False))
    nattrs = {}
    for k, dt in h["node_attrs"].items():
        v = np.empty(len(ids), dtype=dt)
        v[gid] = _parse(col[k], ntype.get(k, "string"), dt)
        nattrs[k] = v
    src = np.array([pos[s] for s in e_src], dtype=np.int64)
    dst = np.array([pos[t] for t in e_dst], dtype=np.int64)
    etype = {name: typ for dom, name, typ in keys.values() if dom == "edge"}
    lay = np.searchsorted(off, src, side="right") - 1
    order = np.lexsort((dst, src))
    blocks, eattrs = [], {}

    def make_blocks(values: np.ndarray, dtype: str) -> list[Any]:
        out = []
        for k, kind in enumerate(h["blocks"]):
            sel = order[lay[order] == k]
            r, c = src[sel] - off[k], dst[sel] - off[k + 1]
            shape = (sizes[k], sizes[k + 1])
            vals = values[sel].astype(dtype)
            if kind == "dense":
                B = np.zeros(shape, dtype=dtype)
                B[r, c] = vals
            else:
                indptr = np.zeros(shape[0] + 1, dtype=np.int64)
                np.cumsum(np.bincount(r, minlength=shape[0]), out=indptr[1:])
                idx = np.int32 if max(shape[1], len(c)) < 2**31 else np.int64
                B = sp.csr_array((vals, c.astype(idx), indptr.astype(idx)), shape=shape)
            out.append(B)
        return out

    for k, dt in h["edge_attrs"].items():
        eattrs[k] = tuple(make_blocks(_parse(e_data.get(k, []), etype.get(k, "double"), None), dt))
    how = h["block_values"]
    bvals = (
        np.ones(len(src))
        if how == "ones"
        else _parse(e_data.get(how, []), etype.get(how, "double"), None)
    )
    dt = h["block_dtype"][0] if h["block_dtype"] else "float32"
    blocks = list(make_blocks(bvals, dt))
    blocks = [b.astype(d) for b, d in zip(blocks, h["block_dtype"], strict=False)]
    return LayeredGraph(
        sizes,
        tuple(blocks),
        layer_names=tuple(h["layer_names"]),
        node_attrs=nattrs,
        edge_attrs=eattrs,
        meta=h["meta"],
    )
