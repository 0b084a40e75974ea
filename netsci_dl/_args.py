"""Argument checks shared by the public functions: one wording for counts and real numbers.

A bad argument is the caller's error: :class:`~netsci_dl.errors.InputError` (a ``ValueError``)
naming the argument, the value and what was expected, raised before any work is done.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from netsci_dl.errors import InputError

__all__ = ["count", "real"]


def count(name: str, value: Any, *, lo: int = 1, hi: int | None = None) -> int:
    """``value`` as an int in ``[lo, hi]``; bools, fractions, NaN and strings are refused.

    Examples
    --------
    >>> count("n_iter", 30.0)
    30
    >>> count("n_iter", 0)
    Traceback (most recent call last):
    ...
    netsci_dl.errors.InputError: n_iter=0: expected an integer >= 1
    """
    bounds = f">= {lo}" if hi is None else f"in [{lo}, {hi:,}]"
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok and isinstance(value, numbers.Real) and not isinstance(value, bool):
        ok = math.isfinite(value) and float(value).is_integer()
    if not ok or value < lo or (hi is not None and value > hi):
        raise InputError(f"{name}={value!r}: expected an integer {bounds}")
    return int(value)


def real(
    name: str,
    value: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
) -> float:
    """``value`` as a finite float with ``lo <= value <= hi`` (``lo < value`` if ``lo_open``).

    Examples
    --------
    >>> real("tol", 1e-3, lo=0, lo_open=True)
    0.001
    >>> real("tol", float("nan"), lo=0, lo_open=True)
    Traceback (most recent call last):
    ...
    netsci_dl.errors.InputError: tol=nan: expected a finite number > 0
    """
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"<= {hi:g}")
    want = "a finite number" + (" " + " and ".join(parts) if parts else "")
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise InputError(f"{name}={value!r}: expected {want}")
    v = float(value)
    bad = not math.isfinite(v)
    bad = bad or (lo is not None and (v <= lo if lo_open else v < lo))
    bad = bad or (hi is not None and v > hi)
    if bad:
        raise InputError(f"{name}={value!r}: expected {want}")
    return v
