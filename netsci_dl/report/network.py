"""The report's network-science sections beyond degrees (issue 26): neuron measures and types,
clusterability against shuffled weights, and the rich club and motifs against layered nulls.

Every number comes from :mod:`netsci_dl.analysis` with the settings stated on the page; the
costs are bounded for the report (a few nulls and shuffles, sampled betweenness, graphs above
a size skipped with the command that does them at any size).

* **Neurons**: Scabini & Bruno's eight measures of every hidden neuron
  (:func:`~netsci_dl.analysis.neuron_measures`, undirected, all layers; a measure undefined on
  this graph, e.g. current-flow closeness of a disconnected graph, is left out and the page says
  why), betweenness estimated from :data:`BETWEENNESS_SOURCES` sampled sources (hops on the
  positive-weight graph, with its standard error), and :data:`N_TYPES` neuron types by seeded
  k-means on the standardised measures (:func:`~netsci_dl.analysis.neuron_types`).
* **Clusterability** (Filan et al. 2021): spectral clustering of the undirected ``|W|`` graph
  into ``k = min(12, live nodes / 4)`` clusters, its n-cut, and :data:`N_SHUFFLES` nets with each
  weight block shuffled (:func:`~netsci_dl.analysis.clusterability`): z-score and percentile.
* **Rich club and motifs** of the thresholded graph (the report's cut) against
  :data:`N_NULL` degree-preserving rewirings within each block
  (:func:`~netsci_dl.analysis.rich_club`, :func:`~netsci_dl.analysis.motif_counts`).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from netsci_dl._sanitize import csv_frame
from netsci_dl.errors import InputError

__all__ = [
    "neurons_section",
    "clusterability_section",
    "rich_club_motifs_section",
    "NETWORK_MAX_NODES",
    "N_TYPES",
    "N_SHUFFLES",
    "N_NULL",
    "BETWEENNESS_SOURCES",
]

#: graphs with more nodes skip these sections (all-pairs measures and n x n spectral work)
NETWORK_MAX_NODES = 3000
#: neuron types (k-means clusters of the standardised measures), seeded
N_TYPES = 4
#: shuffled nets of the clusterability null (the paper uses 50; `netsci-dl clusterability`)
N_SHUFFLES = 10
#: rewired nets of the rich-club and motif nulls (`netsci-dl motifs` does more)
N_NULL = 10
#: sampled sources of the betweenness estimate
BETWEENNESS_SOURCES = 64
SEED = 0


def _skipped(title: str, reason: str) -> Any:
    from netsci_dl.report._core import Section

    return Section(title, f"<p>{html.escape(reason)}</p>", summary={"skipped": reason})


def _too_big(ctx: Any, command: str) -> str | None:
    n = ctx.G.n_nodes
    if n <= NETWORK_MAX_NODES:
        return None
    return (
        f"Skipped: the graph has {n:,} nodes (> {NETWORK_MAX_NODES:,}); run "
        f"netsci-dl {command} CHECKPOINT -o out/ for it."
    )


def report_neuron_measures(G: Any) -> tuple[Any, list[str]]:
    """The neuron measures the graph defines (all eight when it can), and why any is missing."""
    from netsci_dl.analysis import NEURON_MEASURES, neuron_measures

    try:
        return neuron_measures(G), []
    except InputError:
        pass
    ok, notes = [], []
    for m in NEURON_MEASURES:
        try:
            neuron_measures(G, measures=(m,))
            ok.append(m)
        except InputError as e:
            notes.append(f"{m}: {e}")
    if not ok:
        raise InputError("; ".join(notes))
    return neuron_measures(G, measures=tuple(ok)), notes


def neurons_section(ctx: Any) -> Any:
    """Section "Neurons: centralities and types"."""
    from netsci_dl.analysis import betweenness_centrality, neuron_types
    from netsci_dl.report._core import Section, notes_html, table_html

    title = "Neurons: centralities and types"
    big = _too_big(ctx, "centrality")
    if big:
        return _skipped(title, big)
    try:
        m, notes = report_neuron_measures(ctx.G)
    except InputError as e:
        return _skipped(title, f"Does not apply: {e}")
    if len(m) < 2 * N_TYPES:
        return _skipped(title, f"Does not apply: {len(m)} hidden neurons (need a hidden layer).")
    k_src = min(BETWEENNESS_SOURCES, ctx.G.n_nodes)
    b = betweenness_centrality(ctx.G, k=k_src, seed=SEED)
    t = neuron_types(m, k=N_TYPES, seed=SEED)
    df = m.to_frame().assign(betweenness=b.values[m.node], betweenness_se=b.se[m.node],
                             type=t.labels)  # fmt: skip
    csv_frame(df).to_csv(ctx.folder / "neurons_measures.csv", index=False)
    cols = [*m.names, "betweenness"]
    per_layer = df.groupby("layer", sort=False)[cols].mean()
    per_type = df.groupby("type")[cols].mean().assign(neurons=df.groupby("type").size())
    mix = df.groupby(["layer", "type"], sort=False).size().unstack("type", fill_value=0)
    body = (
        f"<p>Scabini &amp; Bruno's measures of the {len(m)} hidden neurons (undirected graph of "
        "every layer: signed strength, weighted k_nn and current-flow closeness on the signed "
        "weights; bipartite clustering, log subgraph centrality, harmonic centrality with "
        "|w| as distance, second-order centrality and maximal cliques on the positive weights), "
        f"and betweenness (hops on the positive weights) estimated from {k_src} sampled "
        f"sources (standard error in the CSV). Neuron types: k-means, k = {N_TYPES}, seed "
        f"{SEED}, on the standardised measures ({', '.join(t.features)}).</p>"
        + "<h3>Mean per layer</h3>" + table_html(per_layer)
        + "<h3>Neuron types</h3>" + table_html(per_type)
        + "<details><summary>Types per layer (neurons)</summary>" + table_html(mix)
        + "</details>" + notes_html(notes)
        + "<p class='files'>Data: <a href='neurons_measures.csv'>neurons_measures.csv</a></p>"
    )  # fmt: skip
    summary = {
        "n_neurons": len(m),
        "measures": list(m.names),
        "types_k": N_TYPES,
        "type_sizes": np.bincount(t.labels, minlength=N_TYPES).tolist(),
        "betweenness_sources": k_src,
        "betweenness_max_se": float(np.max(b.se, initial=0.0)),
        "missing": notes,
    }
    return Section(title, body, files=("neurons_measures.csv",), summary=summary)


def report_clusters(G: Any) -> int:
    """The number of spectral clusters the report uses: 12 (the paper's), at most a quarter of
    the nodes with a weight, at least 2."""
    src, dst, w = G.edges()
    weight = np.repeat([k != "identity" for k in G.block_kinds], G.block_n_edges)
    keep = weight & (w != 0)
    live = np.zeros(G.n_nodes, dtype=bool)  # a mask, not np.unique: no sort of the ids
    live[src[keep]] = True
    live[dst[keep]] = True
    return int(max(2, min(12, int(live.sum()) // 4)))


def clusterability_section(ctx: Any) -> Any:
    """Section "Clusterability" (Filan et al.)."""
    from netsci_dl.analysis import clusterability
    from netsci_dl.report._core import Section, fmt

    title = "Clusterability against shuffled weights"
    big = _too_big(ctx, "clusterability")
    if big:
        return _skipped(title, big)
    k = report_clusters(ctx.G)
    try:
        c = clusterability(ctx.G, k=k, n_shuffles=N_SHUFFLES, seed=SEED)
    except InputError as e:
        return _skipped(title, f"Does not apply: {e}")
    d = c.to_dict()
    verdict = (
        "more clusterable than its shuffles" if c.percentile == 0 and c.z < -2
        else "not more clusterable than its shuffles"
    )  # fmt: skip
    body = (
        f"<p>Spectral clustering of the undirected |W| graph (every weight block) into k = {k} "
        f"clusters (scikit-learn, seed {SEED}), and its n-cut (sum over clusters of cut / "
        "volume; lower is more clusterable), against "
        f"{N_SHUFFLES} nets with every weight block's entries shuffled, each clustered afresh "
        "(the paper uses 50: netsci-dl clusterability).</p>"
        "<table class='kv'>"
        f"<tr><th>n-cut</th><td>{fmt(c.ncut)}</td></tr>"
        f"<tr><th>shuffled nets</th><td>{fmt(d['null_mean'] or np.nan)} +- "
        f"{fmt(d['null_sd'] or np.nan)}</td></tr>"
        f"<tr><th>z-score</th><td>{fmt(c.z)}</td></tr>"
        f"<tr><th>percentile</th><td>{fmt(c.percentile)}</td></tr>"
        f"<tr><th>verdict</th><td>{verdict}</td></tr></table>"
    )
    sizes = np.bincount(c.labels[c.labels >= 0], minlength=k).tolist()
    summary = {key: d[key] for key in ("ncut", "null_mean", "null_sd", "z", "percentile")}
    summary.update(k=k, n_shuffles=N_SHUFFLES, seed=SEED, cluster_sizes=sizes)
    return Section(title, body, summary=summary)


def rich_club_motifs_section(ctx: Any) -> Any:
    """Section "Rich club and motifs" of the thresholded graph."""
    from netsci_dl.analysis import motif_counts, rich_club
    from netsci_dl.report._core import Section, notes_html, table_html

    title = "Rich club and motifs"
    big = _too_big(ctx, "motifs")
    if big:
        return _skipped(title, big)
    H = ctx.H
    if H.n_edges < 4:
        return _skipped(title, f"Does not apply: the thresholded graph has {H.n_edges} edges.")
    try:
        rc = rich_club(H, n_null=N_NULL, seed=SEED)
        mot = motif_counts(H, n_null=N_NULL, seed=SEED)
    except InputError as e:
        return _skipped(title, f"Does not apply: {e}")
    rcf, mf = rc.to_frame(), mot.to_frame()
    fixed = [
        f"{name}: z undefined, every rewired net has its count (the degrees, which the "
        "rewiring keeps, fix it)"
        for name, sd in zip(mf["motif"], mf["null_sd"]) if sd == 0
    ]  # fmt: skip
    csv_frame(rcf).to_csv(ctx.folder / "rich_club.csv", index=False)
    csv_frame(mf).to_csv(ctx.folder / "motifs.csv", index=False)
    finite = rcf[np.isfinite(rcf["normalized"])]
    peak = finite.loc[finite["normalized"].idxmax()] if len(finite) else None
    rc_line = (
        f"normalised phi peaks at {peak['normalized']:.3g} for degree &gt; {peak['r']:.0f} "
        f"({int(peak['n_club'])} nodes); above 1 means a rich club"
        if peak is not None else "no degree with a defined normalised coefficient"
    )  # fmt: skip
    body = (
        f"<p>The thresholded graph ({html.escape(ctx.rule)}, {H.n_edges:,} edges) against "
        f"{N_NULL} degree-preserving rewirings within each block (seed {SEED}; netsci-dl "
        "motifs does more). Rich club (unweighted, undirected, by degree): "
        f"{rc_line}. Motifs: 3- and 4-node feed-forward patterns of the layered DAG counted "
        "by matrix products, with z-scores against the rewired blocks.</p>"
        + table_html(mf)
        + notes_html(fixed)
        + "<details><summary>Rich-club coefficient per degree</summary>"
        + table_html(rcf) + "</details>"
        + "<p class='files'>Data: <a href='motifs.csv'>motifs.csv</a>, "
        "<a href='rich_club.csv'>rich_club.csv</a></p>"
    )  # fmt: skip
    summary = {
        "n_null": N_NULL,
        "seed": SEED,
        "rich_club_peak": None if peak is None else float(peak["normalized"]),
        "rich_club_peak_degree": None if peak is None else float(peak["r"]),
        "motifs": {r.motif: {"count": float(r.count), "z": _num(r.z)} for r in mf.itertuples()},
    }
    return Section(title, body, files=("motifs.csv", "rich_club.csv"), summary=summary)


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
