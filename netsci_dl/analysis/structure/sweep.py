"""Threshold sweep against null models: structural metrics over a grid of cuts, for the net, its
layered random replica and its degree-preserving rewiring (SCIENCE.md, "The graph" and
"Distributions"; the Testolin lab's later study keeps ``|w| > c`` and sweeps ``c``).

For every cut ``c`` the net is thresholded with :func:`netsci_dl.threshold.apply_spec`
(``rule:c``) and, with ``n_null`` replicas of each null model, every graph is measured with the
metrics of :func:`~netsci_dl.analysis.structure.sweep_metrics.graph_metrics`: edges, mean degree,
isolated fraction, connected components, giant-component fraction, mean geodesic distance on
the giant component (unweighted) and Newman's degree assortativity ``r``. The graph is treated
as undirected.

Null models (:mod:`netsci_dl.analysis.structure.null_models`, block by block over the DAG of groups):

* ``"replica"``: every allowed pair of block ``b`` (the entries of the block in ``G``: every
  pair for a dense block) kept independently with the block's density at that cut;
* ``"rewire"``: curveball trades within each block, so every node keeps its degree inside each
  block exactly and no multi-edge appears.

Randomness: the generator of each (cut, model, replica) is
``numpy.random.default_rng([seed, cut_index, replica, model_code])``, so a row does not depend
on which other rows are computed, nor in which order; each row is one call of the top-level
:func:`run_sweep_task` on a :class:`SweepTask`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from netsci_dl import _args
from netsci_dl.analysis.structure.sweep_metrics import METRICS, graph_metrics
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "threshold_sweep",
    "default_cuts",
    "SweepTask",
    "run_sweep_task",
    "sweep_graph",
    "RULES",
    "NULLS",
    "COLUMNS",
]

log = logging.getLogger(__name__)

#: null models, in the order of their rows
NULLS = ("replica", "rewire")
_MODEL_CODE = {"net": 0, "replica": 1, "rewire": 2}

#: threshold rules: "value" (``|w| > c``) and every RULE of :func:`netsci_dl.threshold.apply_spec`
RULES = (
    "value",
    "abs",
    "pos",
    "neg",
    "quantile",
    "quantile-pos",
    "quantile-neg",
    "quantile-block",
    "quantile-layer",
    "topk",
    "topk-in",
    "density",
    "density-block",
)

#: columns of the result
COLUMNS = ("cut", "model", "replica", *METRICS)


@dataclass(frozen=True)
class SweepTask:
    """One row of a sweep: a model at one cut (picklable; run by :func:`run_sweep_task`).

    Attributes
    ----------
    cut_index : int
    cut : float
    model : {"net", "replica", "rewire"}
    replica : int
        0 for the net.
    graph : LayeredGraph
        The net thresholded at ``cut`` (no edge when the cut keeps none).
    allowed : tuple of (csr_array or None)
        Allowed pairs per block (``allowed_patterns`` of the graph before thresholding).
    seed : int
    geodesic_sources : int or None
    rewire_rounds : int
    """

    cut_index: int
    cut: float
    model: str
    replica: int
    graph: LayeredGraph
    allowed: tuple[Any, ...]
    seed: int
    geodesic_sources: int | None = None
    rewire_rounds: int = 20


def _build(task: SweepTask, rng: np.random.Generator) -> LayeredGraph:
    from netsci_dl.analysis.structure.null_models import layered_replica, rewire_blocks

    if task.model == "replica":
        return layered_replica(task.graph, allowed=task.allowed, seed=rng)
    if task.model == "rewire":
        return rewire_blocks(
            task.graph, n_rounds=task.rewire_rounds, allowed=task.allowed, seed=rng
        )
    return task.graph


def sweep_graph(task: SweepTask) -> LayeredGraph:
    """The graph a task measures: the thresholded net, or the same null replica as in
    :func:`run_sweep_task` (the null is drawn first from the task's generator).

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph, threshold
    >>> G = LayeredGraph((3, 3), (np.arange(9, dtype=np.float32).reshape(3, 3),))
    >>> H = threshold.by_value(G, 3.5)
    >>> R = sweep_graph(SweepTask(0, 3.5, "rewire", 0, H, (None,), 0))
    >>> np.diff(R.blocks[0].indptr).tolist() == np.diff(H.blocks[0].indptr).tolist()
    True
    """
    return _build(task, _task_rng(task))


def _task_rng(task: SweepTask) -> np.random.Generator:
    return np.random.default_rng([task.seed, task.cut_index, task.replica, _MODEL_CODE[task.model]])


def run_sweep_task(task: SweepTask) -> dict[str, Any]:
    """Build the task's graph (the net or a null replica) and measure it: one row of the sweep.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl import LayeredGraph, threshold
    >>> G = LayeredGraph((2, 2), (np.array([[0.5, -0.1], [-0.9, 0.2]], np.float32),))
    >>> t = SweepTask(0, 0.3, "net", 0, threshold.by_value(G, 0.3), (None,), 0)
    >>> row = run_sweep_task(t)
    >>> row["model"], row["n_edges"], row["n_components"]
    ('net', 2, 2)
    """
    rng = _task_rng(task)
    H = _build(task, rng)
    row: dict[str, Any] = {"cut": task.cut, "model": task.model, "replica": task.replica}
    row.update(graph_metrics(H, geodesic_sources=task.geodesic_sources, seed=rng))
    return row


def _empty(G: LayeredGraph) -> LayeredGraph:
    """``G`` with every block empty (a cut that keeps no edge)."""
    blocks = tuple(sp.csr_array(b.shape, dtype=np.float32) for b in G.blocks)
    return G.replace(blocks=blocks, edge_attrs={}, meta={**G.meta, "weighted": False})


def _threshold(G: LayeredGraph, rule: str, cut: float) -> LayeredGraph:
    from netsci_dl.threshold import apply_spec

    spec = f"{'abs' if rule == 'value' else rule}:{cut!r}"
    try:
        return apply_spec(G, spec)
    except InputError as e:
        if "leaves no edge" not in str(e):
            raise
        return _empty(G)


def _check_cuts(cuts: Any) -> np.ndarray:
    try:
        c = np.asarray(cuts, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"cuts must be a sequence of numbers, got {cuts!r}") from None
    if c.ndim != 1:
        raise InputError(f"cuts must be a 1-D sequence of numbers, got shape {c.shape}")
    if not c.size:
        raise InputError("cuts is empty: pass at least one cut, e.g. cuts=[0.01, 0.02]")
    bad = np.flatnonzero(~np.isfinite(c))
    if bad.size:
        raise InputError(f"cuts must be finite numbers; cuts[{int(bad[0])}] is {c[bad[0]]}")
    return c


def _check_int(name: str, value: Any, low: int, *, none: bool = False) -> int | None:
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_nulls(nulls: Any) -> tuple[str, ...]:
    names = (nulls,) if isinstance(nulls, str) else tuple(nulls or ())
    out = []
    for name in names:
        if name not in NULLS:
            raise InputError(f"unknown null model {name!r}; expected some of {NULLS}")
        if name not in out:
            out.append(name)
    return tuple(out)


def default_cuts(G: LayeredGraph, *, rule: str = "value", n: int = 20) -> np.ndarray:
    """A grid of ``n`` cuts for ``rule`` from keeping about 20% of the edges to about 0.05%.

    The kept fractions are geometrically spaced (``numpy.geomspace(0.2, 5e-4, n)``), so the grid
    is dense where the graph falls apart. Value rules (``"value"``, ``"abs"``, ``"pos"``,
    ``"neg"``) get the matching quantiles of the score over every edge of ``G`` (``|w|``, ``w``,
    ``-w``); quantile rules the quantiles ``1 - fraction``; ``"density"`` the fractions; top-k
    rules the distinct integers of ``geomspace(1, n_max / 5, n)`` (``n_max``: the largest group a
    node can link to), so possibly fewer than ``n``.

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> G = nd.from_matrices([np.arange(1.0, 101.0).reshape(10, 10)])
    >>> default_cuts(G, n=3).round(2).tolist()
    [80.2, 99.01, 99.95]
    >>> default_cuts(G, rule="quantile", n=3).round(4).tolist()
    [0.8, 0.99, 0.9995]
    """
    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    if rule not in RULES:
        raise InputError(f"rule must be one of {RULES}, got {rule!r}")
    n = _check_int("n", n, 1)
    frac = np.geomspace(0.2, 5e-4, n)
    if rule in ("value", "abs", "pos", "neg"):
        w = np.asarray(G.edge_values(), dtype=np.float64)
        score = np.abs(w) if rule in ("value", "abs") else (w if rule == "pos" else -w)
        return np.quantile(score, 1.0 - frac)
    if rule.startswith("quantile"):
        return 1.0 - frac
    if rule.startswith("density"):
        return frac
    sizes = [G.layer_sizes[d if rule == "topk" else s] for s, d in zip(G.block_src, G.block_dst)]
    top = max(1.0, max(sizes, default=1) / 5)
    return np.unique(np.round(np.geomspace(1.0, top, n))).astype(np.float64)


def _run_cut(task: tuple[int, float], shared: tuple[Any, ...]) -> list[dict[str, Any]]:
    """The rows of one cut: the thresholded net, then every replica of every null model."""
    i, cut = task
    G, allowed, rule, models, n_null, seed, geodesic_sources, rewire_rounds = shared
    H = _threshold(G, rule, cut)
    todo = [("net", 0)] + [(m, j) for m in models for j in range(n_null)]
    return [
        run_sweep_task(
            SweepTask(i, cut, model, j, H, allowed, seed, geodesic_sources, rewire_rounds)
        )
        for model, j in todo
    ]


def threshold_sweep(
    G: LayeredGraph,
    cuts: Sequence[float],
    *,
    rule: str = "value",
    nulls: Sequence[str] = NULLS,
    n_null: int = 10,
    seed: int = 0,
    geodesic_sources: int | None = None,
    rewire_rounds: int = 20,
    progress: bool = False,
    n_jobs: int | None = None,
) -> Any:
    """Structural metrics of the net over a grid of cuts, against its null models.

    Parameters
    ----------
    G : LayeredGraph
        The weighted graph (any DAG of groups; usually not yet thresholded). Its blocks also
        say which pairs the replica may use: every pair of a dense block, the stored entries of
        a sparse one.
    cuts : sequence of float
        The grid of cuts, each applied as ``rule:c`` (:func:`netsci_dl.threshold.apply_spec`).
    rule : str
        ``"value"`` (default): keep ``|w| > c``, both signs. Or any rule of
        :func:`~netsci_dl.threshold.apply_spec`: ``"pos"`` (``w > c``), ``"neg"`` (``w < -c``),
        ``"quantile"`` (``c`` a quantile of ``|w|``), ``"quantile-layer"``, ``"density"``,
        ``"topk"``, ...; see :data:`RULES`. A cut that keeps no edge gives the empty graph
        (every node isolated), not an error.
    nulls : sequence of {"replica", "rewire"}
        Null models to draw (module docstring); ``()`` for the net only.
    n_null : int
        Replicas of each null model per cut (``>= 0``).
    seed : int
        Non-negative; see the module docstring for how each replica's generator derives from it.
    geodesic_sources : int, optional
        None (default): exact mean geodesic, a BFS from every node of the giant component
        (0.3 to 1 s per graph of workload W's size at 5% density, 40 times
        faster than scipy's ``shortest_path``). An int ``k``: the mean over
        ``k`` random sources of the giant component, an unbiased estimate
        (:func:`~netsci_dl.analysis.structure.sweep_metrics.mean_geodesic` states its error).
    rewire_rounds : int
        Curveball rounds of the ``"rewire"`` null (:func:`~netsci_dl.analysis.structure.null_models.rewire_blocks`).
    progress : bool
        A tqdm bar over the cuts (on a terminal only).
    n_jobs : int, optional
        Cuts measured in parallel through :func:`netsci_dl.parallel.map_tasks` (one task per
        cut: the net and its replicas; ``G`` is sent to each worker once). The rows do not
        depend on it: every replica seeds its generator from (seed, cut, replica, model).

    Returns
    -------
    pandas.DataFrame
        One row per (cut, model, replica), cuts in the given order, then ``net``, the
        replicas, the rewirings: columns ``cut``, ``model`` (``"net"``, ``"replica"``,
        ``"rewire"``), ``replica`` (0 for the net), ``n_edges``, ``mean_degree``,
        ``isolated_fraction``, ``n_components``, ``giant_fraction``, ``mean_geodesic``, ``r``
        (NaN where undefined). ``attrs`` holds the parameters (rule, nulls, n_null, seed, ...).

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> G = nd.from_matrices([np.random.default_rng(0).normal(size=(6, 5)),
    ...                       np.random.default_rng(1).normal(size=(5, 4))])
    >>> df = threshold_sweep(G, [0.5, 1.0], n_null=2)
    >>> df.shape, df["model"].tolist()[:5]
    ((10, 10), ['net', 'replica', 'replica', 'rewire', 'rewire'])
    >>> df.groupby("model")["n_edges"].first().to_dict()  # rewiring keeps every edge count
    {'net': 26, 'replica': 28, 'rewire': 26}
    """
    _args.count("n_null", n_null, lo=0, hi=100_000)
    _args.count("rewire_rounds", rewire_rounds, lo=0, hi=100_000)
    import pandas as pd

    from netsci_dl.analysis.structure.null_models import allowed_patterns

    if not isinstance(G, LayeredGraph):
        raise TypeError(f"expected a LayeredGraph, got {type(G).__name__}")
    c = _check_cuts(cuts)
    if rule not in RULES:
        raise InputError(f"rule must be one of {RULES}, got {rule!r}")
    models = _check_nulls(nulls)
    n_null = _check_int("n_null", n_null, 0)
    seed = _check_int("seed", seed, 0)
    geodesic_sources = _check_int("geodesic_sources", geodesic_sources, 1, none=True)
    rewire_rounds = _check_int("rewire_rounds", rewire_rounds, 0)
    allowed = allowed_patterns(G)

    from netsci_dl.parallel import map_tasks

    shared = (G, allowed, rule, models, n_null, seed, geodesic_sources, rewire_rounds)
    per_cut = map_tasks(
        _run_cut,
        list(enumerate(c.tolist())),
        shared=shared,
        n_jobs=n_jobs,
        desc="sweep",
        unit="cut",
        progress=bool(progress),
    )
    rows = [row for cut_rows in per_cut for row in cut_rows]
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df.attrs.update(
        rule=rule,
        nulls=list(models),
        n_null=n_null,
        seed=seed,
        geodesic_sources=geodesic_sources,
        rewire_rounds=rewire_rounds,
        rewire_method="curveball",
        n_nodes=G.n_nodes,
    )
    return df
