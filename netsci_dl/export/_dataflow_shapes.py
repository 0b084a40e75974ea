"""Shape ops of the data-flow resolution: where the unit axis goes through permutes, transposes,
reshapes, flattens, indexing and broadcasts.

With the shapes of one forward pass known (torch.fx with an example input, or the recorder), the
unit axes of every value are tracked exactly: a permute moves them, a reshape keeps them whole,
splits them (attention heads) or merges them with other features on one axis (a flatten: the
``outer``/``inner`` sizes say which features of that axis belong to which unit, so a Linear layer
reading it is aggregated in the order the model really flattens). An op that mixes units with
the batch, selects some units or repeats them is refused, naming it. Without shapes, the loose
rules of :mod:`netsci_dl.export._dataflow_junctions` apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netsci_dl.errors import InputError
from netsci_dl.export._ops import Op, _Val

__all__ = ["ShapeOps", "reshape_units", "permutation", "layout_of"]


def _prod(xs: Sequence[int]) -> int:
    out = 1
    for x in xs:
        out *= int(x)
    return out


def layout_of(axes: tuple[int, ...] | None, nd: int | None, merged: bool = False) -> str:
    """The layout name of units on ``axes`` of an ``nd``-axis value.

    Examples
    --------
    >>> layout_of((1,), 2), layout_of((1,), 4), layout_of((3,), 4), layout_of((2,), 4)
    ('vector', 'spatial', 'tokens', 'moved')
    """
    if axes is None or nd is None:
        return "unknown"
    if len(axes) > 1:
        return "heads"
    a = axes[0]
    if merged:
        return "flat" if a == nd - 1 else "moved"
    if nd == 2 and a == 1:
        return "vector"
    if a == 1:
        return "spatial"
    return "tokens" if a == nd - 1 else "moved"


def permutation(name: str, args: Sequence[Any], nd: int) -> tuple[int, ...] | None:
    """The permutation (new axis j takes old axis ``perm[j]``) of a permute-like call, or None
    when its arguments are not plain ints.

    Examples
    --------
    >>> permutation("permute", [(0, 2, 1, 3)], 4)
    (0, 2, 1, 3)
    >>> permutation("transpose", [1, -1], 3)
    (0, 2, 1)
    >>> permutation("movedim", [1, -1], 4)
    (0, 2, 3, 1)
    """
    a = list(args)
    if len(a) == 1 and isinstance(a[0], (list, tuple)):
        a = list(a[0])
    if not all(isinstance(x, int) for x in a):
        return None
    if name == "permute":
        return tuple(x % nd for x in a) if len(a) == nd else None
    perm = list(range(nd))
    if name in ("transpose", "swapaxes", "swapdims") and len(a) == 2:
        i, j = a[0] % nd, a[1] % nd
        perm[i], perm[j] = perm[j], perm[i]
        return tuple(perm)
    if name == "t" and nd == 2:
        return (1, 0)
    if name in ("movedim", "moveaxis") and len(a) == 2:
        src, dst = a[0] % nd, a[1] % nd
        perm.remove(src)
        perm.insert(dst, src)
        return tuple(perm)
    return None


def reshape_units(
    in_shape: Sequence[int],
    axes: tuple[int, ...],
    out_shape: Sequence[int],
    n_units: int,
    flat: tuple[int, int] | None = None,
) -> tuple[tuple[int, ...], tuple[int, int] | None]:
    """Where ``n_units`` units on ``axes`` of ``in_shape`` go in ``out_shape`` after a reshape.

    ``flat``: the units share their one axis with other features, ``(outer, inner)`` of them
    (feature ``f`` of that axis belongs to unit ``(f // inner) % n_units``). Returns the new unit
    axes and, when they are merged with other features on one axis, its ``(outer, inner)``.
    Raises ValueError (the reason) when the reshape mixes the units with the batch, or splits
    them across axes that hold other features too.

    Examples
    --------
    >>> reshape_units((1, 4, 3, 2), (1,), (1, 24), 4)      # torch's flatten: channel-major
    ((1,), (1, 6))
    >>> reshape_units((1, 3, 4, 1), (2,), (1, 12), 4)      # channels after time (CREPE)
    ((1,), (3, 1))
    >>> reshape_units((1, 5, 8), (2,), (1, 5, 2, 4), 8)    # heads: split, each axis whole
    ((2, 3), None)
    >>> reshape_units((1, 24), (1,), (1, 4, 6), 4, flat=(1, 6))  # unflatten back
    ((1,), None)
    """
    if flat is not None:
        a = axes[0]
        outer, inner = flat
        vin = tuple(in_shape[:a]) + (outer, n_units, inner) + tuple(in_shape[a + 1 :])
        a += 1
    else:
        a = axes[0]
        if tuple(axes) != tuple(range(a, a + len(axes))):
            raise ValueError("the units lie on axes that are not adjacent")
        vin = tuple(in_shape[:a]) + (n_units,) + tuple(in_shape[a + len(axes) :])
    if _prod(vin) != _prod(out_shape):
        raise ValueError(f"shape {tuple(in_shape)} does not reshape to {tuple(out_shape)}")
    P, S, C = _prod(vin[:a]), _prod(vin[a + 1 :]), n_units
    out = [int(s) for s in out_shape]
    pre = [_prod(out[:b]) for b in range(len(out) + 1)]
    for b in range(len(out)):
        if pre[b] == P and out[b] == C:
            return (b,), None
    for b in range(len(out)):
        if pre[b] == P:
            for e in range(b + 2, len(out) + 1):
                if _prod(out[b:e]) == C:
                    return tuple(range(b, e)), None
    for b in range(len(out)):
        Q = _prod(out[b + 1 :])
        if P % pre[b] == 0 and S % Q == 0 and out[b] == (P // pre[b]) * C * (S // Q):
            if b == 0 and P > 1:
                raise ValueError("it merges the units with the batch axis")
            return (b,), (P // pre[b], S // Q)
    raise ValueError("it splits the units across axes that hold other features too")


def index_units(
    index: Any, nd: int, axes: tuple[int, ...], shape: Sequence[int] | None
) -> tuple[int, ...]:
    """The unit axes after ``x[index]``; raises ValueError when the index selects some units.

    Examples
    --------
    >>> index_units((slice(None), None, slice(None), None), 2, (1,), None)   # x[:, None, :, None]
    (2,)
    >>> index_units((Ellipsis, None), 3, (2,), None), index_units((slice(None), 0), 3, (2,), None)
    ((2,), (1,))
    """
    idx = list(index) if isinstance(index, tuple) else [index]
    n_real = sum(1 for x in idx if x is not None and x is not Ellipsis)
    if idx.count(Ellipsis) > 1 or n_real > nd:
        raise ValueError(f"an index {index!r} this op map does not read")
    if Ellipsis in idx:
        at = idx.index(Ellipsis)
        idx[at : at + 1] = [slice(None)] * (nd - n_real)
    idx += [slice(None)] * (nd - sum(1 for x in idx if x is not None))
    where: dict[int, int] = {}
    d = o = 0
    for it in idx:
        if it is None:
            o += 1
            continue
        size = None if shape is None or d >= len(shape) else int(shape[d])
        if isinstance(it, int) and not isinstance(it, bool):
            if d in axes and size != 1:
                raise ValueError(f"{index!r} selects one unit")
            d += 1
            continue
        if d in axes and not _whole(it, size):
            raise ValueError(f"{index!r} selects some of the units")
        where[d] = o
        d += 1
        o += 1
    return tuple(where[a] for a in axes if a in where)


def _whole(it: Any, size: int | None) -> bool:
    """``it`` (a slice) keeps every entry of an axis of ``size`` entries."""
    if not isinstance(it, slice) or it.step not in (None, 1):
        return False
    start, stop = it.start or 0, it.stop
    if start not in (0,) and not (size is not None and start % size == 0 and start == -size):
        return False
    return stop is None or (size is not None and stop >= size)


class ShapeOps:
    """The op handlers of shape ops with exact unit axes (a mixin of the resolver, before
    :class:`~netsci_dl.export._dataflow_junctions.JunctionOps`, whose loose rules are the
    fallback when the shapes are unknown)."""

    def _shape(self, j: int) -> tuple[int, ...] | None:
        s = self.ops[j].attrs.get("shape") if 0 <= j < len(self.ops) else None
        return tuple(int(x) for x in s) if isinstance(s, (tuple, list)) else None

    def _unit_axes(self, v: _Val) -> tuple[int, ...] | None:
        """The unit axes of ``v``: recorded, or read from its layout when its axes are known."""
        if v.axes is not None or v.nd is None:
            return v.axes
        if v.layout in ("vector", "spatial", "flat"):
            return (1,)
        return (v.nd - 1,) if v.layout == "tokens" else None

    def _flat_of(self, v: _Val) -> tuple[int, int] | None:
        if v.layout != "flat" or v.k is None:
            return None
        inner = v.k if v.inner is None else v.inner
        return (v.k // inner, inner)

    def _exact(self, op: Op, v: _Val) -> tuple[tuple[int, ...], tuple[int, ...], tuple] | None:
        """(input shape, output shape, unit axes) when all three are known."""
        ins = self._shape(op.inputs[0]) if op.inputs else None
        if ins is None and op.attrs.get("in_shape") is not None:
            ins = tuple(op.attrs["in_shape"])
        out = op.attrs.get("shape")
        axes = self._unit_axes(v)
        if ins is None or out is None or axes is None or v.nd not in (None, len(ins)):
            return None
        return tuple(ins), tuple(int(s) for s in out), axes

    def _set(
        self, i: int, v: _Val, axes: tuple[int, ...], nd: int, flat: tuple | None = None
    ) -> None:
        k = None if flat is None else flat[0] * flat[1]
        inner = None if flat is None else flat[1]
        layout = layout_of(axes, nd, merged=flat is not None)
        if v.layout in ("part", "rotated"):
            layout = v.layout  # still a part of the units (their axes tracked all the same)
        self.vals[i] = v.keep(layout=layout, nd=nd, axes=axes, k=k, inner=inner)

    def _refuse_shape(self, op: Op, v: _Val, why: str) -> None:
        name = self.groups[v.group].name
        raise InputError(
            f"{self._where(op)}: {op.attrs.get('call', op.kind)} of {name!r}: {why}; the units "
            "would mix in a way no weight describes, so netsci_dl does not export it"
        )

    def _untouched_input(self, v: _Val) -> bool:
        grp = self.groups[v.group]
        touched = any(s == v.group or d == v.group for s, d, _ in self.pieces)
        return grp.origin == "input" and not touched

    def _op_reshape(self, i: int, op: Op) -> None:
        v = self._val(op, parts=True)
        ex = self._exact(op, v)
        if ex is None or v.group is None or self.groups[v.group].size is None:
            super()._op_reshape(i, op)
            return
        ins, out, axes = ex
        if ins == out:
            self.vals[i] = v.keep()
            return
        if self._untouched_input(v) and len(out) >= 4 and v.layout not in ("flat", "part"):
            self.groups[v.group].size = int(out[1])  # rows reshaped into images: channels
            self._set(i, v, (1,), len(out))
            return
        n = self.groups[v.group].size if v.sel is None else v.sel[1] - v.sel[0]
        try:
            new, flat = reshape_units(ins, axes, out, n, self._flat_of(v))
        except ValueError as e:
            self._refuse_shape(op, v, str(e))
        self._set(i, v, new, len(out), flat)

    def _op_flatten(self, i: int, op: Op) -> None:
        v = self._val(op, parts=True)
        if self._exact(op, v) is None:
            super()._op_flatten(i, op)
            return
        self._op_reshape(i, op)

    def _op_permute(self, i: int, op: Op) -> None:
        from netsci_dl.export._dataflow_junctions import JunctionOps

        v = self._val(op, parts=True)
        ins = self._shape(op.inputs[0])
        nd = len(ins) if ins is not None else v.nd
        axes = self._unit_axes(v) if nd is not None else None
        perm = None
        if nd is not None:
            perm = op.attrs.get("perm") or permutation(op.attrs["call"], op.attrs["args"], nd)
        if ins is not None and axes is not None and perm is None:
            self._refuse_shape(op, v, f"its axes {op.attrs.get('args')} are not plain numbers")
        if axes is None or perm is None:
            JunctionOps._op_reshape(self, i, op)  # the loose rule: the layout is kept
            return
        if perm[0] != 0 and not (perm[0] == axes[0] and len(axes) > 1):
            # a fused projection's part axis may go first (qkv.permute(2, 0, 3, 1, 4)), to be
            # taken apart next; anything else moves the batch among the units
            self._refuse_shape(op, v, "it moves the batch axis")
        new = tuple(perm.index(a) for a in axes)
        flat = self._flat_of(v)
        if flat is not None:
            self._set(i, v, new, nd, flat)
        else:
            self._set(i, v, new, nd)

    def _op_rearrange(self, i: int, op: Op) -> None:
        """``einops.rearrange``: its split, move and merge (``steps``, read from the pattern and
        the input's shape) followed as a reshape, a permute and a reshape."""
        v = self._val(op, parts=True)
        steps, shape = op.attrs.get("steps"), op.attrs.get("in_shape")
        axes = self._unit_axes(v) if v.group is not None else None
        if steps is None or shape is None:
            raise InputError(
                f"{self._where(op)}: {op.attrs.get('call')} of "
                f"{self.groups[v.group].name!r}: the shapes are not known; {self._shapes_hint()}"
            )
        n = self.groups[v.group].size
        if axes is None or n is None:
            self._refuse_shape(op, v, "the units' axis before it is not known")
        n = n if v.sel is None else v.sel[1] - v.sel[0]
        flat = self._flat_of(v)
        shape = tuple(int(s) for s in shape)
        for kind, arg in steps:
            if kind == "permute":
                if arg[0] != 0:
                    self._refuse_shape(op, v, "it moves the batch axis")
                axes, shape = tuple(arg.index(a) for a in axes), tuple(shape[a] for a in arg)
                continue
            try:
                axes, flat = reshape_units(shape, axes, arg, n, flat)
            except ValueError as e:
                self._refuse_shape(op, v, str(e))
            shape = tuple(arg)
        self._set(i, v, axes, len(shape), flat)

    def _op_expand(self, i: int, op: Op) -> None:
        v = self._val(op, parts=True)
        ins, out = self._shape(op.inputs[0]), op.attrs.get("shape")
        axes = self._unit_axes(v)
        if ins is None or out is None or axes is None:
            self.vals[i] = v.keep()
            return
        shift = len(out) - len(ins)
        new = tuple(a + shift for a in axes)
        if any(int(out[n]) != int(ins[a]) for a, n in zip(axes, new)):
            self._refuse_shape(op, v, "it repeats the units (like cat(h, h))")
        if shift == 0 and int(out[0]) != int(ins[0]):
            self._refuse_shape(op, v, "it repeats the batch")
        self._set(i, v, new, len(out), self._flat_of(v))

    def _op_getitem(self, i: int, op: Op) -> None:
        src = self.ops[op.inputs[0]] if op.inputs else None
        v = self.vals.get(op.inputs[0]) if op.inputs else None
        nd = v.nd if v is not None else None
        axes = self._unit_axes(v) if v is not None and v.group is not None else None
        if (
            src is None
            or src.kind in ("mha", "recurrent")
            or axes is None
            or nd is None
            or v.layout == "flat"
        ):
            super()._op_getitem(i, op)
            return
        index = op.attrs.get("index")
        try:
            new = index_units(index, nd, axes, self._shape(op.inputs[0]))
        except ValueError as e:
            self._refuse_shape(op, v, str(e))
        out = op.attrs.get("shape")
        n_out = len(out) if out is not None else None
        if n_out is None:
            idx = index if isinstance(index, tuple) else (index,)
            n_out = nd + sum(x is None for x in idx) - sum(isinstance(x, int) for x in idx)
        self._set(i, v, new, n_out)
