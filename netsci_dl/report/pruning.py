"""The report's "Pruning percolation" section: the giant component as the smallest weights are
pruned, and, when the report has the model and data, the accuracy of the model pruned by the
same masks (:func:`netsci_dl.runs.pruning_sweep`).

Magnitude order, over all weights together, on the grid 0, 0.05, ..., 1; the critical fraction
is where the giant component falls below half its unpruned size. With ``write_report(...,
model=, data=)`` (an MLP whose ``nn.Linear`` weights are the graph's blocks, and ``(X, y)`` or
a :class:`netsci_dl.datasets.Dataset`) the accuracy is measured on at most
:data:`PRUNING_EXAMPLES` examples (a seeded subset); without them, or for a model whose graph
is not its Linear weights (a CNN's channel graph, a DBN), the page shows the graph alone and
says why.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from netsci_dl._sanitize import csv_frame
from netsci_dl.errors import InputError

__all__ = ["pruning_section", "PRUNING_EXAMPLES", "PRUNING_MAX_EDGES", "report_fractions"]

#: examples of the data the accuracy is measured on (a subset fixed by seed 0)
PRUNING_EXAMPLES = 1000
#: graphs with more edges are skipped (``netsci-dl prune`` does any size)
PRUNING_MAX_EDGES = 2_000_000


def report_fractions() -> np.ndarray:
    """The pruned fractions of the section: 0, 0.05, ..., 1."""
    return np.round(np.linspace(0.0, 1.0, 21), 10)


def _data(data: Any) -> tuple[Any, Any]:
    from netsci_dl.datasets import Dataset

    if isinstance(data, Dataset):
        d = data.subset(PRUNING_EXAMPLES, seed=0)
        return d.X, d.y
    if isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = data
        if len(X) > PRUNING_EXAMPLES:
            pick = np.sort(np.random.default_rng(0).choice(len(X), PRUNING_EXAMPLES, False))
            return X[pick], y[pick]
        return X, y
    raise InputError(f"data must be a Dataset or an (X, y) pair, got {type(data).__name__}")


def _sweep(ctx: Any, f: np.ndarray) -> tuple[Any, str]:
    """The sweep with accuracy, or the percolation alone and why."""
    from netsci_dl.analysis import pruning_percolation
    from netsci_dl.runs.pruning import pruning_sweep

    if ctx.model is None or ctx.data is None:
        return pruning_percolation(ctx.G, f), (
            "The accuracy needs the model and data (write_report(..., model=, data=)); the "
            "graph alone here."
        )
    X, y = _data(ctx.data)
    try:
        return pruning_sweep(ctx.G, ctx.model, X, y, f), ""
    except InputError as e:
        return pruning_percolation(ctx.G, f), f"Accuracy not measured: {e}."


def pruning_section(ctx: Any) -> Any:
    """Section "Pruning percolation"."""
    from netsci_dl.plot import save_figure
    from netsci_dl.plot.pruning import plot_pruning
    from netsci_dl.report._core import Section, figure_html, fmt, rel, table_html

    title = "Pruning percolation"
    if not any(k != "identity" for k in ctx.G.block_kinds):
        why = "Does not apply: no weight blocks to prune."
        return Section(title, f"<p>{why}</p>", summary={"skipped": why})
    if ctx.G.n_edges > PRUNING_MAX_EDGES:
        why = (f"Skipped: {ctx.G.n_edges:,} edges (> {PRUNING_MAX_EDGES:,}); run netsci-dl "
               "prune CHECKPOINT -o out/ for it.")  # fmt: skip
        return Section(title, f"<p>{html.escape(why)}</p>", summary={"skipped": why})
    f = report_fractions()
    r, why = _sweep(ctx, f)
    df = r.to_frame()
    acc_at = getattr(r, "accuracy_fraction", None)
    csv_frame(df).to_csv(ctx.folder / "pruning.csv", index=False)
    png, svg = save_figure(
        plot_pruning(df, critical=r.critical_fraction, accuracy_at=acc_at, name=ctx.name),
        ctx.figures / "pruning",
    )
    rows = f"<tr><th>critical fraction f_c</th><td>{fmt(r.critical_fraction)}</td></tr>"
    summary: dict[str, Any] = {"critical_fraction": _num(r.critical_fraction), "order":
                               "magnitude", "scope": "global", "accuracy": acc_at is not None}  # fmt: skip
    if acc_at is not None:
        a0 = float(r.accuracy.accuracy[0])
        rows += (f"<tr><th>unpruned accuracy</th><td>{fmt(a0)}</td></tr><tr><th>accuracy "
                 f"falls by 0.1 at</th><td>{fmt(acc_at)}</td></tr>")  # fmt: skip
        summary.update(unpruned_accuracy=a0, accuracy_fraction=_num(acc_at),
                       n_examples=r.params["n_examples"])  # fmt: skip
    body = (
        "<p>The smallest |w| pruned first, over all weight blocks together: P_inf, the "
        "fraction of all nodes in the largest connected component (undirected), against the "
        "fraction pruned; f_c is where P_inf falls below half its unpruned value.</p>"
        + (f"<p>{html.escape(why)}</p>" if why else "")
        + f"<table class='kv'>{rows}</table>"
        + figure_html(ctx, png, "Giant component (and accuracy) against the pruned fraction")
        + "<details><summary>Table</summary>" + table_html(df) + "</details>"
        + "<p class='files'>Data: <a href='pruning.csv'>pruning.csv</a></p>"
    )  # fmt: skip
    return Section(title, body, files=("pruning.csv", rel(ctx, png), rel(ctx, svg)),
                   summary=summary)  # fmt: skip


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
