"""Conversions at the export boundary: networkx, igraph, graph-tool and scipy.sparse, and back.

Each ``to_*`` uses its library's fastest measured construction path (see the team's
``bench/PEERS.md``): igraph from Python lists, graph-tool ``add_edge_list`` with edge property
values, networkx ``add_weighted_edges_from`` over ``zip`` of lists. Node ``i`` of the result is
global node ``i`` of the :class:`LayeredGraph`. Node attributes: ``layer``, ``layer_name``,
``index``, ``depth`` (the topological depth of the node's group), ``bias`` and ``has_bias``
(when the model has biases), other ``G.node_attrs`` and the caller's ``node_attrs``; edge
attributes: ``weight`` (the original signed weight, also after thresholding), ``abs_weight``,
``sign`` and ``block_kind`` (``"weight"`` or ``"identity"``: a skip connection). Never compute
through these objects inside netsci_dl.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl._graph_checks import _coo_edges
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["to_networkx", "to_igraph", "to_graph_tool", "to_scipy_sparse", "from_networkx"]


def _check(G: Any) -> None:
    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")


def _directed(G: LayeredGraph, directed: bool | None) -> bool:
    return bool(G.meta.get("directed", False)) if directed is None else bool(directed)


def _node_table(G: LayeredGraph, node_attrs: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {
        "layer": G.node_layer,
        "layer_name": np.asarray(G.layer_names, dtype=object)[G.node_layer],
        "index": G.node_index,
        "depth": G.depth[G.node_layer],
    }
    has = G.node_attrs.get("has_bias")
    for k, v in G.node_attrs.items():
        if k in ("bias", "has_bias") and has is not None and not np.asarray(has).any():
            continue  # the model has no biases
        cols[k] = np.asarray(v)
    for k, v in dict(node_attrs or {}).items():
        v = np.asarray(v)
        if k in ("layer", "layer_name", "index", "depth"):
            raise InputError(f"node_attrs[{k!r}]: {k!r} is set by netsci_dl itself; rename it")
        if v.shape != (G.n_nodes,):
            raise InputError(f"node_attrs[{k!r}] has shape {v.shape}, expected ({G.n_nodes},)")
        cols[str(k)] = v
    return cols


def _edge_table(G: LayeredGraph) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    src, dst, wb = G.edges()
    w = G.edge_values("weight") if "weight" in G.edge_attrs else wb
    sign = G.edge_values("sign") if "sign" in G.edge_attrs else np.sign(w)
    kinds = (
        np.asarray(G.block_kinds, dtype=object)[G.edge_block()]
        if G.n_blocks
        else np.zeros(0, object)
    )
    return (
        src,
        dst,
        {
            "weight": w,
            "abs_weight": np.abs(w),
            "sign": np.asarray(sign).astype(np.int8),
            "block_kind": kinds,
        },
    )


def to_scipy_sparse(
    G: LayeredGraph,
    *,
    directed: bool | None = None,
    weights: str | None = "signed",
    fmt: str = "csr",
) -> sp.sparray:
    """The ``(n_nodes, n_nodes)`` adjacency matrix as a scipy sparse array.

    Parameters
    ----------
    G : LayeredGraph
    directed : bool, optional
        Default ``G.meta.get("directed", False)``; undirected gives a symmetric matrix.
    weights : {"signed", "abs", None}
        Entry values: the original signed weight (``edge_attrs["weight"]`` of a thresholded
        graph, else the block value), its absolute value, or 1. The signs alone:
        ``to_scipy_sparse(G).sign()``.
    fmt : str
        Any scipy sparse format name ("csr", "csc", "coo", ...).

    Examples
    --------
    >>> import numpy as np
    >>> G = LayeredGraph((2, 1), (np.array([[0.5], [-2.0]], np.float32),))
    >>> to_scipy_sparse(G, directed=False).toarray().tolist()
    [[0.0, 0.0, 0.5], [0.0, 0.0, -2.0], [0.5, -2.0, 0.0]]
    """
    _check(G)
    src, dst, e = _edge_table(G)
    if weights is None:
        w = np.ones(len(src), np.float32)
    elif weights in ("signed", "abs"):
        w = e["abs_weight" if weights == "abs" else "weight"]
    else:
        raise InputError(f"weights must be 'signed', 'abs' or None, got {weights!r}")
    n = G.n_nodes
    src, dst, w = _coo_edges(src, dst, w, n, _directed(G, directed))
    A = sp.coo_array((w, (src, dst)), shape=(n, n)).asformat(fmt)
    if fmt in ("csr", "csc"):
        A.sort_indices()
    return A


def to_networkx(
    G: LayeredGraph, *, directed: bool | None = None, node_attrs: Mapping[str, Any] | None = None
) -> Any:
    """A ``networkx.Graph`` (or ``DiGraph``) with node and edge attributes; node ``i`` = global id ``i``.

    Examples
    --------
    >>> import numpy as np
    >>> G = LayeredGraph((2, 1), (np.array([[0.5], [-2.0]], np.float32),))
    >>> H = to_networkx(G)
    >>> H.nodes[2]["layer"], H.edges[1, 2]["weight"], H.edges[1, 2]["sign"]
    (1, -2.0, -1)
    """
    import networkx as nx

    _check(G)
    H = nx.DiGraph() if _directed(G, directed) else nx.Graph()
    H.graph.update(dict(G.meta.items()))
    cols = _node_table(G, node_attrs)
    names = list(cols)
    rows = zip(*(cols[k].tolist() for k in names), strict=False)
    H.add_nodes_from((i, dict(zip(names, r, strict=False))) for i, r in enumerate(rows))
    src, dst, e = _edge_table(G)
    if len(set(zip(G.block_src, G.block_dst))) < G.n_blocks:
        raise InputError(
            "two blocks join the same pair of groups (a weight block and a skip connection): "
            "their edges would merge in a networkx graph; drop one, or use to_igraph"
        )
    H.add_edges_from(
        (s, d, {"weight": w, "abs_weight": a, "sign": g, "block_kind": k})
        for s, d, w, a, g, k in zip(
            src.tolist(),
            dst.tolist(),
            e["weight"].tolist(),
            e["abs_weight"].tolist(),
            e["sign"].tolist(),
            e["block_kind"].tolist(),
        )
    )
    return H


def to_igraph(
    G: LayeredGraph, *, directed: bool | None = None, node_attrs: Mapping[str, Any] | None = None
) -> Any:
    """An ``igraph.Graph``: vertex ``i`` = global id ``i``; attributes as in the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> G = LayeredGraph((2, 1), (np.array([[0.5], [-2.0]], np.float32),))
    >>> g = to_igraph(G)
    >>> g.vcount(), g.ecount(), g.vs["layer"], g.es["weight"]
    (3, 2, [0, 0, 1], [0.5, -2.0])
    """
    import igraph as ig

    _check(G)
    src, dst, e = _edge_table(G)
    g = ig.Graph(
        G.n_nodes,
        edges=list(zip(src.tolist(), dst.tolist(), strict=False)),
        directed=_directed(G, directed),
    )
    for k, v in _node_table(G, node_attrs).items():
        g.vs[k] = v.tolist()
    for k, v in e.items():
        g.es[k] = v.tolist()
    return g


def to_graph_tool(
    G: LayeredGraph, *, directed: bool | None = None, node_attrs: Mapping[str, Any] | None = None
) -> Any:
    """A ``graph_tool.Graph`` with internal vertex and edge property maps.

    Vertex properties: ``layer`` (int32), ``index`` (int32), ``layer_name`` (string), ``bias``
    and float extras (double), int extras (int64), other extras (string). Edge properties:
    ``weight``, ``abs_weight`` (double), ``sign`` (int16), ``block_kind`` (string).

    Examples
    --------
    >>> import numpy as np
    >>> G = LayeredGraph((2, 1), (np.array([[0.5], [-2.0]], np.float32),))
    >>> g = to_graph_tool(G)  # doctest: +SKIP
    >>> g.num_vertices(), g.num_edges(), list(g.vp["layer"].a)  # doctest: +SKIP
    (3, 2, [0, 0, 1])
    """
    from netsci_dl._array import require

    gt = require("graph_tool.all", "gt", "to_graph_tool")
    _check(G)
    src, dst, e = _edge_table(G)
    g = gt.Graph(directed=_directed(G, directed))
    g.add_vertex(G.n_nodes)
    w = e["weight"].astype(np.float64)
    ew = g.new_edge_property("double")
    if len(src):
        g.add_edge_list(
            np.column_stack([src.astype(np.float64), dst.astype(np.float64), w]), eprops=[ew]
        )
    g.ep["weight"] = ew
    aw = g.new_edge_property("double")
    aw.a = np.abs(w)
    g.ep["abs_weight"] = aw
    sg = g.new_edge_property("int16_t")
    sg.a = e["sign"]
    g.ep["sign"] = sg
    g.ep["block_kind"] = g.new_edge_property("string", vals=e["block_kind"].tolist())
    for k, v in _node_table(G, node_attrs).items():
        kind = v.dtype.kind
        if kind in "iub":
            p = g.new_vertex_property("int32_t" if k in ("layer", "index") else "int64_t")
            p.a = v
        elif kind == "f":
            p = g.new_vertex_property("double")
            p.a = v
        else:
            p = g.new_vertex_property("string", vals=[str(s) for s in v.tolist()])
        g.vp[k] = p
    return g


def from_networkx(
    H: Any,
    *,
    weight: str = "weight",
    layer: str = "layer",
    index: str = "index",
    layer_names: tuple[str, ...] | None = None,
) -> LayeredGraph:
    """A sparse :class:`LayeredGraph` from a networkx graph whose nodes carry a ``layer`` attribute.

    Nodes are ordered by ``(layer, index attribute if every node has one, else node order)``;
    layers are renumbered ``0..L-1`` in sorted order. An edge may join any two different layers
    (it is stored from the lower to the higher layer: one block per pair of layers that has
    edges, so skip connections come back as blocks between non-consecutive groups; the
    ``block_kind`` edge attribute, when present, restores identity blocks). Edge weights come from
    ``weight`` (missing -> 1.0); blocks are float32 ``csr_array``.

    Examples
    --------
    >>> import networkx as nx
    >>> H = nx.Graph()
    >>> H.add_nodes_from([("a", {"layer": 0}), ("b", {"layer": 0}), ("c", {"layer": 1})])
    >>> H.add_edge("a", "c", weight=0.5); H.add_edge("c", "b", weight=-1.0)
    >>> G = from_networkx(H)
    >>> G.layer_sizes, G.dense_block(0).tolist()
    ((2, 1), [[0.5], [-1.0]])
    """
    nodes = list(H.nodes)
    if not nodes:
        raise InputError("the networkx graph has no nodes")
    missing = [u for u in nodes if layer not in H.nodes[u]]
    if missing:
        raise InputError(f"{len(missing)} node(s) have no {layer!r} attribute, e.g. {missing[0]!r}")
    raw = [H.nodes[u][layer] for u in nodes]
    levels = sorted(set(raw))
    lay = (
        np.array([levels.index(v) for v in raw])
        if len(levels) < 64
        else np.searchsorted(levels, raw)
    )
    has_index = all(index in H.nodes[u] for u in nodes)
    try:
        key = (
            np.array([H.nodes[u][index] for u in nodes])
            if has_index
            else np.argsort(np.argsort(np.array(nodes, dtype=object), kind="stable"), kind="stable")
        )
    except TypeError:  # unorderable node labels: keep insertion order
        key = np.arange(len(nodes))
    order = np.lexsort((key, lay))
    gid = np.empty(len(nodes), np.int64)
    gid[order] = np.arange(len(nodes))
    pos = dict(zip(nodes, gid.tolist(), strict=False))
    sizes = tuple(int(c) for c in np.bincount(lay, minlength=len(levels)))
    off = np.concatenate([[0], np.cumsum(sizes)])
    node_layer = np.empty(len(nodes), np.int64)
    node_layer[gid] = lay
    e = list(H.edges(data=weight, default=1.0))
    u = np.array([pos[a] for a, _, _ in e], dtype=np.int64)
    v = np.array([pos[b] for _, b, _ in e], dtype=np.int64)
    w = np.array([x for _, _, x in e], dtype=np.float32)
    lu, lv = node_layer[u], node_layer[v]
    flip = lu > lv
    if H.is_directed() and flip.any():
        raise InputError("directed edges must run from a lower to a higher layer")
    u, v = np.where(flip, v, u), np.where(flip, u, v)
    lu, lv = node_layer[u], node_layer[v]
    same = lu == lv
    if same.any():
        i = int(np.flatnonzero(same)[0])
        raise InputError(f"edge {e[i][0]!r}-{e[i][1]!r} joins two nodes of the same layer")
    kinds = (
        np.array([str(H.edges[a, b].get("block_kind", "weight")) for a, b, _ in e], dtype=object)
        if e
        else np.zeros(0, object)
    )
    blocks, bsrc, bdst, bkind = [], [], [], []
    keys = sorted(
        {(int(a), int(b), str(k)) for a, b, k in zip(lu, lv, kinds)},
        key=lambda t: (t[1], t[0], t[2]),
    )
    for a, b, k in keys:
        m = (lu == a) & (lv == b) & (kinds == k)
        B = sp.csr_array((w[m], (u[m] - off[a], v[m] - off[b])), shape=(sizes[a], sizes[b]))
        B.sum_duplicates()
        B.sort_indices()
        blocks.append(B)
        bsrc.append(a)
        bdst.append(b)
        bkind.append(k)
    names = layer_names or tuple(str(x) for x in levels)
    meta = {"source": "networkx", "model_kind": "networkx", "directed": H.is_directed()}
    if not blocks and len(sizes) > 1:
        raise InputError("the networkx graph has no edge between layers")
    return LayeredGraph(
        sizes,
        tuple(blocks),
        layer_names=names,
        meta=meta,
        block_src=tuple(bsrc),
        block_dst=tuple(bdst),
        block_kinds=tuple(bkind),
    )
