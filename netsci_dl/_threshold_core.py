"""The machinery of :mod:`netsci_dl.threshold`: scores, selections, rule records, ranks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

WEIGHTS = ("abs", "pos", "neg")


def _check_top_k(k: Any, direction: Any) -> int:
    """``k`` (a positive whole number) and ``direction`` (``"out"`` or ``"in"``) of a top-k
    rule, checked; returns ``k`` as an int."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer, float)) or not np.isfinite(k):
        raise InputError(f"k must be a positive integer, got {k!r}")
    if int(k) != k or k < 1:
        raise InputError(f"k must be a positive integer, got {k}")
    if direction not in ("out", "in"):
        raise InputError(f"direction must be 'out' or 'in', got {direction!r}")
    return int(k)


def _check_weights(weights: Any) -> None:
    if weights not in WEIGHTS:
        raise InputError(f"weights must be one of {WEIGHTS}, got {weights!r}")


def _original_weights(G: LayeredGraph) -> tuple[Any, ...]:
    return tuple(G.edge_attrs["weight"]) if "weight" in G.edge_attrs else G.blocks


def _values(block: Any) -> np.ndarray:
    return block.data if sp.issparse(block) else np.asarray(block).reshape(-1)


def _score(w: np.ndarray, weights: str) -> np.ndarray:
    """The score of every edge, a new array (callers may reorder it in place)."""
    if weights == "abs":
        return np.abs(w)
    if weights == "pos":
        return np.array(w, copy=True)
    return -w


def _scored(G: LayeredGraph) -> list[int]:
    """The blocks that rules score (every block but identity blocks)."""
    return [b for b, k in enumerate(G.block_kinds) if k != "identity"]


def _check_graph(G: LayeredGraph) -> None:
    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    if G.n_edges == 0:
        raise InputError("the graph has no edges to threshold")
    if not _scored(G):
        raise InputError("the graph has only identity blocks: there is no weight to threshold")


def _select(block: Any, keep: np.ndarray, values: np.ndarray) -> sp.csr_array:
    """The csr block holding ``values[keep]`` at the kept edges of ``block`` (edge order)."""
    n, m = block.shape
    if sp.issparse(block):
        rows = np.repeat(np.arange(n), np.diff(block.indptr))[keep]
        cols = block.indices[keep]
    else:
        flat = np.flatnonzero(keep)
        rows, cols = np.divmod(flat, m)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    idx_dtype = np.int32 if max(m, len(cols)) < 2**31 else np.int64
    return sp.csr_array(
        (values[keep], cols.astype(idx_dtype, copy=False), indptr.astype(idx_dtype, copy=False)),
        shape=(n, m),
    )


def _same_rule(G: LayeredGraph, record: Mapping[str, Any]) -> bool:
    done = G.meta.get("thresholds") or []
    if not done:
        return False
    last = {k: v for k, v in done[-1].items() if k not in ("kept", "of", "t", "noop")}
    return last == {k: v for k, v in record.items() if k != "t"}


def _apply(
    G: LayeredGraph,
    keeps: Mapping[int, np.ndarray],
    *,
    keep_weights: bool,
    record: dict[str, Any],
) -> LayeredGraph:
    """Keep ``keeps[b]`` of every scored block ``b`` (identity blocks whole)."""
    n_e = G.block_n_edges
    full = {b: keeps.get(b, np.ones(n_e[b], dtype=bool)) for b in range(G.n_blocks)}
    kept_scored = int(sum(int(full[b].sum()) for b in _scored(G)))
    if kept_scored == 0:
        raise InputError(
            f"threshold {record['rule']} ({_describe(record)}) leaves no edge of {G.n_edges}"
        )
    orig = _original_weights(G)
    blocks, signs, weights = [], [], []
    for b, (blk, w) in enumerate(zip(G.blocks, orig)):
        keep = full[b]
        wv = _values(w).astype(np.float32, copy=False)
        if keep_weights:
            blocks.append(_select(blk, keep, wv))
        else:
            blocks.append(_select(blk, keep, np.ones(len(wv), dtype=np.float32)))
            weights.append(_select(blk, keep, wv))
        signs.append(_select(blk, keep, np.sign(wv).astype(np.int8)))
    edge_attrs: dict[str, tuple[Any, ...]] = {}
    for name, attr in G.edge_attrs.items():
        if name in ("weight", "sign"):
            continue
        edge_attrs[name] = tuple(
            _select(blk, full[b], _values(a)) for b, (blk, a) in enumerate(zip(G.blocks, attr))
        )
    edge_attrs["sign"] = tuple(signs)
    if not keep_weights:
        edge_attrs["weight"] = tuple(weights)
    kept = int(sum(int(k.sum()) for k in full.values()))
    record = dict(record, kept=kept, of=G.n_edges)
    meta = dict(G.meta)
    meta.setdefault("possible_edges", [int(x) for x in n_e])
    meta["thresholds"] = [*meta.get("thresholds", []), record]
    meta["weighted"] = bool(keep_weights and G.weighted)
    return G.replace(blocks=tuple(blocks), edge_attrs=edge_attrs, meta=meta)


def _noop(G: LayeredGraph, record: Mapping[str, Any]) -> LayeredGraph:
    meta = dict(G.meta)
    meta["thresholds"] = [
        *meta["thresholds"],
        dict(record, noop=True, kept=G.n_edges, of=G.n_edges),
    ]
    return G.replace(meta=meta)


def _describe(record: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in record.items() if k not in ("rule",))


def _quantile(x: np.ndarray, q: float) -> float:
    """``numpy.quantile(x, q)`` (linear interpolation) by a partition **in place** (``x`` is
    reordered: pass an array of your own): no sort, no copy."""
    n = len(x)
    if n == 0:
        return np.inf
    pos = q * (n - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, n - 1)
    x.partition((lo, hi))
    a, b = float(x[lo]), float(x[hi])
    return a + (b - a) * (pos - lo)


def _rank_keep(groups: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Mask of the ``k`` highest scores within each group value; ties by position (stable)."""
    order = np.lexsort((np.arange(len(score)), -score, groups))
    g_sorted = groups[order]
    starts = np.searchsorted(g_sorted, g_sorted, side="left")
    rank = np.arange(len(order)) - starts
    keep = np.zeros(len(order), dtype=bool)
    keep[order[rank < k]] = True
    return keep


def _ends(block: Any) -> tuple[np.ndarray, np.ndarray]:
    n, m = block.shape
    if sp.issparse(block):
        return np.repeat(np.arange(n), np.diff(block.indptr)), np.asarray(block.indices)
    return np.repeat(np.arange(n), m), np.tile(np.arange(m), n)


def _top_m(score: np.ndarray, m: int) -> np.ndarray:
    """The ``m`` highest scores; ties at the cut by position (stable, no full sort)."""
    n = len(score)
    keep = np.zeros(n, dtype=bool)
    if m >= n:
        keep[:] = True
        return keep
    if m <= 0:
        return keep
    cut = np.partition(score, n - m)[n - m]  # the m-th largest value
    above = score > cut
    need = m - int(above.sum())
    ties = np.flatnonzero(score == cut)[:need]
    keep[above] = True
    keep[ties] = True
    return keep
