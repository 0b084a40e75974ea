"""Moments and exact quantiles of large weight arrays (helpers of :mod:`.distributions`)."""

from __future__ import annotations

import numpy as np

__all__ = ["_central_sums", "_moments", "_hist_quantiles"]


def _central_sums(x: np.ndarray) -> tuple[int, float, np.ndarray]:
    """(n, mean, [sum d^2, sum d^3, sum d^4]) with d = x - mean, in float64."""
    n = len(x)
    if n == 0:
        return 0, np.nan, np.zeros(3)
    mean = float(np.mean(x, dtype=np.float64))
    d = x.astype(np.float64) - mean
    d2 = d * d
    return n, mean, np.array([d2.sum(), (d2 * d).sum(), (d2 * d2).sum()])


def _moments(n: int, sums: np.ndarray) -> tuple[float, float, float]:
    if n == 0:
        return np.nan, np.nan, np.nan
    m2, m3, m4 = sums / n
    std = float(np.sqrt(m2))
    if m2 <= 0:
        return std, np.nan, np.nan
    return std, float(m3 / m2**1.5), float(m4 / m2**2 - 3.0)


def _hist_quantiles(
    xs: list[np.ndarray], lo: float, hi: float, bins: int, quantiles: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal-width histogram of the union of ``xs`` over ``[lo, hi]`` and its exact quantiles
    (numpy's default linear interpolation), without sorting or partitioning all the values:
    the bin of each needed order statistic is found from the counts, and only the values of
    those bins are sorted."""
    n = sum(len(x) for x in xs)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    scale = bins / (hi - lo)
    idxs = []
    counts = np.zeros(bins, dtype=np.int64)
    for x in xs:
        # the bin index only has to be monotone in x (counts and selection use the same index),
        # so it is computed in the data's own precision (float32 for network weights)
        ft = x.dtype if x.dtype.kind == "f" else np.float64
        t = np.subtract(x, ft.type(lo), dtype=ft)
        t *= ft.type(scale)
        idx = t.astype(np.int32 if bins < 2**31 else np.int64)
        np.clip(idx, 0, bins - 1, out=idx)
        idxs.append(idx)
        counts += np.bincount(idx, minlength=bins)
    h = (n - 1) * np.asarray(quantiles, dtype=np.float64)
    r0 = np.floor(h).astype(np.int64)
    ranks = np.unique(np.concatenate([r0, np.minimum(r0 + 1, n - 1)]))
    cum = np.cumsum(counts)
    rank_bin = np.searchsorted(cum, ranks, side="right")
    need = np.zeros(bins, dtype=bool)
    need[rank_bin] = True
    picked = np.sort(np.concatenate([x[need[i]] for x, i in zip(xs, idxs)]).astype(np.float64))
    # position of each needed bin's values inside `picked`
    start_in_picked = np.cumsum(np.where(need, counts, 0)) - np.where(need, counts, 0)
    first_rank = cum - counts
    val = {
        int(r): picked[start_in_picked[b] + (r - first_rank[b])] for r, b in zip(ranks, rank_bin)
    }
    v0 = np.array([val[int(r)] for r in r0])
    v1 = np.array([val[int(min(r + 1, n - 1))] for r in r0])
    return counts, edges, v0 + (h - r0) * (v1 - v0)
