"""Shared pieces of the exporters: what each tensor became, and the graph built from a chain."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["Connection", "TensorInfo", "ExportPlan", "build_graph", "select", "check_finite"]


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of a checkpoint and what the exporter does with it."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    role: str  # "linear", "conv", "rbm", "matrix", "bias", "skipped"
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
class Connection:
    """The weights between two consecutive layers, already in block orientation.

    ``weight`` is ``(n_in, n_out)``: rows are the source layer's nodes, columns the target's.
    """

    name: str
    kind: str
    weight: np.ndarray
    bias: np.ndarray | None = None
    note: str = ""
    source_shape: tuple[int, ...] = ()

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[1])


@dataclass(frozen=True)
class ExportPlan:
    """What an exporter found in a model or checkpoint and what it will export.

    Attributes
    ----------
    source : str
    model_kind : str
        ``"mlp"``, ``"cnn"``, ``"rbm"``, ``"dbn"`` or ``"matrices"``.
    layout : str
        ``"out_in"`` (torch Linear layout, transposed on export) or ``"in_out"``.
    tensors : tuple of TensorInfo
        Every tensor found, with its role and, when skipped, why.
    connections : tuple of Connection
        The chain that becomes the graph's blocks.
    meta : dict
        Entries that go into the graph's ``meta``.
    """

    source: str
    model_kind: str
    layout: str
    tensors: tuple[TensorInfo, ...]
    connections: tuple[Connection, ...]
    input_name: str = "input"
    input_bias: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        if not self.connections:
            return ()
        return (self.connections[0].n_in, *(c.n_out for c in self.connections))

    @property
    def layer_names(self) -> tuple[str, ...]:
        return (self.input_name, *(c.name for c in self.connections))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "model_kind": self.model_kind,
            "layout": self.layout,
            "layer_sizes": list(self.layer_sizes),
            "layer_names": list(self.layer_names),
            "n_edges": int(sum(c.weight.size for c in self.connections)),
            "connections": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "source_shape": list(c.source_shape),
                    "block_shape": list(c.weight.shape),
                    "bias": c.bias is not None,
                    "note": c.note,
                }
                for c in self.connections
            ],
            "tensors": [t.to_dict() for t in self.tensors],
        }

    def summary(self) -> str:
        """A human-readable account: layers found, what is exported and why the rest is skipped."""
        lines = [
            f"source: {self.source}",
            f"model kind: {self.model_kind}  (weight layout {self.layout})",
            "layers: "
            + " -> ".join(f"{n} [{s}]" for n, s in zip(self.layer_names, self.layer_sizes)),
            f"graph: {sum(self.layer_sizes)} nodes, "
            f"{sum(c.weight.size for c in self.connections)} edges",
            "",
            "exported:",
        ]
        for c in self.connections:
            shape = "x".join(map(str, c.source_shape))
            extra = f"; {c.note}" if c.note else ""
            lines.append(
                f"  {c.name:<24} {c.kind:<7} {shape:<16} -> block {c.n_in}x{c.n_out}"
                f"{'' if c.bias is None else ', bias'}{extra}"
            )
        skipped = [t for t in self.tensors if t.role == "skipped"]
        if skipped:
            lines += ["", "skipped:"]
            for t in skipped:
                shape = "x".join(map(str, t.shape)) or "scalar"
                lines.append(f"  {t.name:<24} {shape:<16} {t.reason}")
        return "\n".join(lines)


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


def check_finite(name: str, arr: np.ndarray) -> None:
    """Raise a ValueError naming the layer when ``arr`` holds NaN or Inf."""
    if arr.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(bad.sum()) - n_nan
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"layer {name!r} (shape {arr.shape}) has {n_nan} NaN and {n_inf} Inf values "
            f"(first at index {first})"
        )


def square_image_shape(n: int) -> tuple[int, int] | None:
    """``(s, s)`` when ``n`` is a perfect square > 1, else None."""
    s = math.isqrt(n)
    return (s, s) if s > 1 and s * s == n else None


def build_graph(plan: ExportPlan, *, dtype: Any = np.float32) -> LayeredGraph:
    """Turn an :class:`ExportPlan` into a `LayeredGraph` (checks chain and finiteness)."""
    conns = plan.connections
    if not conns:
        raise InputError(f"{plan.source}: no layers selected to export")
    for a, b in zip(conns, conns[1:]):
        if a.n_out != b.n_in:
            raise InputError(
                f"{plan.source}: broken shape chain: {a.name!r} outputs {a.n_out} units but "
                f"{b.name!r} takes {b.n_in}; select a chain of layers with layers=..."
            )
    blocks = []
    for c in conns:
        check_finite(c.name, c.weight)
        blocks.append(np.ascontiguousarray(c.weight, dtype=dtype))
    sizes = plan.layer_sizes
    node_attrs = {}
    if plan.input_bias is not None or any(c.bias is not None for c in conns):
        parts = [
            np.asarray(plan.input_bias, dtype=np.float64)
            if plan.input_bias is not None
            else np.full(sizes[0], np.nan)
        ]
        for c in conns:
            parts.append(
                np.asarray(c.bias, dtype=np.float64)
                if c.bias is not None
                else np.full(c.n_out, np.nan)
            )
        bias = np.concatenate(parts)
        check_finite("bias", bias[~np.isnan(bias)])
        node_attrs["bias"] = bias
    meta: dict[str, Any] = {
        "source": plan.source,
        "model_kind": plan.model_kind,
        "layout": plan.layout,
        "weight_names": [c.name for c in conns],
        "edge_weight": [c.note or "weight" for c in conns],
        "weighted": True,
        "thresholds": [],
    }
    meta.update(plan.meta)
    return LayeredGraph(
        layer_sizes=sizes,
        blocks=tuple(blocks),
        layer_names=plan.layer_names,
        node_attrs=node_attrs,
        meta=meta,
    )
