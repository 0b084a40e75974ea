"""The report's machinery: sections, the context a section builder gets, the page, the writer.

The report only formats: every number comes from the public functions of
:mod:`netsci_dl.analysis` and every figure from :mod:`netsci_dl.plot`. It is orchestration, so it
sits above both (and above :mod:`netsci_dl.io`, which only reads and writes files).

Extending it: the page is a list of :class:`Section` objects, each made by a *builder*
``builder(ctx: ReportContext) -> Section | None``. A builder may write files into
``ctx.folder`` (figures under ``ctx.figures``) and returns the section's title, its HTML body
(links relative to the report folder), the files it wrote and the scalars it wants in
``summary.json`` (under ``"sections"``). Pass ``extra_sections=[my_builder]`` to
:func:`write_report`, or ``sections=[...]`` to replace :data:`netsci_dl.report.DEFAULT_SECTIONS`.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl._files.atomic import discard_live, new_temp, short_temp_prefix
from netsci_dl._sanitize import csv_frame
from netsci_dl.errors import InputError
from netsci_dl.graph import LayeredGraph

__all__ = [
    "Section",
    "ReportContext",
    "write_report",
    "figure_html",
    "table_html",
    "notes_html",
    "rel",
    "fmt",
    "rule_explained",
    "threshold_table",
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
    """What a section builder gets: the graphs, the summaries, the threshold, where to write.

    ``G`` is the full graph and ``H`` its thresholded version (by ``rule``, the rule the
    threshold spec resolved to; ``rule_reason`` says why).
    """

    G: LayeredGraph
    H: LayeredGraph
    summary: Any  # StructureSummary of G
    reference: Any  # StructureSummary of the compared checkpoint, or None
    comparison: Any  # StructureComparison (reference -> G), or None
    folder: Path
    name: str
    threshold: str
    rule: str = ""
    rule_reason: str = ""
    thresholds: Any = None  # threshold_table(G, H): each weight block's kept fraction
    model: Any = None  # the model of G (an nn.Module), for the sections that run it
    data: Any = None  # a Dataset or an (X, y) pair the model is run on

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


def fmt(v: Any) -> str:
    """A number to 4 significant digits; NaN as an em dash (the page says why nearby)."""
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "\u2014" if np.isnan(v) else str(v)
        return f"{v:.4g}"
    return str(v)


def table_html(df: Any, *, max_rows: int | None = None) -> str:
    """A DataFrame as an HTML table (escaped), numbers to 4 significant digits, NaN as a dash."""
    if max_rows is not None and len(df) > max_rows:
        df = df.head(max_rows)
    t = df.to_html(classes="tbl", border=0, na_rep="\u2014", float_format=fmt, escape=True)
    return f"<div class='scroll'>{t}</div>"


def notes_html(notes: Sequence[str]) -> str:
    """Why some cells are dashes or some panels empty, as a list under a table."""
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f"<div class='notes'><b>Undefined values:</b><ul>{items}</ul></div>"


def rule_explained(G: LayeredGraph, spec: str) -> tuple[str, str]:
    """The rule ``spec`` resolves to on ``G``, and why (for the page)."""
    from netsci_dl.threshold import (
        DEFAULT_SPEC,
        SCALE_FACTOR,
        block_scales,
        block_value_kinds,
        explain_default_rule,
    )

    s = str(spec).strip().lower()
    if s in ("none", "full"):
        return "none", "no threshold: every edge is kept"
    if s.startswith("auto"):
        q = float((DEFAULT_SPEC if s == "auto" else s).partition(":")[2])
        return explain_default_rule(G, q)
    why = f"as asked ({spec})"
    if s.startswith(("quantile-block", "quantile-layer", "density-block", "topk")):
        return spec, why
    kinds = sorted({k for k, bk in zip(block_value_kinds(G), G.block_kinds) if bk != "identity"})
    scales = [x for x in block_scales(G) if np.isfinite(x) and x > 0]
    if len(kinds) > 1:
        why += (
            f"; note: the blocks hold different kinds of values ({', '.join(kinds)}) and one "
            "global cut treats them alike (quantile-block is the default for such graphs)"
        )
    elif scales and max(scales) / min(scales) > SCALE_FACTOR:
        why += (
            f"; note: the blocks' |value| scales differ {max(scales) / min(scales):.3g}-fold "
            f"(> {SCALE_FACTOR:g}) and one global cut keeps mostly the largest "
            "(quantile-block is the default for such graphs)"
        )
    return spec, why


def threshold_table(G: LayeredGraph, H: LayeredGraph) -> Any:
    """One row per weight block of ``G``: what it holds, its |value| scale (95th percentile),
    the edges it has and keeps in ``H``, and the kept fraction (a DataFrame indexed by block)."""
    import pandas as pd

    from netsci_dl.threshold import block_scales, block_value_kinds

    kinds, scales = block_value_kinds(G), block_scales(G)
    total, kept = G.block_n_edges, H.block_n_edges
    rows = [
        {
            "block": G.block_names[b],
            "value": kinds[b],
            "|value| q95": scales[b],
            "edges": int(total[b]),
            "kept": int(kept[b]),
            "kept fraction": kept[b] / total[b] if total[b] else np.nan,
        }
        for b, k in enumerate(G.block_kinds)
        if k != "identity"
    ]
    return pd.DataFrame(rows).set_index("block")


def _warn_empty_blocks(table: Any, rule: str) -> None:
    """A warning (the page's box) for every weight block the rule leaves without an edge."""
    for name, row in table.iterrows():
        if row["edges"] and not row["kept"]:
            warnings.warn(
                f"threshold {rule}: block {name} keeps 0 of {row['edges']} edges, so its "
                "degrees are 0 and its per-block r and k_nn undefined; cut per block "
                "(--threshold quantile-block:0.95) or lower the cut",
                UserWarning,
                stacklevel=3,
            )


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
.warnings{background:#fff7e0;border-left:4px solid #e0a800;padding:.6em 1.2em;margin:1.2em 0;border-radius:4px}
.notes{font-size:.85em;color:#555;background:#f6f6f6;padding:.3em 1em;border-radius:4px}
"""


def _page(name: str, sub: str, sections: Sequence[Section], warned: Sequence[str]) -> str:
    nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
    box = ""
    if warned:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in warned)
        box = (
            f"<div class='warnings' id='warnings'><b>{len(warned)} warning"
            f"{'s' if len(warned) != 1 else ''} while this report was made</b> (also printed "
            f"on the terminal):<ul>{items}</ul></div>"
        )
    body = "".join(
        f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>{s.html}</section>'
        for s in sections
    )
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>netsci_dl report: {html.escape(name)}</title><style>{_CSS}</style></head>"
        f"<body><header><h1>netsci_dl report: {html.escape(name)}</h1><p>{html.escape(sub)}</p>"
        f"</header><nav>{nav}</nav><main>{box}{body}</main></body></html>\n"
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


def _default_name(G: LayeredGraph, fallback: str) -> str:
    src = G.meta.get("name") or G.meta.get("source")
    return Path(str(src)).name if src else fallback


def write_report(
    G: LayeredGraph,
    out_dir: str | os.PathLike,
    *,
    compare: LayeredGraph | None = None,
    threshold: str = "auto",
    force: bool = False,
    name: str | None = None,
    compare_name: str | None = None,
    compare_by: str = "name",
    extra_sections: Sequence[Callable[[ReportContext], Section | None]] = (),
    sections: Sequence[Callable[[ReportContext], Section | None]] | None = None,
    model: Any = None,
    data: Any = None,
) -> Path:
    """Analyse ``G`` (and optionally a reference checkpoint) and write the report folder.

    Parameters
    ----------
    G : LayeredGraph
        The full graph (e.g. the trained model): a chain or any DAG of node groups.
    out_dir : path
        Report folder; created if missing (its parent must exist). A non-empty folder needs
        ``force`` (then the report's own files are replaced, other files are left alone).
    compare : LayeredGraph, optional
        A reference (e.g. the weights before training); shifts are ``G`` minus ``compare``.
    threshold : str
        Rule for :func:`netsci_dl.threshold.apply_spec`, applied to each graph. Default
        ``"auto"``: the 95th percentile of |w|, per block when blocks hold different kinds of
        values (signed weights, kernel norms) or |value| scales more than 10-fold apart
        (:func:`netsci_dl.threshold.explain_default_rule`); the page says which rule it used
        and why, and tables each block's kept fraction (also in ``summary.json``:
        ``threshold_blocks``). A block the rule leaves without an edge is a warning.
    name, compare_name : str, optional
        Names shown in titles; default from ``meta["source"]``.
    compare_by : {"name", "position"}
        How layers of ``G`` and ``compare`` are paired (:func:`netsci_dl.analysis.compare`).
    extra_sections, sections : list of builders
        Builders appended to (or replacing) :data:`netsci_dl.report.DEFAULT_SECTIONS`.
    model, data : optional
        The model whose graph ``G`` is (an ``nn.Module``) and a
        :class:`~netsci_dl.datasets.Dataset` or ``(X, y)`` pair: the pruning section then
        measures the accuracy of the pruned model (an MLP: its ``nn.Linear`` weights are
        ``G``'s blocks); without them it shows the graph alone.

    Returns
    -------
    Path of ``index.html``.

    Notes
    -----
    Everything is first written to a hidden temporary folder beside ``out_dir`` and moved in at
    the end, so an error leaves no partial report. Warnings raised while the report is made are
    listed in a box at the top of the page (and printed as usual). Files: ``index.html``,
    ``summary.json`` (every scalar, the conventions and the threshold rule), ``layers.csv``,
    ``blocks.csv``, ``nodes.csv``, ``comparison.csv`` (with ``compare``),
    ``figures/*.png|svg``.
    """
    from netsci_dl.threshold import apply_spec

    out = Path(out_dir)
    _check_out(out, force)
    name = name or _default_name(G, "model")
    rule, why = rule_explained(G, threshold)
    if rule == "none":
        raise InputError(
            "the report needs a thresholded graph for degrees and assortativity: pass a rule "
            "such as 'auto' or 'quantile:0.95', not 'none'"
        )
    if sections is None:
        from netsci_dl.report import DEFAULT_SECTIONS

        sections = DEFAULT_SECTIONS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Debian's mpl_toolkits beside pip's matplotlib: 3-D axes unavailable; we never use them
        warnings.filterwarnings("ignore", message="Unable to import Axes3D")
        H = apply_spec(G, rule)
        table = threshold_table(G, H)
        _warn_empty_blocks(table, rule)
        S, R, C = _summaries(G, H, compare, name, compare_name, threshold, compare_by)
        tmp = Path(
            new_temp(folder=True, prefix=short_temp_prefix(out.name, extra=8), dir=out.parent)
        )
        try:
            ctx = ReportContext(
                G, H, S, R, C, tmp, name, threshold, rule, why, table, model=model, data=data
            )
            _write_tables(ctx)
            built = [b(ctx) for b in (*sections, *extra_sections)]
            built = [s for s in built if s is not None]
            (tmp / ".figs.json").unlink(missing_ok=True)
            warned = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
            _write_page(ctx, built, warned)
            _move_in(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            discard_live(tmp)
    for w in {str(w.message): w for w in caught}.values():  # each once, on the terminal too
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out / "index.html"


def _check_out(out: Path, force: bool) -> None:
    """Refuse a file, a non-empty folder without ``force``, or a missing parent."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} exists and is not empty; pass force=True (CLI: --force)")
    if not out.parent.exists():
        raise FileNotFoundError(f"output folder {out.parent} does not exist")


def _summaries(
    G: LayeredGraph,
    H: LayeredGraph,
    compare: LayeredGraph | None,
    name: str,
    compare_name: str | None,
    threshold: str,
    compare_by: str,
) -> tuple[Any, Any, Any]:
    """The structural summary of ``G`` and, with ``compare``, the reference's and the comparison
    (reference -> ``G``); ``(S, None, None)`` without."""
    from netsci_dl.analysis import compare as compare_summaries
    from netsci_dl.analysis import structural_summary
    from netsci_dl.threshold import apply_spec

    S = structural_summary(G, threshold=H, name=name)
    if compare is None:
        return S, None, None
    R = structural_summary(
        compare,
        threshold=apply_spec(compare, rule_explained(compare, threshold)[0]),
        name=compare_name or _default_name(compare, "reference"),
    )
    if R.name == S.name:
        R = dataclasses.replace(R, name=R.name + " (reference)")
    C = compare_summaries(R, S, compare_by=compare_by)
    if compare_by == "position":
        R = C.before
    return S, R, C


def _write_tables(ctx: ReportContext) -> None:
    """``layers.csv``, ``blocks.csv``, ``nodes.csv`` and (with a reference) ``comparison.csv``."""
    S, C, folder = ctx.summary, ctx.comparison, ctx.folder
    csv_frame(S.layers_frame()).to_csv(folder / "layers.csv")
    csv_frame(blocks_frame(ctx)).to_csv(folder / "blocks.csv")
    csv_frame(S.nodes_frame()).to_csv(folder / "nodes.csv", index=False)
    if C is not None:
        csv_frame(C.to_frame()).to_csv(folder / "comparison.csv")


def blocks_frame(ctx: ReportContext) -> Any:
    """The summary's per-block table with a first column ``value``: what each block holds, as
    its figure panels name it (``"signed weight"``, ``"kernel l2 norm"``; ``(all)`` last)."""
    from netsci_dl.plot import block_value_names

    df = ctx.summary.blocks_frame()
    names = [v for v, k in zip(block_value_names(ctx.G), ctx.G.block_kinds) if k != "identity"]
    df.insert(0, "value", [*names, "(all)"][: len(df)])
    return df


def _write_page(ctx: ReportContext, built: Sequence[Section], warned: Sequence[str]) -> None:
    """``summary.json`` (every scalar, the threshold rule, the files, the warnings) and
    ``index.html``."""
    R, C = ctx.reference, ctx.comparison
    summary = {
        "model": ctx.name,
        "threshold": ctx.threshold,
        "threshold_rule": ctx.rule,
        "threshold_reason": ctx.rule_reason,
        "threshold_scale_factor": _scale_factor(),
        "threshold_blocks": _table_records(ctx.thresholds),
        "structure": ctx.summary.to_dict(),
        "reference": R.to_dict() if R is not None else None,
        "comparison": C.to_dict() if C is not None else None,
        "sections": {s.title: s.summary for s in built if s.summary},
        "files": sorted({f for s in built for f in s.files}),
        "warnings": list(warned),
    }
    (ctx.folder / "summary.json").write_text(json.dumps(_jsonable(summary), indent=1) + "\n")
    sub = f"threshold {ctx.rule} ({ctx.rule_reason})" + (
        f"; compared with {R.name}" if R is not None else ""
    )
    (ctx.folder / "index.html").write_text(_page(ctx.name, sub, built, warned), encoding="utf-8")


def _scale_factor() -> float:
    from netsci_dl.threshold import SCALE_FACTOR

    return SCALE_FACTOR


def _table_records(table: Any) -> list[dict[str, Any]]:
    """``threshold_table`` rows as JSON records (block name first)."""
    if table is None:
        return []
    return [{"block": str(i), **row} for i, row in zip(table.index, table.to_dict("records"))]


def _move_in(tmp: Path, out: Path) -> None:
    """Move every file of the finished report from ``tmp`` into ``out`` (created if missing)."""
    out.mkdir(exist_ok=True)
    for src in sorted(tmp.rglob("*")):
        if src.is_file():
            dst = out / src.relative_to(tmp)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
