"""Read back a GraphML file written by :func:`netsci_dl.io.graphml.write_graphml`.

The file's graph-level ``netsci_dl`` key (layer sizes and names, block structure and kinds,
dtypes, edge counts per block, meta) says how to rebuild an equal :class:`LayeredGraph`.
netsci_dl's own files go through a fast numpy path (:mod:`netsci_dl.io._graphml_fast`); any
other layout through ``xml.etree``. Either way the body is checked against the header before
anything of the header's sizes is allocated, and a file with a DTD (entity definitions: the
billion-laughs and external-entity tricks) is refused: netsci_dl never writes one.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from typing import Any
from xml.sax.saxutils import unescape

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError
from netsci_dl.graph import BLOCK_KINDS, LayeredGraph
from netsci_dl.io._graphml_fast import Parsed, fast_parse
from netsci_dl.io._xml import HEADER_KEY

__all__ = ["read_graphml"]

_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)
_ENTITIES = {"&quot;": '"', "&apos;": "'"}
_NODE_ID = re.compile(r"n(\d+)\Z")


#: A gzip'd graph file may decompress to at most this many times its own size (and at least
#: to ``GZIP_FLOOR`` bytes). Real GraphML/GEXF compresses 3-15 fold; deflate can reach about
#: 1000 fold, which only a "gzip bomb" uses. Past the bound the file is refused before more
#: than the bound is held in memory.
GZIP_RATIO = 100
GZIP_FLOOR = 64 << 20


def _gunzip_capped(data: bytes, where: str) -> bytes:
    """Decompress ``data`` (one or more gzip members) in chunks, refusing past the bound."""
    cap = max(GZIP_FLOOR, GZIP_RATIO * len(data))
    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest:
            d = zlib.decompressobj(wbits=31)
            buf = rest
            while not d.eof:
                chunk = d.decompress(buf, 1 << 20)
                buf = d.unconsumed_tail
                size += len(chunk)
                if size > cap:
                    raise InputError(
                        f"{where}: decompresses to more than {cap:,} bytes ({GZIP_RATIO}x its "
                        f"{len(data):,} bytes, at least {GZIP_FLOOR >> 20} MiB): refused as a "
                        "gzip bomb; decompress it yourself if it is a real graph"
                    )
                out.append(chunk)
                if not chunk and not buf:
                    break
            if not d.eof:
                raise EOFError("compressed file ended before the end-of-stream marker")
            rest = d.unused_data.lstrip(b"\0")
    except (OSError, EOFError, zlib.error) as e:
        raise InputError(f"{where}: a broken gzip file ({e})") from None
    return b"".join(out)


def _read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes, gunzipped (bounded: see ``GZIP_RATIO``) when it starts with gzip's magic."""
    from netsci_dl._files.atomic import check_input_file

    check_input_file(path, "GraphML")
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] == b"\x1f\x8b":
        data = _gunzip_capped(data, os.fsdecode(path))
    return data


def _check_prolog(data: bytes, where: str) -> None:
    root = data.find(b"<graphml")
    if _DTD.search(data, 0, root if root >= 0 else len(data)):
        raise InputError(
            f"{where}: has a DOCTYPE (entity definitions): refused; netsci_dl's GraphML never "
            "holds one"
        )


def _general_parse(data: bytes, where: str) -> Parsed:
    """Any GraphML layout, through xml.etree (expat: no external entities are fetched)."""
    import io
    import xml.etree.ElementTree as ET

    keys: dict[str, tuple[str, str, str]] = {}
    gdata: dict[str, str] = {}
    ids: list[str] = []
    ncols: dict[str, list[str | None]] = {}
    e_src: list[str] = []
    e_dst: list[str] = []
    ecols: dict[str, list[str | None]] = {}

    def data_of(el: Any, dom: str) -> dict[str, str]:
        out = {}
        for d in el:
            if d.tag.rsplit("}", 1)[-1] != "data":
                continue
            k = keys.get(d.get("key"))
            if k is None:
                raise InputError(f"{where}: a {dom} uses data key {d.get('key')!r}, never declared")
            if k[0] not in (dom, "all"):
                raise InputError(f"{where}: data key {d.get('key')!r} is for {k[0]}, not {dom}")
            out[k[1]] = d.text or ""
        return out

    def append(cols: dict[str, list], row: dict[str, str], i: int) -> None:
        for name, v in row.items():
            col = cols.get(name)
            if col is None:  # a column first seen at row i: the rows before lack it
                col = cols[name] = [None] * i
            col.append(v)
        for col in cols.values():
            if len(col) == i:
                col.append(None)

    try:
        for _, el in ET.iterparse(io.BytesIO(data), events=("end",)):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "key":
                if el.get("id") is None or el.get("attr.name") is None:
                    raise InputError(f"{where}: a <key> lacks id or attr.name")
                keys[el.get("id")] = (
                    el.get("for", "all"),
                    el.get("attr.name"),
                    el.get("attr.type", "string"),
                )
            elif tag == "edge":
                s, t = el.get("source"), el.get("target")
                if s is None or t is None:
                    raise InputError(f"{where}: an edge lacks source or target")
                append(ecols, data_of(el, "edge"), len(e_src))
                e_src.append(s)
                e_dst.append(t)
                el.clear()
            elif tag == "node":
                if el.get("id") is None:
                    raise InputError(f"{where}: a node lacks an id")
                append(ncols, data_of(el, "node"), len(ids))
                ids.append(el.get("id"))
                el.clear()
            elif tag == "data":
                k = keys.get(el.get("key"))
                if k is not None and k[0] == "graph":
                    gdata[k[1]] = el.text or ""
    except ET.ParseError as e:
        raise InputError(f"{where}: not well-formed XML ({e})") from None
    return Parsed(keys, gdata, ids, ncols, e_src, e_dst, ecols, len(e_src))


def _ids_to_int(values: Any, where: str, what: str) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    out = np.empty(len(values), np.int64)
    for i, v in enumerate(values):
        m = _NODE_ID.match(v)
        if m is None:
            raise InputError(f"{where}: {what} {v!r} is not a node id of netsci_dl's form n<i>")
        out[i] = int(m.group(1))
    return out


def _strings(values: np.ndarray) -> np.ndarray:
    import html

    uniq, inv = np.unique(values, return_inverse=True)
    text = [
        html.unescape(u.decode("utf-8")) if b"&#" in u else unescape(u.decode("utf-8"), _ENTITIES)
        for u in uniq.tolist()
    ]
    return np.asarray(text, dtype=object)[inv]


def _parse(values: Any, typ: str, dtype: str | None, where: str) -> np.ndarray:
    """Typed values of a column (S-bytes array from the fast path, or a list with None)."""
    try:
        if isinstance(values, np.ndarray):
            if typ in ("int", "long", "integer"):
                out = values.astype(np.int64)
            elif typ in ("double", "float"):
                out = values.astype(np.float64)
            elif typ == "boolean":
                low = np.char.lower(np.char.strip(values))
                out = (low == b"true") | (low == b"1")
            else:
                out = _strings(values)
        elif typ in ("int", "long", "integer"):
            out = np.array([int(v) if v is not None else 0 for v in values], dtype=np.int64)
        elif typ in ("double", "float"):
            out = np.array([float(v) if v is not None else np.nan for v in values], np.float64)
        elif typ == "boolean":
            out = np.array([str(v).strip().lower() in ("true", "1") for v in values], dtype=bool)
        else:
            out = np.array(["" if v is None else v for v in values], dtype=object)
        if dtype is not None:
            out = out.astype(dtype)
    except (ValueError, OverflowError, UnicodeDecodeError, InputError) as e:
        raise InputError(f"{where}: values that are not {dtype or typ} ({e})") from None
    return out


def _header(gdata: dict[str, str], where: str) -> dict[str, Any]:
    if HEADER_KEY not in gdata:
        raise InputError(
            f"{where}: no {HEADER_KEY!r} graph data; not written by netsci_dl.write_graphml"
        )
    try:
        h = json.loads(gdata[HEADER_KEY])
    except ValueError as e:
        raise InputError(f"{where}: the {HEADER_KEY!r} header is not valid JSON ({e})") from None
    if not isinstance(h, dict):
        raise InputError(f"{where}: the {HEADER_KEY!r} header is not a JSON object")
    version = h.get("version")
    if version not in (1, 2):
        raise InputError(f"{where}: header version {version!r} is not one this netsci_dl reads")

    def need(key: str, ok: Any, what: str) -> Any:
        if key not in h:
            raise InputError(f"{where}: the header lacks {key!r}")
        if not ok(h[key]):
            raise InputError(f"{where}: header {key!r} must be {what}, got {h[key]!r:.80}")
        return h[key]

    def ints(v: Any) -> bool:
        return isinstance(v, list) and all(
            isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v
        )

    def strs(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    sizes = need("layer_sizes", lambda v: ints(v) and len(v) >= 1, "a list of sizes")
    need("layer_names", lambda v: strs(v) and len(v) == len(sizes), "one name per layer")
    blocks = need("blocks", lambda v: strs(v) and set(v) <= {"dense", "csr"}, "dense/csr per block")
    nb = len(blocks)
    need(
        "block_dtype",
        lambda v: strs(v) and len(v) == nb and set(v) <= {"float32", "float64"},
        "float32/float64 per block",
    )
    need(
        "block_values", lambda v: v in ("weight", "ones", "block_value"), "weight/ones/block_value"
    )
    need("meta", lambda v: isinstance(v, dict), "an object")
    for key, kinds in (("node_attrs", "biufU"), ("edge_attrs", "biuf")):
        v = need(key, lambda v: isinstance(v, dict), "an object of name -> dtype")
        for name, dt in v.items():
            try:
                d = np.dtype(dt)
            except TypeError:
                d = None
            if d is None or d.kind not in kinds or name in ("layer", "index"):
                raise InputError(f"{where}: header {key}[{name!r}] has dtype {dt!r}: refused")
    if version == 1:
        if nb != len(sizes) - 1:
            raise InputError(f"{where}: {len(sizes)} layers need {len(sizes) - 1} blocks, not {nb}")
        h["block_src"], h["block_dst"] = list(range(nb)), list(range(1, nb + 1))
        h["block_kinds"], h["block_n_edges"] = ["weight"] * nb, None
    else:
        for key in ("block_src", "block_dst", "block_n_edges"):
            need(key, lambda v: ints(v) and len(v) == nb, f"{nb} non-negative ints")
        need("block_kinds", lambda v: strs(v) and len(v) == nb and set(v) <= set(BLOCK_KINDS), "")
        for b, (s, d) in enumerate(zip(h["block_src"], h["block_dst"], strict=True)):
            if not s < d < len(sizes):
                raise InputError(f"{where}: header block {b} joins {s} -> {d}: out of range")
    for b, kind in enumerate(blocks):
        s, d = sizes[h["block_src"][b]], sizes[h["block_dst"][b]]
        ne = h["block_n_edges"][b] if h["block_n_edges"] is not None else None
        if ne is not None and (ne > s * d or (kind == "dense" and ne != s * d)):
            raise InputError(
                f"{where}: header block {b} ({kind}, {s}x{d}) declares {ne} edges: impossible"
            )
    return h


def read_graphml(path: str | os.PathLike) -> LayeredGraph:
    """Read a GraphML file written by :func:`write_graphml` back into a :class:`LayeredGraph`.

    Nodes are placed by their ``layer`` and ``index`` attributes; the ``netsci_dl`` graph header
    restores layer names, the blocks (dense or csr, which groups they join, their kind), dtypes,
    attributes and ``meta``.

    Raises
    ------
    InputError
        Not netsci_dl's GraphML (no header), a malformed header, data keys never declared,
        edges to unknown nodes, layers or indices out of range, a body that does not hold what
        the header declares (checked before allocating), duplicate edges, a DTD.

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
    where = os.fsdecode(path)
    data = _read_bytes(path)
    _check_prolog(data, where)
    parsed = fast_parse(data)
    if parsed is None:
        parsed = _general_parse(data, where)
    del data
    return _build(parsed, where)


def _build(P: Parsed, where: str) -> LayeredGraph:
    h = _header(P.gdata, where)
    sizes = tuple(h["layer_sizes"])
    n_layers = len(sizes)
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_nodes = int(off[-1])
    ids = _ids_to_int(P.node_ids, where, "node id")
    if len(ids) != n_nodes:
        raise InputError(
            f"{where}: the header declares {n_nodes} nodes (layer sizes {list(sizes)}) but the "
            f"file holds {len(ids)}"
        )
    ntype = {name: typ for dom, name, typ in P.keys.values() if dom in ("node", "all")}
    for need in ("layer", "index", *h["node_attrs"]):
        col = P.node_cols.get(need)
        if col is None or (not isinstance(col, np.ndarray) and any(v is None for v in col)):
            raise InputError(f"{where}: some nodes lack the {need!r} attribute")
    layer = _parse(P.node_cols["layer"], "int", None, f"{where}: node 'layer'")
    index = _parse(P.node_cols["index"], "int", None, f"{where}: node 'index'")
    bad = (layer < 0) | (layer >= n_layers)
    if bad.any():
        raise InputError(
            f"{where}: node n{ids[bad][0]} has layer {layer[bad][0]}, outside 0..{n_layers - 1}"
        )
    size_of = np.asarray(sizes, np.int64)[layer]
    bad = (index < 0) | (index >= size_of)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise InputError(
            f"{where}: node n{ids[i]} has index {index[i]}, outside layer {layer[i]}'s 0..{size_of[i] - 1}"
        )
    gid = off[layer] + index
    if len(np.unique(gid)) != n_nodes:
        raise InputError(f"{where}: two nodes share a (layer, index) position")
    order = np.argsort(ids, kind="stable")
    sids = ids[order]
    if len(sids) > 1 and (np.diff(sids) == 0).any():
        raise InputError(f"{where}: two nodes share an id")

    def locate(e: Any, what: str) -> np.ndarray:
        e = _ids_to_int(e, where, what)
        pos = np.searchsorted(sids, e)
        ok = pos < len(sids)
        ok[ok] = sids[pos[ok]] == e[ok]
        if not ok.all():
            raise InputError(
                f"{where}: an edge {what} names node n{e[~ok][0]}, which is not in the file"
            )
        return gid[order[pos]]

    src = locate(P.edge_src, "source")
    dst = locate(P.edge_dst, "target")
    nattrs = {}
    for k, dt in h["node_attrs"].items():
        v = np.empty(n_nodes, dtype=dt)
        v[gid] = _parse(P.node_cols[k], ntype.get(k, "string"), dt, f"{where}: node {k!r}")
        nattrs[k] = v
    blk = _edge_blocks(h, src, dst, off, where)
    etype = {name: typ for dom, name, typ in P.keys.values() if dom in ("edge", "all")}

    def column(name: str) -> np.ndarray:
        col = P.edge_cols.get(name)
        if len(src) == 0:
            return np.zeros(0)
        if col is None or (not isinstance(col, np.ndarray) and any(v is None for v in col)):
            raise InputError(f"{where}: some edges lack the {name!r} attribute")
        return _parse(col, etype.get(name, "double"), None, f"{where}: edge {name!r}")

    # the order of the blocks' entries: by block, then row, then column
    if len(src) < 2 or _sorted(blk, src, dst):  # the writer's order: no sort needed
        order_e = np.arange(len(src))
    else:
        order_e = np.lexsort((dst, src, blk))
    s_o, d_o, b_o = src[order_e], dst[order_e], blk[order_e]
    if len(order_e) > 1:
        same = (np.diff(s_o) == 0) & (np.diff(d_o) == 0) & (np.diff(b_o) == 0)
        if same.any():
            i = np.flatnonzero(same)[0]
            raise InputError(f"{where}: duplicate edge n{s_o[i]} -> n{d_o[i]}")
    bounds = np.searchsorted(b_o, np.arange(len(h["blocks"]) + 1))

    def make_blocks(values: np.ndarray, dtypes: list[str]) -> list[Any]:
        out = []
        v_o = values[order_e]
        for b, kind in enumerate(h["blocks"]):
            a, z = bounds[b], bounds[b + 1]
            s_g, d_g = h["block_src"][b], h["block_dst"][b]
            shape = (sizes[s_g], sizes[d_g])
            r, c = s_o[a:z] - off[s_g], d_o[a:z] - off[d_g]
            vals = v_o[a:z].astype(dtypes[b])
            if kind == "dense":
                if z - a != shape[0] * shape[1]:  # checked before allocating the block
                    raise InputError(
                        f"{where}: block {b} is declared dense {shape[0]}x{shape[1]} but the "
                        f"file holds {z - a} of its {shape[0] * shape[1]} edges"
                    )
                B = vals.reshape(shape)  # sorted by row then column: row-major order
            else:
                indptr = np.zeros(shape[0] + 1, dtype=np.int64)
                np.cumsum(np.bincount(r, minlength=shape[0]), out=indptr[1:])
                idx = np.int32 if max(shape[1], len(c)) < 2**31 else np.int64
                B = sp.csr_array((vals, c.astype(idx), indptr.astype(idx)), shape=shape)
            out.append(B)
        return out

    eattrs = {
        k: tuple(make_blocks(column(k), [dt] * len(h["blocks"])))
        for k, dt in h["edge_attrs"].items()
    }
    how = h["block_values"]
    bvals = np.ones(len(src)) if how == "ones" else column(how)
    blocks = make_blocks(bvals, h["block_dtype"])
    return LayeredGraph(
        sizes,
        tuple(blocks),
        layer_names=tuple(h["layer_names"]),
        node_attrs=nattrs,
        edge_attrs=eattrs,
        meta=h["meta"],
        block_src=tuple(h["block_src"]),
        block_dst=tuple(h["block_dst"]),
        block_kinds=tuple(h["block_kinds"]),
    )


def _sorted(blk: np.ndarray, src: np.ndarray, dst: np.ndarray) -> bool:
    """Are the edges ordered by (block, source, target)?"""
    db, ds, dd = np.diff(blk), np.diff(src), np.diff(dst)
    return bool(((db > 0) | ((db == 0) & ((ds > 0) | ((ds == 0) & (dd >= 0))))).all())


def _edge_blocks(
    h: dict[str, Any], src: np.ndarray, dst: np.ndarray, off: np.ndarray, where: str
) -> np.ndarray:
    """The block of every edge (file order = block order in v2; the source layer in v1), with
    each edge's layers checked against its block."""
    nb = len(h["blocks"])
    ls = np.searchsorted(off, src, side="right") - 1
    ld = np.searchsorted(off, dst, side="right") - 1
    if h["block_n_edges"] is None:  # v1: a chain
        blk = ls
    else:
        counts = np.asarray(h["block_n_edges"], np.int64)
        if counts.sum() != len(src):
            raise InputError(
                f"{where}: the header declares {int(counts.sum())} edges but the file holds {len(src)}"
            )
        blk = np.repeat(np.arange(nb), counts)
    bs = np.asarray(h["block_src"], np.int64)
    bd = np.asarray(h["block_dst"], np.int64)
    ok = (blk >= 0) & (blk < nb)
    ok[ok] &= (bs[blk[ok]] == ls[ok]) & (bd[blk[ok]] == ld[ok])
    if not ok.all():
        i = np.flatnonzero(~ok)[0]
        raise InputError(
            f"{where}: edge n{src[i]} -> n{dst[i]} joins layers {ls[i]} -> {ld[i]}, which no "
            "block of the header joins there (edited or reordered file?)"
        )
    return blk
