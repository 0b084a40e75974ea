"""Weight, strength and degree distributions of a `LayeredGraph` (T18), from the blocks.

Conventions (shared/SCIENCE.md, "Distributions"):

* **weights** are the signed weights of the edges; on a thresholded (unweighted) graph, the
  original signed weights of the kept edges (``edge_attrs["weight"]``). Statistics are per block
  (named ``"src->dst"`` by group, :attr:`LayeredGraph.block_names`) and over all weight blocks
  (``"all"``; identity blocks hold no learned weight and are left out). Skewness is the biased
  g1, kurtosis the biased excess kurtosis (``scipy.stats.skew`` / ``kurtosis`` with
  ``bias=True``), std has ``ddof=0``.
* **strength** ``s_up(i) = sum_j w_ij`` over every block leaving ``i``'s group (T18: towards the
  **next** layer, signed; on a DAG, every later group it feeds), ``s_down(j) = sum_i w_ij`` over
  every block entering ``j``'s group (the receptive-field direction), ``s_tot = s_up + s_down``;
  ``weights`` picks signed, ``|w|``, positive-only or negative-only weights. Identity blocks
  (skip connections) count only with ``include_identity=True``. A group with no outgoing block
  (the top layer, an output head) has no "up" value: with the default ``fallback=True`` it gets
  its ``s_down`` (and a source group, such as the input, its ``s_up`` under "down"), as T18 does
  for its top layer.
* **degree** (``k_up``, ``k_down``, ``k_tot``) is counted on a thresholded graph, over the same
  blocks; isolated nodes stay (degree 0). On a full dense graph every node of a layer has the
  same degree, so :func:`degree` refuses it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl import _args
from netsci_dl.analysis.structure._moments import _central_sums, _hist_quantiles, _moments
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "QUANTILES",
    "WeightStats",
    "WeightDistribution",
    "weight_stats",
    "weight_values",
    "strength",
    "degree",
    "require_thresholded",
    "block_names",
    "log_binned_histogram",
    "ccdf",
]

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
DIRECTIONS = ("up", "down", "total")
KINDS = ("signed", "abs", "pos", "neg")


def block_names(G: LayeredGraph) -> tuple[str, ...]:
    """``"src->dst"`` names of the blocks (:attr:`LayeredGraph.block_names`)."""
    return G.block_names


def _weight_blocks(G: LayeredGraph) -> tuple[Any, ...]:
    """Blocks holding the signed weights (the original ones on an unweighted thresholded graph)."""
    if not G.weighted and "weight" in G.edge_attrs:
        return tuple(G.edge_attrs["weight"])
    return G.blocks


def _values(b: Any) -> np.ndarray:
    return b.data if sp.issparse(b) else np.asarray(b).reshape(-1)


def weight_values(G: LayeredGraph, block: int | None = None) -> np.ndarray:
    """Signed weights of the edges of one block, or of every weight block (identity blocks left
    out).

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[1, -2], [3, 0]], dtype=np.float32),))
    >>> weight_values(G).tolist()
    [1.0, -2.0, 3.0, 0.0]
    """
    blocks = _weight_blocks(G)
    if block is not None:
        return _values(blocks[block])
    vals = [_values(b) for b, k in zip(blocks, G.block_kinds) if k != "identity"]
    return np.concatenate(vals) if vals else np.zeros(0, np.float32)


@dataclass(frozen=True)
class WeightStats:
    """Summary of one set of weights (a block, or ``"all"``).

    ``hist_counts`` / ``hist_edges``: a histogram with equal-width bins over ``[min, max]``.
    """

    name: str
    n: int
    mean: float
    std: float
    skewness: float
    kurtosis: float
    min: float
    max: float
    frac_negative: float
    quantiles: tuple[tuple[float, float], ...]
    hist_counts: tuple[int, ...]
    hist_edges: tuple[float, ...]

    def scalars(self) -> dict[str, float]:
        """The scalar statistics (no histogram), quantiles as ``q05``-style keys."""
        out: dict[str, Any] = {
            k: getattr(self, k)
            for k in ("n", "mean", "std", "skewness", "kurtosis", "min", "max", "frac_negative")
        }
        for q, v in self.quantiles:
            out[f"q{round(q * 100):02d}"] = v
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["quantiles"] = [list(x) for x in self.quantiles]
        d["hist_counts"] = list(self.hist_counts)
        d["hist_edges"] = list(self.hist_edges)
        return d

    def __repr__(self) -> str:
        from netsci_dl._results import short, summary

        return summary(
            "WeightStats",
            short(self.name),
            n=self.n,
            mean=self.mean,
            std=self.std,
            min=self.min,
            max=self.max,
            frac_negative=self.frac_negative,
        )


@dataclass(frozen=True)
class WeightDistribution:
    """Weight statistics per block (``blocks``) and over all edges (``overall``)."""

    blocks: tuple[WeightStats, ...]
    overall: WeightStats

    def to_dict(self) -> dict[str, Any]:
        return {"blocks": [b.to_dict() for b in self.blocks], "overall": self.overall.to_dict()}

    def to_frame(self) -> Any:
        """One row per block plus ``"all"``; columns: the scalar statistics."""
        import pandas as pd

        rows = [dict(block=s.name, **s.scalars()) for s in (*self.blocks, self.overall)]
        return pd.DataFrame(rows).set_index("block")

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        o = self.overall
        return summary(
            "WeightDistribution",
            f"{len(self.blocks)} blocks",
            n=o.n,
            mean=o.mean,
            std=o.std,
            min=o.min,
            max=o.max,
        )


def _stats(
    name: str,
    xs: list[np.ndarray],
    n: int,
    mean: float,
    sums: np.ndarray,
    lo: float,
    hi: float,
    n_neg: int,
    quantiles: tuple[float, ...],
    bins: int,
) -> WeightStats:
    std, skew, kurt = _moments(n, sums)
    if n:
        counts, edges, qv = _hist_quantiles(xs, lo, hi, bins, quantiles)
    else:
        qv = np.full(len(quantiles), np.nan)
        counts, edges = np.zeros(0, int), np.zeros(0)
    return WeightStats(
        name=name,
        n=int(n),
        mean=float(mean),
        std=std,
        skewness=skew,
        kurtosis=kurt,
        min=float(lo) if n else np.nan,
        max=float(hi) if n else np.nan,
        frac_negative=float(n_neg / n) if n else np.nan,
        quantiles=tuple((float(q), float(v)) for q, v in zip(quantiles, qv)),
        hist_counts=tuple(int(c) for c in counts),
        hist_edges=tuple(float(e) for e in edges),
    )


def weight_stats(
    G: LayeredGraph, *, bins: int = 100, quantiles: tuple[float, ...] = QUANTILES
) -> WeightDistribution:
    """Mean, std, skewness (g1), excess kurtosis, quantiles, fraction negative and a histogram
    of the signed weights, per block and over all edges.

    Parameters
    ----------
    G : LayeredGraph
        Full or thresholded (then the original signed weights of the kept edges are used).
    bins : int
        Equal-width histogram bins over ``[min, max]`` of each set.
    quantiles : tuple of float

    Returns
    -------
    WeightDistribution

    Notes
    -----
    Moments are computed in float64 per block from centred sums and combined exactly for
    ``"all"``; they equal ``scipy.stats.skew(x)`` and ``scipy.stats.kurtosis(x)`` (biased).

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[1, -1], [2, 0]], dtype=np.float32),))
    >>> s = weight_stats(G, bins=4).overall
    >>> s.mean, s.frac_negative
    (0.5, 0.25)
    """
    bins = _args.count("bins", bins, hi=1_000_000)
    keep = [i for i, k in enumerate(G.block_kinds) if k != "identity"]
    blocks = [_weight_blocks(G)[i] for i in keep]
    names = [G.block_names[i] for i in keep]
    per, parts = [], []
    for name, b in zip(names, blocks):
        x = _values(b)
        n, mean, sums = _central_sums(x)
        lo, hi = (float(x.min()), float(x.max())) if n else (np.nan, np.nan)
        n_neg = int(np.count_nonzero(x < 0))
        per.append(_stats(name, [x], n, mean, sums, lo, hi, n_neg, quantiles, bins))
        parts.append((n, mean, sums, lo, hi, n_neg))
    n_all = sum(p[0] for p in parts)
    if n_all:
        mean_all = sum(p[0] * p[1] for p in parts if p[0]) / n_all
        tot = np.zeros(3)
        for n, mean, (s2, s3, s4), *_ in parts:
            if not n:
                continue
            d = mean - mean_all  # sum (x - M)^p = sum ((x - m) + d)^p, with sum (x - m) = 0
            tot += [
                s2 + n * d**2,
                s3 + 3 * d * s2 + n * d**3,
                s4 + 4 * d * s3 + 6 * d**2 * s2 + n * d**4,
            ]
        lo = min(p[3] for p in parts if p[0])
        hi = max(p[4] for p in parts if p[0])
    else:
        mean_all, tot, lo, hi = np.nan, np.zeros(3), np.nan, np.nan
    xs = [_values(b) for b in blocks if _values(b).size]
    overall = _stats(
        "all", xs, n_all, mean_all, tot, lo, hi, sum(p[5] for p in parts), quantiles, bins
    )
    return WeightDistribution(tuple(per), overall)


# ---- strength and degree ------------------------------------------------------------------
WEIGHTS = KINDS


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise InputError(f"direction must be one of {DIRECTIONS}, got {direction!r}")


def _check_weights(weights: Any) -> str:
    if weights not in KINDS:
        raise InputError(f"weights must be one of {KINDS}, got {weights!r}")
    return weights


def _kind_block(b: Any, kind: str) -> Any:
    if kind == "signed":
        return b
    if kind == "abs":
        return abs(b)
    if kind == "pos":
        return b.maximum(0) if sp.issparse(b) else np.maximum(b, 0)
    if kind == "neg":
        return b.minimum(0) if sp.issparse(b) else np.minimum(b, 0)
    raise InputError(f"weights must be one of {KINDS}, got {kind!r}")


def _used_blocks(G: LayeredGraph, include_identity: bool) -> list[int]:
    return [b for b, k in enumerate(G.block_kinds) if include_identity or k != "identity"]


def _assemble(
    G: LayeredGraph,
    rows: dict[int, np.ndarray],
    cols: dict[int, np.ndarray],
    direction: str,
    fallback: bool,
    dtype: Any,
) -> np.ndarray:
    """Per-node sums from per-block row sums (``rows[b]``: the source side) and column sums
    (``cols[b]``: the target side), over every block touching a group."""
    sizes = G.layer_sizes
    up = [np.zeros(n) for n in sizes]
    down = [np.zeros(n) for n in sizes]
    has_up, has_down = [False] * len(sizes), [False] * len(sizes)
    for b in rows:
        s, d = G.block_src[b], G.block_dst[b]
        up[s] = up[s] + rows[b]
        down[d] = down[d] + cols[b]
        has_up[s] = has_down[d] = True
    if direction == "total":
        parts = [u + d for u, d in zip(up, down)]
    elif direction == "up":
        parts = [
            down[g] if fallback and not has_up[g] and has_down[g] else up[g]
            for g in range(len(sizes))
        ]
    else:
        parts = [
            up[g] if fallback and not has_down[g] and has_up[g] else down[g]
            for g in range(len(sizes))
        ]
    out = np.concatenate(parts) if parts else np.zeros(0)
    return out.astype(dtype, copy=False)


def strength(
    G: LayeredGraph,
    *,
    direction: str = "up",
    weights: str = "signed",
    fallback: bool = True,
    include_identity: bool = False,
) -> np.ndarray:
    """Node strength: sum of the weights of a node's edges, from the block row/column sums.

    Parameters
    ----------
    G : LayeredGraph
        Full or thresholded (then the original signed weights of the kept edges are summed).
    direction : {"up", "down", "total"}
        ``"up"`` (T18's definition, default): over every block leaving the node's group,
        ``s_up(i) = sum_j w_ij`` (row sums); ``"down"``: over every block entering it (column
        sums, the receptive-field direction); ``"total"``: both.
    weights : {"signed", "abs", "pos", "neg"}
        Sum of signed weights, of ``|w|``, of positive weights only, or of negative weights only.
    fallback : bool
        True (default): a group with no outgoing block (the top layer, an output head) gets its
        ``"down"`` strength under ``direction="up"`` (T18's convention for its top layer), and a
        group with no incoming block (the input) its ``"up"`` strength under ``"down"``. False:
        those get 0.
    include_identity : bool
        Count the edges of identity blocks (skip connections, weight 1). Off by default: they
        carry no learned weight.

    Returns
    -------
    (n_nodes,) float64 ndarray, global node order.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[1, -2], [3, 0]], dtype=np.float32),))
    >>> strength(G).tolist()            # layer 0: row sums; last layer: column sums (fallback)
    [-1.0, 3.0, 4.0, -2.0]
    >>> strength(G, direction="total", weights="abs").tolist()
    [3.0, 3.0, 4.0, 2.0]
    """
    _check_direction(direction)
    _check_weights(weights)
    wb = _weight_blocks(G)
    rows, cols = {}, {}
    for b in _used_blocks(G, include_identity):
        blk = _kind_block(wb[b], weights)
        if sp.issparse(blk):
            rows[b] = np.asarray(blk.sum(axis=1), dtype=np.float64).ravel()
            cols[b] = np.asarray(blk.sum(axis=0), dtype=np.float64).ravel()
        else:
            rows[b] = np.asarray(blk).sum(axis=1, dtype=np.float64)
            cols[b] = np.asarray(blk).sum(axis=0, dtype=np.float64)
    return _assemble(G, rows, cols, direction, fallback, np.float64)


def require_thresholded(G: LayeredGraph, what: str = "this analysis") -> None:
    """Raise ``ValueError`` unless every block of ``G`` is sparse (a thresholded graph)."""
    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    if not G.is_sparse:
        dense = [G.block_names[b] for b, blk in enumerate(G.blocks) if not sp.issparse(blk)]
        raise InputError(
            f"{what} needs a thresholded graph: blocks {dense} are dense, so every node of a "
            "layer has the same degree; threshold first, e.g. netsci_dl.threshold.by_quantile(G, 0.95)"
        )


def degree(
    H: LayeredGraph,
    *,
    direction: str = "total",
    fallback: bool = True,
    include_identity: bool = False,
) -> np.ndarray:
    """Node degree on a thresholded graph (number of kept edges), from the block patterns.

    Parameters
    ----------
    H : LayeredGraph
        A thresholded graph (sparse blocks). A full dense graph raises an InputError.
    direction : {"total", "up", "down"}
        ``k_tot`` (default), ``k_up`` (edges of every block leaving the node's group) or
        ``k_down`` (of every block entering it).
    fallback : bool
        As in :func:`strength`: a group with no outgoing block gets its ``k_down`` as ``k_up``
        (and a source group its ``k_up`` as ``k_down``) when True.
    include_identity : bool
        Count the edges of identity blocks (skip connections). Off by default.

    Returns
    -------
    (n_nodes,) int64 ndarray; isolated nodes have degree 0 and stay.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from netsci_dl import LayeredGraph
    >>> H = LayeredGraph((2, 2), (sp.csr_array(np.array([[1, 0], [1, 1]], dtype=np.float32)),))
    >>> degree(H).tolist()
    [1, 2, 2, 1]
    """
    _check_direction(direction)
    require_thresholded(H, "degree")
    rows, cols = {}, {}
    for b in _used_blocks(H, include_identity):
        blk = H.blocks[b]
        rows[b] = np.diff(blk.indptr).astype(np.int64)
        cols[b] = np.bincount(blk.indices, minlength=blk.shape[1]).astype(np.int64)
    return _assemble(H, rows, cols, direction, fallback, np.int64)


# ---- histograms ---------------------------------------------------------------------------
def log_binned_histogram(
    x: np.ndarray, *, bins_per_decade: int = 10, discrete: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Density histogram of the positive values of ``x`` on logarithmic bins.

    Parameters
    ----------
    x : array
        Values; non-positive ones are dropped (a log axis cannot show them).
    bins_per_decade : int
    discrete : bool, optional
        Integer data (e.g. degrees): bin edges at half-integers, each bin's density divided by the
        number of integers it holds. Default: True when ``x`` has an integer dtype.

    Returns
    -------
    centers, density, edges : ndarrays
        Geometric bin centres, the density (integrates to 1 over the positive values), the edges.

    Examples
    --------
    >>> c, d, e = log_binned_histogram(np.array([1.0, 2.0, 10.0, 100.0]), bins_per_decade=1)
    >>> e.tolist()
    [1.0, 10.0, 100.0, 1000.0]
    """
    _args.sample("x", x, min_size=0, ndim=None)
    bins_per_decade = _args.count("bins_per_decade", bins_per_decade, hi=1000)
    x = np.asarray(x)
    if discrete is None:
        discrete = x.dtype.kind in "iub"
    v = x[x > 0].astype(np.float64)
    if len(v) == 0:
        z = np.zeros(0)
        return z, z, z
    lo, hi = np.log10(v.min()), np.log10(v.max())
    n_bins = max(1, int(np.ceil((hi - np.floor(lo)) * bins_per_decade + 1e-9)))
    edges = 10 ** (np.floor(lo) + np.arange(n_bins + 1) / bins_per_decade)
    if edges[-1] <= v.max():
        edges = np.append(edges, edges[-1] * 10 ** (1 / bins_per_decade))
    if discrete:
        edges = np.unique(np.floor(edges) + 0.5)
        edges = np.concatenate([[v.min() - 0.5], edges[edges > v.min() - 0.5]])
        if edges[-1] < v.max():
            edges = np.append(edges, v.max() + 0.5)
        counts, edges = np.histogram(v, bins=edges)
        width = np.floor(edges[1:]) - np.floor(edges[:-1])
    else:
        counts, edges = np.histogram(v, bins=edges)
        width = np.diff(edges)
    density = counts / (len(v) * width)
    centers = np.sqrt(np.maximum(edges[:-1], 1e-300) * edges[1:])
    keep = counts > 0
    return centers[keep], density[keep], edges


def ccdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complementary cumulative distribution ``P(X >= x)`` at each distinct value of ``x``.

    Examples
    --------
    >>> v, p = ccdf(np.array([1, 1, 2, 4]))
    >>> v.tolist(), p.tolist()
    ([1, 2, 4], [1.0, 0.5, 0.25])
    """
    _args.sample("x", x, min_size=0, ndim=None)
    x = np.asarray(x)
    x = x[np.isfinite(x)] if x.dtype.kind == "f" else x
    if len(x) == 0:
        return x, np.zeros(0)
    vals, counts = np.unique(x, return_counts=True)
    tail = np.cumsum(counts[::-1])[::-1]
    return vals, tail / len(x)
