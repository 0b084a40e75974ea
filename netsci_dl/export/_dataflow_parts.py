"""Ops that take the units apart and put them back (a mixin of the data-flow resolver): the
statistics of a normalisation written by hand (``x - x.mean(-1, keepdim=True)``, RMSNorm's
``x * rsqrt(x.pow(2).mean(-1, keepdim=True))``), parts of the units that a concatenation puts
back together (a rotary position embedding's ``rotate_half``), products (gates, GLU), and the
per-unit scale of LayerScale.

A statistic of the units has no units of its own: it may scale or shift the units it came from,
and anything else that reads it is refused. A part of the units (a slice, a chunk) may only go
back into a concatenation that restores them all; read by anything else it is refused as a
selection of some units. A rotation of the units by position (rotary embeddings) is mixing
without weights, like attention's scores: the group is kept, and a ``rotary`` junction says so.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError
from netsci_dl.export._ops import Op, _Val

__all__ = ["PartOps"]


def chunk_bounds(how: Any, size: int, call: str) -> list[tuple[int, int]] | None:
    """The ``[start, stop)`` of each part of an axis of ``size`` entries cut by
    ``chunk``/``split``/``unbind``; None when the arguments are not plain.

    Examples
    --------
    >>> chunk_bounds(2, 8, "chunk"), chunk_bounds(3, 8, "split"), chunk_bounds([2, 6], 8, "split")
    ([(0, 4), (4, 8)], [(0, 3), (3, 6), (6, 8)], [(0, 2), (2, 8)])
    """
    if call == "unbind":
        return [(j, j + 1) for j in range(size)]
    if isinstance(how, (list, tuple)) and all(isinstance(x, int) for x in how):
        cuts = np.cumsum([0, *how]).tolist()
        return list(zip(cuts[:-1], cuts[1:]))
    if not isinstance(how, int) or how < 1:
        return None
    step = math.ceil(size / how) if call == "chunk" else how
    return [(a, min(a + step, size)) for a in range(0, size, step)]


class PartOps:
    """Statistics, parts, rotations, products and scales of the units."""

    def _refuse_partial(self, op: Op, v: _Val) -> None:
        if v.layout == "stat":
            name = self.groups[v.scores_of[0]].name if v.scores_of else "a group"
            why = (
                f"reads a statistic over the units of {name!r} (a mean or a norm) as if it were "
                "units"
            )
        elif v.layout == "rotated":
            why = (
                f"reads the units of {self.groups[v.group].name!r} rotated (rotate_half) other "
                "than added to them (a rotary embedding)"
            )
        else:
            what = f"units {v.sel[0]}:{v.sel[1]}" if v.sel else "some units (a slice of a head)"
            why = f"reads {what} of {self.groups[v.group].name!r}: it selects some of the units"
        raise InputError(
            f"{self._where(op)} {why}; no weight describes that, so netsci_dl does not export it"
        )

    def _op_combine(self, i: int, op: Op) -> None:
        """``x - stat`` or ``x / stat``: a normalisation keeps ``x``'s group."""
        vals = [self.vals.get(j) for j in op.inputs]
        units = [v for v in vals if v is not None and v.layout not in ("const", "stat")]
        stats = [v for v in vals if v is not None and v.layout == "stat"]
        if len(units) == 1 and units[0].group is not None and units[0].layout != "part":
            self.vals[i] = units[0].keep()
            return
        if not units and stats:
            self.vals[i] = stats[0]
            return
        raise InputError(
            f"{self._where(op)}: {op.attrs.get('desc', 'this op')} is not a map between units: "
            "netsci_dl cannot say what it does to the units, so it does not guess"
        )

    def _op_gate(self, i: int, op: Op) -> None:
        vals = [(j, self.vals.get(j)) for j in op.inputs]
        units = [j for j, v in vals if v is not None and v.layout not in ("const", "stat")]
        stats = [j for j, v in vals if v is not None and v.layout == "stat"]
        if not units and stats:
            self.vals[i] = self.vals[stats[0]]
            return
        parts = [self.vals[j] for j in units if self.vals[j].layout == "part"]
        if (
            len(parts) == 2 == len(units)
            and parts[0].group == parts[1].group
            and None not in (parts[0].sel, parts[1].sel)
        ):
            a, b = parts  # chunk(2) of one projection, one half gating the other (SwiGLU)
            if a.sel[1] - a.sel[0] == b.sel[1] - b.sel[0] and a.sel != b.sel:
                self._part_gate(i, op, a, a.sel, b.sel, "gated units")
                return
        if stats or (units and units[0] != op.inputs[0]):
            op = dataclasses.replace(op, inputs=tuple(units))  # a norm's statistic: not a gate
        if len(op.inputs) == 1:
            self.vals[i] = self._val(op).keep()
            return
        same = {self.vals[j].group for j in op.inputs}
        if len(same) == 1 and all(self.vals[j].layout not in ("part", "rotated") for j in units):
            self.vals[i] = self._val(op).keep()  # x * f(x): an activation written by hand
            return
        super()._op_gate(i, op)

    def _op_add(self, i: int, op: Op) -> None:
        vals = [self.vals.get(j) for j in op.inputs]
        vals = [v for v in vals if v is not None and v.layout != "const"]
        units = [v for v in vals if v.layout != "stat"]
        if vals and not units:
            self.vals[i] = vals[0]  # a statistic plus eps
            return
        rotated = [v for v in units if v.layout == "rotated"]
        plain = [v for v in units if v.layout != "rotated"]
        groups = {v.group for v in units}
        if (
            len(groups) == 1
            and None not in groups
            and plain
            and len(units) > 1
            and all(v.layout != "part" for v in units)
        ):
            # x * cos + rotate_half(x) * sin, or x + x: the same units, no weight between them
            if rotated:
                self.junctions.append(
                    {
                        "kind": "rotary",
                        "group": self.groups[plain[0].group].name,
                        "note": "a rotation of the units by position (rotary embedding): "
                        "mixing without weights, the group is kept",
                    }
                )
            self.vals[i] = plain[0].keep()
            return
        if len(units) < len(vals):
            op = dataclasses.replace(op, inputs=tuple(j for j in op.inputs if self._not_stat(j)))
        super()._op_add(i, op)

    def _not_stat(self, j: int) -> bool:
        v = self.vals.get(j)
        return v is None or v.layout != "stat"

    def _op_chunk(self, i: int, op: Op) -> None:
        v = self._val(op, parts=True)
        self.vals[i] = v.keep(layout="chunks")
        self._chunked = getattr(self, "_chunked", {})
        self._chunked[i] = v.keep(shape_hint=self._shape(op.inputs[0]))

    def _chunk_part(self, i: int, op: Op, src: Op) -> None:
        """Part ``index`` of a chunk/split/unbind."""
        v = self._chunked[op.inputs[0]]
        axes = self._unit_axes(v)
        dim = src.attrs.get("dim")
        nd = v.nd
        on_units = dim is not None and nd is not None and axes is not None and dim % nd in axes
        if dim is not None and nd is not None and axes is not None and not on_units:
            if src.attrs.get("call") == "unbind":
                new = tuple(a - (a > dim % nd) for a in axes)
                self.vals[i] = v.keep(axes=new, nd=nd - 1)
            else:
                self.vals[i] = v.keep()
            return
        n = self.groups[v.group].size if v.sel is None else v.sel[1] - v.sel[0]
        index = op.attrs.get("index")
        if on_units and len(axes) > 1 and src.attrs.get("call") == "unbind":
            sel = self._major_pick(v, dim % nd, index)
            if sel is not None:
                self.vals[i] = sel
                return
        bounds = chunk_bounds(src.attrs.get("how"), n or 0, src.attrs.get("call", ""))
        if not on_units or bounds is None or not isinstance(index, int) or len(axes) != 1:
            raise InputError(
                f"{self._where(op)}: {src.attrs.get('call')}() of {self.groups[v.group].name!r} "
                f"along an axis netsci_dl cannot place: {self._shapes_hint()}"
            )
        a, b = bounds[index]
        self.vals[i] = self._part(v, (0, a, b, n), None)

    def _major_pick(self, v: _Val, dim: int, index: Any) -> _Val | None:
        """``x[index]`` on ``dim``, the major one of several unit axes (a fused QKV projection
        split into (3, heads, d)): the units ``[index * R, (index + 1) * R)``, a part."""
        axes = self._unit_axes(v)
        shape = v.shape_hint
        if not isinstance(index, int) or axes is None or dim != axes[0] or shape is None:
            return None
        size = shape[dim]
        R = int(np.prod([shape[a] for a in axes[1:]]))
        j = index % size
        base = v.sel[0] if v.sel else 0
        new = tuple(a - (a > dim) for a in axes[1:])
        return v.keep(layout="part", sel=(base + j * R, base + (j + 1) * R), axes=new, nd=v.nd - 1)

    def _op_getitem(self, i: int, op: Op) -> None:
        src = self.ops[op.inputs[0]] if op.inputs else None
        if src is not None and src.kind == "chunk":
            self._chunk_part(i, op, src)
            return
        try:
            super()._op_getitem(i, op)
        except InputError as e:
            v = self.vals.get(op.inputs[0])
            index = op.attrs.get("index")
            axes = self._unit_axes(v) if v is not None and v.group is not None else None
            if axes and len(axes) > 1 and isinstance(index, int):  # qkv[0] after the permute
                picked = self._major_pick(v.keep(shape_hint=self._shape(op.inputs[0])), 0, index)
                if picked is not None:
                    self.vals[i] = picked.keep(shape_hint=None)
                    return
            cut = self._unit_cut(v, index, self._shape(op.inputs[0]))
            if cut is None:
                raise e from None
            self.vals[i] = self._part(v, cut, self._shape(op.inputs[0]))

    def _part(self, v: _Val, cut: tuple[int, int, int, int], shape: Any) -> _Val:
        """The part ``cut`` = (unit axis position, start, stop, size) of ``v``: its ``sel`` (the
        units of the group) when they are contiguous (the cut is on the major unit axis)."""
        axes = self._unit_axes(v)
        pos, start, stop, _ = cut
        sel = None
        if pos == 0:
            R = 1 if len(axes) == 1 or shape is None else int(np.prod([shape[a] for a in axes[1:]]))
            base = v.sel[0] if v.sel else 0
            sel = (base + start * R, base + stop * R)
        return v.keep(layout="part", sel=sel, cut=cut, parent=v)

    def _unit_cut(self, v: _Val | None, index: Any, shape: Any) -> tuple[int, int, int, int] | None:
        """(unit axis position, start, stop, axis size) when ``index`` only slices one unit
        axis of ``v`` (``x[..., : d // 2]``)."""
        if v is None or v.group is None or v.nd is None or self.groups[v.group].size is None:
            return None
        axes = self._unit_axes(v)
        idx = list(index) if isinstance(index, tuple) else [index]
        if axes is None or None in idx or idx.count(Ellipsis) > 1:
            return None
        if Ellipsis in idx:
            at = idx.index(Ellipsis)
            idx[at : at + 1] = [slice(None)] * (v.nd - len(idx) + 1)
        idx += [slice(None)] * (v.nd - len(idx))
        cut = [d for d, it in enumerate(idx) if it != slice(None)]
        if len(cut) != 1 or cut[0] not in axes:
            return None
        d = cut[0]
        if len(axes) == 1:
            n = self.groups[v.group].size if v.sel is None else v.sel[1] - v.sel[0]
        elif shape is not None:
            n = int(shape[d])
        else:
            return None
        it = idx[d]
        if not isinstance(it, slice) or it.step not in (None, 1):
            return None
        start, stop, _ = it.indices(n)
        return (axes.index(d), start, stop, n) if stop > start else None

    def _op_cat(self, i: int, op: Op) -> None:
        vals = [self.vals.get(j) for j in op.inputs]
        vals = [v for v in vals if v is not None and v.layout != "const"]
        if not any(v.layout == "part" for v in vals):
            super()._op_cat(i, op)
            return
        nd_ = vals[0].nd
        axes = self._unit_axes(vals[0])
        dim = int(op.attrs.get("dim", 0))
        if nd_ is not None and axes is not None and dim % nd_ not in axes:
            if len({(v.group, v.sel, v.cut, v.layout) for v in vals}) != 1:
                self._refuse_partial(op, next(v for v in vals if v.layout == "part"))
            self.vals[i] = vals[0]  # along the tokens (a key/value cache): the same part
            return
        parent = vals[0].parent
        cuts = [v.cut for v in vals]
        ok = (
            parent is not None
            and all(v.layout == "part" and v.parent is parent for v in vals)
            and len({c[0] for c in cuts}) == 1
            and axes is not None
            and nd_ is not None
            and axes[cuts[0][0]] == dim % nd_
        )
        spans = sorted((c[1], c[2]) for c in cuts) if ok else []
        ok = ok and spans[0][0] == 0 and spans[-1][1] == cuts[0][3]
        ok = ok and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        if not ok:
            self._refuse_partial(op, next(v for v in vals if v.layout == "part"))
        if [(c[1], c[2]) for c in cuts] == spans:  # cut and put back in order: the same units
            self.vals[i] = parent
        elif parent.layout == "part":
            self._refuse_partial(op, parent)
        else:  # rotate_half: the units of the parent, rotated
            self.vals[i] = parent.keep(layout="rotated")

    def _relayout(self, v: _Val) -> _Val:
        from netsci_dl.export._dataflow_shapes import layout_of

        return v.keep(layout=layout_of(v.axes, v.nd)) if v.axes is not None else v

    def _op_glu(self, i: int, op: Op) -> None:
        """``a * sigmoid(b)`` of the two halves of the units: a group of the first half (an
        identity block from it), the second half ends in a gate junction."""
        v = self._val(op)
        axes = self._unit_axes(v)
        dim = int(op.attrs.get("dim", -1))
        if axes is not None and v.nd is not None and dim % v.nd not in axes:
            self.vals[i] = v.keep()  # halves of another axis gate each other: units kept
            return
        grp = self.groups[v.group]
        if grp.size is None or grp.size % 2:
            raise InputError(f"{self._where(op)}: GLU of {grp.name!r}, of odd or unknown size")
        h = grp.size // 2
        self._part_gate(i, op, v, (0, h), (h, grp.size), "GLU")

    def _part_gate(
        self, i: int, op: Op, v: _Val, kept: tuple[int, int], gate: tuple[int, int], what: str
    ) -> None:
        """Units ``kept`` of ``v``'s group gated by its units ``gate`` (GLU, a fused SwiGLU): a
        group of the kept units (an identity block from them); the gate ends in a junction."""
        grp = self.groups[v.group]
        n, (a, b) = grp.size, kept
        G = self._new_group(op.name or what.lower(), b - a, "gate", i)
        block = sp.csr_array(
            (np.ones(b - a), (np.arange(a, b), np.arange(b - a))), shape=(n, b - a)
        )
        self._add_piece(
            v.group,
            G,
            "identity",
            block,
            name=f"identity {grp.name} -> {op.name}",
            note=f"identity from units {a}:{b}",
            layer_type="identity",
        )
        self.junctions.append(
            {
                "kind": "gate",
                "group": self.groups[G].name,
                "gated_by": [f"{grp.name}[{gate[0]}:{gate[1]}]"],
                "note": f"{what}: units {gate[0]}:{gate[1]} gate units {a}:{b}; the gate ends here",
            }
        )
        self.vals[i] = v.keep(G, layout=v.layout if v.layout != "part" else "tokens", sel=None)
        self.vals[i] = self._relayout(self.vals[i])
