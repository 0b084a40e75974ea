"""Null models of a thresholded graph, block by block: the layered random replica and
degree-preserving rewiring (curveball trades). Public through :mod:`netsci_dl.analysis.structure.null_models`.

Both iterate over the blocks of the DAG of node groups (block ``b`` joins ``block_src[b] ->
block_dst[b]``, any two groups, not only consecutive ones) and never move an edge out of its
block, so the result has the same groups, blocks and block kinds as the input; its blocks are
canonical ``csr_array`` of ones (an unweighted graph, ``meta["weighted"] = False``) and
``meta["null_model"]`` records the model and its parameters.

**Allowed edges.** ``allowed`` names the ``(src, dst)`` pairs a block may hold: by default every
pair of the block (``n_src * n_dst``); given the graph before thresholding, a dense block allows
every pair and a sparse block (an identity skip, a pruned export) only its stored entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl import _args
from netsci_dl.analysis.structure.distributions import require_thresholded
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["allowed_patterns", "layered_replica", "rewire_blocks"]

Pattern = Any  # csr_array (the allowed entries of a block) or None (every pair)

#: a dense counting table is used to find shared columns while it has at most this many cells
_COUNT_CELLS = 1 << 22


def allowed_patterns(G: LayeredGraph) -> tuple[Pattern, ...]:
    """The pairs each block of ``G`` allows: ``None`` for a dense block (every ``(src, dst)``
    pair), the block itself (its stored entries) for a sparse one.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> I = sp.csr_array(np.eye(2, dtype=np.float32))
    >>> G = LayeredGraph((2, 2), (I,), block_kinds=("identity",))
    >>> allowed_patterns(G)[0].nnz, allowed_patterns(LayeredGraph((2, 2), (np.ones((2, 2)),)))
    (2, (None,))
    """
    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    return tuple(b if sp.issparse(b) else None for b in G.blocks)


def _rows_cols(block: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    n = block.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(block.indptr))
    return rows, block.indices.astype(np.int64)


def _keys(block: sp.csr_array) -> np.ndarray:
    """Sorted ``row * n_cols + col`` of a canonical csr block."""
    rows, cols = _rows_cols(block)
    return rows * block.shape[1] + cols


def _member(q: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(len(q), dtype=bool)
    i = np.minimum(np.searchsorted(sorted_keys, q), len(sorted_keys) - 1)
    return sorted_keys[i] == q


def _check_allowed(H: LayeredGraph, allowed: Any) -> tuple[Pattern, ...]:
    nb = H.n_blocks
    if allowed is None:
        return (None,) * nb
    if isinstance(allowed, LayeredGraph):
        if (allowed.layer_sizes, allowed.block_src, allowed.block_dst) != (
            H.layer_sizes,
            H.block_src,
            H.block_dst,
        ):
            raise InputError(
                "allowed has other groups or blocks than the graph: pass the graph this one was "
                "thresholded from (same layer_sizes, block_src, block_dst)"
            )
        pats = allowed_patterns(allowed)
    else:
        pats = tuple(allowed)
        if len(pats) != nb:
            raise InputError(f"allowed has {len(pats)} entries for {nb} blocks")
    out = []
    for b, (P, blk) in enumerate(zip(pats, H.blocks)):
        if P is None:
            out.append(None)
            continue
        if not sp.issparse(P) or P.shape != blk.shape:
            raise InputError(
                f"allowed[{b}] must be None or a csr_array of shape {blk.shape}, got "
                f"{type(P).__name__} {getattr(P, 'shape', '')}"
            )
        P = sp.csr_array(P, copy=True)
        P.sum_duplicates()  # canonical: sorted indices, no duplicates
        if not np.all(_member(_keys(blk), _keys(P))):
            raise InputError(
                f"block {b} ({H.block_names[b]}) holds edges that allowed[{b}] does not allow"
            )
        out.append(P)
    return tuple(out)


def _csr(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], *, is_sorted: bool) -> Any:
    n, m = shape
    if not is_sorted:
        order = np.argsort(rows * m + cols, kind="stable")
        rows, cols = rows[order], cols[order]
    idx = np.int32 if max(m, len(cols)) < 2**31 else np.int64
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_array(
        (np.ones(len(cols), np.float32), cols.astype(idx), indptr.astype(idx)), shape=shape
    )


def _as_graph(H: LayeredGraph, blocks: Sequence[Any], record: dict[str, Any]) -> LayeredGraph:
    meta = dict(H.meta)
    meta["weighted"] = False
    meta["null_model"] = record
    return H.replace(blocks=tuple(blocks), edge_attrs={}, meta=meta)


def _replica_block(
    shape: tuple[int, int], kept: int, pattern: Pattern, rng: np.random.Generator
) -> Any:
    n, m = shape
    possible = n * m if pattern is None else int(pattern.nnz)
    if possible == 0 or kept == 0:
        return _csr(np.zeros(0, np.int64), np.zeros(0, np.int64), shape, is_sorted=True)
    # independent Bernoulli(p) per allowed pair == a Binomial(possible, p) count of uniform
    # distinct positions
    k = int(rng.binomial(possible, kept / possible))
    pos = np.sort(rng.choice(possible, size=k, replace=False, shuffle=False))
    if pattern is None:
        rows, cols = np.divmod(pos, m)
    else:
        prow, pcol = _rows_cols(pattern)
        rows, cols = prow[pos], pcol[pos]
    return _csr(rows, cols, shape, is_sorted=True)


def layered_replica(
    H: LayeredGraph, *, allowed: Any = None, seed: int | np.random.Generator | None = 0
) -> LayeredGraph:
    """The layered random replica of a thresholded graph: every allowed pair of block ``b`` is
    an edge independently with probability ``p_b = kept_b / possible_b`` (the block's density).

    Parameters
    ----------
    H : LayeredGraph
        A thresholded graph (sparse blocks).
    allowed : LayeredGraph or sequence of (csr_array or None), optional
        The pairs each block allows (module docstring): the graph ``H`` was thresholded from, or
        one pattern per block (``None``: every pair). Default: every pair of every block.
    seed : int, numpy Generator or None

    Returns
    -------
    LayeredGraph
        Same groups and blocks, csr blocks of ones; the number of edges of block ``b`` is
        ``Binomial(possible_b, p_b)``, so its mean is ``kept_b``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> H = LayeredGraph((40, 50), (sp.random(40, 50, density=0.1, format="csr", random_state=0,
    ...                                       dtype=np.float32),))
    >>> R = layered_replica(H, seed=1)
    >>> R.layer_sizes, R.is_sparse, abs(R.n_edges - H.n_edges) < 4 * np.sqrt(200 * 0.9)
    ((40, 50), True, True)
    """
    seed = _args.seed("seed", seed, generator=True)
    require_thresholded(H, "layered_replica")
    pats = _check_allowed(H, allowed)
    rng = np.random.default_rng(seed)
    blocks = [_replica_block(blk.shape, int(blk.nnz), P, rng) for blk, P in zip(H.blocks, pats)]
    record = {"model": "replica", "allowed": "given" if allowed is not None else "all"}
    return _as_graph(H, blocks, record)


def _curveball(
    rows: np.ndarray,
    cols: np.ndarray,
    shape: tuple[int, int],
    n_rounds: int,
    pattern: Pattern,
    rng: np.random.Generator,
) -> np.ndarray:
    """New row of every edge after ``n_rounds`` global curveball rounds (columns never move).

    One round pairs the rows at random; in each pair ``(A, B)`` the columns held by both stay,
    and the columns held by only one of them (``a`` held by A, ``b`` by B) are dealt again at
    random, ``a`` to A and ``b`` to B. Row degrees, column degrees and simplicity are kept
    exactly. With a ``pattern``, a pair whose deal would leave the pattern keeps its old deal.
    """
    n, m = shape
    r = rows.astype(np.int64, copy=True)
    c = cols.astype(np.int64, copy=False)
    if len(r) == 0 or n < 2:
        return r
    n_pairs = (n + 1) // 2
    allowed_keys = None if pattern is None else _keys(pattern)
    count_table = n_pairs * m <= max(_COUNT_CELLS, 4 * len(r))
    ranks = np.arange(n)
    for _ in range(n_rounds):
        perm = rng.permutation(n)
        pair = np.empty(n, np.int64)
        pair[perm] = ranks // 2
        on_a = np.empty(n, bool)
        on_a[perm] = ranks % 2 == 0
        row_a = perm[0::2]
        row_b = np.concatenate([perm[1::2], perm[-1:]]) if n % 2 else perm[1::2]
        p = pair[r]
        key = p * m + c
        if count_table:
            shared = np.bincount(key, minlength=n_pairs * m)[key] > 1
        else:
            order = np.argsort(key)
            same = key[order][1:] == key[order][:-1]
            dup = np.zeros(len(key), bool)
            dup[1:] |= same
            dup[:-1] |= same
            shared = np.empty(len(key), bool)
            shared[order] = dup
        free = np.flatnonzero(~shared)
        if not len(free):
            continue
        pf = p[free]
        n_a = np.bincount(pf[on_a[r[free]]], minlength=n_pairs)
        order = free[np.argsort(pf + rng.random(len(free)))]  # by pair, random within a pair
        ps = p[order]
        first = np.ones(len(ps), bool)
        first[1:] = ps[1:] != ps[:-1]
        starts = np.flatnonzero(first)
        rank = np.arange(len(ps)) - np.repeat(starts, np.diff(np.append(starts, len(ps))))
        new = np.where(rank < n_a[ps], row_a[ps], row_b[ps])
        if allowed_keys is not None:
            bad = np.zeros(n_pairs, bool)
            bad[ps[~_member(new * m + c[order], allowed_keys)]] = True
            new = np.where(bad[ps], r[order], new)
        r[order] = new
    return r


def rewire_blocks(
    H: LayeredGraph,
    *,
    n_rounds: int = 20,
    allowed: Any = None,
    seed: int | np.random.Generator | None = 0,
) -> LayeredGraph:
    """Degree-preserving rewiring within each block: every node keeps its degree inside each
    block exactly, and no multi-edge appears.

    Method: global curveball trades (Strona et al. 2014; Carstens, Berger & Strona 2016), a
    Markov chain of edge swaps between pairs of source units whose stationary distribution is
    uniform over the simple bipartite graphs of the block with the same row and column degrees.
    Each round pairs all source units of the block at random and, in every pair, deals the
    target units held by only one of the two again at random. Neither a configuration pairing
    nor a rejection step: the chain never leaves the simple graphs. With ``allowed`` patterns,
    a pair whose deal would put an edge outside its block's pattern keeps its old deal (an
    identity block therefore stays as it is: it is the only graph its pattern allows).

    Parameters
    ----------
    H : LayeredGraph
        A thresholded graph (sparse blocks).
    n_rounds : int
        Curveball rounds. On workload W at its 95% threshold, the fraction of the original edges
        still in place falls by about half per round and reaches the level of an independent
        draw (about 5%) by 10 to 20 rounds; 20 by default.
    allowed : LayeredGraph or sequence of (csr_array or None), optional
        As in :func:`layered_replica`.
    seed : int, numpy Generator or None

    Returns
    -------
    LayeredGraph
        Same groups and blocks, csr blocks of ones.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> H = LayeredGraph((30, 20), (sp.random(30, 20, density=0.2, format="csr", random_state=0,
    ...                                       dtype=np.float32),))
    >>> R = rewire_blocks(H, seed=1)
    >>> B, R0 = H.blocks[0], R.blocks[0]
    >>> np.array_equal(np.diff(B.indptr), np.diff(R0.indptr))          # out-degrees
    True
    >>> np.array_equal(np.bincount(B.indices, minlength=20), np.bincount(R0.indices, minlength=20))
    True
    """
    n_rounds = _args.count("n_rounds", n_rounds, lo=0, hi=100_000)
    seed = _args.seed("seed", seed, generator=True)
    require_thresholded(H, "rewire_blocks")
    pats = _check_allowed(H, allowed)
    rng = np.random.default_rng(seed)
    blocks = []
    for blk, P in zip(H.blocks, pats):
        rows, cols = _rows_cols(blk)
        new_rows = _curveball(rows, cols, blk.shape, int(n_rounds), P, rng)
        blocks.append(_csr(new_rows, cols, blk.shape, is_sorted=False))
    record = {
        "model": "rewire",
        "method": "curveball",
        "n_rounds": int(n_rounds),
        "allowed": "given" if allowed is not None else "all",
    }
    return _as_graph(H, blocks, record)
