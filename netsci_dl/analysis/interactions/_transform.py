"""Fast Moebius (Harsanyi) transforms over bitmask-indexed set functions, O(n 2^n).

Storage convention, used everywhere in :mod:`netsci_dl.analysis.interactions`: a set function
of ``n`` players is an array whose last axis has length ``2**n``; entry ``m`` is the value of
the set ``S = {i : bit i of m is 1}``, player ``i`` at bit ``i``, least significant first (entry 1
is ``{0}``, entry 2 is ``{1}``, entry 3 is ``{0, 1}``, entry ``2**n - 1`` is ``N``). Leading axes
are a batch (samples, layers) and are transformed independently.

Every transform is a butterfly over the ``n`` bits: for bit ``i`` the array is viewed as
``(batch, 2**(n-i-1), 2, 2**i)`` and the half with the bit set is updated from the half without
it, in place, vectorised over everything else. No ``2**n x 2**n`` matrix is ever built.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netsci_dl._args import count
from netsci_dl.errors import InputError

__all__ = [
    "BIT_ORDER",
    "as_set_function",
    "n_players_of",
    "set_orders",
    "moebius_",
    "zeta_",
    "moebius_transpose_",
    "zeta_transpose_",
]

#: how sets are indexed, stated in every result
BIT_ORDER = "player i is bit i of the index, least significant first (index 1 = {0}, 2 = {1})"

#: largest number of players a transform accepts (2**30 float64 values are 8 GiB)
MAX_PLAYERS = 30


def n_players_of(length: int, *, name: str = "v") -> int:
    """``n`` such that ``length == 2**n``, or an InputError naming ``name``."""
    length = int(length)
    n = length.bit_length() - 1
    if length < 1 or (1 << n) != length:
        raise InputError(
            f"{name} must have a last axis of length 2**n (one value per subset of n players), "
            f"got length {length}"
        )
    if n > MAX_PLAYERS:
        raise InputError(f"{name}: {n} players is more than the {MAX_PLAYERS} supported")
    return n


def as_set_function(v: Any, *, name: str = "v") -> tuple[np.ndarray, int]:
    """A float64 C-contiguous copy of ``v`` (shape ``(..., 2**n)``) and ``n``."""
    try:
        a = np.array(v, dtype=np.float64, copy=True, order="C")
    except (TypeError, ValueError) as e:
        raise InputError(
            f"{name}: expected an array of numbers of shape (..., 2**n) ({e})"
        ) from None
    if a.ndim == 0:
        raise InputError(f"{name} must be an array of shape (..., 2**n), got a scalar")
    n = n_players_of(a.shape[-1], name=name)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} holds NaN or infinite values")
    return a, n


def set_orders(n: int) -> np.ndarray:
    """``(2**n,)`` int64: the size ``|S|`` of every set (popcount of its index)."""
    n = count("n", n, lo=0, hi=MAX_PLAYERS)
    idx = np.arange(1 << n, dtype=np.int64)
    bits = (idx[:, None] >> np.arange(max(n, 1), dtype=np.int64)) & 1
    return bits.sum(axis=1) if n else np.zeros(1, dtype=np.int64)


def _views(x: np.ndarray, n: int) -> Any:
    """For each bit i: the (low, high) halves of ``x`` as views (bit i unset, bit i set)."""
    if not x.flags.c_contiguous:
        raise ValueError("internal: the butterfly needs a C-contiguous array")
    flat = x.reshape(-1, 1 << n)
    for i in range(n):
        y = flat.reshape(flat.shape[0], 1 << (n - i - 1), 2, 1 << i)
        yield y[:, :, 0, :], y[:, :, 1, :]


def moebius_(x: np.ndarray, n: int) -> np.ndarray:
    """In place: ``x(S) <- sum_{L subset S} (-1)^{|S|-|L|} x(L)`` (subset Moebius)."""
    for lo, hi in _views(x, n):
        hi -= lo
    return x


def zeta_(x: np.ndarray, n: int) -> np.ndarray:
    """In place: ``x(S) <- sum_{L subset S} x(L)`` (subset zeta, the inverse of Moebius)."""
    for lo, hi in _views(x, n):
        hi += lo
    return x


def moebius_transpose_(x: np.ndarray, n: int) -> np.ndarray:
    """In place: ``x(L) <- sum_{S superset L} (-1)^{|S|-|L|} x(S)`` (the Moebius matrix's transpose)."""
    for lo, hi in _views(x, n):
        lo -= hi
    return x


def zeta_transpose_(x: np.ndarray, n: int) -> np.ndarray:
    """In place: ``x(L) <- sum_{S superset L} x(S)`` (the zeta matrix's transpose)."""
    for lo, hi in _views(x, n):
        lo += hi
    return x
