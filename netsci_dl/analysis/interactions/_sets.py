"""Salient interactions, strength by order, and what changes between two sets of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from netsci_dl.analysis.interactions._transform import n_players_of, set_orders
from netsci_dl.errors import InputError

__all__ = [
    "salient_mask",
    "strength_by_order",
    "count_by_order",
    "SalientChange",
    "compare_salient",
    "set_label",
]


def set_label(mask: int) -> str:
    """``"0+3"`` for the set with bits 0 and 3 (``"{}"`` for the empty set).

    Examples
    --------
    >>> set_label(9), set_label(0)
    ('0+3', '{}')
    """
    m = int(mask)
    bits = [str(i) for i in range(m.bit_length()) if (m >> i) & 1]
    return "+".join(bits) if bits else "{}"


def salient_mask(*I: Any, threshold: float = 0.05) -> tuple[np.ndarray, ...]:
    """Salient interactions: ``|I(S)| > threshold * max |I|``, the empty set excluded.

    The maximum is taken over the non-empty sets of every array given (so AND and OR
    interactions passed together share one maximum, as in CH24), separately for each leading
    index (sample, layer).

    Parameters
    ----------
    *I : (..., 2**n) arrays of the same shape
        Interactions indexed by bitmask (player i at bit i, least significant first).
    threshold : float
        Fraction of the largest strength (CH24: 0.05).

    Returns
    -------
    tuple of (..., 2**n) bool ndarray
        One mask per array given (``mask[..., 0]`` is always False).

    Examples
    --------
    >>> a = np.array([5.0, 1.0, 0.01, 0.5]); o = np.array([0.0, 0.0, 0.0, -0.2])
    >>> [m.astype(int).tolist() for m in salient_mask(a, o, threshold=0.1)]
    [[0, 1, 0, 1], [0, 0, 0, 1]]
    """
    if not I:
        raise InputError("salient_mask needs at least one array of interactions")
    arrs = [np.asarray(a, dtype=np.float64) for a in I]
    shape = arrs[0].shape
    if any(a.shape != shape for a in arrs) or not shape:
        raise InputError(
            f"interaction arrays must share one shape (..., 2**n), got {[a.shape for a in arrs]}"
        )
    n_players_of(shape[-1], name="I")
    if not 0 <= threshold < 1:
        raise InputError(f"threshold must be in [0, 1), got {threshold!r}")
    mx = np.max([np.abs(a[..., 1:]).max(axis=-1, initial=0.0) for a in arrs], axis=0)
    out = []
    for a in arrs:
        m = np.abs(a) > threshold * mx[..., None]
        m &= mx[..., None] > 0
        m[..., 0] = False
        out.append(m)
    return tuple(out)


def strength_by_order(I: Any, *, mask: Any = None) -> np.ndarray:
    """``(..., n + 1)``: ``sum_{|S| = k} |I(S)|`` for every order ``k`` (within ``mask`` if given).

    Examples
    --------
    >>> strength_by_order(np.array([1.0, -2.0, 3.0, 0.5])).tolist()   # {}, {0}, {1}, {0,1}
    [1.0, 5.0, 0.5]
    """
    a = np.abs(np.asarray(I, dtype=np.float64))
    n = n_players_of(a.shape[-1], name="I")
    if mask is not None:
        a = np.where(np.asarray(mask, dtype=bool), a, 0.0)
    onehot = np.eye(n + 1)[set_orders(n)]  # (2**n, n + 1)
    return a @ onehot


def count_by_order(mask: Any) -> np.ndarray:
    """``(..., n + 1)`` int64: how many sets of each order are True in ``mask``.

    Examples
    --------
    >>> count_by_order(np.array([True, True, True, False])).tolist()
    [1, 2, 0]
    """
    m = np.asarray(mask, dtype=bool)
    n = n_players_of(m.shape[-1], name="mask")
    onehot = np.eye(n + 1, dtype=np.int64)[set_orders(n)]
    return m.astype(np.int64) @ onehot


@dataclass(frozen=True, eq=False)
class SalientChange:
    """Salient interactions shared, new and forgotten from ``before`` to ``after``, by order.

    Counts are summed over every sample (and over AND and OR: an AND and an OR interaction on
    the same set are different interactions).

    Attributes
    ----------
    before, after : str
        Labels (layer names, snapshot labels).
    overlap, new, forgotten : (n_players + 1,) int64 ndarray
        Salient in both; only in ``after``; only in ``before``; entry ``k`` = order ``k``.
    n_samples : int
    """

    before: str
    after: str
    overlap: np.ndarray
    new: np.ndarray
    forgotten: np.ndarray
    n_samples: int

    @property
    def orders(self) -> np.ndarray:
        return np.arange(self.overlap.size)

    def totals(self) -> dict[str, int]:
        """``{"overlap", "new", "forgotten"}`` summed over orders."""
        return {
            "overlap": int(self.overlap.sum()),
            "new": int(self.new.sum()),
            "forgotten": int(self.forgotten.sum()),
        }

    def jaccard(self) -> float:
        """``overlap / (overlap + new + forgotten)`` over all orders (NaN when both are empty)."""
        t = self.totals()
        d = t["overlap"] + t["new"] + t["forgotten"]
        return t["overlap"] / d if d else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "n_samples": self.n_samples,
            "overlap": self.overlap.tolist(),
            "new": self.new.tolist(),
            "forgotten": self.forgotten.tolist(),
            "totals": self.totals(),
            "jaccard": self.jaccard(),
        }

    def to_frame(self) -> Any:
        """One row per order: before, after, order, overlap, new, forgotten."""
        import pandas as pd

        return pd.DataFrame(
            {
                "before": self.before,
                "after": self.after,
                "order": self.orders,
                "overlap": self.overlap,
                "new": self.new,
                "forgotten": self.forgotten,
            }
        )

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        return summary(
            "SalientChange",
            f"{short(self.before)} -> {short(self.after)}",
            **self.totals(),
            jaccard=self.jaccard(),
            n_samples=self.n_samples,
        )


def compare_salient(
    before: Sequence[Any],
    after: Sequence[Any],
    *,
    labels: tuple[str, str] = ("before", "after"),
) -> SalientChange:
    """Overlap, newly appearing and forgotten salient interactions, by order.

    Parameters
    ----------
    before, after : sequences of (..., 2**n) bool arrays
        Salient masks as :func:`salient_mask` returns them (e.g. ``(and_mask, or_mask)``),
        element ``k`` of ``before`` compared with element ``k`` of ``after``; every leading axis
        (samples) is summed over.
    labels : (str, str)

    Returns
    -------
    SalientChange

    Examples
    --------
    >>> a = (np.array([False, True, True, False]),)
    >>> b = (np.array([False, True, False, True]),)
    >>> c = compare_salient(a, b)
    >>> c.overlap.tolist(), c.new.tolist(), c.forgotten.tolist()
    ([0, 1, 0], [0, 0, 1], [0, 1, 0])
    """
    if len(before) != len(after) or not before:
        raise InputError(f"compare {len(before)} masks with {len(after)}: need the same number")
    A = [np.asarray(a, dtype=bool) for a in before]
    B = [np.asarray(b, dtype=bool) for b in after]
    shape = A[0].shape
    if any(x.shape != shape for x in A + B):
        raise InputError(f"salient masks differ in shape: {[x.shape for x in A + B]}")
    n = n_players_of(shape[-1], name="mask")
    lead = int(np.prod(shape[:-1])) if len(shape) > 1 else 1

    def cnt(ms: list[np.ndarray]) -> np.ndarray:
        c = sum(count_by_order(m) for m in ms)
        return np.asarray(c, dtype=np.int64).reshape(-1, n + 1).sum(axis=0)

    return SalientChange(
        before=str(labels[0]),
        after=str(labels[1]),
        overlap=cnt([a & b for a, b in zip(A, B)]),
        new=cnt([b & ~a for a, b in zip(A, B)]),
        forgotten=cnt([a & ~b for a, b in zip(A, B)]),
        n_samples=lead,
    )
