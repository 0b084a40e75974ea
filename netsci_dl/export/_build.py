"""The export plan (what each tensor became: node groups, weight blocks, junctions) and the
graph built from it. Shared by every exporter."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl._sanitize import for_terminal
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "TensorInfo",
    "GroupSpec",
    "BlockSpec",
    "ExportPlan",
    "build_graph",
    "chain_plan",
    "select",
    "check_finite",
    "square_image_shape",
]


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of a checkpoint or model and what the exporter does with it.

    ``role`` is ``"linear"``, ``"conv"``, ``"rbm"``, ``"matrix"`` (a weight block), ``"bias"``,
    ``"normalisation"`` (kept out of the graph; a normalisation layer keeps its unit group),
    or ``"skipped"``; ``reason`` says why a tensor is not a block.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    role: str
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "role": self.role,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class GroupSpec:
    """A node group: its name, number of units, and the bias of each unit (None: no bias).

    ``origin`` says what made it: ``"input"``, ``"linear"``, ``"conv"``, ``"rbm"``,
    ``"matrix"``, ``"add"`` (a residual sum), ``"cat"`` (a concatenation), ``"mix"`` (attention's
    data-dependent mixing of the values), ``"embedding"`` / ``"recurrent"`` (the output of a
    layer that is not exported, a source group).
    """

    name: str
    size: int
    bias: np.ndarray | None = None
    origin: str = "input"
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (``bias``: whether the units have one)."""
        return {
            "name": self.name,
            "size": int(self.size),
            "origin": self.origin,
            "bias": self.bias is not None,
            "note": self.note,
        }

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        return summary(
            "GroupSpec",
            short(self.name),
            size=int(self.size),
            origin=self.origin,
            bias=self.bias is not None,
            note=self.note or None,
        )


@dataclass(frozen=True)
class BlockSpec:
    """A weight block ``src -> dst`` (group indices into the plan), ``(n_src, n_dst)``.

    ``weight`` is a dense ndarray, or a csr_array when only some (src, dst) pairs are joined (a
    grouped convolution, a block writing into part of a concatenation, an identity block).
    ``note`` says how the values were made ("weight", "l2 of each 3x3 kernel", "identity").
    """

    name: str
    src: int
    dst: int
    kind: str
    weight: Any
    note: str = "weight"
    layer_type: str = "linear"
    source_shape: tuple[int, ...] = ()

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.weight.shape[0]), int(self.weight.shape[1]))

    @property
    def n_edges(self) -> int:
        return int(self.weight.nnz) if sp.issparse(self.weight) else int(self.weight.size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (the weights left out: their shape and number of edges)."""
        return {
            "name": self.name,
            "src": int(self.src),
            "dst": int(self.dst),
            "kind": self.kind,
            "layer_type": self.layer_type,
            "source_shape": [int(s) for s in self.source_shape],
            "block_shape": list(self.shape),
            "n_edges": self.n_edges,
            "note": self.note,
        }

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        return summary(
            "BlockSpec",
            short(self.name),
            src=int(self.src),
            dst=int(self.dst),
            kind=self.kind,
            shape=self.shape,
            n_edges=self.n_edges,
            layer_type=self.layer_type,
        )


@dataclass(frozen=True)
class ExportPlan:
    """What an exporter found in a model or checkpoint and what it will export.

    Attributes
    ----------
    source : str
    model_kind : str
        ``"mlp"``, ``"cnn"``, ``"rbm"``, ``"dbn"``, ``"matrices"`` or ``"dag"`` (a traced model
        that is not a chain).
    layout : str
        ``"out_in"`` (torch layout, transposed on export) or ``"in_out"``.
    tensors : tuple of TensorInfo
        Every tensor found, with its role and, when skipped, why.
    groups : tuple of GroupSpec
        The node groups, topologically ordered (sources first).
    blocks : tuple of BlockSpec
        The weight blocks between them.
    junctions : tuple of dict
        Every junction of the data flow and what it became (``{"kind": "add", "group": ...,
        "merged": [...], "identity_from": [...]}``, ``"cat"``, ``"attention"``...).
    meta : dict
        Entries that go into the graph's ``meta``.
    refusal : str or None
        Set by :func:`netsci_dl.inspect` when :func:`netsci_dl.load` would refuse this source:
        the reason, and what to pass instead.
    """

    source: str
    model_kind: str
    layout: str
    tensors: tuple[TensorInfo, ...]
    groups: tuple[GroupSpec, ...] = ()
    blocks: tuple[BlockSpec, ...] = ()
    junctions: tuple[dict[str, Any], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    refusal: str | None = None

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return tuple(g.size for g in self.groups)

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.groups)

    @property
    def is_chain(self) -> bool:
        return all(b.src == i and b.dst == i + 1 for i, b in enumerate(self.blocks)) and len(
            self.blocks
        ) == max(len(self.groups) - 1, 0)

    @property
    def n_edges(self) -> int:
        return int(sum(b.n_edges for b in self.blocks))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "model_kind": self.model_kind,
            "layout": self.layout,
            "layer_sizes": list(self.layer_sizes),
            "layer_names": list(self.layer_names),
            "n_edges": self.n_edges,
            "groups": [
                {"name": g.name, "size": g.size, "origin": g.origin, "bias": g.bias is not None}
                | ({"note": g.note} if g.note else {})
                for g in self.groups
            ],
            "blocks": [
                {
                    "name": b.name,
                    "src": self.groups[b.src].name,
                    "dst": self.groups[b.dst].name,
                    "kind": b.kind,
                    "layer_type": b.layer_type,
                    "source_shape": list(b.source_shape),
                    "block_shape": list(b.shape),
                    "n_edges": b.n_edges,
                    "note": b.note,
                }
                for b in self.blocks
            ],
            "junctions": [dict(j) for j in self.junctions],
            "tensors": [t.to_dict() for t in self.tensors],
            "refusal": self.refusal,
            "meta": dict(self.meta),
        }

    def to_frame(self) -> Any:
        """One row per tensor found: ``name shape dtype role reason``."""
        import pandas as pd

        rows = [t.to_dict() for t in self.tensors]
        for r in rows:
            r["shape"] = tuple(r["shape"])
        return pd.DataFrame(rows, columns=["name", "shape", "dtype", "role", "reason"])

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        return summary(
            "ExportPlan",
            short(self.source),
            model_kind=self.model_kind,
            layout=self.layout,
            tensors=len(self.tensors),
            layer_sizes=self.layer_sizes,
            n_edges=self.n_edges,
            shape=("chain" if self.is_chain else "DAG") if self.groups else None,
            refusal=self.refusal,
        )

    def summary(self) -> str:
        """A human-readable account: groups, blocks, junctions, and every skipped tensor."""
        g = self.groups
        lines = [
            f"source: {for_terminal(self.source)}",
            f"model kind: {self.model_kind}  (weight layout {self.layout})",
        ]
        if g:
            shape = "a chain" if self.is_chain else "a DAG"
            lines.append(
                f"graph: {sum(self.layer_sizes)} nodes in {len(g)} groups, {self.n_edges} edges "
                f"in {len(self.blocks)} blocks ({shape})"
            )
            lines += ["", "groups:"]
            for i, gr in enumerate(g):
                extra = f"; {gr.note}" if gr.note else ""
                bias = ", bias" if gr.bias is not None else ""
                lines.append(
                    f"  {i:>3} {for_terminal(gr.name):<28} {gr.size:>7} units  {gr.origin}{bias}{extra}"
                )
            lines += ["", "blocks:"]
            for b in self.blocks:
                src, dst = for_terminal(g[b.src].name), for_terminal(g[b.dst].name)
                shape = "x".join(map(str, b.source_shape)) or "-"
                lines.append(
                    f"  {src} -> {dst}: {b.kind} {b.shape[0]}x{b.shape[1]} "
                    f"({b.n_edges} edges) from {for_terminal(b.name)} [{shape}]; {b.note}"
                )
        if self.junctions:
            lines += ["", "junctions:"]
            for j in self.junctions:
                rest = ", ".join(
                    f"{k}={for_terminal(str(v))}" for k, v in j.items() if k not in ("kind",)
                )
                lines.append(f"  {j['kind']}: {rest}")
        lines += _loading_lines(self.meta.get("loading"))
        skipped = [t for t in self.tensors if t.role in ("skipped", "normalisation")]
        if not g and self.tensors:  # nothing planned (a refusal): show every tensor found
            lines += ["", "tensors:"]
            for t in self.tensors:
                shape = "x".join(map(str, t.shape)) or "scalar"
                lines.append(
                    f"  {for_terminal(t.name):<36} {shape:<16} {t.role}"
                    + (f": {t.reason}" if t.reason else "")
                )
            skipped = []
        if skipped:
            lines += ["", "not exported as blocks:"]
            for t in skipped:
                shape = "x".join(map(str, t.shape)) or "scalar"
                lines.append(f"  {for_terminal(t.name):<36} {shape:<16} {t.reason}")
        assumed = self.meta.get("assumptions") or []
        if assumed:
            lines += ["", "assumptions (not checked against the model):"]
            for a in assumed:
                lines.append(
                    f"  {for_terminal(str(a.get('block')))}: {for_terminal(str(a.get('assumption')))}"
                    f"; to state it: {for_terminal(str(a.get('how_to_state')))}"
                )
        if self.refusal:
            lines += ["", f"export would refuse: {for_terminal(self.refusal)}"]
        return "\n".join(lines)


def _loading_lines(loading: Any) -> list[str]:
    """The lines of ``summary()`` on how a checkpoint was loaded into its model: the keys
    ignored, and why."""
    if not loading:
        return []
    how = "strict" if loading.get("strict") else "partial"
    out = ["", f"loading: {how}, {loading.get('loaded', 0)} tensors loaded"]
    for k, why in (loading.get("declared_ignorable") or {}).items():
        out.append(f"  ignored {for_terminal(k)}: {why}")
    for k in loading.get("ignored_missing") or ():
        out.append(f"  ignored missing {for_terminal(k)}: left as the model was built")
    for k in loading.get("ignored_unexpected") or ():
        out.append(f"  ignored unexpected {for_terminal(k)}: the model has no such tensor")
    return out


def select(names: Sequence[str], layers: str | Sequence[str] | None) -> set[str]:
    """Names chosen by a regex (``re.search``) or an explicit list; all when None."""
    if layers is None:
        return set(names)
    if isinstance(layers, str):
        try:
            rx = re.compile(layers)
        except re.error as e:
            raise InputError(f"layers={layers!r} is not a valid regular expression: {e}") from e
        return {n for n in names if rx.search(n)}
    wanted = [str(x) for x in layers]
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise InputError(f"layers {unknown} not found; available: {list(names)}")
    return set(wanted)


def check_finite(name: str, arr: Any) -> None:
    """Raise an InputError naming the layer when ``arr`` holds NaN or Inf."""
    values = arr.data if sp.issparse(arr) else np.asarray(arr)
    if values.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(values)
    if bad.any():
        n_nan = int(np.isnan(values).sum())
        n_inf = int(bad.sum()) - n_nan
        where = (
            f"first at index {tuple(int(i) for i in np.argwhere(bad)[0])}"
            if not sp.issparse(arr)
            else "in its stored values"
        )
        raise InputError(
            f"layer {name!r} (shape {arr.shape}) has {n_nan} NaN and {n_inf} Inf values "
            f"{'after conversion to float32 ' if values.dtype == np.float32 else ''}({where})"
        )


def square_image_shape(n: int) -> tuple[int, int] | None:
    """``(s, s)`` when ``n`` is a perfect square > 1, else None."""
    s = math.isqrt(n)
    return (s, s) if s > 1 and s * s == n else None


def _as_float32(name: str, w: Any) -> Any:
    """Cast a block to float32 (a copy), then check the stored values are finite."""
    if sp.issparse(w):
        out = sp.csr_array(w, dtype=np.float32, copy=True)
        out.sum_duplicates()
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.array(w, dtype=np.float32, order="C", copy=True)
    check_finite(name, out)
    return out


def _packed_float32(names: Sequence[str], weights: Sequence[Any]) -> tuple[Any, ...]:
    """:func:`_as_float32` of every block, the dense ones copied back to back into one buffer
    (so ``LayeredGraph.edge_values()`` is a view of it, not a second copy of the weights)."""
    dense = [i for i, w in enumerate(weights) if not sp.issparse(w)]
    if len(dense) < 2:
        return tuple(_as_float32(n, w) for n, w in zip(names, weights))
    buf = np.empty(sum(int(np.prod(np.shape(weights[i]))) for i in dense), dtype=np.float32)
    out: list[Any] = []
    pos = 0
    for n, w in zip(names, weights):
        if sp.issparse(w):
            out.append(_as_float32(n, w))
            continue
        shape = np.shape(w)
        view = buf[pos : pos + int(np.prod(shape))].reshape(shape)
        with np.errstate(over="ignore", invalid="ignore"):
            view[...] = w
        check_finite(n, view)
        out.append(view)
        pos += view.size
    return tuple(out)


def chain_plan(
    *,
    source: str,
    model_kind: str,
    layout: str,
    tensors: Sequence[TensorInfo],
    input_name: str,
    input_size: int,
    input_bias: np.ndarray | None,
    layers: Sequence[tuple[str, np.ndarray, np.ndarray | None, str, str, tuple[int, ...]]],
    meta: dict[str, Any] | None = None,
) -> ExportPlan:
    """A plan for a chain: ``layers`` are ``(name, block (n_in, n_out), bias, layer_type, note,
    source_shape)`` in order; group ``l + 1`` is the output of layer ``l``."""
    if any(layer[0] == input_name for layer in layers):
        input_name = f"<{input_name}>"  # a layer of the model is called like the input
    groups = [GroupSpec(input_name, int(input_size), input_bias, "input")]
    blocks = []
    for i, (name, w, b, ltype, note, shape) in enumerate(layers):
        if w.shape[0] != groups[-1].size:
            raise InputError(
                f"{source}: broken shape chain: {groups[-1].name!r} outputs {groups[-1].size} "
                f"units but {name!r} takes {w.shape[0]}; select a chain of layers with layers=..."
            )
        groups.append(GroupSpec(name, int(w.shape[1]), b, ltype))
        blocks.append(BlockSpec(name, i, i + 1, "weight", w, note, ltype, tuple(shape)))
    return ExportPlan(
        source=source,
        model_kind=model_kind,
        layout=layout,
        tensors=tuple(tensors),
        groups=tuple(groups),
        blocks=tuple(blocks),
        meta=dict(meta or {}),
    )


def build_graph(plan: ExportPlan) -> LayeredGraph:
    """Turn an :class:`ExportPlan` into a `LayeredGraph` (copies and casts to float32, then
    checks finiteness on the stored values; biases become ``bias`` + ``has_bias``)."""
    if plan.refusal:
        raise InputError(plan.refusal)
    if not plan.blocks:
        raise InputError(f"{plan.source}: no layers selected to export")
    blocks = _packed_float32([b.name for b in plan.blocks], [b.weight for b in plan.blocks])
    sizes = plan.layer_sizes
    node_attrs: dict[str, np.ndarray] = {}
    if any(g.bias is not None for g in plan.groups):
        bias = np.zeros(sum(sizes), dtype=np.float64)
        has = np.zeros(sum(sizes), dtype=bool)
        off = 0
        for g in plan.groups:
            if g.bias is not None:
                b = np.asarray(g.bias, dtype=np.float64).reshape(-1)
                if b.shape[0] != g.size:
                    raise InputError(
                        f"{plan.source}: bias of {g.name!r} has {b.shape[0]} entries for "
                        f"{g.size} units"
                    )
                check_finite(f"{g.name} (bias)", b.astype(np.float32))
                bias[off : off + g.size] = b
                has[off : off + g.size] = True
            off += g.size
        node_attrs["bias"] = bias
        node_attrs["has_bias"] = has
    meta: dict[str, Any] = {
        "source": plan.source,
        "model_kind": plan.model_kind,
        "layout": plan.layout,
        "weight_names": [b.name for b in plan.blocks],
        "edge_weight": [b.note for b in plan.blocks],
        "weighted": True,
        "thresholds": [],
    }
    if plan.junctions:
        meta["junctions"] = [dict(j) for j in plan.junctions]
    meta.update(plan.meta)
    return LayeredGraph(
        layer_sizes=sizes,
        blocks=blocks,
        layer_names=plan.layer_names,
        node_attrs=node_attrs,
        meta=meta,
        block_src=tuple(b.src for b in plan.blocks),
        block_dst=tuple(b.dst for b in plan.blocks),
        block_kinds=tuple(b.kind for b in plan.blocks),
    )
