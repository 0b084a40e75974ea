"""The records of the data-flow resolution: one :class:`Op` per recorded op, and the
resolver's node groups, values and block pieces (:mod:`netsci_dl.export._dataflow`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Op", "PRODUCERS", "TRANSPARENT"]


#: op kinds that make a value of their own
PRODUCERS = {
    "input",
    "linear",
    "conv",
    "conv_transpose",
    "add",
    "cat",
    "matmul",
    "attention",
    "mha",
    "embedding",
    "recurrent",
}
#: op kinds whose output carries the units of their first data input
TRANSPARENT = {"pass", "bn", "flatten", "reshape", "mean", "getitem", "gate", "permute", "expand"}
TRANSPARENT |= {"scale", "combine", "chunk", "rearrange"}


@dataclass
class Op:
    """One op of the record.

    ``inputs`` are indices of earlier ops whose outputs are data (derived from the model's
    inputs); parameters are in ``params`` (numpy copies, keyed by role) with their full names
    in ``param_names``. ``attrs`` holds what the op needs: ``groups``, ``dim``, ``shape`` (the
    output's shape when known, batch included), ``in_shape``, ``activation``, ``desc``...
    """

    kind: str
    inputs: tuple[int, ...] = ()
    name: str = ""
    params: dict[str, np.ndarray | None] = field(default_factory=dict)
    param_names: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Group:
    name: str
    size: int | None
    origin: str
    order: int
    producer: int
    bias: np.ndarray | None = None
    note: str = ""
    alive: bool = True
    activation: str | None = None


_SAME: Any = object()  # a field of _Val.keep left as it is


@dataclass
class _Val:
    """Where a value's units are. ``layout``: "vector" (batch, units), "spatial" (batch, units,
    *space), "tokens" (units on the last axis), "flat" (units merged with other features on one
    axis), "moved" (units on another axis), "heads" (units split over several axes), "unknown",
    "scores", "const". When the shapes are known, ``nd`` and ``axes`` say it exactly."""

    group: int | None
    layout: str
    k: int | None = None  # features per unit after a flatten
    scores_of: tuple[int, ...] = ()  # for attention scores: the query and key groups
    nd: int | None = None  # the number of axes (batch included), when known
    axes: tuple[int, ...] | None = None  # the unit axes, major to minor, when known
    inner: int | None = None  # flat: features per step of the unit index (None: k, channel-major)
    sel: tuple[int, int] | None = None  # part: the units [start, stop) of the group
    shape_hint: tuple[int, ...] | None = None  # the value's shape, where a handler needs it
    cut: tuple[int, int, int, int] | None = None  # part: (unit axis position, start, stop, size)
    parent: Any = None  # part: the value it was cut from

    def keep(
        self,
        group: int | None = None,
        *,
        layout: Any = _SAME,
        k: Any = _SAME,
        scores_of: Any = _SAME,
        nd: Any = _SAME,
        axes: Any = _SAME,
        inner: Any = _SAME,
        sel: Any = _SAME,
        shape_hint: Any = _SAME,
        cut: Any = _SAME,
        parent: Any = _SAME,
    ) -> _Val:
        """This value with another group (or the same) and the fields given changed."""
        given = {
            "layout": layout,
            "k": k,
            "scores_of": scores_of,
            "nd": nd,
            "axes": axes,
            "inner": inner,
            "sel": sel,
            "shape_hint": shape_hint,
            "cut": cut,
            "parent": parent,
        }
        changes = {name: v for name, v in given.items() if v is not _SAME}
        return dataclasses.replace(self, group=self.group if group is None else group, **changes)


@dataclass
class _Piece:
    matrix: Any  # (n_src, n_part): dense ndarray or csr
    offset: int
    name: str
    note: str
    layer_type: str
    source_shape: tuple[int, ...]


_UNIT_LAYOUTS = ("vector", "spatial", "flat", "tokens", "unknown")
