"""The report's "Threshold sweep" section: the net against its null models over a grid of cuts.

Over 12 cuts (keeping about 20% of the edges down to 0.05%), the net, 5 layered random replicas
(each allowed edge of a block kept with the block's density) and 5 degree-preserving rewirings
within each block: edges, mean degree, isolated fraction, components, giant fraction, mean
geodesic on the giant component and degree assortativity
(:func:`netsci_dl.analysis.threshold_sweep`). The cut is a quantile of |w| over all edges, or
per block when the blocks hold different kinds of values (as the report's threshold). Graphs of
more than :data:`SWEEP_MAX_EDGES` edges are skipped (``netsci-dl sweep`` does any size).
"""

from __future__ import annotations

import html
from typing import Any

from netsci_dl._sanitize import csv_frame

__all__ = ["sweep_section", "SWEEP_MAX_EDGES"]

#: graphs with more edges are skipped in the report (a sweep of W takes minutes)
SWEEP_MAX_EDGES = 400_000
N_CUTS, N_NULL = 12, 5


def sweep_section(ctx: Any) -> Any:
    """Section "Threshold sweep against null models" of the analysis report."""
    from netsci_dl.analysis import default_cuts, threshold_sweep
    from netsci_dl.plot import save_figure
    from netsci_dl.plot.sweep import plot_sweep
    from netsci_dl.report._core import Section, figure_html, rel, table_html

    title = "Threshold sweep against null models"
    G = ctx.G
    if G.n_edges > SWEEP_MAX_EDGES:
        reason = (
            f"the graph has {G.n_edges:,} edges (> {SWEEP_MAX_EDGES:,}); run "
            "netsci-dl sweep CHECKPOINT -o out/ for it"
        )
        return Section(
            title, f"<p>Skipped: {html.escape(reason)}.</p>", summary={"skipped": reason}
        )
    rule = "quantile-block" if ctx.rule.startswith("quantile-block") else "quantile"
    cuts = default_cuts(G, rule=rule, n=N_CUTS)
    df = threshold_sweep(G, cuts, rule=rule, n_null=N_NULL, seed=0)
    csv_frame(df).to_csv(ctx.folder / "sweep.csv", index=False)
    png, svg = save_figure(plot_sweep(df, rule=rule, name=ctx.name), ctx.figures / "sweep")
    metrics = ["mean_degree", "isolated_fraction", "giant_fraction", "mean_geodesic", "r"]
    table = df.groupby(["cut", "model"])[metrics].mean().unstack("model")
    table.columns = [f"{m} ({model})" for m, model in table.columns]
    body = (
        f"<p>The net (black) against {N_NULL} layered random replicas (each allowed edge of a "
        f"block kept with the block's density at that cut) and {N_NULL} degree-preserving "
        "rewirings within each block (bands: mean and spread), over "
        f"{len(cuts)} cuts of rule <code>{html.escape(rule)}</code> (the quantile of |w| kept "
        "above the cut). Where the net departs from both nulls, its structure is more than "
        "its density (replica) or its degrees (rewiring) explain.</p>"
        + figure_html(ctx, png, "Metrics of the thresholded net and its nulls against the cut")
        + "<details><summary>Means per cut and model</summary>"
        + table_html(table)
        + "</details><p class='files'>Data: <a href='sweep.csv'>sweep.csv</a></p>"
    )
    return Section(
        title,
        body,
        files=("sweep.csv", rel(ctx, png), rel(ctx, svg)),
        summary={"rule": rule, "cuts": [float(c) for c in cuts], "n_null": N_NULL},
    )
