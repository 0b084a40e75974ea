"""Exact order statistics of edge scores over blocks seen one at a time (the global cut of a
checkpoint too large to hold): a histogram of monotone 20-bit keys per piece, merged, then
the candidate values of the one or two bins that hold the asked ranks; never a sample.

Two passes over the blocks (the count of scores comes from the first), each holding one
block, the scores of one piece of it (:data:`PIECE` entries), a 2**20-bin count and the
candidates (the values whose float32 rounding shares the cut's sign, exponent and 11 mantissa
bits).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from netsci_dl._threshold_core import _check_weights, _score
from netsci_dl.errors import InputError

__all__ = ["order_statistics", "quantile_cut", "density_cut", "row_top_k"]

_BITS = 20
_HALF = 1 << (_BITS - 1)
#: entries of one piece: a block is keyed piece by piece (16 MB as float64), never whole
PIECE = 1 << 21


def _top(x: np.ndarray) -> np.ndarray:
    """Monotone (non-decreasing) 20-bit keys: the top 20 bits of the float32 rounding of each
    value (sign, exponent, 11 mantissa bits), the sign bit set for a positive value and all 20
    flipped for a negative one. Rounding to float32 keeps the order (ties aside), so a key's
    values form one interval, for float32 and float64 scores alike; in int32 arithmetic."""
    with np.errstate(over="ignore"):
        i = np.ascontiguousarray(x, dtype=np.float32).view(np.int32)
    t = i >> (32 - _BITS)
    t &= (1 << _BITS) - 1
    h = t >> (_BITS - 1)
    h *= _HALF - 1
    h |= _HALF
    t ^= h
    return t


def _pieces(a: Any) -> Iterator[np.ndarray]:
    """Flat pieces of at most :data:`PIECE` entries of an array, in memory order (a
    transposed 2-D block by its rows in memory), each a view or a small new array."""
    a = np.asarray(a)
    if a.ndim == 2 and not a.flags.c_contiguous and a.T.flags.c_contiguous:
        a = a.T
    if a.ndim != 2 or a.size <= PIECE:
        yield a.reshape(-1)
        return
    step = max(1, PIECE // a.shape[1])
    for i in range(0, a.shape[0], step):
        yield a[i : i + step].reshape(-1)


def _histogram(pieces: Iterable[np.ndarray]) -> np.ndarray:
    counts = np.zeros(1 << _BITS, dtype=np.int64)
    for s in pieces:
        if len(s) and np.isnan(np.max(s)):  # max carries a NaN, with no temporary
            raise InputError("the scores hold NaN: no order is defined")
        counts += np.bincount(_top(s), minlength=1 << _BITS)
    return counts


def _pick(
    pieces: Iterable[np.ndarray], counts: np.ndarray, ranks: Sequence[int]
) -> tuple[list[float], dict[int, np.ndarray]]:
    """The values at ``ranks`` and the candidates of each bin that holds one (second pass)."""
    cum = np.cumsum(counts)
    n = int(cum[-1])
    if any(not 0 <= r < n for r in ranks):
        raise InputError(f"ranks {list(ranks)} outside the {n} scores")
    bins = {int(r): int(np.searchsorted(cum, r, side="right")) for r in ranks}
    lo, hi = min(bins.values()), max(bins.values())
    got: list[tuple[np.ndarray, np.ndarray]] = []
    for s in pieces:
        top = _top(s)
        sel = (top >= lo) & (top <= hi)
        got.append((np.asarray(s[sel], dtype=np.float64), top[sel]))
    vals = np.concatenate([v for v, _ in got]) if got else np.zeros(0)
    tops = np.concatenate([t for _, t in got]) if got else np.zeros(0, np.intp)
    cand = {b: vals[tops == b] for b in set(bins.values())}
    out = []
    for r in ranks:
        b = bins[int(r)]
        below = int(cum[b - 1]) if b else 0
        out.append(float(np.partition(cand[b], int(r) - below)[int(r) - below]))
    return out, cand


def order_statistics(
    scores: Callable[[], Iterable[np.ndarray]], ranks: Sequence[int]
) -> list[float]:
    """The values at 0-based ascending ``ranks`` of every score that ``scores()`` yields.

    ``scores`` is called twice (two passes); each call yields the scores block by block (any
    float arrays, keyed in pieces of :data:`PIECE` entries). Exact: the result is what
    ``np.sort(np.concatenate(...))[ranks]`` gives.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> parts = [rng.normal(size=1000), rng.normal(size=10)]
    >>> all_ = np.sort(np.concatenate(parts))
    >>> order_statistics(lambda: iter(parts), [0, 500, 1009]) == all_[[0, 500, 1009]].tolist()
    True
    """

    def pieces() -> Iterator[np.ndarray]:
        for s in scores():
            yield from _pieces(s)

    return _pick(pieces(), _histogram(pieces()), ranks)[0]


def _scores(blocks: Callable[[], Iterable[np.ndarray]], weights: str) -> Iterator[np.ndarray]:
    """The scores of every block, piece by piece (one pass over ``blocks()``)."""
    for b in blocks():
        for p in _pieces(b):
            yield _score(p, weights)


def quantile_cut(
    blocks: Callable[[], Iterable[np.ndarray]], q: float, *, weights: str = "abs"
) -> float:
    """The global cut of :func:`netsci_dl.threshold.by_quantile` (``numpy.quantile`` of every
    score, linear interpolation) over blocks yielded one at a time by ``blocks()`` (called
    twice). Edges with a score strictly above it are the ones ``by_quantile`` keeps.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> bl = [rng.normal(size=(30, 20)).astype(np.float32), rng.normal(size=(20, 5))]
    >>> allv = np.abs(np.concatenate([b.ravel() for b in bl]))
    >>> quantile_cut(lambda: iter(bl), 0.95) == float(np.quantile(allv, 0.95))
    True
    """
    _check_weights(weights)
    q = float(q)
    if not 0.0 <= q < 1.0:
        raise InputError(f"quantile q must be in [0, 1), got {q}")
    counts = _histogram(_scores(blocks, weights))
    n = int(counts.sum())
    if n == 0:
        raise InputError("the blocks hold no edge to threshold")
    pos = q * (n - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, n - 1)
    (a, b), _ = _pick(_scores(blocks, weights), counts, [lo, hi])
    return a + (b - a) * (pos - lo)


def density_cut(
    blocks: Callable[[], Iterable[np.ndarray]], density: float, *, weights: str = "abs"
) -> tuple[float, int]:
    """``(v, n_ties)`` for keeping exactly ``round(density * n)`` highest scores over all
    blocks (:func:`netsci_dl.threshold.to_density`): keep every score ``> v`` and the first
    ``n_ties`` scores ``== v`` in block and edge order."""
    _check_weights(weights)
    density = float(density)
    if not 0.0 < density <= 1.0:
        raise InputError(f"density must be in (0, 1], got {density}")
    counts = _histogram(_scores(blocks, weights))
    n = int(counts.sum())
    m = int(round(density * n))
    if m == 0:
        return np.inf, 0
    (v,), cand = _pick(_scores(blocks, weights), counts, [n - m])
    b = int(_top(np.array([v]))[0])
    above = int(counts[b + 1 :].sum()) + int((cand[b] > v).sum())
    return v, m - above


def row_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Mask of each row's ``k`` highest ``scores`` (2-D), ties at the k-th place broken by
    column order (the first ones kept), as :func:`netsci_dl.threshold.top_k` breaks them.
    Rows of ``k`` or fewer entries keep them all. Vectorised over rows: one partition, one
    cumulative count of the tied entries.

    Examples
    --------
    >>> row_top_k(np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 0.0, 5.0, 5.0]]), 2).astype(int).tolist()
    [[0, 1, 1, 0], [1, 0, 1, 0]]
    """
    s = np.asarray(scores)
    n, m = s.shape
    if m <= k:
        return np.ones((n, m), dtype=bool)
    v = np.partition(s, m - k, axis=1)[:, m - k : m - k + 1]  # each row's k-th largest
    keep = s > v
    need = k - keep.sum(axis=1, dtype=np.int32)
    tied = s == v
    first = np.cumsum(tied, axis=1, dtype=np.int32) <= need[:, None]
    keep |= tied & first
    return keep
