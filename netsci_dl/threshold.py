"""Thresholding: `LayeredGraph` -> `LayeredGraph` (sparse, unweighted by default). Pure.

Every rule scores each edge from its signed weight ``w`` and keeps the edges whose score is
**strictly** above a cut:

==========  ===============  ==============================
``on``      score            ``by_value(G, t)`` keeps
==========  ===============  ==============================
``"abs"``   ``|w|``          ``|w| > t`` (both signs)
``"pos"``   ``w``            ``w > t`` (excitatory)
``"neg"``   ``-w``           ``w < -t`` (inhibitory)
==========  ===============  ==============================

The result's blocks are ``csr_array``. By default it is unweighted (every kept edge has weight 1)
and keeps the original signed weight and its sign as edge attributes ``weight`` and ``sign``;
``keep_weights=True`` keeps the signed weights in the blocks. Scores always come from the
original weights, so thresholding a thresholded graph again with the same rule is idempotent.
Each rule appends a record (rule, parameters, cut, edges kept) to ``meta["thresholds"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "by_value",
    "by_quantile",
    "top_k",
    "to_density",
    "apply_spec",
    "sweep",
    "SPEC_HELP",
]

ON = ("abs", "pos", "neg")

SPEC_HELP = (
    "RULE:VALUE with RULE one of abs, pos, neg (keep |w|>t, w>t, w<-t), quantile, "
    "quantile-pos, quantile-layer (keep edges above the q-quantile of |w|, globally or per "
    "layer), topk, topk-in (k strongest |w| out of / into each node), density (keep that "
    "fraction of the possible edges), e.g. 'quantile:0.95'"
)


def _original_weights(G: LayeredGraph) -> tuple[Any, ...]:
    return tuple(G.edge_attrs["weight"]) if "weight" in G.edge_attrs else G.blocks


def _values(block: Any) -> np.ndarray:
    return block.data if sp.issparse(block) else np.asarray(block).reshape(-1)


def _score(w: np.ndarray, on: str) -> np.ndarray:
    if on == "abs":
        return np.abs(w)
    if on == "pos":
        return w
    if on == "neg":
        return -w
    raise InputError(f"on must be one of {ON}, got {on!r}")


def _scores(G: LayeredGraph, on: str) -> list[np.ndarray]:
    return [_score(_values(b), on) for b in _original_weights(G)]


def _check_graph(G: LayeredGraph) -> None:
    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    if G.n_edges == 0:
        raise InputError("the graph has no edges to threshold")


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


def _apply(
    G: LayeredGraph,
    keeps: Sequence[np.ndarray],
    *,
    keep_weights: bool,
    record: dict[str, Any],
) -> LayeredGraph:
    kept = int(sum(int(k.sum()) for k in keeps))
    if kept == 0:
        raise InputError(
            f"threshold {record['rule']} ({_describe(record)}) leaves no edge of {G.n_edges}"
        )
    orig = _original_weights(G)
    blocks, signs, weights = [], [], []
    for b, w, keep in zip(G.blocks, orig, keeps):
        wv = _values(w).astype(np.float32, copy=False)
        if keep_weights:
            blocks.append(_select(b, keep, wv))
        else:
            blocks.append(_select(b, keep, np.ones(len(wv), dtype=np.float32)))
            weights.append(_select(b, keep, wv))
        signs.append(_select(b, keep, np.sign(wv).astype(np.int8)))
    edge_attrs: dict[str, tuple[Any, ...]] = {}
    for name, attr in G.edge_attrs.items():
        if name in ("weight", "sign"):
            continue
        edge_attrs[name] = tuple(
            _select(b, k, _values(a)) for b, a, k in zip(G.blocks, attr, keeps)
        )
    edge_attrs["sign"] = tuple(signs)
    if not keep_weights:
        edge_attrs["weight"] = tuple(weights)
    record = dict(record, kept=kept, of=G.n_edges, keep_weights=keep_weights)
    meta = dict(G.meta)
    meta["thresholds"] = [*meta.get("thresholds", []), record]
    meta["weighted"] = bool(keep_weights and G.weighted)
    return G.replace(blocks=tuple(blocks), edge_attrs=edge_attrs, meta=meta)


def _describe(record: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in record.items() if k not in ("rule",))


def by_value(
    G: LayeredGraph, t: float, *, on: str = "abs", keep_weights: bool = False
) -> LayeredGraph:
    """Keep the edges whose score exceeds ``t``: ``|w| > t``, ``w > t`` or ``w < -t``.

    Parameters
    ----------
    G : LayeredGraph
    t : float
        The cut (in weight units).
    on : {"abs", "pos", "neg"}
        The score (see the module docstring).
    keep_weights : bool
        Keep the signed weights in the blocks instead of 1.

    Returns
    -------
    LayeredGraph
        Sparse blocks; ``edge_attrs["sign"]`` (and ``["weight"]`` when unweighted).

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[0.5, -0.1], [-0.9, 0.2]], dtype=np.float32),))
    >>> H = by_value(G, 0.3)
    >>> H.n_edges, H.edge_values("sign").tolist()
    (2, [1, -1])
    """
    _check_graph(G)
    t = float(t)
    if not np.isfinite(t):
        raise InputError(f"threshold t must be finite, got {t}")
    keeps = [s > t for s in _scores(G, on)]
    return _apply(G, keeps, keep_weights=keep_weights, record={"rule": "value", "on": on, "t": t})


def by_quantile(
    G: LayeredGraph,
    q: float,
    *,
    on: str = "abs",
    per_layer: bool = False,
    keep_weights: bool = False,
) -> LayeredGraph:
    """Keep the edges whose score is above its ``q``-quantile (globally or per layer block).

    The cut is ``numpy.quantile(score, q)`` over every edge of the graph (or of each block
    with ``per_layer=True``); edges strictly above it are kept, so about a fraction ``1 - q``
    survives. ``on="pos"`` ranks by the signed weight, so it keeps the largest positive weights.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[1.0, -2.0], [3.0, -4.0]], dtype=np.float32),))
    >>> by_quantile(G, 0.5).edge_values("weight").tolist()
    [3.0, -4.0]
    """
    _check_graph(G)
    q = float(q)
    if not 0.0 <= q < 1.0:
        raise InputError(f"quantile q must be in [0, 1), got {q}")
    scores = _scores(G, on)
    if per_layer:
        cuts = [float(np.quantile(s, q)) if len(s) else np.inf for s in scores]
    else:
        cuts = [float(np.quantile(np.concatenate(scores), q))] * len(scores)
    keeps = [s > c for s, c in zip(scores, cuts)]
    record = {"rule": "quantile", "on": on, "q": q, "per_layer": per_layer}
    record["t"] = cuts if per_layer else cuts[0]
    return _apply(G, keeps, keep_weights=keep_weights, record=record)


def _topk_mask(block: Any, score: np.ndarray, k: int, axis: int) -> np.ndarray:
    n, m = block.shape
    if not sp.issparse(block):
        s2 = score.reshape(n, m)
        size = s2.shape[axis]
        if k >= size:
            return np.ones(n * m, dtype=bool)
        idx = np.argpartition(-s2, k - 1, axis=axis)
        idx = idx[:, :k] if axis == 1 else idx[:k, :]
        mask = np.zeros((n, m), dtype=bool)
        np.put_along_axis(mask, idx, True, axis=axis)
        return mask.reshape(-1)
    rows = np.repeat(np.arange(n), np.diff(block.indptr))
    group = rows if axis == 1 else block.indices
    order = np.lexsort((-score, group))
    g_sorted = group[order]
    starts = np.searchsorted(g_sorted, g_sorted, side="left")
    rank = np.arange(len(order)) - starts
    keep = np.zeros(len(order), dtype=bool)
    keep[order[rank < k]] = True
    return keep


def top_k(
    G: LayeredGraph,
    k: int,
    *,
    direction: str = "out",
    on: str = "abs",
    keep_weights: bool = False,
) -> LayeredGraph:
    """Keep, for every node, its ``k`` highest-scoring edges to the next layer (``"out"``) or from
    the previous layer (``"in"``).

    A node with ``k`` or fewer such edges keeps them all; the top layer (``"out"``) and the input
    layer (``"in"``) have none. Ties at the k-th place are broken by edge order.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 3), (np.array([[1, -5, 2], [0, 3, -1]], dtype=np.float32),))
    >>> top_k(G, 1).edge_values("weight").tolist()
    [-5.0, 3.0]
    """
    _check_graph(G)
    if int(k) != k or k < 1:
        raise InputError(f"k must be a positive integer, got {k}")
    if direction not in ("out", "in"):
        raise InputError(f"direction must be 'out' or 'in', got {direction!r}")
    axis = 1 if direction == "out" else 0
    keeps = [_topk_mask(b, s, int(k), axis) for b, s in zip(G.blocks, _scores(G, on))]
    record = {"rule": "top_k", "on": on, "k": int(k), "direction": direction}
    return _apply(G, keeps, keep_weights=keep_weights, record=record)


def _top_m(score: np.ndarray, m: int) -> np.ndarray:
    keep = np.zeros(len(score), dtype=bool)
    if m >= len(score):
        keep[:] = True
    elif m > 0:
        keep[np.argpartition(-score, m - 1)[:m]] = True
    return keep


def to_density(
    G: LayeredGraph,
    density: float,
    *,
    on: str = "abs",
    per_layer: bool = False,
    keep_weights: bool = False,
) -> LayeredGraph:
    """Keep exactly ``round(density * possible)`` highest-scoring edges.

    ``possible`` is the number of node pairs between consecutive layers,
    ``sum_l n_l * n_{l+1}`` (per block with ``per_layer=True``). Ties at the cut are broken by
    edge order, so the count is exact.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[1.0, -2.0], [3.0, -4.0]], dtype=np.float32),))
    >>> to_density(G, 0.25).edge_values("weight").tolist()
    [-4.0]
    """
    _check_graph(G)
    density = float(density)
    if not 0.0 < density <= 1.0:
        raise InputError(f"density must be in (0, 1], got {density}")
    scores = _scores(G, on)
    sizes = G.layer_sizes
    if per_layer:
        keeps = [
            _top_m(s, int(round(density * sizes[l] * sizes[l + 1]))) for l, s in enumerate(scores)
        ]
    else:
        possible = sum(sizes[l] * sizes[l + 1] for l in range(len(scores)))
        flat = _top_m(np.concatenate(scores), int(round(density * possible)))
        keeps = np.split(flat, np.cumsum([len(s) for s in scores])[:-1])
    record = {"rule": "density", "on": on, "density": density, "per_layer": per_layer}
    return _apply(G, keeps, keep_weights=keep_weights, record=record)


_SPECS: dict[str, Callable[[LayeredGraph, float, bool], LayeredGraph]] = {
    "abs": lambda G, v, kw: by_value(G, v, on="abs", keep_weights=kw),
    "pos": lambda G, v, kw: by_value(G, v, on="pos", keep_weights=kw),
    "neg": lambda G, v, kw: by_value(G, v, on="neg", keep_weights=kw),
    "quantile": lambda G, v, kw: by_quantile(G, v, on="abs", keep_weights=kw),
    "quantile-pos": lambda G, v, kw: by_quantile(G, v, on="pos", keep_weights=kw),
    "quantile-neg": lambda G, v, kw: by_quantile(G, v, on="neg", keep_weights=kw),
    "quantile-layer": lambda G, v, kw: by_quantile(G, v, on="abs", per_layer=True, keep_weights=kw),
    "topk": lambda G, v, kw: top_k(G, int(v), direction="out", keep_weights=kw),
    "topk-in": lambda G, v, kw: top_k(G, int(v), direction="in", keep_weights=kw),
    "density": lambda G, v, kw: to_density(G, v, keep_weights=kw),
}


def apply_spec(G: LayeredGraph, spec: str, *, keep_weights: bool = False) -> LayeredGraph:
    """Apply a rule written as ``RULE:VALUE`` (the CLI's ``--threshold``).

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[1.0, -2.0], [3.0, -4.0]], dtype=np.float32),))
    >>> apply_spec(G, "abs:2.5").n_edges
    2
    """
    rule, sep, value = str(spec).partition(":")
    rule = rule.strip().lower()
    if not sep or rule not in _SPECS:
        raise InputError(f"threshold {spec!r} not understood: {SPEC_HELP}")
    try:
        v = float(value)
    except ValueError:
        raise InputError(f"threshold {spec!r}: {value!r} is not a number") from None
    if rule.startswith("topk") and v != int(v):
        raise InputError(f"threshold {spec!r}: k must be an integer")
    return _SPECS[rule](G, v, keep_weights)


def _default_metrics() -> dict[str, Callable[[LayeredGraph], float]]:
    def isolated(H: LayeredGraph) -> float:
        A = H.adjacency(weights=None)
        return float(np.mean(np.diff(A.indptr) == 0))

    def mean_degree(H: LayeredGraph) -> float:
        return 2.0 * H.n_edges / max(H.n_nodes, 1)

    return {
        "n_edges": lambda H: float(H.n_edges),
        "mean_degree": mean_degree,
        "isolated_fraction": isolated,
    }


def sweep(
    G: LayeredGraph,
    values: Sequence[float],
    *,
    rule: str = "value",
    on: str = "abs",
    metrics: Mapping[str, Callable[[LayeredGraph], float]] | None = None,
) -> dict[str, np.ndarray]:
    """Metrics of the thresholded graph over a grid of cuts.

    Parameters
    ----------
    G : LayeredGraph
    values : sequence of float
        Cuts ``t`` (``rule="value"``), quantiles ``q`` (``"quantile"``) or densities
        (``"density"``).
    rule : {"value", "quantile", "density"}
    on : {"abs", "pos", "neg"}
    metrics : mapping of name to callable(LayeredGraph) -> float, optional
        Default: ``n_edges``, ``mean_degree`` and ``isolated_fraction``. A cut that leaves no
        edge gives NaN for every metric.

    Returns
    -------
    dict of str to ndarray
        ``"value"`` (the grid) and one array per metric.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[1.0, -2.0], [3.0, -4.0]], dtype=np.float32),))
    >>> sweep(G, [0.5, 2.5, 5.0])["n_edges"].tolist()
    [4.0, 2.0, nan]
    """
    fns = {
        "value": lambda v: by_value(G, v, on=on),
        "quantile": lambda v: by_quantile(G, v, on=on),
        "density": lambda v: to_density(G, v, on=on),
    }
    if rule not in fns:
        raise InputError(f"rule must be one of {list(fns)}, got {rule!r}")
    metrics = dict(metrics or _default_metrics())
    out = {"value": np.asarray(values, dtype=float)}
    for name in metrics:
        out[name] = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        try:
            H = fns[rule](v)
        except ValueError as e:
            if "leaves no edge" not in str(e):
                raise
            continue
        for name, f in metrics.items():
            out[name][i] = f(H)
    return out
