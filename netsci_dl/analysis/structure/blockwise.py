"""Structure measures computed block by block: one weight block in memory at a time.

Every function takes a *block source*: anything with ``layer_sizes``, ``block_src``,
``block_dst``, ``block_kinds``, ``n_blocks`` and ``dense_block(b)`` (the ``(n_src, n_dst)``
weights of block ``b``). A :class:`~netsci_dl.graph.LayeredGraph` is one (unthresholded);
:func:`netsci_dl.export.lazy.lazy_blocks` makes one from a safetensors checkpoint (a file or
shards) that reads each block from disk when asked, so the peak memory is about the largest
block, not the model. The results equal those of the whole-graph functions on the same model:
:func:`strength`, :func:`degree`, :func:`degree_assortativity` and
:func:`average_neighbor_degree` of ``threshold.by_quantile(G, q)`` (the global cut is exact:
:func:`netsci_dl._threshold_blocks.quantile_cut`), and the weight moments of every block.
Identity blocks are skipped, as the thresholds and measures skip them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl._threshold_blocks import quantile_cut as _quantile_cut
from netsci_dl._threshold_core import _check_weights, _score
from netsci_dl.analysis.structure.distributions import _assemble, _kind_block
from netsci_dl.analysis.structure.distributions import _check_weights as _check_kind
from netsci_dl.errors import InputError

__all__ = [
    "blockwise_quantile_cut",
    "blockwise_strength",
    "blockwise_degree",
    "blockwise_assortativity",
    "blockwise_knn",
    "blockwise_weight_moments",
]


def _weight_idx(src: Any) -> list[int]:
    return [b for b, k in enumerate(src.block_kinds) if k != "identity"]


def _blocks(src: Any) -> Iterator[np.ndarray]:
    for b in _weight_idx(src):
        yield src.dense_block(b)


def blockwise_quantile_cut(src: Any, q: float, *, weights: str = "abs") -> float:
    """The global cut of ``threshold.by_quantile(G, q, weights=weights)`` over every weight
    block, computed from one block at a time (two passes; exact, not sampled).

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> G = nd.from_matrices([np.random.default_rng(0).normal(size=(20, 10))])
    >>> t = blockwise_quantile_cut(G, 0.9)
    >>> t == nd.threshold.by_quantile(G, 0.9).meta["thresholds"][-1]["t"]
    True
    """
    q = _args.real("q", q, lo=0, hi=1)
    return _quantile_cut(lambda: _blocks(src), q, weights=weights)


def blockwise_strength(
    src: Any, *, direction: str = "up", weights: str = "signed", fallback: bool = True
) -> np.ndarray:
    """:func:`~netsci_dl.analysis.structure.distributions.strength` of the full graph, block
    by block (equal to it bit for bit: the same float64 row and column sums)."""
    from netsci_dl.analysis.structure.distributions import _check_direction

    _check_direction(direction)
    _check_kind(weights)
    rows, cols = {}, {}
    for b in _weight_idx(src):
        blk = _kind_block(src.dense_block(b), weights)
        rows[b] = np.asarray(blk).sum(axis=1, dtype=np.float64)
        cols[b] = np.asarray(blk).sum(axis=0, dtype=np.float64)
        del blk
    return _assemble(src, rows, cols, direction, fallback, np.float64)


def _kept(src: Any, b: int, cut: float, weights: str) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the edges of block ``b`` scoring above ``cut``."""
    blk = src.dense_block(b)
    return np.nonzero(_score(np.asarray(blk), weights) > cut)


def blockwise_degree(
    src: Any, cut: float, *, weights: str = "abs", direction: str = "total", fallback: bool = True
) -> np.ndarray:
    """The degrees (int64, global node order) of the graph of the edges scoring above ``cut``:
    :func:`~netsci_dl.analysis.structure.distributions.degree` of ``by_value``/``by_quantile``'s
    result for that cut (e.g. ``cut = blockwise_quantile_cut(src, 0.95)``)."""
    from netsci_dl.analysis.structure.distributions import _check_direction

    _check_direction(direction)
    _check_weights(weights)
    rows, cols = {}, {}
    for b in _weight_idx(src):
        r, c = _kept(src, b, cut, weights)
        n, m = src.layer_sizes[src.block_src[b]], src.layer_sizes[src.block_dst[b]]
        rows[b] = np.bincount(r, minlength=n).astype(np.int64)
        cols[b] = np.bincount(c, minlength=m).astype(np.int64)
    return _assemble(src, rows, cols, direction, fallback, np.int64)


def _split(src: Any, x: np.ndarray) -> list[np.ndarray]:
    off = np.concatenate([[0], np.cumsum(src.layer_sizes)])
    return [x[off[g] : off[g + 1]] for g in range(len(src.layer_sizes))]


def blockwise_assortativity(src: Any, cut: float, *, weights: str = "abs") -> float:
    """Newman's degree assortativity of the graph of the edges scoring above ``cut``
    (:func:`~netsci_dl.analysis.structure.assortativity.degree_assortativity` of the
    thresholded graph), from two passes over the blocks. NaN where undefined."""
    k = _split(src, blockwise_degree(src, cut, weights=weights).astype(np.float64))
    two_m = float(sum(x.sum() for x in k))
    if two_m == 0:
        return float("nan")
    exy = 0.0
    for b in _weight_idx(src):
        r, c = _kept(src, b, cut, weights)
        exy += float(k[src.block_src[b]][r] @ k[src.block_dst[b]][c])
    exy = 2 * exy / two_m
    mx = sum(float(x @ x) for x in k) / two_m
    mx2 = sum(float(x @ (x * x)) for x in k) / two_m
    var = mx2 - mx * mx
    if not var > 1e-12 * max(mx2, 1e-300):
        return float("nan")
    return float(np.clip((exy - mx * mx) / var, -1.0, 1.0))


def blockwise_knn(src: Any, cut: float, *, weights: str = "abs") -> np.ndarray:
    """The average degree of each node's neighbours in the graph of the edges above ``cut``
    (:func:`~netsci_dl.analysis.structure.assortativity.average_neighbor_degree`); NaN for
    isolated nodes."""
    k = blockwise_degree(src, cut, weights=weights).astype(np.float64)
    ks = _split(src, k)
    num = [np.zeros(n) for n in src.layer_sizes]
    for b in _weight_idx(src):
        r, c = _kept(src, b, cut, weights)
        s, d = src.block_src[b], src.block_dst[b]
        num[s] += np.bincount(r, weights=ks[d][c], minlength=len(num[s]))
        num[d] += np.bincount(c, weights=ks[s][r], minlength=len(num[d]))
    tot = np.concatenate(num) if num else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = tot / k
    out[k == 0] = np.nan
    return out


def blockwise_weight_moments(src: Any) -> Any:
    """Per weight block and over all of them: count, mean, std (population), mean ``|w|``,
    min and max of the weights, from float64 sums of one block at a time.

    Returns
    -------
    pandas.DataFrame
        One row per block (``block`` = its name) and a last row ``"all"``.
    """
    import pandas as pd

    rows = []
    names = getattr(src, "block_names", None)
    tot = np.zeros(4)
    lo, hi = np.inf, -np.inf
    for b in _weight_idx(src):
        w = np.asarray(src.dense_block(b))
        s = np.array([w.size, w.sum(dtype=np.float64), np.square(w, dtype=np.float64).sum(),
                      np.abs(w).sum(dtype=np.float64)])  # fmt: skip
        mn, mx = float(w.min()), float(w.max())
        tot, lo, hi = tot + s, min(lo, mn), max(hi, mx)
        rows.append((names[b] if names else str(b), *_moments(s), mn, mx))
        del w
    if not rows:
        raise InputError("the graph has no weight block")
    rows.append(("all", *_moments(tot), lo, hi))
    return pd.DataFrame(rows, columns=["block", "n", "mean", "std", "mean_abs", "min", "max"])


def _moments(s: np.ndarray) -> tuple[int, float, float, float]:
    n = s[0]
    mean = s[1] / n
    return int(n), float(mean), float(np.sqrt(max(s[2] / n - mean * mean, 0.0))), float(s[3] / n)
