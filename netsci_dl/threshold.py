"""Thresholding: `LayeredGraph` -> `LayeredGraph` (sparse, unweighted by default). Pure.

Every rule scores each edge from its signed weight ``w`` and keeps the edges whose score is
**strictly** above a cut. ``weights`` says how the sign is used:

=============  ===============  ==============================
``weights``    score            ``by_value(G, t)`` keeps
=============  ===============  ==============================
``"abs"``      ``|w|``          ``|w| > t`` (both signs)
``"pos"``      ``w``            ``w > t`` (excitatory)
``"neg"``      ``-w``           ``w < -t`` (inhibitory)
=============  ===============  ==============================

Rules work block by block on any DAG of node groups. **Identity blocks** (skip connections:
weight 1, no learned weight) are never scored: every rule keeps them whole, and they do not
count in quantiles, densities or ranks.

The result's blocks are ``csr_array``. By default it is unweighted (every kept edge has weight 1)
and keeps the original signed weight and its sign as edge attributes ``weight`` and ``sign``;
``keep_weights=True`` keeps the signed weights in the blocks. Scores always come from the
original weights. Quantiles, densities and ranks are taken over the edges of the graph the rule
is applied to, and each rule appends a record (rule, parameters, cut, edges kept) to
``meta["thresholds"]``; **applying the rule that made a graph to that graph again is a no-op**
(the record says so), so thresholding is idempotent. Ties at a cut (``top_k``, ``to_density``)
are broken by edge order (block by block, row-major), the same for dense and sparse blocks.

``auto`` (the command line's default, ``--threshold auto``): ``quantile:0.95`` over the whole
graph when every weight block holds the same kind of value **and** on the same scale, else per
block (``quantile-block:0.95``): kernel norms of a channel graph (never negative, larger than
single weights) and signed weights must not be cut by one global quantile, nor blocks whose
``|value|`` scales (each block's 95th percentile of ``|value|``, :func:`block_scales`) differ by
more than :data:`SCALE_FACTOR` (10): one global cut would keep all of the large block and
almost nothing of the small one. :func:`explain_default_rule` says which rule and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl._threshold_core import (
    _apply,
    _check_graph,
    _check_top_k,
    _check_weights,
    _ends,
    _noop,
    _original_weights,
    _quantile,
    _rank_keep,
    _same_rule,
    _score,
    _scored,
    _top_m,
    _values,
)
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "by_value",
    "by_quantile",
    "top_k",
    "to_density",
    "apply_spec",
    "default_rule",
    "block_value_kinds",
    "block_scales",
    "explain_default_rule",
    "single_tap",
    "SCALE_FACTOR",
    "sweep",
    "SPEC_HELP",
    "DEFAULT_SPEC",
]

#: the package's one default (``--threshold`` of every command)
DEFAULT_SPEC = "auto:0.95"

#: ``auto`` cuts per block when the blocks' |value| scales (95th percentiles) differ by more
#: than this factor
SCALE_FACTOR = 10.0

SPEC_HELP = (
    "RULE:VALUE with RULE one of abs, pos, neg (keep |w|>t, w>t, w<-t), quantile, "
    "quantile-pos, quantile-neg, quantile-block (keep edges above the q-quantile of the score, "
    "globally or per block), topk, topk-in (the k strongest edges out of / into each node), "
    "density, density-block (keep that fraction of the possible edges), auto:Q (quantile:Q, "
    "per block when blocks hold different kinds of values or |value| scales more than 10x "
    "apart), or none (keep every edge)"
)


def by_value(
    G: LayeredGraph,
    t: float,
    *,
    weights: str = "abs",
    keep_weights: bool = False,
) -> LayeredGraph:
    """Keep the edges whose score exceeds ``t``: ``|w| > t``, ``w > t`` or ``w < -t``.

    Parameters
    ----------
    G : LayeredGraph
    t : float
        The cut (in weight units).
    weights : {"abs", "pos", "neg"}
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
    _check_weights(weights)
    t = float(t)
    if not np.isfinite(t):
        raise InputError(f"threshold t must be finite, got {t}")
    orig = _original_weights(G)
    keeps = {b: _score(_values(orig[b]), weights) > t for b in _scored(G)}
    record = {"rule": "value", "weights": weights, "t": t, "keep_weights": keep_weights}
    return _apply(G, keeps, keep_weights=keep_weights, record=record)


def by_quantile(
    G: LayeredGraph,
    q: float,
    *,
    weights: str = "abs",
    per_block: bool = False,
    keep_weights: bool = False,
) -> LayeredGraph:
    """Keep the edges whose score is above its ``q``-quantile (globally or per block).

    The cut is ``numpy.quantile(score, q)`` over every scored edge of ``G`` (or of each block
    with ``per_block=True``); edges strictly above it are kept, so about a fraction ``1 - q``
    survives. ``weights="pos"`` ranks by the signed weight, so it keeps the largest positive
    weights. The quantile is taken over the edges of ``G``; applying the same rule again to its
    result is a no-op.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[1.0, -2.0], [3.0, -4.0]], dtype=np.float32),))
    >>> H = by_quantile(G, 0.5)
    >>> H.edge_values("weight").tolist()
    [3.0, -4.0]
    >>> by_quantile(H, 0.5).n_edges   # the same rule again: a no-op
    2
    """
    q = _args.real("q", q, lo=0, hi=1)
    _check_graph(G)
    _check_weights(weights)
    per_block = bool(per_block)
    q = float(q)
    if not 0.0 <= q < 1.0:
        raise InputError(f"quantile q must be in [0, 1), got {q}")
    record: dict[str, Any] = {
        "rule": "quantile",
        "weights": weights,
        "q": q,
        "per_block": per_block,
        "keep_weights": keep_weights,
    }
    if _same_rule(G, record):
        return _noop(G, record)
    orig = _original_weights(G)
    scored = _scored(G)
    if per_block:
        cuts = {b: _quantile(_score(_values(orig[b]), weights), q) for b in scored}
        record["t"] = [cuts.get(b) for b in range(G.n_blocks)]
    else:
        allv = np.concatenate([_score(_values(orig[b]), weights) for b in scored])
        c = _quantile(allv, q)
        del allv
        cuts = dict.fromkeys(scored, c)
        record["t"] = c
    keeps = {b: _score(_values(orig[b]), weights) > cuts[b] for b in scored}
    return _apply(G, keeps, keep_weights=keep_weights, record=record)


def top_k(
    G: LayeredGraph,
    k: int,
    *,
    direction: str = "out",
    weights: str = "abs",
    keep_weights: bool = False,
) -> LayeredGraph:
    """Keep, for every node, its ``k`` highest-scoring edges out of it (``"out"``: over every
    block leaving its group) or into it (``"in"``: over every block entering its group).

    A node with ``k`` or fewer such edges keeps them all; sinks (``"out"``) and sources
    (``"in"``) have none. Ties at the k-th place are broken by edge order.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 3), (np.array([[1, -5, 2], [0, 3, -1]], dtype=np.float32),))
    >>> top_k(G, 1).edge_values("weight").tolist()
    [-5.0, 3.0]
    """
    _check_graph(G)
    _check_weights(weights)
    k = _check_top_k(k, direction)
    record = {
        "rule": "top_k",
        "weights": weights,
        "k": k,
        "direction": direction,
        "keep_weights": keep_weights,
    }
    if _same_rule(G, record):
        return _noop(G, record)
    orig = _original_weights(G)
    keeps: dict[int, np.ndarray] = {}
    side = G.block_src if direction == "out" else G.block_dst
    for grp in sorted({side[b] for b in _scored(G)}):
        bs = [b for b in _scored(G) if side[b] == grp]
        node = np.concatenate([_ends(G.blocks[b])[0 if direction == "out" else 1] for b in bs])
        score = np.concatenate([_score(_values(orig[b]), weights) for b in bs])
        keep = _rank_keep(node, score, k)
        pos = 0
        for b in bs:
            n = G.block_n_edges[b]
            keeps[b] = keep[pos : pos + n]
            pos += n
    return _apply(G, keeps, keep_weights=keep_weights, record=record)


def to_density(
    G: LayeredGraph,
    density: float,
    *,
    weights: str = "abs",
    per_block: bool = False,
    keep_weights: bool = False,
) -> LayeredGraph:
    """Keep exactly ``round(density * possible)`` highest-scoring edges.

    ``possible`` is the number of edges the blocks can hold: the edges of the unthresholded
    graph (``n_src * n_dst`` for a dense block; the real connections of a grouped convolution),
    recorded in ``meta["possible_edges"]`` at the first threshold; per block with
    ``per_block=True``. Ties at the cut are broken by edge order, so the count is exact.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[1.0, -2.0], [3.0, -4.0]], dtype=np.float32),))
    >>> to_density(G, 0.25).edge_values("weight").tolist()
    [-4.0]
    """
    density = _args.real("density", density, lo=0, hi=1)
    _check_graph(G)
    _check_weights(weights)
    per_block = bool(per_block)
    density = float(density)
    if not 0.0 < density <= 1.0:
        raise InputError(f"density must be in (0, 1], got {density}")
    record = {
        "rule": "density",
        "weights": weights,
        "density": density,
        "per_block": per_block,
        "keep_weights": keep_weights,
    }
    if _same_rule(G, record):
        return _noop(G, record)
    possible = G.meta.get("possible_edges") or list(G.block_n_edges)
    orig = _original_weights(G)
    scored = _scored(G)
    if per_block:
        keeps = {
            b: _top_m(_score(_values(orig[b]), weights), int(round(density * possible[b])))
            for b in scored
        }
    else:
        total = sum(int(possible[b]) for b in scored)
        allv = np.concatenate([_score(_values(orig[b]), weights) for b in scored])
        flat = _top_m(allv, int(round(density * total)))
        del allv
        parts = np.split(flat, np.cumsum([G.block_n_edges[b] for b in scored])[:-1])
        keeps = dict(zip(scored, parts))
    return _apply(G, keeps, keep_weights=keep_weights, record=record)


# "signed weight of each 1x1 kernel" (0.3), "l2 of each 1x1 kernel" (files written by 0.2)
_SINGLE_TAP = re.compile(r"^(?:signed weight|\S+) of each 1(?:x1)* kernel\b")


def single_tap(note: str) -> bool:
    """Whether an ``edge_weight`` note describes single-tap kernels (``"l2 of each 1x1
    kernel"``): their reduction is the weight itself, signed.

    Examples
    --------
    >>> single_tap("l2 of each 1x1 kernel, 4 groups"), single_tap("l2 of each 3x3 kernel")
    (True, False)
    """
    return bool(_SINGLE_TAP.match(str(note).strip()))


def block_value_kinds(G: LayeredGraph) -> tuple[str, ...]:
    """What the values of each block are: ``"signed weight"``, ``"kernel <reduction>"`` (a
    channel graph's kernel norms, from ``meta["edge_weight"]``), or ``"identity"``. A 1x1
    (single-tap) kernel holds one signed weight.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> block_value_kinds(LayeredGraph((2, 2), (np.ones((2, 2), np.float32),)))
    ('signed weight',)
    """
    notes = list(G.meta.get("edge_weight") or [])
    out = []
    for b, kind in enumerate(G.block_kinds):
        note = str(notes[b]) if b < len(notes) else "weight"
        if kind == "identity":
            out.append("identity")
        elif single_tap(note):
            out.append("signed weight")
        elif "kernel" in note or "features of each channel" in note:
            red = note.split(" ", 1)[0]
            out.append(f"kernel {red}" if red in ("l2", "l1", "max_abs") else "signed weight")
        else:
            out.append("signed weight")
    return tuple(out)


def block_scales(G: LayeredGraph, q: float = 0.95) -> tuple[float, ...]:
    """The ``q``-quantile of ``|value|`` of every block's stored values (NaN for identity blocks
    and blocks without edges): the scale :func:`default_rule` compares.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2, 2), (np.ones((2, 2)), np.full((2, 2), -0.01)))
    >>> [round(x, 3) for x in block_scales(G)]
    [1.0, 0.01]
    """
    orig = _original_weights(G)
    out = [float("nan")] * G.n_blocks
    for b in _scored(G):
        v = np.abs(_values(orig[b]).astype(np.float64))
        if len(v):
            out[b] = float(np.quantile(v, q))
    return tuple(out)


def explain_default_rule(G: LayeredGraph, q: float = 0.95) -> tuple[str, str]:
    """The ``auto`` rule for ``G`` and why, in words: ``quantile-block:q`` when the weight
    blocks hold different kinds of values (:func:`block_value_kinds`) or their ``|value|``
    scales (:func:`block_scales`, 95th percentiles) differ by more than :data:`SCALE_FACTOR`,
    else ``quantile:q``.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2, 2), (np.ones((2, 2)), np.full((2, 2), -0.01)))
    >>> explain_default_rule(G)[0]
    'quantile-block:0.95'
    """
    scored = _scored(G)
    vk = block_value_kinds(G)
    kinds = sorted({vk[b] for b in scored})
    if len(kinds) > 1:
        return f"quantile-block:{q:g}", (
            f"auto: the blocks hold different kinds of values ({', '.join(kinds)}), so each "
            f"block is cut at its own {q:g}-quantile of |value|"
        )
    scales = [s for s in block_scales(G) if np.isfinite(s) and s > 0]
    ratio = max(scales) / min(scales) if scales else 1.0
    what = kinds[0] if kinds else "weights"
    if ratio > SCALE_FACTOR:
        return f"quantile-block:{q:g}", (
            f"auto: every block holds {what} but their |value| scales (95th percentiles) differ "
            f"{ratio:.3g}-fold (> {SCALE_FACTOR:g}), so each block is cut at its own "
            f"{q:g}-quantile of |value|"
        )
    return f"quantile:{q:g}", (
        f"auto: every block holds {what} on one scale (95th percentiles of |value| within "
        f"{ratio:.3g}-fold, <= {SCALE_FACTOR:g}), so one cut at the {q:g}-quantile of |w| over "
        "all edges"
    )


def default_rule(G: LayeredGraph, q: float = 0.95) -> str:
    """The ``auto`` rule for ``G``: ``quantile:q``, or ``quantile-block:q`` when the weight
    blocks hold different kinds of values or scales (see :func:`explain_default_rule`)."""
    return explain_default_rule(G, q)[0]


_SPECS: dict[str, Callable[[LayeredGraph, float, bool], LayeredGraph]] = {
    "abs": lambda G, v, kw: by_value(G, v, weights="abs", keep_weights=kw),
    "pos": lambda G, v, kw: by_value(G, v, weights="pos", keep_weights=kw),
    "neg": lambda G, v, kw: by_value(G, v, weights="neg", keep_weights=kw),
    "quantile": lambda G, v, kw: by_quantile(G, v, weights="abs", keep_weights=kw),
    "quantile-pos": lambda G, v, kw: by_quantile(G, v, weights="pos", keep_weights=kw),
    "quantile-neg": lambda G, v, kw: by_quantile(G, v, weights="neg", keep_weights=kw),
    "quantile-block": lambda G, v, kw: by_quantile(
        G, v, weights="abs", per_block=True, keep_weights=kw
    ),
    "topk": lambda G, v, kw: top_k(G, int(v), direction="out", keep_weights=kw),
    "topk-in": lambda G, v, kw: top_k(G, int(v), direction="in", keep_weights=kw),
    "density": lambda G, v, kw: to_density(G, v, keep_weights=kw),
    "density-block": lambda G, v, kw: to_density(G, v, per_block=True, keep_weights=kw),
}
_ALIASES = {"quantile-layer": "quantile-block", "density-layer": "density-block"}


def apply_spec(G: LayeredGraph, spec: str | None, *, keep_weights: bool = False) -> LayeredGraph:
    """Apply a rule written as ``RULE:VALUE`` (the CLI's ``--threshold``; see
    :data:`SPEC_HELP`). ``"none"`` (or None) returns ``G`` unchanged; ``"auto"`` means
    ``auto:0.95``. The rule actually applied is recorded in ``meta["thresholds"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[1.0, -2.0], [3.0, -4.0]], dtype=np.float32),))
    >>> apply_spec(G, "abs:2.5").n_edges
    2
    >>> apply_spec(G, "none") is G
    True
    """
    if spec is None or str(spec).strip().lower() in ("none", "full"):
        return G
    s = str(spec).strip().lower()
    if s == "auto":
        s = DEFAULT_SPEC
    rule, sep, value = s.partition(":")
    rule = _ALIASES.get(rule.strip(), rule.strip())
    if not sep or (rule not in _SPECS and rule != "auto"):
        raise InputError(f"threshold {spec!r} not understood: {SPEC_HELP}")
    try:
        v = float(value)
    except ValueError:
        raise InputError(f"threshold {spec!r}: {value!r} is not a number") from None
    if not np.isfinite(v):
        raise InputError(f"threshold {spec!r}: the value must be finite")
    if rule.startswith("topk") and (v != int(v) or v < 1):
        raise InputError(f"threshold {spec!r}: k must be a positive integer")
    if rule == "auto":
        if not 0.0 <= v < 1.0:
            raise InputError(f"threshold {spec!r}: auto takes a quantile in [0, 1)")
        return apply_spec(G, default_rule(G, v), keep_weights=keep_weights)
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
    weights: str = "abs",
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
    weights : {"abs", "pos", "neg"}
    metrics : mapping of name to callable(LayeredGraph) -> float, optional
        Default: ``n_edges``, ``mean_degree`` and ``isolated_fraction``. A cut that leaves no
        edge gives NaN for every metric.

    Returns
    -------
    dict of str to ndarray
        ``"value"`` (the grid) and one array per metric.

    See Also
    --------
    netsci_dl.analysis.threshold_sweep : the same against null models, as a table.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph
    >>> G = LayeredGraph((2, 2), (np.array([[1.0, -2.0], [3.0, -4.0]], dtype=np.float32),))
    >>> sweep(G, [0.5, 2.5, 5.0])["n_edges"].tolist()
    [4.0, 2.0, nan]
    """
    _check_weights(weights)
    fns = {
        "value": lambda v: by_value(G, v, weights=weights),
        "quantile": lambda v: by_quantile(G, v, weights=weights),
        "density": lambda v: to_density(G, v, weights=weights),
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
        except InputError as e:
            if "leaves no edge" not in str(e):
                raise
            continue
        for name, f in metrics.items():
            out[name][i] = f(H)
    return out
