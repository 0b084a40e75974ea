"""Exact order statistics of edge scores over blocks seen one at a time (the global cut of a
checkpoint too large to hold): a histogram of monotone 20-bit keys per block, merged, then
the candidate values of the one or two bins that hold the asked ranks; never a sample.

Two passes over the blocks, each holding one block's scores, a 2**20-bin count and the
candidates (the values sharing the cut's sign, exponent and 8 mantissa bits).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from netsci_dl._threshold_core import _check_weights, _score
from netsci_dl.errors import InputError

__all__ = ["order_statistics", "quantile_cut", "density_cut"]

_BITS = 20
_SHIFT = np.uint64(64 - _BITS)


def _keys(x: np.ndarray) -> np.ndarray:
    """Monotone uint64 keys of float64 values (order of keys = order of values)."""
    u = np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)
    neg = (u >> np.uint64(63)).astype(bool)
    return np.where(neg, ~u, u | np.uint64(1 << 63))


def order_statistics(
    scores: Callable[[], Iterable[np.ndarray]], ranks: Sequence[int]
) -> list[float]:
    """The values at 0-based ascending ``ranks`` of every score that ``scores()`` yields.

    ``scores`` is called twice (two passes); each call yields the scores block by block (any
    float arrays). Exact: the result is what ``np.sort(np.concatenate(...))[ranks]`` gives.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> parts = [rng.normal(size=1000), rng.normal(size=10)]
    >>> all_ = np.sort(np.concatenate(parts))
    >>> order_statistics(lambda: iter(parts), [0, 500, 1009]) == all_[[0, 500, 1009]].tolist()
    True
    """
    counts = np.zeros(1 << _BITS, dtype=np.int64)
    for s in scores():
        s = np.asarray(s).reshape(-1)
        if len(s) and np.isnan(s).any():
            raise InputError("the scores hold NaN: no order is defined")
        counts += np.bincount((_keys(s) >> _SHIFT).astype(np.intp), minlength=1 << _BITS)
    cum = np.cumsum(counts)
    n = int(cum[-1]) if len(cum) else 0
    if any(not 0 <= r < n for r in ranks):
        raise InputError(f"ranks {list(ranks)} outside the {n} scores")
    bins = {int(r): int(np.searchsorted(cum, r, side="right")) for r in ranks}
    wanted = np.array(sorted(set(bins.values())), dtype=np.uint64)
    cand: dict[int, list[np.ndarray]] = {int(b): [] for b in wanted}
    for s in scores():
        s = np.asarray(s, dtype=np.float64).reshape(-1)
        top = _keys(s) >> _SHIFT
        for b in wanted:
            cand[int(b)].append(s[top == b])
    out = []
    for r in ranks:
        b = bins[int(r)]
        below = int(cum[b - 1]) if b else 0
        vals = np.concatenate(cand[b])
        out.append(float(np.partition(vals, int(r) - below)[int(r) - below]))
    return out


def _scores(blocks: Callable[[], Iterable[np.ndarray]], weights: str) -> Callable[[], Iterable]:
    return lambda: (_score(np.asarray(b).reshape(-1), weights) for b in blocks())


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
    n = sum(int(np.size(b)) for b in blocks())
    if n == 0:
        raise InputError("the blocks hold no edge to threshold")
    pos = q * (n - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, n - 1)
    a, b = order_statistics(_scores(blocks, weights), [lo, hi])
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
    n = sum(int(np.size(b)) for b in blocks())
    m = int(round(density * n))
    if m == 0:
        return np.inf, 0
    (v,) = order_statistics(_scores(blocks, weights), [n - m])
    above = sum(int((s > v).sum()) for s in _scores(blocks, weights)())
    return v, m - above
