"""What the GraphML and GEXF writers and readers share: the header key, the reserved node
attributes, the chunked token writers (numbers formatted in bulk, not per edge) and the node and
edge columns of a graph."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

HEADER_KEY = "netsci_dl"
RESERVED_NODE = ("layer", "layer_name", "index", "x", "y")
_CHUNK = 1 << 16
_SP = 32
# what XML 1.0 forbids, and lone surrogates (a non-UTF-8 file name decoded by Python)
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_GRAPHML_TYPE = {
    "i": "int",
    "u": "int",
    "f": "double",
    "b": "boolean",
    "U": "string",
    "S": "string",
    "O": "string",
}


def escape(s: Any) -> str:
    """XML-escape ``s`` for text and attribute values; characters XML 1.0 forbids (and lone
    surrogates) become U+FFFD. The exact strings travel in the JSON header."""
    s = _BAD_XML.sub("\ufffd", str(s))
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def layered_layout(G: LayeredGraph, *, width: float = 1200.0, height: float = 1000.0) -> np.ndarray:
    """``(n_nodes, 2)`` float32 positions: layers as columns left to right, units spread in each.

    Layer ``l`` sits at ``x = l * width / (n_layers - 1)``; its units are evenly spaced over
    ``[-height/2, height/2]`` (top to bottom in index order), so every layer spans the same height.

    Examples
    --------
    >>> import numpy as np
    >>> G = LayeredGraph((2, 1), (np.ones((2, 1), np.float32),))
    >>> layered_layout(G, width=10, height=4).tolist()
    [[0.0, 1.0], [0.0, -1.0], [10.0, 0.0]]
    """
    layer, idx = G.node_layer, G.node_index
    size = np.asarray(G.layer_sizes, dtype=np.float64)[layer]
    x = layer * (width / max(G.n_layers - 1, 1))
    y = height / 2 - (idx + 0.5) * (height / np.maximum(size, 1))
    return np.column_stack([x, y]).astype(np.float32)


# ---- vectorised token formatting --------------------------------------------------------
def _tokens_from_bytes(items: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """``(n, L)`` uint8 token matrix (space padded) and lengths from a list of byte strings."""
    arr = np.array(items, dtype=bytes) if items else np.zeros(0, "S1")
    width = max(arr.dtype.itemsize, 1)
    mat = (
        np.frombuffer(arr.astype(f"S{width}").tobytes(), np.uint8).reshape(len(items), width).copy()
    )
    lens = (mat != 0).sum(1)
    mat[mat == 0] = _SP
    return mat, lens


def _sci9(a: np.ndarray) -> np.ndarray:
    """``(n, 14)`` uint8: ``|x|`` of finite values as ``d.dddddddde±XX`` (9 significant digits)."""
    a = np.abs(a.astype(np.float64))
    pos = a > 0
    e = np.floor(np.log10(np.where(pos, a, 1.0))).astype(np.int64)
    m = np.rint(a * np.power(10.0, 8 - e))
    for bad, step in ((m >= 1e9, 1), (pos & (m < 1e8), -1)):  # log10 off by one at powers of 10
        if bad.any():
            e[bad] += step
            m[bad] = np.rint(a[bad] * np.power(10.0, 8 - e[bad]))
    mi = m.astype(np.int64)
    e[~pos] = 0
    out = np.empty((len(a), 14), np.uint8)
    for k in range(9):
        out[:, 0 if k == 0 else k + 1] = (mi // 10 ** (8 - k)) % 10 + 48
    out[:, 1] = ord(".")
    out[:, 10] = ord("e")
    out[:, 11] = np.where(e < 0, ord("-"), ord("+"))
    ae = np.abs(e)
    out[:, 12] = ae // 10 + 48
    out[:, 13] = ae % 10 + 48
    return out


def _float_tokens(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tokens that round-trip ``x``: 9 digits for float32 and smaller, ``repr`` otherwise."""
    x = np.asarray(x)
    if x.dtype.kind == "f" and x.dtype.itemsize <= 4:
        finite = np.isfinite(x)
        neg = np.signbit(x) & (x != 0)
        mat = np.full((len(x), 15), _SP, np.uint8)
        mat[:, 1:] = _sci9(np.where(finite, x, 0))
        pos_rows = ~neg
        mat[pos_rows, :14] = mat[pos_rows, 1:]
        mat[pos_rows, 14] = _SP
        mat[neg, 0] = ord("-")
        lens = np.where(neg, 15, 14)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            t, tl = _tokens_from_bytes([_special(v) for v in x[bad].tolist()])
            mat[bad] = _SP
            mat[bad, : t.shape[1]] = t
            lens[bad] = tl
        return mat, lens
    vals = x.astype(np.float64).tolist()
    return _tokens_from_bytes(
        [_special(v) if v != v or v in (np.inf, -np.inf) else repr(v).encode() for v in vals]
    )


def _special(v: float) -> bytes:
    return b"NaN" if v != v else (b"INF" if v > 0 else b"-INF")


def _tokens(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Tokens, lengths and GraphML ``attr.type`` of a 1-D array (int, float, bool, str)."""
    v = np.asarray(values)
    kind = v.dtype.kind
    if kind == "f":
        return (*_float_tokens(v), "double")
    if kind in "iu":
        return (
            *_tokens_from_bytes([b"%d" % i for i in v.tolist()]),
            "int" if v.dtype.itemsize <= 4 else "long",
        )
    if kind == "b":
        return (*_tokens_from_bytes([b"true" if i else b"false" for i in v.tolist()]), "boolean")
    if kind in "USO":
        uniq, inv = np.unique(v.astype(str), return_inverse=True)
        t, tl = _tokens_from_bytes([escape(s).encode() for s in uniq.tolist()])
        return t[inv], tl[inv], "string"
    raise TypeError(f"cannot write an attribute of dtype {v.dtype}")


class _Records:
    """Assemble ``(n, W)`` byte records from constants and variable-length fields."""

    def __init__(self, n: int) -> None:
        self.n, self.parts = n, []

    def const(self, s: str | bytes) -> None:
        b = s.encode() if isinstance(s, str) else s
        if b:
            self.parts.append(np.broadcast_to(np.frombuffer(b, np.uint8), (self.n, len(b))))

    def field(self, tok: np.ndarray, lens: np.ndarray, suffix: str | bytes = b"") -> None:
        """``token + suffix``, then spaces (the field must be followed by insignificant space)."""
        suf = suffix.encode() if isinstance(suffix, str) else suffix
        reg = np.full((self.n, tok.shape[1] + len(suf)), _SP, np.uint8)
        reg[:, : tok.shape[1]] = tok
        rows = np.arange(self.n)
        for k, ch in enumerate(suf):
            reg[rows, lens + k] = ch
        self.parts.append(reg)

    def raw(self, region: np.ndarray) -> None:
        self.parts.append(region)

    def build(self) -> np.ndarray:
        width = sum(p.shape[1] for p in self.parts)
        out = np.empty((self.n, width), np.uint8)
        pos = 0
        for p in self.parts:
            out[:, pos : pos + p.shape[1]] = p
            pos += p.shape[1]
        return out


def _id_table(n: int, prefix: str, suffix: str) -> np.ndarray:
    """``(n, W)``: ``prefix + str(i) + suffix`` padded with spaces, for every node ``i``."""
    t, tl = (
        _tokens_from_bytes([b"%d" % i for i in range(n)])
        if n
        else (np.zeros((0, 1), np.uint8), np.zeros(0, int))
    )
    r = _Records(n)
    r.const(prefix)
    r.field(t, tl, suffix)
    return r.build()


# ---- what gets written ----------------------------------------------------------------
def _node_columns(G: LayeredGraph, node_attrs: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    n = G.n_nodes
    pos = layered_layout(G)
    cols: dict[str, np.ndarray] = {
        "layer": G.node_layer,
        "layer_name": np.asarray(G.layer_names, dtype=object)[G.node_layer]
        if n
        else np.zeros(0, "U1"),
        "index": G.node_index,
        "x": pos[:, 0],
        "y": pos[:, 1],
    }
    extra = dict(G.node_attrs)
    if "bias" in extra and np.isnan(np.asarray(extra["bias"], dtype=np.float64)).all():
        del extra["bias"]  # the model has no biases
    for k, v in dict(node_attrs or {}).items():
        if k in RESERVED_NODE:
            raise InputError(f"node_attrs[{k!r}]: {k!r} is written by netsci_dl itself; rename it")
        v = np.asarray(v)
        if v.shape != (n,):
            raise InputError(
                f"node_attrs[{k!r}] has shape {v.shape}, expected ({n},) (one per node)"
            )
        extra[str(k)] = v
    cols.update(extra)
    return cols


def _edge_columns(G: LayeredGraph) -> tuple[dict[str, np.ndarray], str]:
    """Per-edge columns (edge order) and how the reader gets block values back."""
    w_block = G.edge_values()
    cols = {"weight": G.edge_values("weight") if "weight" in G.edge_attrs else w_block}
    cols["abs_weight"] = cols["weight"]  # formatted from the same tokens, minus the sign
    cols["sign"] = G.edge_values("sign") if "sign" in G.edge_attrs else None
    for k in G.edge_attrs:
        if k not in ("weight", "sign"):
            cols[k] = G.edge_values(k)
    if "weight" not in G.edge_attrs:
        how = "weight"
    elif np.all(w_block == 1):
        how = "ones"
    else:
        how, cols["block_value"] = "block_value", w_block
    return cols, how


def _header(G: LayeredGraph, how: str, written: Mapping[str, Any]) -> dict[str, Any]:
    """The ``netsci_dl`` JSON header: what the reader needs to rebuild ``G`` exactly.

    ``written`` are the node columns in the file; only the graph's own node attributes among
    them are listed (a column the writer leaves out, e.g. an all-NaN bias, is not promised).
    """
    return {
        "version": 2,
        "layer_sizes": list(G.layer_sizes),
        "layer_names": list(G.layer_names),
        "blocks": ["csr" if sp.issparse(b) else "dense" for b in G.blocks],
        "block_src": list(G.block_src),
        "block_dst": list(G.block_dst),
        "block_kinds": list(G.block_kinds),
        "block_names": list(G.block_names),  # for readers of the file; derived, not read back
        "block_n_edges": [int(n) for n in G.block_n_edges],
        "block_dtype": [str(b.dtype) for b in G.blocks],
        "block_values": how,
        "node_attrs": {k: str(v.dtype) for k, v in G.node_attrs.items() if k in written},
        "edge_attrs": {k: str(v[0].dtype) if v else "float32" for k, v in G.edge_attrs.items()},
        "meta": dict(G.meta),
    }
