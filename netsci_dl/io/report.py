"""The analysis report: a folder with ``index.html``, ``summary.json``, CSV tables and figures.

The report only formats: every number comes from :mod:`netsci_dl.analysis` (one
:class:`~netsci_dl.analysis.compare.StructureSummary` per graph) and every figure from
:mod:`netsci_dl.plot`.

Extending it: the page is a list of :class:`Section` objects, each made by a *builder*
``builder(ctx: ReportContext) -> Section | None``. A builder may write files into
``ctx.folder`` (figures under ``ctx.figures``) and returns the section's title, its HTML body
(links relative to the report folder), the files it wrote and the scalars it wants in
``summary.json`` (under ``"sections"``). Pass ``extra_sections=[my_builder]`` to
:func:`write_report`, or append to :data:`DEFAULT_SECTIONS` to make it permanent::

    def ei_section(ctx):
        ei = effective_information(ctx.H)                      # heavy work in analysis/
        png, _ = save_figure(plot_ei(ei, model=ctx.name), ctx.figures / "ei")
        return Section("Effective information", figure_html(ctx, png, "EI per layer")
                       + table_html(ei.to_frame()), files=(rel(ctx, png),),
                       summary=ei.to_dict())
"""

from __future__ import annotations

import html
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.graph import LayeredGraph
from netsci_dl.io.report_ei import ei_section
from netsci_dl.io.report_modules import modules_section

__all__ = [
    "Section",
    "ReportContext",
    "DEFAULT_SECTIONS",
    "write_report",
    "figure_html",
    "table_html",
    "rel",
]


@dataclass(frozen=True)
class Section:
    """One part of the report page.

    title : heading (also the anchor of the table of contents);
    html : the body, with links relative to the report folder;
    files : files this section wrote, relative to the folder (listed in ``summary.json``);
    summary : JSON-able scalars stored in ``summary.json`` under ``sections[title]``.
    """

    title: str
    html: str
    files: tuple[str, ...] = ()
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


@dataclass(frozen=True)
class ReportContext:
    """What a section builder gets: the graphs, the summaries, where to write."""

    G: LayeredGraph
    summary: Any  # StructureSummary of G
    reference: Any  # StructureSummary of the compared checkpoint, or None
    comparison: Any  # StructureComparison (reference -> G), or None
    folder: Path
    name: str
    threshold: str

    @property
    def figures(self) -> Path:
        p = self.folder / "figures"
        p.mkdir(exist_ok=True)
        return p


def rel(ctx: ReportContext, path: Path) -> str:
    """``path`` relative to the report folder, with forward slashes (for links)."""
    return Path(path).relative_to(ctx.folder).as_posix()


def figure_html(ctx: ReportContext, png: Path, caption: str) -> str:
    """An ``<img>`` of ``png`` linking to its SVG twin, with a caption."""
    r = rel(ctx, png)
    svg = r[:-4] + ".svg"
    return (
        f'<figure><a href="{html.escape(svg)}"><img src="{html.escape(r)}" '
        f'alt="{html.escape(caption)}"></a><figcaption>{html.escape(caption)} '
        f'(<a href="{html.escape(svg)}">SVG</a>)</figcaption></figure>'
    )


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "NaN" if np.isnan(v) else str(v)
        return f"{v:.4g}"
    return str(v)


def table_html(df: Any, *, max_rows: int | None = None) -> str:
    """A DataFrame as an HTML table, numbers to 4 significant digits."""
    if max_rows is not None and len(df) > max_rows:
        df = df.head(max_rows)
    t = df.to_html(classes="tbl", border=0, na_rep="NaN", float_format=lambda v: _fmt(v))
    return f"<div class='scroll'>{t}</div>"


# ---- default sections ---------------------------------------------------------------------
def overview_section(ctx: ReportContext) -> Section:
    S, G = ctx.summary, ctx.G
    rows = [
        ("model", ctx.name),
        ("source", G.meta.get("source", "")),
        ("layers", " - ".join(f"{n} ({s})" for n, s in zip(G.layer_names, G.layer_sizes))),
        ("nodes / edges", f"{G.n_nodes} / {G.n_edges}"),
        (
            "threshold",
            f"{ctx.threshold}: kept {sum(S.block_edges_kept)} edges "
            f"(cut {_fmt(S.threshold_record.get('t', float('nan')))})",
        ),
        (
            "weight mean / skewness (all)",
            f"{_fmt(S.weights.overall.mean)} / {_fmt(S.weights.overall.skewness)}",
        ),
        ("degree assortativity r", _fmt(S.r)),
        (
            "degree-strength Pearson per layer",
            ", ".join(f"{n}: {_fmt(p)}" for n, p in zip(S.layer_names, S.degree_strength.pearson)),
        ),
    ]
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


def _figs(ctx: ReportContext) -> dict[str, tuple[Path, Path]]:
    from netsci_dl.plot.structure import structure_figures

    cache = ctx.folder / ".figs.json"
    if cache.exists():
        return {k: (Path(a), Path(b)) for k, (a, b) in json.loads(cache.read_text()).items()}
    figs = structure_figures(ctx.summary, ctx.figures, reference=ctx.reference)
    cache.write_text(json.dumps({k: [str(a), str(b)] for k, (a, b) in figs.items()}))
    return figs


def weights_section(ctx: ReportContext) -> Section:
    figs = _figs(ctx)
    png = figs["weights"][0]
    body = figure_html(ctx, png, "Signed weights per block (density)") + table_html(
        ctx.summary.blocks_frame()
    )
    return Section("Weights", body, files=tuple(rel(ctx, p) for p in figs["weights"]))


def strength_section(ctx: ReportContext) -> Section:
    figs = _figs(ctx)
    S = ctx.summary
    body = figure_html(
        ctx, figs["strength"][0], "Node strength s_up per layer (last layer: s_down)"
    )
    body += figure_html(ctx, figs["degree_strength"][0], "Degree vs strength per layer")
    body += table_html(S.layers_frame())
    return Section(
        "Strength and degree",
        body,
        files=tuple(rel(ctx, p) for k in ("strength", "degree_strength") for p in figs[k]),
    )


def degree_section(ctx: ReportContext) -> Section:
    figs = _figs(ctx)
    fit = ctx.summary.degree_fit
    body = figure_html(
        ctx, figs["degree_ccdf"][0], "Degree CCDF (log-log) with the power-law tail fit"
    )
    body += (
        f"<p>Fits of the total degree (k &gt; 0), tail k &ge; {_fmt(fit.xmin)} ({fit.n_tail} of "
        f"{fit.n} nodes): {html.escape(fit.method)}. Best: <b>{html.escape(str(fit.best))}</b> "
        "(None: no candidate wins every significant comparison).</p>"
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
        table_html(df) + f"<p>Strength assortativity (|w|, full graph): {_fmt(S.r_strength)}</p>"
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
    head = df.loc[[k for k in (*HEADLINE, *blocks) if k in df.index]]
    body = (
        f"<p>Shift = {html.escape(ctx.summary.name)} &minus; {html.escape(ctx.reference.name)}. "
        "T18 reports that after learning the weight mean moves negative and the skewness "
        "grows.</p>"
        + table_html(head)
        + f"<details><summary>All {len(df)} quantities</summary>{table_html(df)}</details>"
    )
    return Section(
        "Comparison",
        body,
        files=("comparison.csv",),
        summary={
            k: v["shift"] for k, v in ctx.comparison.to_dict()["shifts"].items() if k in HEADLINE
        },
    )


def nodes_section(ctx: ReportContext) -> Section:
    df = ctx.summary.nodes_frame()
    return Section(
        "Nodes",
        "<p>First rows of <a href='nodes.csv'>nodes.csv</a> "
        f"({len(df)} nodes).</p>" + table_html(df, max_rows=12),
    )


#: the builders of the default page, in order
DEFAULT_SECTIONS: list[Callable[[ReportContext], Section | None]] = [
    overview_section,
    comparison_section,
    weights_section,
    strength_section,
    degree_section,
    assortativity_section,
    ei_section,
    modules_section,
    nodes_section,
]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#243b55;color:#fff;padding:1em 2em} header h1{margin:0;font-size:1.5em}
header p{margin:.3em 0 0;opacity:.85} nav{padding:.5em 2em;background:#e8edf3}
nav a{margin-right:1.2em;color:#243b55;text-decoration:none;font-weight:600}
main{padding:0 2em 3em;max-width:1400px} section{background:#fff;margin:1.2em 0;padding:1em 1.5em;
border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.08)} h2{color:#243b55;margin-top:.2em}
figure{margin:1em 0} img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.9em;color:#555} table.tbl,table.kv{border-collapse:collapse;font-size:.85em;margin:.8em 0}
.tbl th,.tbl td,.kv th,.kv td{padding:.25em .6em;border-bottom:1px solid #e3e3e3;text-align:right}
.kv th{text-align:left;color:#555} .kv td{text-align:left} .tbl tr:hover{background:#f3f6fa}
.scroll{overflow-x:auto;max-width:100%} details{margin:.6em 0} summary{cursor:pointer;color:#243b55} .files a{margin-right:.8em}
"""


def _page(name: str, sub: str, sections: Sequence[Section]) -> str:
    nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
    body = "".join(
        f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>{s.html}</section>'
        for s in sections
    )
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>netsci_dl report: {html.escape(name)}</title><style>{_CSS}</style></head>"
        f"<body><header><h1>netsci_dl report: {html.escape(name)}</h1><p>{html.escape(sub)}</p>"
        f"</header><nav>{nav}</nav><main>{body}</main></body></html>\n"
    )


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    return x


def write_report(
    G: LayeredGraph,
    out_dir: str | os.PathLike,
    *,
    compare: LayeredGraph | None = None,
    threshold: str = "quantile:0.95",
    force: bool = False,
    name: str | None = None,
    compare_name: str | None = None,
    extra_sections: Sequence[Callable[[ReportContext], Section | None]] = (),
    sections: Sequence[Callable[[ReportContext], Section | None]] | None = None,
) -> Path:
    """Analyse ``G`` (and optionally a reference checkpoint) and write the report folder.

    Parameters
    ----------
    G : LayeredGraph
        The full graph (e.g. the trained model).
    out_dir : path
        Report folder; created if missing (its parent must exist). A non-empty folder needs
        ``force`` (then the report's files are replaced, other files are left alone).
    compare : LayeredGraph, optional
        A reference (e.g. the weights before training); shifts are ``G`` minus ``compare``.
    threshold : str
        Rule for :func:`netsci_dl.threshold.apply_spec`, applied to each graph.
    name, compare_name : str, optional
        Names shown in titles; default from ``meta["source"]``.
    extra_sections, sections : list of builders
        Builders appended to (or replacing) :data:`DEFAULT_SECTIONS`.

    Returns
    -------
    Path of ``index.html``.

    Notes
    -----
    Everything is first written to a hidden temporary folder beside ``out_dir`` and moved in at
    the end, so an error leaves no partial report. Files: ``index.html``, ``summary.json`` (every
    scalar, the conventions and the threshold rule), ``layers.csv``, ``blocks.csv``,
    ``nodes.csv``, ``comparison.csv`` (with ``compare``), ``figures/*.png|svg``.

    Examples
    --------
    >>> import tempfile, numpy as np, netsci_dl as nd
    >>> G = nd.from_matrices([np.random.default_rng(0).normal(size=(4, 3))])
    >>> p = write_report(G, tempfile.mkdtemp() + "/r", threshold="quantile:0.5")  # doctest: +SKIP
    """
    from netsci_dl.analysis._compare import StructureComparison, structural_summary

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} exists and is not empty; pass force=True (CLI: --force)")
    if not out.parent.exists():
        raise FileNotFoundError(f"output folder {out.parent} does not exist")
    name = name or _default_name(G, "model")
    S = structural_summary(G, threshold=threshold, name=name)
    R = C = None
    if compare is not None:
        R = structural_summary(
            compare, threshold=threshold, name=compare_name or _default_name(compare, "reference")
        )
        if R.name == S.name:
            R = _renamed(R, R.name + " (reference)")
        C = StructureComparison(R, S)

    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        ctx = ReportContext(G, S, R, C, tmp, name, threshold)
        S.layers_frame().to_csv(tmp / "layers.csv")
        S.blocks_frame().to_csv(tmp / "blocks.csv")
        S.nodes_frame().to_csv(tmp / "nodes.csv", index=False)
        if C is not None:
            C.to_frame().to_csv(tmp / "comparison.csv")
        built = [
            b(ctx) for b in (*(DEFAULT_SECTIONS if sections is None else sections), *extra_sections)
        ]
        built = [s for s in built if s is not None]
        (tmp / ".figs.json").unlink(missing_ok=True)
        summary = {
            "model": name,
            "threshold": threshold,
            "structure": S.to_dict(),
            "reference": R.to_dict() if R is not None else None,
            "comparison": C.to_dict() if C is not None else None,
            "sections": {s.title: s.summary for s in built if s.summary},
            "files": sorted({f for s in built for f in s.files}),
        }
        (tmp / "summary.json").write_text(json.dumps(_jsonable(summary), indent=1) + "\n")
        sub = f"threshold {threshold}" + (f"; compared with {R.name}" if R is not None else "")
        (tmp / "index.html").write_text(_page(name, sub, built), encoding="utf-8")
        out.mkdir(exist_ok=True)
        for src in sorted(tmp.rglob("*")):
            if src.is_file():
                dst = out / src.relative_to(tmp)
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / "index.html"


def _default_name(G: LayeredGraph, fallback: str) -> str:
    src = G.meta.get("name") or G.meta.get("source")
    return Path(str(src)).name if src else fallback


def _renamed(S: Any, name: str) -> Any:
    import dataclasses

    return dataclasses.replace(S, name=name)
