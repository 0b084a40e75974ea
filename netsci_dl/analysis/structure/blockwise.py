"""Structure measures computed block by block: one weight block in memory at a time.

Every function takes a *block source*: anything with ``layer_sizes``, ``block_src``,
``block_dst``, ``block_kinds``, ``n_blocks`` and ``dense_block(b)`` (the ``(n_src, n_dst)``
weights of block ``b``). A :class:`~netsci_dl.graph.LayeredGraph` is one (unthresholded);
:func:`netsci_dl.export.lazy.lazy_blocks` makes one from a safetensors checkpoint (a file or
shards) that reads each block from disk when asked, so the peak memory is about the largest
block, not the model. The results equal those of the whole-graph functions on the same model:
:func:`strength`, :func:`degree`, :func:`degree_assortativity` and
:func:`average_neighbor_degree` of ``threshold.by_quantile(G, q)`` (the global cut is exact:
:func:`netsci_dl._threshold_blocks.quantile_cut`), the weight moments of every block, and
:func:`blockwise_topk` (``threshold.top_k``: each node's ``k`` strongest edges).
Identity blocks are skipped, as the thresholds and measures skip them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl._threshold_blocks import PIECE, row_top_k
from netsci_dl._threshold_blocks import quantile_cut as _quantile_cut
from netsci_dl._threshold_core import _check_top_k, _check_weights, _score
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
    "blockwise_topk",
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


def _kept(src: Any, b: int, cut: float, weights: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Row and column indices of the edges of block ``b`` scoring above ``cut``, piece by
    piece (about :data:`~netsci_dl._threshold_blocks.PIECE` entries scored at a time, in the
    block's memory order), so that no block-sized score or mask is made."""
    blk = np.asarray(src.dense_block(b))
    flip = not blk.flags.c_contiguous and blk.T.flags.c_contiguous  # a transposed view
    a = blk.T if flip else blk
    step = max(1, PIECE // max(1, a.shape[1]))
    for i in range(0, a.shape[0], step):
        r, c = np.nonzero(_score(a[i : i + step], weights) > cut)
        r += i
        yield (c, r) if flip else (r, c)


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
        n, m = src.layer_sizes[src.block_src[b]], src.layer_sizes[src.block_dst[b]]
        rows[b], cols[b] = np.zeros(n, np.int64), np.zeros(m, np.int64)
        for r, c in _kept(src, b, cut, weights):
            rows[b] += np.bincount(r, minlength=n)
            cols[b] += np.bincount(c, minlength=m)
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
        for r, c in _kept(src, b, cut, weights):
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
        s, d = src.block_src[b], src.block_dst[b]
        for r, c in _kept(src, b, cut, weights):
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


def _block_candidates(src: Any, b: int, k: int, weights: str, out: bool) -> tuple[np.ndarray, ...]:
    """``(node, other, weight, score)`` of each node's ``k`` best edges in block ``b`` (nodes:
    its rows for ``out``, else its columns), ties by the other end's index; scored in pieces
    of about :data:`~netsci_dl._threshold_blocks.PIECE` entries."""
    blk = np.asarray(src.dense_block(b))
    a = blk if out else blk.T
    step = max(1, PIECE // max(1, a.shape[1]))
    parts = []
    for i in range(0, a.shape[0], step):
        w = np.ascontiguousarray(a[i : i + step])
        sc = _score(w, weights)
        r, c = np.nonzero(row_top_k(sc, k))
        parts.append((r + i, c, w[r, c], sc[r, c]))
    return tuple(np.concatenate(x) for x in zip(*parts))


def _csr(shape: tuple[int, int], r: np.ndarray, c: np.ndarray, v: np.ndarray) -> Any:
    import scipy.sparse as sp

    order = np.lexsort((c, r))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=shape[0]))])
    idx = np.int32 if max(shape[1], len(c)) < 2**31 else np.int64
    return sp.csr_array((v[order], c[order].astype(idx), indptr.astype(idx)), shape=shape)


def blockwise_topk(
    src: Any, k: int, *, direction: str = "out", weights: str = "abs", keep_weights: bool = False
) -> Any:
    """:func:`netsci_dl.threshold.top_k` over a block source: every node keeps its ``k``
    highest-scoring edges out of it (``"out"``, over every block leaving its group) or into it
    (``"in"``), ties broken by edge order (block order, then row-major), exactly as the
    whole-graph rule. Each block is read once; per node only its ``k`` best edges of each
    block are kept for the merge across blocks, so memory is about the largest block plus
    ``k`` edges per node and block.

    Returns
    -------
    LayeredGraph
        The kept edges as ``top_k`` gives them (sparse blocks of ones, ``edge_attrs`` ``weight``
        and ``sign``; the signed weights in the blocks with ``keep_weights=True``), the rule
        recorded in ``meta["thresholds"]``. Identity blocks are kept whole.

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> G = nd.from_matrices([np.random.default_rng(0).normal(size=(20, 10))])
    >>> H = blockwise_topk(G, 3)
    >>> H.n_edges, (H.blocks[0] != nd.threshold.top_k(G, 3).blocks[0]).nnz
    (60, 0)
    """
    _check_weights(weights)
    k, out, scored = _check_top_k(k, direction), direction == "out", _weight_idx(src)
    if not scored:
        raise InputError("the graph has only identity blocks: there is no weight to threshold")
    side = src.block_src if out else src.block_dst
    kept: dict[int, tuple[np.ndarray, ...]] = {}
    for grp in sorted({side[b] for b in scored}):
        bs = [b for b in scored if side[b] == grp]
        cand = [_block_candidates(src, b, k, weights, out) for b in bs]
        node, other, w, sc = (np.concatenate(x) for x in zip(*cand))
        pos = np.repeat(np.arange(len(bs)), [len(x[0]) for x in cand])
        order = np.lexsort((other, pos, -sc, node))
        starts = np.searchsorted(node[order], node[order], side="left")
        sel = np.zeros(len(node), dtype=bool)
        sel[order[np.arange(len(order)) - starts < k]] = True
        for j, b in enumerate(bs):
            m = sel & (pos == j)
            r, c = (node[m], other[m]) if out else (other[m], node[m])
            kept[b] = (r, c, w[m].astype(np.float32))
    return _topk_graph(src, kept, k, direction, weights, keep_weights)


def _topk_graph(src: Any, kept: dict, k: int, direction: str, weights: str, keep: bool) -> Any:
    from netsci_dl.graph import LayeredGraph

    sizes = src.layer_sizes
    blocks, wts, signs, possible = [], [], [], []
    for b in range(src.n_blocks):
        shape = (sizes[src.block_src[b]], sizes[src.block_dst[b]])
        possible.append(shape[0] * shape[1])
        if b in kept:
            r, c, w = kept[b]
        else:  # an identity block: whole
            r, c = np.nonzero(np.asarray(src.dense_block(b)))
            w = np.ones(len(r), np.float32)
        blocks.append(_csr(shape, r, c, w if keep else np.ones(len(w), np.float32)))
        wts.append(_csr(shape, r, c, w))
        signs.append(_csr(shape, r, c, np.sign(w).astype(np.int8)))
    n_kept = int(sum(x.nnz for x in blocks))
    record = {"rule": "top_k", "weights": weights, "k": k, "direction": direction,
              "keep_weights": keep, "kept": n_kept, "of": int(sum(possible))}  # fmt: skip
    edge_attrs = {"sign": tuple(signs)} if keep else {"sign": tuple(signs), "weight": tuple(wts)}
    return LayeredGraph(
        tuple(sizes), tuple(blocks), layer_names=tuple(getattr(src, "layer_names", ()) or ()),
        edge_attrs=edge_attrs, block_src=tuple(src.block_src), block_dst=tuple(src.block_dst),
        block_kinds=tuple(src.block_kinds),
        meta={"possible_edges": possible, "thresholds": [record], "weighted": bool(keep)},
    )  # fmt: skip
