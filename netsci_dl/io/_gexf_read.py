"""Read back a GEXF file written by :func:`netsci_dl.io.gexf.write_gexf`.

The writer stores the same JSON header as the GraphML writer in ``<meta><keywords>``; the
nodes' ``layer``/``index`` attributes and the edges' ``signed_weight`` (and further edge
attributes) then rebuild an equal :class:`LayeredGraph`, with the checks of
:mod:`netsci_dl.io._graphml_read` (header against body before allocating, no DTD).
"""

from __future__ import annotations

import io
import os
import re
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph
from netsci_dl.io._graphml_fast import Parsed
from netsci_dl.io._graphml_read import _build, _read_bytes
from netsci_dl.io._xml import HEADER_KEY

__all__ = ["read_gexf"]

_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)
_TYPES = {"integer": "int", "long": "long", "double": "double", "float": "double"}
_TYPES.update(boolean="boolean", string="string")


def _int_id(v: str | None, where: str, what: str) -> int:
    if v is None or not v.isdigit():
        raise InputError(f"{where}: {what} {v!r} is not a node id written by netsci_dl")
    return int(v)


def read_gexf(path: str | os.PathLike) -> LayeredGraph:
    """Read a GEXF file written by :func:`~netsci_dl.io.gexf.write_gexf` into a `LayeredGraph`.

    Raises
    ------
    InputError
        No netsci_dl header (another program's GEXF, or one from netsci_dl < 0.3), a
        malformed file, or one whose body does not match its header.
    """
    import xml.etree.ElementTree as ET

    where = os.fsdecode(path)
    data = _read_bytes(path)
    root_at = data.find(b"<gexf")
    if _DTD.search(data, 0, root_at if root_at >= 0 else len(data)):
        raise InputError(f"{where}: has a DOCTYPE (entity definitions): refused")
    keys: dict[str, tuple[str, str, str]] = {}
    attr: dict[str, dict[str, str]] = {"node": {}, "edge": {"signed_weight": "weight"}}
    keys["signed_weight"] = ("edge", "weight", "double")
    keys["sign"] = ("edge", "sign", "int")
    attr["edge"]["sign"] = "sign"
    header = None
    ids: list[int] = []
    src: list[int] = []
    dst: list[int] = []
    ncols: dict[str, list[str | None]] = {}
    ecols: dict[str, list[str | None]] = {}
    cls = None

    def values(el: Any, dom: str, cols: dict[str, list], i: int) -> None:
        for av in el.iter():
            if av.tag.rsplit("}", 1)[-1] != "attvalue":
                continue
            name = attr[dom].get(av.get("for"))
            if name is None:
                raise InputError(
                    f"{where}: a {dom} has a value for undeclared attribute {av.get('for')!r}"
                )
            col = cols.get(name)
            if col is None:  # first seen at row i (building [None] * i every row is quadratic)
                col = cols[name] = [None] * i
            col.append(av.get("value"))
        for col in cols.values():
            if len(col) == i:
                col.append(None)

    try:
        for ev, el in ET.iterparse(io.BytesIO(data), events=("start", "end")):
            tag = el.tag.rsplit("}", 1)[-1]
            if ev == "start":
                if tag == "attributes":
                    cls = el.get("class")
                continue
            if tag == "keywords" and (el.text or "").startswith("netsci_dl "):
                header = (el.text or "")[len("netsci_dl ") :]
            elif tag == "attribute" and cls in ("node", "edge"):
                aid, title = el.get("id"), el.get("title")
                if aid is None or title is None:
                    raise InputError(f"{where}: an <attribute> lacks id or title")
                if cls == "edge" and title == "signed_weight":
                    title = "weight"  # the signed weight: GraphML's (and the header's) "weight"
                attr[cls][aid] = title
                keys[f"{cls}:{aid}"] = (cls, title, _TYPES.get(el.get("type", "string"), "string"))
            elif tag == "node":
                values(el, "node", ncols, len(ids))
                ids.append(_int_id(el.get("id"), where, "node id"))
                el.clear()
            elif tag == "edge":
                values(el, "edge", ecols, len(src))
                src.append(_int_id(el.get("source"), where, "edge source"))
                dst.append(_int_id(el.get("target"), where, "edge target"))
                el.clear()
    except ET.ParseError as e:
        raise InputError(f"{where}: not well-formed XML ({e})") from None
    if header is None:
        raise InputError(
            f"{where}: no netsci_dl header in <meta><keywords>; not written by "
            "netsci_dl.write_gexf (or by an older version: export it again)"
        )
    P = Parsed(
        keys,
        {HEADER_KEY: header},
        np.asarray(ids, np.int64),
        ncols,
        np.asarray(src, np.int64),
        np.asarray(dst, np.int64),
        ecols,
        len(src),
    )
    return _build(P, where)
