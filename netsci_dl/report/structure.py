"""The structural sections of the report: overview, weights, strength and degree, the degree
distribution, assortativity, the comparison with a reference, and the node table."""

from __future__ import annotations

import html
import json
from pathlib import Path

from netsci_dl.plot.structure import MIN_FIT_TAIL
from netsci_dl.report._core import (
    ReportContext,
    Section,
    blocks_frame,
    figure_html,
    fmt,
    notes_html,
    rel,
    table_html,
)

__all__ = [
    "overview_section",
    "weights_section",
    "strength_section",
    "degree_section",
    "assortativity_section",
    "comparison_section",
    "nodes_section",
    "HEADLINE",
]


def overview_section(ctx: ReportContext) -> Section:
    S, G = ctx.summary, ctx.G
    rows = [
        ("model", ctx.name),
        ("source", G.meta.get("source", "")),
        ("groups", " - ".join(f"{n} ({s})" for n, s in zip(G.layer_names, G.layer_sizes))),
        (
            "blocks",
            "; ".join(
                f"{n}: {k}" + (f" ({v})" if k != "identity" else "")
                for n, k, v in zip(G.block_names, G.block_kinds, _values(G))
            ),
        ),
        ("graph", "a chain" if G.is_chain else "a DAG (skip connections or branches)"),
        ("nodes / edges", f"{G.n_nodes} / {G.n_edges}"),
        (
            "threshold",
            f"{ctx.rule}: kept {sum(S.block_edges_kept)} of {sum(S.block_edges_total)} edges "
            f"({ctx.rule_reason})",
        ),
        ("weight mean / skewness (all)", _overall_weights(ctx)),
        ("degree assortativity r", fmt(S.r)),
        (
            "degree-strength Pearson per layer",
            ", ".join(f"{n}: {fmt(p)}" for n, p in zip(S.layer_names, S.degree_strength.pearson)),
        ),
    ]
    junctions = G.meta.get("junctions") or []
    if junctions:
        rows.append(
            (
                "junctions",
                "; ".join(
                    f"{j['kind']} -> {j.get('group', '')}"
                    for j in junctions
                    if j.get("kind") != "dropped"
                ),
            )
        )
    if ctx.reference is not None:
        rows.append(("compared with", ctx.reference.name))
    body = (
        "<table class='kv'>"
        + "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
        )
        + "</table>"
    )
    conv = "".join(
        f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in S.conventions.items()
    )
    body += _threshold_html(ctx)
    body += notes_html(S.notes)
    body += f"<details><summary>Conventions (choices made)</summary><ul>{conv}</ul></details>"
    files = "".join(
        f'<a href="{f}">{f}</a> ' for f in ("summary.json", "layers.csv", "blocks.csv", "nodes.csv")
    )
    body += (
        f"<p class='files'>Data: {files}"
        + ('<a href="comparison.csv">comparison.csv</a>' if ctx.comparison is not None else "")
        + "</p>"
    )
    return Section("Overview", body)


def _mixed_kinds(ctx: ReportContext) -> list[str]:
    """The kinds of values the weight blocks hold, when there are several (else empty)."""
    from netsci_dl.threshold import block_value_kinds

    G = ctx.G
    kinds = sorted({k for k, bk in zip(block_value_kinds(G), G.block_kinds) if bk != "identity"})
    return kinds if len(kinds) > 1 else []


def _overall_weights(ctx: ReportContext) -> str:
    mixed = _mixed_kinds(ctx)
    if mixed:
        return (
            f"not shown: the blocks hold different kinds of values ({', '.join(mixed)}), whose "
            "pooled moments mean nothing; see the per-block table under Weights"
        )
    W = ctx.summary.weights.overall
    return f"{fmt(W.mean)} / {fmt(W.skewness)}"


def _threshold_html(ctx: ReportContext) -> str:
    """The threshold rule and each weight block's kept fraction."""
    from netsci_dl.threshold import SCALE_FACTOR

    t = ctx.thresholds
    if t is None or not len(t):
        return ""
    return (
        f"<details open><summary>Threshold per block: {html.escape(ctx.rule)}</summary><p>"
        f"{html.escape(ctx.rule_reason)}. The default (auto) cuts per block when the weight "
        "blocks hold different kinds of values or when their |value| scales (95th percentiles, "
        f"column |value| q95) differ by more than {SCALE_FACTOR:g}-fold; else once over all "
        "edges.</p>" + table_html(t) + "</details>"
    )


def _figs(ctx: ReportContext) -> dict[str, tuple[Path, Path]]:
    from netsci_dl.plot.structure import structure_figures

    cache = ctx.folder / ".figs.json"
    if cache.exists():
        return {k: (Path(a), Path(b)) for k, (a, b) in json.loads(cache.read_text()).items()}
    figs = structure_figures(ctx.summary, ctx.figures, reference=ctx.reference, G=ctx.G)
    cache.write_text(json.dumps({k: [str(a), str(b)] for k, (a, b) in figs.items()}))
    return figs


def weights_section(ctx: ReportContext) -> Section:
    figs = _figs(ctx)
    png = figs["weights"][0]
    names = _weight_values(ctx.G)
    what = " and ".join(dict.fromkeys(names)) or "signed weight"
    body = figure_html(ctx, png, f"Distribution of the edge values per block: {what} (density)")
    df = blocks_frame(ctx)
    notes = [n for n in ctx.summary.notes if n.startswith("block")]
    mixed = _mixed_kinds(ctx)
    if mixed:
        df = df.drop(index="all", errors="ignore")
        notes.append(
            f"all: no pooled row, the blocks hold different kinds of values ({', '.join(mixed)})"
        )
    body += table_html(df) + notes_html(notes)
    return Section("Weights", body, files=tuple(rel(ctx, p) for p in figs["weights"]))


def strength_section(ctx: ReportContext) -> Section:
    figs = _figs(ctx)
    S = ctx.summary
    body = figure_html(
        ctx,
        figs["strength"][0],
        "Node strength s_up per layer: the sum of the unit's outgoing edge values over every "
        "block it feeds (a layer feeding nothing: s_down)",
    )
    body += figure_html(ctx, figs["degree_strength"][0], "Degree vs strength per layer")
    body += table_html(S.layers_frame())
    body += notes_html([n for n in S.notes if n.startswith("layer")] + _mixed_strengths(ctx))
    return Section(
        "Strength and degree",
        body,
        files=tuple(rel(ctx, p) for k in ("strength", "degree_strength") for p in figs[k]),
    )


def _mixed_strengths(ctx: ReportContext) -> list[str]:
    """Layers whose strength adds values of different kinds (a kernel norm and a weight)."""
    from netsci_dl.threshold import block_value_kinds

    G = ctx.G
    vk = block_value_kinds(G)
    out = []
    for g, name in enumerate(G.layer_names):
        bs = [b for b, s in enumerate(G.block_src) if s == g and G.block_kinds[b] != "identity"]
        kinds = sorted({vk[b] for b in bs})
        if len(kinds) > 1:
            out.append(
                f"layer {name}: s_up adds values of different kinds ({', '.join(kinds)}); "
                "its strength and degree-strength correlation mix units"
            )
    return out


def degree_section(ctx: ReportContext) -> Section:
    figs = _figs(ctx)
    fit = ctx.summary.degree_fit
    shown = fit.n_tail >= MIN_FIT_TAIL
    body = figure_html(
        ctx,
        figs["degree_ccdf"][0],
        "Degree CCDF (log-log)" + (" with the power-law tail fit" if shown else ""),
    )
    if fit.fits and not shown:
        body += (
            f"<p>No distribution fit shown: the tail holds {fit.n_tail} of {fit.n} nodes "
            f"(k &ge; {fmt(fit.xmin)}), fewer than {MIN_FIT_TAIL}. Rule: power-law, "
            f"exponential and lognormal fits are shown only for tails of at least "
            f"{MIN_FIT_TAIL} values; below that the likelihood tests cannot tell the candidates "
            "apart and the exponent is noise.</p>"
        )
        return Section(
            "Degree distribution",
            body,
            files=tuple(rel(ctx, p) for p in figs["degree_ccdf"]),
            summary={"fit": "not shown", "n_tail": fit.n_tail, "min_tail": MIN_FIT_TAIL},
        )
    verdict = html.escape(fit.verdict)
    body += (
        f"<p>Fits of the total degree (k &gt; 0), tail k &ge; {fmt(fit.xmin)} ({fit.n_tail} of "
        f"{fit.n} nodes): {html.escape(fit.method)}. {verdict}</p>"
    )
    if fit.fits:
        body += table_html(fit.to_frame())
        import pandas as pd

        tests = pd.DataFrame([t.to_dict() for t in fit.tests])
        tests["favoured"] = tests["favoured"].fillna("none (p >= 0.1)")
        body += "<p>Vuong tests (R &gt; 0 favours a):</p>" + table_html(tests.set_index(["a", "b"]))
    elif fit.note:
        body += f"<p>{html.escape(fit.note)}</p>"
    return Section(
        "Degree distribution", body, files=tuple(rel(ctx, p) for p in figs["degree_ccdf"])
    )


def assortativity_section(ctx: ReportContext) -> Section:
    import pandas as pd

    figs = _figs(ctx)
    S = ctx.summary
    df = pd.DataFrame(
        {
            "r (degree)": [S.r, *S.r_blocks],
            "<k^2>/<k>": [S.knn.reference, *[c.reference for c in S.knn_blocks]],
        },
        index=["whole graph", *S.block_names],
    )
    body = figure_html(ctx, figs["knn"][0], "knn(k), whole graph and per block")
    body += (
        table_html(df)
        + notes_html([n for n in S.notes if n.startswith("block")])
        + f"<p>Strength assortativity (|w|, full graph): {fmt(S.r_strength)}</p>"
    )
    return Section("Assortativity", body, files=tuple(rel(ctx, p) for p in figs["knn"]))


HEADLINE = (
    "weights.all.mean",
    "weights.all.std",
    "weights.all.skewness",
    "weights.all.kurtosis",
    "weights.all.frac_negative",
    "r",
    "r_strength_abs",
)


def comparison_section(ctx: ReportContext) -> Section | None:
    if ctx.comparison is None:
        return None
    df = ctx.comparison.to_frame()
    blocks = [f"weights.{b}.{s}" for b in ctx.summary.block_names for s in ("mean", "skewness")]
    mixed = _mixed_kinds(ctx)
    headline = [k for k in HEADLINE if not (mixed and k.startswith("weights.all."))]
    head = df.loc[[k for k in (*headline, *blocks) if k in df.index]]
    pooled = (
        f" The pooled weights.all shifts are left out: the blocks hold different kinds of "
        f"values ({', '.join(mixed)})."
        if mixed
        else ""
    )
    body = (
        f"<p>Shift = {html.escape(ctx.summary.name)} &minus; {html.escape(ctx.reference.name)}. "
        "T18 reports that after learning the weight mean moves negative and the skewness "
        f"grows.{html.escape(pooled)}</p>"
        + table_html(head)
        + f"<details><summary>All {len(df)} quantities</summary>{table_html(df)}</details>"
    )
    return Section(
        "Comparison",
        body,
        files=("comparison.csv",),
        summary={
            k: v["shift"] for k, v in ctx.comparison.to_dict()["shifts"].items() if k in headline
        },
    )


def nodes_section(ctx: ReportContext) -> Section:
    df = ctx.summary.nodes_frame()
    return Section(
        "Nodes",
        "<p>First rows of <a href='nodes.csv'>nodes.csv</a> "
        f"({len(df)} nodes).</p>" + table_html(df, max_rows=12),
    )


def _values(G: object) -> list[str]:
    """What each block of ``G`` holds, for the page (the figures' own names)."""
    from netsci_dl.plot import block_value_names

    return list(block_value_names(G))


def _weight_values(G: object) -> list[str]:
    return [v for v, k in zip(_values(G), G.block_kinds) if k != "identity"]
