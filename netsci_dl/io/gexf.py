"""GEXF 1.2 (Gephi's native format) with ``viz:position`` and ``viz:color`` per layer.

Written like the GraphML writer: byte records built with numpy from the edge arrays, chunk by
chunk, never through a graph object. Opened in Gephi, the network shows laid out by layer
(:func:`~netsci_dl.io.graphml.layered_layout`) and coloured by layer, with no plugin.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from netsci_dl._files.atomic import atomic_path
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph
from netsci_dl.io._xml import (
    _CHUNK,
    _SP,
    _edge_columns,
    _float_tokens,
    _header,
    _node_columns,
    _Records,
    _tokens,
    _tokens_from_bytes,
    escape,
)

__all__ = ["write_gexf", "read_gexf", "PALETTE", "HEADER_PREFIX"]

#: ``<meta><keywords>`` starts with this, then the JSON header :func:`read_gexf` rebuilds from
HEADER_PREFIX = "netsci_dl "

#: a qualitative palette (Tableau 10), one colour per layer, cycled
PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
_GEXF_TYPE = {
    "int": "integer",
    "long": "long",
    "double": "double",
    "boolean": "boolean",
    "string": "string",
}


def _uint_tokens(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised decimal tokens of non-negative integers."""
    v = np.asarray(v, dtype=np.int64)
    nd = np.ones(len(v), np.int64)
    top = int(v.max()) if len(v) else 0
    p = 10
    while p <= top:
        nd += v >= p
        p *= 10
    L = int(nd.max()) if len(v) else 1
    mat = np.full((len(v), L), _SP, np.uint8)
    for j in range(L):
        k = nd - 1 - j
        ok = k >= 0
        mat[ok, j] = (v[ok] // np.power(10, k[ok])) % 10 + 48
    return mat, nd


def write_gexf(
    G: LayeredGraph,
    path: str | os.PathLike,
    *,
    directed: bool | None = None,
    node_attrs: Mapping[str, Any] | None = None,
    weights: str = "abs",
) -> None:
    """Write ``G`` as GEXF 1.2 for Gephi (gzip-compressed when ``path`` ends in ``.gz``).

    Parameters
    ----------
    G : LayeredGraph
    path : str or path
    directed : bool, optional
        ``defaultedgetype``; default ``G.meta.get("directed", False)``.
    node_attrs : mapping of str to (n_nodes,) array, optional
        Extra node columns (degree, strength, module, ...).
    weights : {"abs", "signed"}
        What goes into GEXF's edge ``weight``: ``|w|`` (default; Gephi's layouts and preview
        need non-negative weights) or the signed weight. The edge attributes ``signed_weight``
        and ``sign`` always hold the original signed weight and its sign.

    Notes
    -----
    Node ``i`` is global node ``i``, labelled ``"<layer name>:<index>"``, with attributes
    ``layer``, ``layer_name``, ``index``, ``bias`` (when the model has biases) and the extras,
    a ``viz:position`` from :func:`~netsci_dl.io.graphml.layered_layout` and a ``viz:color``
    from :data:`PALETTE` by layer. ``meta`` goes to ``<meta><description>`` as JSON, and the
    header :func:`read_gexf` needs (as in GraphML) to ``<meta><keywords>``. Edges also carry
    the graph's other edge attributes, and ``block_value`` when the stored block values differ
    from the signed weight (e.g. thresholded with kept weights).

    Examples
    --------
    >>> import numpy as np, tempfile, os, networkx as nx
    >>> G = LayeredGraph((2, 1), (np.array([[0.5], [-2.0]], np.float32),), layer_names=("in", "o&ut"))
    >>> p = os.path.join(tempfile.mkdtemp(), "g.gexf")
    >>> write_gexf(G, p)
    >>> H = nx.read_gexf(p)
    >>> H.number_of_edges(), H.edges["1", "2"]["weight"], H.nodes["2"]["layer_name"]
    (2, 2.0, 'o&ut')
    """
    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    if weights not in ("abs", "signed"):
        raise InputError(f"weights must be 'abs' or 'signed', got {weights!r}")
    directed = bool(G.meta.get("directed", False)) if directed is None else bool(directed)
    cols = _node_columns(G, node_attrs)
    ecols, how = _edge_columns(G)
    header = json.dumps(_header(G, how, cols))
    extra = [k for k in ecols if k not in ("weight", "abs_weight", "sign")]
    eattr = "".join(
        f'<attribute id="e{i}" title="{escape(k)}" type="{_GEXF_TYPE[_tokens(ecols[k][:0])[2]]}"/>'
        for i, k in enumerate(extra)
    )
    xy = np.column_stack([cols.pop("x"), cols.pop("y")])
    n = G.n_nodes
    nattr, ntok = [], []
    for i, (k, v) in enumerate(cols.items()):
        t, tl, typ = _tokens(v)
        nattr.append(f'<attribute id="{i}" title="{escape(k)}" type="{_GEXF_TYPE[typ]}"/>')
        ntok.append((str(i), t, tl))
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gexf xmlns="http://www.gexf.net/1.2draft" xmlns:viz="http://www.gexf.net/1.2draft/viz" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.gexf.net/1.2draft http://www.gexf.net/1.2draft/gexf.xsd" '
        'version="1.2">',
        f"<meta><creator>netsci_dl</creator><keywords>{escape(HEADER_PREFIX + header)}</keywords>"
        f"<description>{escape(json.dumps(dict(G.meta), default=str))}</description></meta>",
        f'<graph defaultedgetype="{"directed" if directed else "undirected"}" mode="static">',
        '<attributes class="node">',
        *nattr,
        "</attributes>",
        '<attributes class="edge"><attribute id="signed_weight" title="signed_weight" type="double"/>'
        f'<attribute id="sign" title="sign" type="integer"/>{eattr}</attributes>',
        "<nodes>",
        "",
    ]
    opener = (
        (lambda p: gzip.open(p, "wb", compresslevel=1))
        if str(path).endswith(".gz")
        else (lambda p: open(p, "wb"))
    )
    with atomic_path(path) as tmp, opener(tmp) as fh:
        fh.write("\n".join(head).encode())
        if n:
            layer = G.node_layer
            names = np.asarray(G.layer_names, dtype=object)
            lab = [
                escape(f"{names[k]}:{i}").encode()
                for k, i in zip(layer.tolist(), G.node_index.tolist(), strict=False)
            ]
            rec = _Records(n)
            rec.const('<node id="')
            rec.field(*_uint_tokens(np.arange(n)), '"')
            rec.const(' label="')
            rec.field(*_tokens_from_bytes(lab), '">')
            rec.const("<attvalues>")
            for aid, t, tl in ntok:
                rec.const(f'<attvalue for="{aid}" value="')
                rec.field(t, tl, '"/>')
            rec.const('</attvalues><viz:position x="')
            rec.field(*_float_tokens(xy[:, 0]), '"')
            rec.const(' y="')
            rec.field(*_float_tokens(xy[:, 1]), '"')
            rec.const(' z="0.0"/>')
            colors = [
                b'<viz:color r="%d" g="%d" b="%d"/>' % PALETTE[k % len(PALETTE)]
                for k in range(G.n_layers)
            ]
            ct, _ = _tokens_from_bytes(colors)
            rec.raw(ct[layer])
            rec.const("</node>\n")
            fh.write(rec.build().data)
        fh.write(b"</nodes>\n<edges>\n")
        _write_edges(fh, G, weights, {f"e{i}": ecols[k] for i, k in enumerate(extra)})
        fh.write(b"</edges>\n</graph>\n</gexf>\n")


def _write_edges(fh: Any, G: LayeredGraph, weight: str, extra: dict[str, np.ndarray]) -> None:
    src, dst, _ = G.edges()
    w = G.edge_values("weight") if "weight" in G.edge_attrs else G.edge_values()
    sign = G.edge_values("sign") if "sign" in G.edge_attrs else None
    n = G.n_nodes
    src_t, src_l = _uint_tokens(np.arange(n))
    for a in range(0, len(src), _CHUNK):
        b = min(a + _CHUNK, len(src))
        rec = _Records(b - a)
        rec.const('<edge id="')
        rec.field(*_uint_tokens(np.arange(a, b)), '"')
        rec.const(' source="')
        s, d = src[a:b], dst[a:b]
        rec.field(src_t[s], src_l[s], '"')
        rec.const(' target="')
        rec.field(src_t[d], src_l[d], '"')
        wt, wl = _float_tokens(w[a:b])
        rec.const(' weight="')
        if weight == "abs":
            neg = wt[:, 0] == ord("-")
            at = wt.copy()
            at[neg, :-1] = wt[neg, 1:]
            at[neg, -1] = _SP
            rec.field(at, wl - neg, '">')
        else:
            rec.field(wt, wl, '">')
        rec.const('<attvalues><attvalue for="signed_weight" value="')
        rec.field(wt, wl, '"/>')
        sv = np.sign(w[a:b]) if sign is None else sign[a:b]
        sv = np.nan_to_num(np.asarray(sv, dtype=np.float64)).astype(np.int64)
        rec.const('<attvalue for="sign" value="')
        rec.raw(_SIGN[sv + 1])
        for aid, v in extra.items():
            t, tl, _ = _tokens(v[a:b])
            rec.const(f'<attvalue for="{aid}" value="')
            rec.field(t, tl, '"/>')
        rec.const("</attvalues></edge>\n")
        fh.write(rec.build().data)


_SIGN = np.frombuffer(b'-1"/>0"/> 1"/> ', np.uint8).reshape(3, 5)


def read_gexf(path: str | os.PathLike) -> LayeredGraph:
    """Read a GEXF file written by :func:`write_gexf` back into an equal :class:`LayeredGraph`.

    See :func:`netsci_dl.io._gexf_read.read_gexf`.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> G = LayeredGraph((2, 1), (np.array([[0.5], [-2.0]], np.float32),), layer_names=("in", "o&ut"))
    >>> p = os.path.join(tempfile.mkdtemp(), "g.gexf.gz")
    >>> write_gexf(G, p)
    >>> read_gexf(p).equals(G)
    True
    """
    from netsci_dl.io._gexf_read import read_gexf as _read

    return _read(path)
