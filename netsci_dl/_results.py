"""The results contract's helpers: short reprs and JSON-able values.

DESIGN.md, "Conventions": a result's ``repr`` names the class, the sizes and the key scalars,
never an array, in under :data:`MAX_REPR` characters whatever the number of layers, snapshots
or nodes (:func:`summary`). Options and configs show the fields that differ from their defaults
(every field without a default always), as scikit-learn prints an estimator
(:func:`changed_only`). ``to_dict()`` gives JSON's own types only (:func:`plain`).

Examples
--------
>>> summary("Fit", n=3, value=0.123456789, layers=tuple(f"layer{i}" for i in range(10)))
"Fit(n=3, value=0.1235, layers=('layer0', 'layer1', ..., 'layer9'; 10))"
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence
from typing import Any

__all__ = ["MAX_REPR", "cap", "short", "summary", "changed_only", "plain"]

#: every repr is shorter than this
MAX_REPR = 300
_MAX_ITEM = 60


def _text(s: str) -> str:
    r = repr(s)
    return r if len(r) <= _MAX_ITEM else repr(s[: _MAX_ITEM - 10]) + "..."


def short(v: Any, *, exact: bool = False) -> str:
    """A short text for one value: floats to 4 significant digits (``exact``: as repr), long
    strings cut, long sequences as their ends and length, arrays as their shape and dtype."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if hasattr(v, "shape") and hasattr(v, "dtype"):  # ndarray, tensor, sparse array
        return f"<{'x'.join(str(int(s)) for s in v.shape)} {v.dtype}>"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v)) if exact else f"{float(v):.4g}"
    if isinstance(v, str):
        return _text(v)
    if isinstance(v, dict):
        if not v:
            return "{}"
        inner = ", ".join(f"{k!r}: {short(x, exact=exact)}" for k, x in v.items())
        return "{" + inner + "}" if len(inner) <= _MAX_ITEM else f"{{... {len(v)} keys}}"
    if isinstance(v, Sequence) and not isinstance(v, bytes):
        items = [short(x, exact=exact) for x in v]
        open_, close = ("[", "]") if isinstance(v, list) else ("(", ")")
        if len(items) == 1 and open_ == "(":
            return f"({items[0]},)"
        inner = ", ".join(items)
        if len(inner) <= _MAX_ITEM:
            return open_ + inner + close
        return f"{open_}{items[0]}, {items[1]}, ..., {items[-1]}; {len(items)}{close}"
    if dataclasses.is_dataclass(v) or type(v).__repr__ is not object.__repr__:
        r = repr(v)  # a nested options object; never a model's many lines
        if len(r) <= 2 * _MAX_ITEM and "\n" not in r:
            return r
    return f"<{type(v).__name__}>"


def cap(text: str) -> str:
    """``text`` cut to under :data:`MAX_REPR` characters (ending ``...)`` when cut)."""
    return text if len(text) < MAX_REPR else text[: MAX_REPR - 5] + "...)"


def summary(name: str, *args: str, **fields: Any) -> str:
    """``name(arg, ..., key=value, ...)``: ``args`` as given, ``fields`` through :func:`short`
    (a field whose value is None is left out); cut to under :data:`MAX_REPR` characters."""
    parts = [*args, *(f"{k}={short(v)}" for k, v in fields.items() if v is not None)]
    return cap(f"{name}({', '.join(parts)})")


def changed_only(obj: Any) -> str:
    """The repr of an options or config dataclass: the fields without a default, then those
    that differ from it, values exact (strings and sequences shortened).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Opts:
    ...     layers: tuple
    ...     lr: float = 0.1
    ...     seed: int = 0
    >>> changed_only(Opts((784, 500), seed=3))
    'Opts(layers=(784, 500), seed=3)'
    """
    parts = []
    for f in dataclasses.fields(obj):
        if not f.repr:
            continue
        v = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            parts.append(f"{f.name}={short(v, exact=True)}")
            continue
        try:
            same = bool(v == default)
        except (TypeError, ValueError):
            same = False
        if not same:
            parts.append(f"{f.name}={short(v, exact=True)}")
    return cap(f"{type(obj).__name__}({', '.join(parts)})")


def plain(v: Any) -> Any:
    """``v`` with JSON's own types only: numpy scalars and arrays as Python numbers and lists,
    tuples as lists, missing values (``pd.NA``, ``NaT``) as None, paths and other objects as
    their text.

    Examples
    --------
    >>> import numpy as np
    >>> plain({"a": np.float32(0.5), "b": (np.int64(1), np.arange(2)), 3: None})
    {'a': 0.5, 'b': [1, [0, 1]], '3': None}
    """
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if hasattr(v, "tolist") and hasattr(v, "dtype"):  # numpy scalar or array
        return plain(v.tolist())
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    try:
        import pandas as pd

        if pd.isna(v):
            return None
    except (ImportError, TypeError, ValueError):
        pass
    return str(v)
