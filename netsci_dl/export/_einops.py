"""``einops.rearrange`` as shape ops: a pattern that only moves, splits or merges axes is a reshape
(the split), a permute and a reshape (the merge), which the resolver follows like torch's own
(:mod:`netsci_dl.export._dataflow_shapes`). Patterns are parsed here, without einops' private
helpers: names, parenthesised groups, ``1`` / ``()`` for an axis of size one, anonymous sizes
(``(h 2)``) and one ``...``. Repetition (an axis only on the right) and reduction (an axis only
on the left) are not rearrangements: they are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from netsci_dl.export._ops import Op

__all__ = ["rearrange_steps", "rearrange_op", "is_rearrange_module"]

_TOKEN = re.compile(r"\.\.\.|\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+")


def _parse(side: str) -> list[list[str]]:
    """The groups of one side of a pattern: each a list of elementary axis names (anonymous
    sizes as ``"#<size>"``, an ellipsis as ``"..."``, or ``"...g"`` inside parentheses); ``1``
    and ``()`` are empty groups."""
    tokens = _TOKEN.findall(side)
    if "".join(tokens) != re.sub(r"\s+", "", side):
        raise ValueError(f"cannot read the pattern {side.strip()!r}")
    groups: list[list[str]] = []
    cur: list[str] | None = None
    for t in tokens:
        if t == "(":
            if cur is not None:
                raise ValueError("nested parentheses")
            cur = []
        elif t == ")":
            if cur is None:
                raise ValueError("unbalanced parentheses")
            groups.append(cur)
            cur = None
        else:
            name = "" if t == "1" else (f"#{t}" if t.isdigit() else t)
            if cur is not None:
                name = "...g" if name == "..." else name  # an ellipsis merged into one axis
                if name:
                    cur.append(name)
            else:
                groups.append([name] if name else [])
    if cur is not None:
        raise ValueError("unbalanced parentheses")
    return groups


def _expand_ellipsis(groups: list[list[str]], n_other: int) -> list[list[str]]:
    """The groups with ``...`` replaced by ``n_other`` axes (standalone, or inside its group)."""
    out: list[list[str]] = []
    dots = [f"...{j}" for j in range(n_other)]
    for g in groups:
        if g == ["..."]:
            out.extend([d] for d in dots)
        elif "...g" in g:
            j = g.index("...g")
            out.append(g[:j] + dots + g[j + 1 :])
        else:
            out.append(g)
    return out


def _prod(xs: Sequence[int]) -> int:
    p = 1
    for x in xs:
        p *= int(x)
    return p


def rearrange_steps(
    pattern: str, in_shape: Sequence[int], axes_lengths: Mapping[str, int] | None = None
) -> list[tuple[str, tuple[int, ...]]]:
    """The shape ops of ``einops.rearrange(x, pattern, **axes_lengths)`` on a tensor of
    ``in_shape``: ``("reshape", shape)`` and ``("permute", perm)`` in order (the split, the move,
    the merge; the ones that change nothing are left out). Raises ValueError (the reason) for a
    pattern that is not a rearrangement of this shape.

    Examples
    --------
    >>> rearrange_steps("b c h w -> b (h w) c", (2, 8, 3, 4))
    [('permute', (0, 2, 3, 1)), ('reshape', (2, 12, 8))]
    >>> rearrange_steps("b (c p) -> b p c", (1, 6), {"p": 2})
    [('reshape', (1, 3, 2)), ('permute', (0, 2, 1))]
    >>> rearrange_steps("b ... c -> b c ...", (1, 3, 4, 5))
    [('permute', (0, 3, 1, 2))]
    """
    lengths = dict(axes_lengths or {})
    if pattern.count("->") != 1:
        raise ValueError(f"{pattern!r} is not a pattern 'left -> right'")
    left_s, right_s = pattern.split("->")
    left, right = _parse(left_s), _parse(right_s)
    n_dots = sum(g.count("...") + g.count("...g") for g in left)
    if n_dots > 1 or sum(g.count("...") + g.count("...g") for g in right) != n_dots:
        raise ValueError("an ellipsis must appear once on each side, or on neither")
    n_other = len(in_shape) - (len(left) - n_dots)
    if n_dots and (n_other < 0 or any("...g" in g for g in left)):
        raise ValueError("the ellipsis on the left must stand alone")
    left, right = _expand_ellipsis(left, n_other), _expand_ellipsis(right, n_other)
    if len(left) != len(in_shape):
        raise ValueError(f"{len(left)} axes on the left, the input has {len(in_shape)}")
    names_l = [a for g in left for a in g]
    names_r = [a for g in right for a in g]
    if len(set(names_l)) != len(names_l) or sorted(names_l) != sorted(names_r):
        raise ValueError(
            "the axes differ between the two sides (a repeat or a reduction, not a rearrangement)"
        )
    size: dict[str, int] = {}
    for g, dim in zip(left, in_shape):
        known = {a: int(a[1:]) if a.startswith("#") else lengths.get(a) for a in g}
        unknown = [a for a, n in known.items() if n is None]
        fixed = _prod([n for n in known.values() if n is not None])
        if len(unknown) > 1:
            raise ValueError(f"the sizes of {' and '.join(unknown)} are not given")
        if unknown:
            if fixed == 0 or int(dim) % fixed:
                raise ValueError(f"an axis of {dim} does not split into {g}")
            known[unknown[0]] = int(dim) // fixed
        elif _prod(list(known.values())) != int(dim):
            raise ValueError(f"an axis of {dim} does not split into {g}")
        size.update({a: int(n) for a, n in known.items()})
    steps: list[tuple[str, tuple[int, ...]]] = []
    split = tuple(size[a] for a in names_l)
    if split != tuple(int(d) for d in in_shape):
        steps.append(("reshape", split))
    perm = tuple(names_l.index(a) for a in names_r)
    if perm != tuple(range(len(perm))):
        steps.append(("permute", perm))
    merged = tuple(_prod([size[a] for a in g]) for g in right)
    if merged != tuple(size[a] for a in names_r):
        steps.append(("reshape", merged))
    return steps


def is_rearrange_module(m: Any) -> bool:
    """Whether ``m`` is an ``einops.layers.torch.Rearrange`` layer (einops imported or not)."""
    return any(
        c.__name__ == "Rearrange" and c.__module__.startswith("einops.") for c in type(m).__mro__
    )


def rearrange_op(
    ids: tuple[int, ...],
    name: str,
    pattern: Any,
    lengths: Mapping[str, Any],
    in_shape: Sequence[int] | None,
) -> Op:
    """The op of a rearrangement of the data ``ids``: ``rearrange`` with its ``steps`` when the
    input's shape is known (without them the resolver refuses, asking for the shapes), or an
    ``unknown`` op naming the pattern when it is not a rearrangement of that shape."""
    desc = f"einops rearrange {pattern!r}"
    if len(ids) != 1 or not isinstance(pattern, str):
        return Op("unknown", ids, name, attrs={"desc": f"{desc} of several tensors"})
    attrs: dict[str, Any] = {"call": desc, "pattern": pattern, "in_shape": in_shape}
    if in_shape is not None:
        try:
            attrs["steps"] = rearrange_steps(pattern, in_shape, dict(lengths))
        except ValueError as e:
            return Op("unknown", ids, name, attrs={"desc": f"{desc}: {e}"})
    return Op("rearrange", ids, name, attrs=attrs)
