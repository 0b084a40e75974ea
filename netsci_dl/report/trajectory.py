"""The report's "Training: the graph at each snapshot" section: a run's snapshots as graphs.

Every snapshot of the run (a netsci_dl run folder, a folder of the user's checkpoints, HF
Trainer ``checkpoint-N/`` folders, Lightning ``.ckpt`` files, or a list) is exported,
thresholded by the report's rule and measured
(:func:`netsci_dl.runs.graph_measures_over_training`): graph EI, assortativity, weight
statistics per block, mean degree and strength per layer. The x axis says what the steps count
(epochs, steps, a checkpoint index), as the names or the run's sidecars say. No data are
needed; the data-dependent part is the section of :mod:`netsci_dl.report.training`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from netsci_dl._sanitize import csv_frame
from netsci_dl.errors import InputError

__all__ = ["graph_trajectory_section", "GRAPH_FIGURE_METRICS"]

_TITLE = "Training: the graph at each snapshot"
#: the panels of the section's figure
GRAPH_FIGURE_METRICS = ("graph_ei", "assortativity_r", "weight_std", "degree_mean")
TABLE = "training_graph.csv"


def graph_trajectory_section(
    ctx: Any,
    *,
    snapshots: Any,
    load_with: Mapping[str, Any] | None = None,
    n_jobs: int | None = None,
) -> Any:
    """Section "Training: the graph at each snapshot" (``training_graph.csv`` and a figure).

    Parameters
    ----------
    ctx : ReportContext
        Its ``threshold`` is the rule every snapshot is thresholded by.
    snapshots : run folder, sequence of paths, or CheckpointModel items
        As :func:`netsci_dl.runs.graph_measures_over_training` takes them.
    load_with : dict, optional
        Keywords of :func:`netsci_dl.export.load` for every snapshot.
    n_jobs : int, optional
        Snapshots in parallel.
    """
    from netsci_dl.report._core import Section, figure_html, rel, table_html
    from netsci_dl.runs.graph_measures import graph_measures_over_training

    try:
        df = graph_measures_over_training(
            snapshots, threshold=ctx.threshold, load_with=load_with, n_jobs=n_jobs
        )
    except InputError as e:  # snapshots of different shapes: the rest of the report stands
        return _skipped(f"the snapshots cannot be compared as graphs ({e})")
    n = int(df.attrs["n_snapshots"])
    if n < 2:
        return _skipped(f"the run has {n} snapshot; two or more are needed")
    csv_frame(df).to_csv(ctx.folder / TABLE, index=False)
    png, svg = _figure(ctx, df)
    x_label = str(df.attrs["x_label"])
    whole = df[df["layer"] == "all"].pivot_table(
        index=["step", "snapshot"], columns="metric", values="value", sort=False
    )
    summary = {
        "n_snapshots": n,
        "x_label": x_label,
        "threshold": ctx.threshold,
        "steps": [int(s) for s in dict.fromkeys(df["step"])],
        "snapshots": [str(s) for s in dict.fromkeys(df["snapshot"])],
        "graph_ei": [float(v) for v in whole["graph_ei"]],
    }
    body = (
        f"<p>{n} snapshots along the x axis ({html.escape(x_label)}), each exported and "
        f"thresholded by the report's rule ({html.escape(ctx.rule or ctx.threshold)}): graph EI "
        "(bits), assortativity, the spread of the weights, the mean degree of each layer. "
        f"Every value per snapshot, block and layer: <a href='{TABLE}'>{TABLE}</a>.</p>"
        + figure_html(ctx, png, "The graph at each snapshot")
        + "<details><summary>Whole graph per snapshot</summary>"
        + table_html(whole)
        + "</details>"
    )
    return Section(_TITLE, body, files=(TABLE, rel(ctx, png), rel(ctx, svg)), summary=summary)


def _skipped(reason: str) -> Any:
    from netsci_dl.report._core import Section

    return Section(_TITLE, f"<p>Skipped: {html.escape(reason)}.</p>", summary={"skipped": reason})


def _figure(ctx: Any, df: Any) -> tuple[Any, Any]:
    from netsci_dl.plot import save_figure
    from netsci_dl.plot.measures import plot_measures

    metrics = [m for m in GRAPH_FIGURE_METRICS if m in set(df["metric"])]
    return save_figure(
        plot_measures(df, metrics=metrics, name=ctx.name), ctx.figures / "training_graph"
    )
