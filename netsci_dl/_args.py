"""Argument checks shared by the public functions: one wording for counts and real numbers.

A bad argument is the caller's error: :class:`~netsci_dl.errors.InputError` (a ``ValueError``)
naming the argument, the value and what was expected, raised before any work is done.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from netsci_dl.errors import InputError

__all__ = ["count", "real", "seed", "sample", "device_name", "check_fields", "MAX_SEED"]

#: the largest seed: numpy's SeedSequence and torch's manual_seed take any int up to 2**63 - 1
MAX_SEED = 2**63 - 1


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


def seed(name: str, value: Any, *, generator: bool = False, none: bool = True) -> Any:
    """``value`` as a seed: None (unless ``none=False``), an integer in ``[0, 2**63 - 1]`` (an
    integral float too), or, with ``generator``, a ``numpy.random.Generator`` (returned as is).

    Examples
    --------
    >>> seed("seed", 7.0), seed("seed", None)
    (7, None)
    >>> seed("seed", -1)
    Traceback (most recent call last):
    ...
    netsci_dl.errors.InputError: seed=-1: expected None or an integer in [0, 9,223,372,036,854,775,807]
    """
    if value is None and none:
        return None
    if generator:
        import numpy as np

        if isinstance(value, np.random.Generator):
            return value
    try:
        return count(name, value, lo=0, hi=MAX_SEED)
    except InputError:
        raise InputError(
            f"{name}={value!r}: expected {'None or ' if none else ''}an integer in [0, {MAX_SEED:,}]"
            + (" or a numpy Generator" if generator else "")
        ) from None


def sample(name: str, value: Any, *, min_size: int = 1, ndim: int | None = 1) -> Any:
    """``value`` as a float64 ndarray of finite numbers with at least ``min_size`` entries (and
    ``ndim`` dimensions when given), else InputError naming ``name``.

    Examples
    --------
    >>> sample("x", [1, 2.5]).tolist()
    [1.0, 2.5]
    >>> sample("x", [])
    Traceback (most recent call last):
    ...
    netsci_dl.errors.InputError: x: expected at least 1 value, got an empty array
    """
    import numpy as np

    from netsci_dl._array import to_numpy

    try:
        a = to_numpy(value)
    except (TypeError, ValueError, RuntimeError) as e:
        raise InputError(f"{name}: expected an array of numbers ({e})") from None
    if a.dtype.kind not in "biuf":
        raise InputError(f"{name}: expected an array of numbers, got dtype {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise InputError(f"{name}: expected a {ndim}-d array, got shape {a.shape}")
    if a.size < min_size:
        what = "an empty array" if a.size == 0 else f"{a.size}"
        plural = "" if min_size == 1 else "s"
        raise InputError(f"{name}: expected at least {min_size} value{plural}, got {what}")
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all():
        raise InputError(f"{name}: {int((~np.isfinite(a)).sum())} value(s) are NaN or infinite")
    return a


_DEVICE = re.compile(r"(cpu|cuda(:\d+)?|auto)\Z")


def device_name(name: str, value: Any) -> Any:
    """``value`` unchanged when it names a device :func:`netsci_dl._array.resolve_device`
    takes (None, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"`` or a ``torch.device``), else
    InputError. Only the spelling: whether CUDA is there is checked when the device is used
    (a setting written on a GPU machine is read on a CPU one).

    Examples
    --------
    >>> device_name("device", "cuda:1")
    'cuda:1'
    >>> device_name("device", "tpu")
    Traceback (most recent call last):
    ...
    netsci_dl.errors.InputError: device='tpu': expected cpu, cuda, cuda:N or auto
    """
    if value is None or type(value).__name__ == "device":
        return value
    if not isinstance(value, str) or not _DEVICE.match(value):
        raise InputError(f"{name}={value!r}: expected cpu, cuda, cuda:N or auto")
    return value


def check_fields(
    obj: Any,
    *,
    counts: dict[str, tuple[int, int | None]] | None = None,
    reals: dict[str, tuple[float | None, float | None, bool]] | None = None,
    seeds: tuple[str, ...] = (),
    devices: tuple[str, ...] = (),
) -> None:
    """Check the fields of a (frozen) options dataclass in its ``__post_init__``: ``counts``
    name -> (lo, hi), ``reals`` name -> (lo, hi, lo_open), ``seeds`` and ``devices`` by name;
    counts and seeds are stored back as ints. A field that is None is skipped (None means the
    default wherever these classes take it)."""
    for name, (lo, hi) in (counts or {}).items():
        v = getattr(obj, name)
        if v is not None:
            object.__setattr__(obj, name, count(name, v, lo=lo, hi=hi))
    for name, (lo, hi, lo_open) in (reals or {}).items():
        v = getattr(obj, name)
        if v is not None:
            real(name, v, lo=lo, hi=hi, lo_open=lo_open)
    for name in seeds:
        object.__setattr__(obj, name, seed(name, getattr(obj, name)))
    for name in devices:
        device_name(name, getattr(obj, name))
