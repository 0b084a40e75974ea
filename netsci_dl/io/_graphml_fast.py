"""A fast path for reading back netsci_dl's own GraphML (fixed-width records, parsed with numpy).

:func:`netsci_dl.io.graphml.write_graphml` writes one record per line, and every record of a
chunk has the same width with every field at the same column. So the body splits into runs
of equal-length lines, each run is a ``(lines, width)`` byte matrix, and each field is a
column range: ids and values are parsed for a whole run at once. Each run is checked against
its first line (the constant parts at the same columns in every line, each value followed by
its closing tag and only spaces) before it is used; anything unexpected returns ``None`` and
the caller falls back to the general XML parser.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl.io._xml import _CHUNK

__all__ = ["Parsed", "fast_parse"]

_NODE = b'<node id="n'
_EDGE = b'<edge source="n'
_TARGET = b' target="n'
_DATA = b'<data key="'
_SP = 32
_NUMERIC = ("int", "long", "integer", "double", "float")


@dataclass
class Parsed:
    """What a GraphML file holds, before any checks against the netsci_dl header."""

    keys: dict[str, tuple[str, str, str]]  # key id -> (for, attr.name, attr.type)
    gdata: dict[str, str]
    node_ids: Any  # (n,) int64 (ids "n<i>") or list of str
    node_cols: dict[str, Any] = field(default_factory=dict)  # attr name -> values
    edge_src: Any = None
    edge_dst: Any = None
    edge_cols: dict[str, Any] = field(default_factory=dict)
    n_edges: int = 0


def _field(R: np.ndarray, term: bytes, *, exact: bool = True) -> np.ndarray | None:
    """Tokens of a field region ``R`` (n, w): token, then ``term``, then spaces.

    Returns an ``S{w}`` array of the exact tokens (NUL padded, which ``S`` strips; with
    ``exact=False``, for numbers, padded with spaces instead, which is cheaper), or None if any row does not
    have that shape (a token never holds ``term[0]``: the writer escapes ``<`` and ``"``).
    """
    n, w = R.shape
    k = len(term)
    if n == 0 or w < k:
        return None
    pos = (R == term[0]).argmax(1)  # 0 where absent: caught by the checks below
    if (pos + k > w).any():
        return None
    rows = np.arange(n)
    for j, ch in enumerate(term):
        if not (R[rows, pos + j] == ch).all():
            return None
    # everything after the terminator is a space: the last non-space byte ends the terminator
    last = w - 1 - (R[:, ::-1] != _SP).argmax(1)
    if not (last == pos + k - 1).all():
        return None
    tok = np.array(R, order="C")  # a copy (R may be a contiguous read-only view)
    if exact:
        tok[np.arange(w, dtype=np.int32)[None, :] >= pos.astype(np.int32)[:, None]] = 0
    else:
        for j in range(k):
            tok[rows, pos + j] = _SP
    return tok.view(f"S{w}").ravel()


def _layout(template: bytes, start: int, close: bytes) -> list[tuple[int, int, int, str]] | None:
    """``(const_start, value_start, value_end, key id)`` of every ``<data>`` field."""
    end = template.rfind(close)
    if end < 0 or end + len(close) != len(template):
        return None
    out = []
    s = template.find(_DATA, start)
    while 0 <= s < end:
        q = template.find(b'">', s)
        if q < 0:
            return None
        nxt = template.find(_DATA, q)
        e = nxt if 0 <= nxt < end else end
        try:
            kid = template[s + len(_DATA) : q].decode("ascii")
        except UnicodeDecodeError:
            return None
        out.append((s, q + 2, e, kid))
        s = nxt if nxt >= 0 else -1
    return out


def _same(M: np.ndarray, a: int, b: int, template: bytes) -> bool:
    return bool((M[:, a:b] == np.frombuffer(template[a:b], np.uint8)).all())


def _run(
    M: np.ndarray, kind: str, keys: dict[str, tuple[str, str, str]]
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray] | None:
    template = M[0].tobytes()
    if kind == "node":
        first = template.find(_DATA)
        close = b"</node>\n"
        if first < 0:
            first = template.rfind(close)
        fields = _layout(template, first, close)
        if fields is None or not _same(M, 0, len(_NODE), template):
            return None
        ids = _field(M[:, len(_NODE) : first], b'">', exact=False)
        other = None
    else:
        close = b"</edge>\n"
        t0 = template.find(_TARGET)
        first = template.find(_DATA)
        if first < 0:
            first = template.rfind(close)
        fields = _layout(template, first, close)
        if (
            fields is None
            or t0 < 0
            or not _same(M, 0, len(_EDGE), template)
            or not _same(M, t0, t0 + len(_TARGET), template)
        ):
            return None
        ids = _field(M[:, len(_EDGE) : t0], b'"', exact=False)
        other = _field(M[:, t0 + len(_TARGET) : first], b'">', exact=False)
        if other is None:
            return None
    if ids is None or not _same(M, len(template) - len(close), len(template), template):
        return None
    cols = {}
    for s, v, e, kid in fields:
        if not _same(M, s, v, template) or kid in cols:
            return None
        typ = keys.get(kid, ("", "", "string"))[2]
        tok = _field(M[:, v:e], b"</data>", exact=typ not in _NUMERIC)
        if tok is None:
            return None
        cols[kid] = tok
    try:
        a = ids.astype(np.int64)
        b = other.astype(np.int64) if other is not None else a
    except ValueError:
        return None
    return cols, a, b


def _header(head: bytes) -> tuple[dict[str, tuple[str, str, str]], dict[str, str]] | None:
    try:
        root = ET.fromstring(head + b"</graph></graphml>")
    except ET.ParseError:
        return None
    keys, gdata = {}, {}
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "key":
            keys[el.get("id")] = (el.get("for"), el.get("attr.name"), el.get("attr.type", "string"))
        elif tag == "data":
            k = keys.get(el.get("key"))
            if k is None or k[0] != "graph":
                return None
            gdata[k[1]] = el.text or ""
    return keys, gdata


def fast_parse(data: bytes) -> Parsed | None:
    """Parse the whole (decompressed) file, or None when it is not laid out as netsci_dl
    writes it (the caller then uses the general parser)."""
    cands = [i for i in (data.find(b"\n" + _NODE), data.find(b"\n" + _EDGE)) if i >= 0]
    if not cands:
        return None
    first = min(cands) + 1
    end = data.rfind(b"</graph>")
    if end < first or data[end:].split() != [b"</graph>", b"</graphml>"]:
        return None
    parsed_head = _header(data[:first])
    if parsed_head is None:
        return None
    keys, gdata = parsed_head
    body = np.frombuffer(data, np.uint8, count=end - first, offset=first)
    nl = np.flatnonzero(body == 10)
    if len(nl) == 0 or nl[-1] != len(body) - 1:
        return None
    starts = np.concatenate([[0], nl[:-1] + 1])
    lens = nl + 1 - starts
    # runs: equal line length, the same record kind, and never across the writer's chunks
    is_edge = body[np.minimum(starts + 1, len(body) - 1)] == ord("e")
    n_nodes = int((~is_edge).sum())
    chunk_starts = np.arange(n_nodes, len(lens), _CHUNK)
    cuts = np.unique(
        np.concatenate(
            [
                [0, len(lens)],
                np.flatnonzero(np.diff(lens)) + 1,
                np.flatnonzero(np.diff(is_edge)) + 1,
                chunk_starts,
            ]
        )
    )
    node_parts: list[tuple[dict[str, np.ndarray], np.ndarray]] = []
    edge_parts: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]] = []
    i = 0
    while i < len(cuts) - 1:
        a, b = int(cuts[i]), int(cuts[i + 1])
        L = int(lens[a])
        M = body[starts[a] : starts[a] + L * (b - a)].reshape(b - a, L)
        head = M[0, : len(_EDGE)].tobytes()
        kind = "node" if head.startswith(_NODE) else "edge" if head == _EDGE else None
        if kind is None:
            return None
        res = _run(M, kind, keys)
        if res is None:
            return None
        if kind == "node":
            if edge_parts:  # nodes after edges: not our layout
                return None
            node_parts.append((res[0], res[1]))
        else:
            edge_parts.append(res)
        i += 1
    return _assemble(keys, gdata, node_parts, edge_parts)


def _cat(parts: list[dict[str, np.ndarray]], keys: dict[str, Any], dom: str) -> dict | None:
    if not parts:
        return {}
    kids = list(parts[0])
    if any(list(p) != kids for p in parts):
        return None
    out = {}
    for kid in kids:
        k = keys.get(kid)
        if k is None or k[0] != dom:
            return None
        w = max(p[kid].dtype.itemsize for p in parts)
        out[k[1]] = np.concatenate([p[kid].astype(f"S{w}") for p in parts])
    return out


def _assemble(
    keys: dict[str, tuple[str, str, str]],
    gdata: dict[str, str],
    node_parts: list,
    edge_parts: list,
) -> Parsed | None:
    ncols = _cat([p[0] for p in node_parts], keys, "node")
    ecols = _cat([p[0] for p in edge_parts], keys, "edge")
    if ncols is None or ecols is None:
        return None
    ids = np.concatenate([p[1] for p in node_parts]) if node_parts else np.zeros(0, np.int64)
    src = np.concatenate([p[1] for p in edge_parts]) if edge_parts else np.zeros(0, np.int64)
    dst = np.concatenate([p[2] for p in edge_parts]) if edge_parts else np.zeros(0, np.int64)
    return Parsed(keys, gdata, ids, ncols, src, dst, ecols, len(src))
