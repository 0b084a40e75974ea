"""Effective information (EI) of a graph over random walks (Klein & Hoel; the ``einet`` code).

Everything is in bits and runs on edge arrays in O(E): out-strengths, row entropies, the effect
distribution ``W_in`` and the per-node effect information are ``np.bincount`` sums over the
edges' source or target ids. No ``N x N`` dense matrix is ever built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = ["EffectiveInformation", "effective_information", "ei_per_block", "WEIGHTS"]

#: accepted values of ``weights=``
WEIGHTS = ("abs", "pos", "neg", "signed", None)

_Part = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class EffectiveInformation:
    """EI of a graph and its parts, in bits (see :func:`effective_information`).

    Attributes
    ----------
    ei, determinism, degeneracy : float
        ``EI = determinism - degeneracy``.
    eff, determinism_norm, degeneracy_norm : float
        The same divided by ``log2 n_nodes`` (0 when ``n_nodes <= 1``); ``eff = det_n - deg_n``.
    h_w_in, mean_h_out : float
        ``H(W_in)`` and the mean over nodes with out-edges of ``H(W_i)``.
    n_nodes, n_out, n_sinks, n_transitions : int
        All nodes (sinks included), nodes with out-edges, nodes without, directed transitions used.
    effect_information : (n_nodes,) float64 ndarray
        ``EI_i = D_KL(W_i || W_in)``; 0 for sinks (einet's convention). ``ei`` is its mean over
        the nodes with out-edges.
    has_out : (n_nodes,) bool ndarray
        True for the nodes with out-edges.
    weights, directed : the choices used.
    block : int or None
        The block this result is about (``None``: the whole graph), and ``block_name`` its
        ``"src->dst"`` name.
    blocks : tuple of EffectiveInformation
        Per-block results when asked for (``per_block=True``), else empty.
    """

    ei: float
    eff: float
    determinism: float
    degeneracy: float
    determinism_norm: float
    degeneracy_norm: float
    h_w_in: float
    mean_h_out: float
    n_nodes: int
    n_out: int
    n_sinks: int
    n_transitions: int
    weights: str | None
    directed: bool
    effect_information: np.ndarray = field(repr=False)
    has_out: np.ndarray = field(repr=False)
    block: int | None = None
    blocks: tuple[EffectiveInformation, ...] = field(default=(), repr=False)
    block_name: str | None = None

    def to_dict(self, *, per_node: bool = False) -> dict[str, Any]:
        """JSON-able scalars (and per-block results); ``per_node=True`` adds ``EI_i`` as a list."""
        keys = (
            "ei eff determinism degeneracy determinism_norm degeneracy_norm h_w_in mean_h_out "
            "n_nodes n_out n_sinks n_transitions weights directed block block_name"
        ).split()
        d: dict[str, Any] = {k: getattr(self, k) for k in keys}
        d["weights"] = "none" if self.weights is None else self.weights
        d["units"] = "bits"
        if per_node:
            d["effect_information"] = self.effect_information.tolist()
        if self.blocks:
            d["blocks"] = [b.to_dict(per_node=per_node) for b in self.blocks]
        return d

    def to_frame(self) -> Any:
        """A pandas table: one row for the graph, then one per block (when computed)."""
        import pandas as pd

        rows = [self, *self.blocks]
        keys = "block ei eff determinism degeneracy n_nodes n_out n_sinks n_transitions".split()
        df = pd.DataFrame([{k: getattr(r, k) for k in keys} for r in rows])
        df["block"] = ["all"] + [str(r.block_name or r.block) for r in self.blocks]
        return df

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        where = [short(self.block_name or self.block)] if self.block is not None else []
        return summary(
            "EffectiveInformation",
            *where,
            ei=self.ei,
            eff=self.eff,
            determinism=self.determinism,
            degeneracy=self.degeneracy,
            n_nodes=self.n_nodes,
            n_transitions=self.n_transitions,
            weights=self.weights or "none",
            directed=self.directed,
            blocks=len(self.blocks) or None,
        )


# ---- the core: O(E) sums over directed transition arrays ---------------------------------------
def _xlog2x(p: np.ndarray) -> np.ndarray:
    out = np.zeros_like(p)
    nz = p > 0
    out[nz] = p[nz] * np.log2(p[nz])
    return out


def _check_values(w: np.ndarray, what: str) -> None:
    if w.size and not np.all(np.isfinite(w)):
        raise InputError(f"{what}: transition weights contain NaN or Inf")
    if w.size and w.min() < 0:
        raise InputError(
            f"{what}: negative transition weights (min {w.min():.4g}); random walks need "
            "weights >= 0: use weights='abs', 'pos' or 'neg'"
        )


def _ei_core(
    n: int, parts: list[_Part], *, weights: str | None, directed: bool, block: int | None = None
) -> EffectiveInformation:
    """EI from directed transitions given as one or more ``(src, dst, w)`` arrays.

    No (src, dst) pair may appear twice across ``parts`` (callers sum duplicates first).
    """
    s = np.zeros(n)
    for src, _, w in parts:
        s += np.bincount(src, weights=w, minlength=n)
    has_out = s > 0
    n_out = int(has_out.sum())
    n_trans = int(sum(int(np.count_nonzero(w)) for _, _, w in parts))
    log_n = float(np.log2(n)) if n > 1 else 0.0
    zeros = np.zeros(n)
    if n_out == 0 or n <= 1:  # no node with out-edges (or N = 1): 0 by convention
        return EffectiveInformation(
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            n,
            n_out,
            n - n_out,
            n_trans,
            weights,
            directed,
            zeros,
            has_out,
            block,
        )
    h_out = np.zeros(n)  # H(W_i) per node
    w_in = np.zeros(n)
    inv = np.zeros(n)
    inv[has_out] = 1.0 / s[has_out]
    for src, dst, w in parts:
        p = w * inv[src]
        h_out -= np.bincount(src, weights=_xlog2x(p), minlength=n)
        w_in += np.bincount(dst, weights=p, minlength=n)
    w_in /= n_out
    log_w_in = np.zeros(n)
    pos = w_in > 0
    log_w_in[pos] = np.log2(w_in[pos])
    h_w_in = float(-(w_in[pos] * log_w_in[pos]).sum()) + 0.0  # no -0.0
    cross = np.zeros(n)  # -sum_j p_ij log2 W_in[j]
    for src, dst, w in parts:
        p = w * inv[src]
        cross -= np.bincount(src, weights=p * log_w_in[dst], minlength=n)
    ei_i = np.where(has_out, cross - h_out, 0.0)
    mean_h = float(h_out[has_out].sum() / n_out)
    ei = h_w_in - mean_h + 0.0
    det = log_n - mean_h
    deg = log_n - h_w_in
    return EffectiveInformation(
        ei=ei,
        eff=ei / log_n,
        determinism=det,
        degeneracy=deg,
        determinism_norm=det / log_n,
        degeneracy_norm=deg / log_n,
        h_w_in=h_w_in,
        mean_h_out=mean_h,
        n_nodes=n,
        n_out=n_out,
        n_sinks=n - n_out,
        n_transitions=n_trans,
        weights=weights,
        directed=directed,
        effect_information=ei_i,
        has_out=has_out,
        block=block,
    )


# ---- inputs -------------------------------------------------------------------------------
def _check_weights(weights: Any) -> None:
    if weights not in WEIGHTS:
        raise InputError(
            f"weights must be one of 'abs', 'pos', 'neg', 'signed' or None, got {weights!r}"
        )


def _transform(w: np.ndarray, sign: np.ndarray, weights: str | None, what: str) -> np.ndarray:
    """Transition weights (float64) from edge values ``w`` whose sign is read from ``sign``."""
    w = np.asarray(w, dtype=np.float64)
    if w.size and not np.all(np.isfinite(w)):
        raise InputError(f"{what}: weights contain NaN or Inf")
    if weights is None:
        return (w != 0).astype(np.float64)  # an explicit zero weight is no edge
    if weights == "abs":
        return np.abs(w)
    if weights == "pos":
        return np.where(sign > 0, np.abs(w), 0.0)
    if weights == "neg":
        return np.where(sign < 0, np.abs(w), 0.0)
    _check_values(w, what)  # "signed"
    return w


def _drop_zeros(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> _Part:
    keep = w > 0
    if keep.all():
        return src, dst, w
    return src[keep], dst[keep], w[keep]


def _block_parts(G: LayeredGraph, li: int, weights: str | None, local: bool) -> _Part:
    """Transitions ``src -> dst`` of block ``li`` (global ids, or ids in the block's own
    bipartite graph when ``local``)."""
    b = G.blocks[li]
    n, m = b.shape
    if sp.issparse(b):
        src = np.repeat(np.arange(n, dtype=np.int64), np.diff(b.indptr))
        dst = b.indices.astype(np.int64)
        vals = b.data
    else:
        src = np.repeat(np.arange(n, dtype=np.int64), m)
        dst = np.tile(np.arange(m, dtype=np.int64), n)
        vals = np.asarray(b).reshape(-1)
    sign_src = G.edge_attrs.get("weight", G.edge_attrs.get("sign"))
    if sign_src is not None and weights in ("pos", "neg"):
        sb = sign_src[li]
        sign = sb.data if sp.issparse(sb) else np.asarray(sb).reshape(-1)
    else:
        sign = vals
    w = _transform(vals, sign, weights, f"block {G.block_names[li]}")
    if local:
        dst = dst + n
    else:
        off = G.offsets
        src = src + off[G.block_src[li]]
        dst = dst + off[G.block_dst[li]]
    return _drop_zeros(src, dst, w)


def _summed(parts: list[_Part], n: int) -> _Part:
    """One part with duplicate (src, dst) pairs summed (two blocks joining the same groups)."""
    src = np.concatenate([p[0] for p in parts])
    dst = np.concatenate([p[1] for p in parts])
    w = np.concatenate([p[2] for p in parts])
    A = sp.coo_array((w, (src, dst)), shape=(n, n)).tocsr()
    A.sum_duplicates()
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(A.indptr))
    return rows, A.indices.astype(np.int64), A.data


def _layered_parts(
    G: LayeredGraph,
    weights: str | None,
    directed: bool,
    block: int | None,
    include_identity: bool = False,
) -> tuple[int, list[_Part]]:
    if block is None:
        used = [b for b in range(G.n_blocks) if include_identity or G.block_kinds[b] != "identity"]
        fwd = [_block_parts(G, b, weights, local=False) for b in used]
        n = G.n_nodes
        pairs = [(G.block_src[b], G.block_dst[b]) for b in used]
        if len(set(pairs)) < len(pairs):
            fwd = [_summed(fwd, n)]
    else:
        if not -len(G.blocks) <= block < len(G.blocks):
            raise InputError(f"block={block} out of range: the graph has {len(G.blocks)} blocks")
        block %= len(G.blocks)
        fwd = [_block_parts(G, block, weights, local=True)]
        n = G.layer_sizes[G.block_src[block]] + G.layer_sizes[G.block_dst[block]]
    parts = list(fwd)
    # groups are topologically ordered (src < dst), so a reversed pair never equals a forward one
    if not directed:
        parts += [(d, s, w) for s, d, w in fwd]
    return n, parts


def _matrix_parts(
    A: Any, weights: str | None, directed: bool, what: str
) -> tuple[int, list[_Part]]:
    A = sp.csr_array(A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise InputError(f"{what}: expected a square adjacency matrix, got shape {A.shape}")
    A = A.astype(np.float64)
    A.sum_duplicates()
    data = _transform(A.data, A.data, weights, what)
    A = sp.csr_array((data, A.indices, A.indptr), shape=A.shape)
    A.eliminate_zeros()
    if not directed:
        A = A.maximum(A.T).tocsr()
    src = np.repeat(np.arange(A.shape[0], dtype=np.int64), np.diff(A.indptr))
    return A.shape[0], [(src, A.indices.astype(np.int64), A.data)]


def effective_information(
    G: Any,
    *,
    weights: str | None = "abs",
    directed: bool | None = None,
    block: int | None = None,
    per_block: bool = False,
    include_identity: bool = False,
) -> EffectiveInformation:
    """Effective information of a graph over random walks, with determinism and degeneracy.

    A random walker placed on every node with equal probability (a maximum-entropy intervention)
    steps once along the out-edges. With ``W_i`` node i's normalised out-weights and
    ``W_in = (1/N_out) sum_i W_i`` (i over the ``N_out`` nodes with out-edges):
    ``EI = H(W_in) - <H(W_i)>`` = mean over those nodes of ``D_KL(W_i || W_in)``;
    ``determinism = log2 N - <H(W_i)>``, ``degeneracy = log2 N - H(W_in)``,
    ``EI = determinism - degeneracy``, ``eff = EI / log2 N``. All in bits.

    Parameters
    ----------
    G : LayeredGraph, networkx graph, or scipy sparse matrix
        For a matrix, row ``i`` holds the out-weights of node ``i``. For a networkx graph the
        edge attribute ``"weight"`` (missing = 1) is used; a ``Graph`` is read in both
        directions, a ``DiGraph`` as is.
    weights : {"abs", "pos", "neg", None, "signed"}
        Transition weight of an edge of signed weight ``w``: ``|w|`` (default), ``w`` for
        ``w > 0`` only, ``|w|`` for ``w < 0`` only, 1 for every non-zero edge (unweighted), or
        ``w`` as given (negative values are then refused). Zero weights are no edge. On a
        thresholded graph (unit weights, signs kept in ``edge_attrs``), ``"pos"``/``"neg"``
        select edges by their original sign.
    directed : bool, optional
        LayeredGraph: default ``G.meta.get("directed", False)``: RBM/DBN graphs are
        undirected (walks go both ways), feed-forward exports are directed (``src -> dst``;
        the output groups are all sinks). networkx: default ``G.is_directed()``. Matrix: default
        True (as given); False symmetrises with ``max(A, A.T)``.
    block : int, optional
        Only the bipartite graph of one block (its groups ``block_src`` and ``block_dst``).
    per_block : bool
        Also compute every block's bipartite graph, returned in ``result.blocks`` (identity
        blocks included when ``include_identity``).
    include_identity : bool
        Walk along identity blocks too (skip connections, weight 1). Off by default: they carry
        no learned weight, and with weight 1 they would dominate walks over learned weights.

    Returns
    -------
    EffectiveInformation
        Frozen; ``to_dict()`` is JSON-able.

    Raises
    ------
    ValueError
        NaN/Inf weights, negative transition weights (``weights="signed"``), a non-square matrix,
        an unknown ``weights`` or an out-of-range ``block``.

    Notes
    -----
    Conventions of the ``einet`` code (Klein & Hoel): sinks (no out-edges, isolated nodes too)
    are left out of both averages but count in ``N``; a self-loop is one out-edge; with no node
    having out-edges, EI = det = deg = 0. Our choices: ``N = 1`` gives 0; the normalised
    ``determinism_norm``/``degeneracy_norm`` (so ``eff = det_n - deg_n``); per-node
    ``effect_information`` is 0 for sinks, as in einet's ``effect_information_i``; the signed
    weight options above (neither source covers signed networks).
    Cost: O(E) time and memory (a few float64 arrays of length E), no ``N x N`` dense matrix.

    References
    ----------
    B. Klein and E. Hoel, "The emergence of informative higher scales in complex networks",
    Complexity 2020, 8932526. Code: https://github.com/jkbren/einet

    Examples
    --------
    A directed 4-cycle is fully deterministic and non-degenerate: ``EI = log2 4``.

    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_array(np.roll(np.eye(4), 1, axis=1))
    >>> r = effective_information(A)
    >>> round(r.ei, 6), round(r.eff, 6)
    (2.0, 1.0)

    A 2-3 feed-forward layered graph: the 3 top nodes are sinks.

    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 3), (np.array([[1.0, -1.0, 0.0], [0.0, 2.0, 2.0]], np.float32),),
    ...                  meta={"directed": True})
    >>> r = effective_information(G)
    >>> r.n_sinks, round(r.ei, 4)
    (3, 0.5)
    """
    _check_weights(weights)
    if isinstance(G, LayeredGraph):
        d = bool(G.meta.get("directed", False)) if directed is None else bool(directed)
        n, parts = _layered_parts(G, weights, d, block, include_identity)
        res = _ei_core(
            n,
            parts,
            weights=weights,
            directed=d,
            block=None if block is None else block % len(G.blocks),
        )
        if block is not None:
            res = _replace(res, block_name=G.block_names[block % len(G.blocks)])
        if per_block:
            blocks = tuple(
                _replace(
                    _ei_core(
                        *_layered_parts(G, weights, d, li), weights=weights, directed=d, block=li
                    ),
                    block_name=G.block_names[li],
                )
                for li in range(len(G.blocks))
                if include_identity or G.block_kinds[li] != "identity"
            )
            res = _replace(res, blocks=blocks)
        return res
    if block is not None or per_block:
        raise InputError("block= and per_block= need a LayeredGraph")
    if sp.issparse(G):
        d = True if directed is None else bool(directed)
        n, parts = _matrix_parts(G, weights, d, "matrix")
        return _ei_core(n, parts, weights=weights, directed=d)
    if hasattr(G, "is_directed") and hasattr(G, "adj"):  # networkx, converted at the boundary
        import networkx as nx

        d = G.is_directed() if directed is None else bool(directed)
        A = nx.to_scipy_sparse_array(G, weight="weight", dtype=np.float64, format="csr")
        if G.is_directed() and not d:
            n, parts = _matrix_parts(A, weights, False, "networkx graph")
        else:  # an undirected graph's matrix is already symmetric (self-loops once)
            n, parts = _matrix_parts(A, weights, True, "networkx graph")
        return _ei_core(n, parts, weights=weights, directed=d)
    raise TypeError(
        f"G must be a LayeredGraph, a networkx graph or a scipy sparse matrix, got {type(G).__name__}"
    )


def _replace(r: EffectiveInformation, **kw: Any) -> EffectiveInformation:
    import dataclasses

    return dataclasses.replace(r, **kw)


def ei_per_block(
    G: LayeredGraph, *, weights: str | None = "abs", directed: bool | None = None
) -> tuple[EffectiveInformation, ...]:
    """EI of every weight block's bipartite graph (its two groups only).

    Parameters and conventions as in :func:`effective_information`.

    Returns
    -------
    tuple of EffectiveInformation, one per weight block, ``result.block`` its index.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2, 1), (np.eye(2, dtype=np.float32), np.ones((2, 1), np.float32)),
    ...                  meta={"directed": True})
    >>> [round(r.ei, 3) for r in ei_per_block(G)]
    [1.0, 0.0]
    """
    return effective_information(G, weights=weights, directed=directed, per_block=True).blocks
