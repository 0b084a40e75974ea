"""The report's "Functional modules" section (a builder for :mod:`netsci_dl.report`).

For one hidden layer (default: layer 1, the first hidden layer): receptive fields -> pairwise
EMD -> average-linkage clustering into ``k`` modules -> per-module statistics (T18, see
shared/SCIENCE.md), Leiden communities of the thresholded graph, and the agreement (ARI, NMI,
contingency table) between the RF modules and the communities restricted to that layer.

Skipped, with a note saying why, when the graph has no ``meta["image_shape"]``, when the layer is
too big for the report (more than :data:`MODULES_MAX_UNITS` units, or an EMD matrix estimated at
more than :data:`MODULES_MAX_SECONDS`), or when the receptive fields cannot be compared (e.g. a
unit with an all-zero field). ``netsci-dl modules`` does the same analysis for any layer and size.
"""

from __future__ import annotations

import html
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from netsci_dl._sanitize import csv_frame

__all__ = ["modules_section", "default_k", "MODULES_MAX_UNITS", "MODULES_MAX_SECONDS"]

#: layers with more units are skipped (a 600-field matrix is 179,700 EMD pairs)
MODULES_MAX_UNITS = 600
#: layers whose EMD matrix is estimated (from a timed sample of pairs) to take longer are skipped
MODULES_MAX_SECONDS = 30.0
_TITLE = "Functional modules"
_SAMPLE = 12  # fields in the timing sample (66 pairs)


def default_k(n_units: int) -> int:
    """The report's number of modules for a layer of ``n_units``: ``min(20, n_units // 5)``, at
    least 2 (T18 uses 20 for layers of hundreds of units; small layers get about 5 units a module).

    Examples
    --------
    >>> default_k(100), default_k(500), default_k(7)
    (20, 20, 2)
    """
    return int(max(2, min(20, n_units // 5)))


def _skipped(reason: str) -> Any:
    from netsci_dl.report._core import Section

    body = (
        f"<p>Skipped: {html.escape(reason)}. Run <code>netsci-dl modules CHECKPOINT --layer 1 "
        "--k 20 -o out/</code> (any layer and size; resumable EMD matrix) and "
        "<code>netsci-dl communities CHECKPOINT -o out/</code>.</p>"
    )
    return Section(_TITLE, body, summary={"skipped": reason})


def _cell(fig_html: str) -> str:
    """A flex item that lets its figure shrink (two figures side by side on a wide page)."""
    return f"<div style='flex:1 1 40%;min-width:320px'>{fig_html}</div>"


def _estimate_seconds(P: Any, ground: str) -> float:
    """Wall-clock estimate of the full EMD matrix from a timed sample of pairs (both cores)."""
    import os

    from netsci_dl.analysis.fields.emd import SignedFields, emd_matrix

    n = len(P)
    m = min(n, _SAMPLE)
    sample = SignedFields(P.pos[:m], P.neg[:m]) if isinstance(P, SignedFields) else P[:m]
    t = time.perf_counter()
    emd_matrix(sample, ground=ground, n_jobs=1, progress=False)
    per_pair = (time.perf_counter() - t) / max(m * (m - 1) // 2, 1)
    return per_pair * n * (n - 1) / 2 / max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class _Found:
    """What the section found for one layer: the modules and the graph communities beside them."""

    layer: int
    name: str
    n: int
    k_asked: int  # the k asked of analyze_modules (given, or default_k)
    k_given: bool
    ground: str
    seed: int
    analysis: Any  # ModuleAnalysis
    part: Any  # Leiden partition of the thresholded graph
    comm: np.ndarray  # its communities restricted to the layer
    agreement: Any  # Agreement (modules vs communities)

    @property
    def in_layer(self) -> int:
        """Communities that hold units of the layer."""
        return int(np.unique(self.comm).size)

    @property
    def emd_seconds(self) -> float:
        return float(self.analysis.emd.timings.get("total_s", float("nan")))

    @property
    def grid(self) -> str:
        """The receptive fields' pixel grid, e.g. ``4x4``."""
        return "x".join(map(str, self.analysis.rfs.shape[1:]))


def modules_section(
    ctx: Any,
    *,
    layer: int | str = 1,
    k: int | None = None,
    ground: str = "euclidean",
    seed: int = 0,
) -> Any:
    """Section "Functional modules" of the analysis report.

    Parameters
    ----------
    ctx : ReportContext
    layer : int or str
        The hidden layer whose receptive fields are clustered (default 1, the first hidden layer).
    k : int, optional
        Number of modules; default :func:`default_k` of the layer size (20 for >= 100 units).
    ground : {"euclidean", "manhattan"}
        EMD ground distance. Default Euclidean (T18's), by the 48-neighbour grid min-cost flow:
        an upper bound at most 0.755% above the exact EMD; ``"manhattan"`` is exact and faster.
    seed : int
        Leiden's seed.

    Returns
    -------
    Section
        Figures (dendrogram with the cut, mean and member RFs per module, module profiles,
        community sizes per layer, modules-vs-communities heat map), the module table and the
        agreement; writes ``modules.csv`` (unit, node, module, community) and
        ``module_stats.csv``. A short note instead when skipped (see the module docstring).
        Use ``functools.partial(modules_section, layer=2, k=10)`` as a builder for other choices.
    """
    from netsci_dl.report._core import Section, rel

    chosen = _choose_layer(ctx.G, layer, k)
    if isinstance(chosen, str):
        return _skipped(chosen)
    l, kk = chosen
    a = _analyze(ctx, l, kk, ground)
    if isinstance(a, str):
        return _skipped(a)
    f = _with_communities(ctx, a, k_asked=kk, k_given=k is not None, ground=ground, seed=seed)
    st = _write_tables(ctx, f)
    saved = _figures(ctx, f)
    files = ["modules.csv", "module_stats.csv"] + [
        rel(ctx, p) for pair in saved.values() for p in pair
    ]
    return Section(_TITLE, _body(ctx, f, saved, st), files=tuple(files), summary=_summary(f))


def _choose_layer(G: Any, layer: int | str, k: int | None) -> tuple[int, int] | str:
    """The layer index and the number of modules, or why the layer is skipped."""
    if not G.meta.get("image_shape"):
        return (
            "the graph has no image shape (meta['image_shape']), so receptive "
            "fields cannot be laid out on a pixel grid; pass --image-shape HxW"
        )
    try:
        l = G.layer_index(layer)
    except ValueError as e:
        return str(e)
    if l == 0:
        return "layer 0 is the input layer"
    n = G.layer_sizes[l]
    lname = G.layer_names[l]
    if n > MODULES_MAX_UNITS:
        return (
            f"layer {lname} has {n} units (> {MODULES_MAX_UNITS}); its "
            f"{n * (n - 1) // 2:,} EMD pairs would take minutes"
        )
    kk = default_k(n) if k is None else int(k)
    if n < 3 or not 2 <= kk <= n:
        return f"layer {lname} has {n} units, too few for {kk} modules"
    return l, kk


def _analyze(ctx: Any, l: int, kk: int, ground: str) -> Any:
    """:func:`~netsci_dl.analysis.analyze_modules` of layer ``l``, or why it is skipped (too slow
    by a timed sample, or fields that cannot be compared)."""
    from netsci_dl.analysis import analyze_modules, receptive_fields, to_distributions

    G = ctx.G
    n, lname = G.layer_sizes[l], G.layer_names[l]
    try:
        rfs = receptive_fields(G, l)
        P = to_distributions(rfs, "shift", layer=l)
        est = _estimate_seconds(P, ground) if n > 2 * _SAMPLE else 0.0
        if est > MODULES_MAX_SECONDS:
            return (
                f"the EMD matrix of layer {lname} ({n} fields on a "
                f"{'x'.join(map(str, rfs.shape[1:]))} grid) is estimated at "
                f"{est:.0f} s (> {MODULES_MAX_SECONDS:.0f} s)"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # tied heights: k below the request
            return analyze_modules(
                G,
                l,
                k=kk,
                method="average",
                ground=ground,
                threshold=ctx.H,
                n_jobs=-1,
                progress=False,
            )
    except ValueError as e:
        return f"receptive fields of layer {lname}: {e}"


def _with_communities(ctx: Any, a: Any, **choices: Any) -> _Found:
    """Leiden communities of the thresholded graph and their agreement with the modules."""
    from netsci_dl.analysis import agreement, leiden, restrict

    l = a.layer
    part = leiden(ctx.H, seed=choices["seed"])
    comm = restrict(part, ctx.H, l)
    ag = agreement(a.modules.labels, comm)
    n, lname = ctx.G.layer_sizes[l], ctx.G.layer_names[l]
    return _Found(l, lname, n, analysis=a, part=part, comm=comm, agreement=ag, **choices)


def _write_tables(ctx: Any, f: _Found) -> Any:
    """``modules.csv`` (unit, node, module, community) and ``module_stats.csv``; returns the
    statistics table."""
    df = f.analysis.modules.to_frame()
    df.insert(1, "node", np.arange(ctx.G.n_nodes)[ctx.G.layer_slice(f.layer)])
    df["community"] = f.comm
    csv_frame(df).to_csv(ctx.folder / "modules.csv", index=False)
    st = f.analysis.stats.to_frame()
    csv_frame(st).to_csv(ctx.folder / "module_stats.csv", index=False)
    return st


def _figures(ctx: Any, f: _Found) -> dict[str, tuple[Any, Any]]:
    """The section's five figures, saved under ``ctx.figures`` (PNG and SVG paths by name)."""
    from netsci_dl.plot import save_figure
    from netsci_dl.plot.modules import (
        plot_agreement,
        plot_community_layers,
        plot_dendrogram,
        plot_module_members,
        plot_module_profiles,
    )

    figs = ctx.figures
    mods, part = f.analysis.modules, f.part
    title = f"{ctx.name}, layer {f.name}"
    dendrogram = plot_dendrogram(
        mods, title=f"{title}: average linkage on EMD, cophenetic r = {mods.cophenetic:.3f}"
    )
    saved = {"dendrogram": save_figure(dendrogram, figs / "modules_dendrogram")}
    members = plot_module_members(
        f.analysis.rfs,
        mods.labels,
        emd=f.analysis.emd,
        n_members=8,
        title=f"{title}: mean RF and members per module (most typical first; red +, blue -)",
    )
    saved["members"] = save_figure(members, figs / "modules_members")
    profiles = plot_module_profiles(f.analysis.stats, title=title)
    saved["profiles"] = save_figure(profiles, figs / "modules_profiles")
    communities = plot_community_layers(
        part, ctx.H, title=f"Leiden, thresholded graph: {part.n_communities} communities"
    )
    saved["communities"] = save_figure(communities, figs / "communities_layers")
    heat = plot_agreement(
        f.agreement,
        row_label=f"RF module ({f.name})",
        col_label=f"Leiden community (units of {f.name})",
        title=f"{f.name}: modules vs communities",
    )
    saved["agreement"] = save_figure(heat, figs / "modules_agreement")
    return saved


def _facts(ctx: Any, f: _Found) -> list[tuple[str, str]]:
    """The key-value table at the top of the section."""
    mods, emd, n, lname = f.analysis.modules, f.analysis.emd, f.n, f.name
    bound = emd.error_bound
    ground_txt = (
        "Euclidean ground distance by min-cost flow on the 48-neighbour pixel grid, an upper "
        f"bound at most {100 * bound:.3g}% above the exact EMD"
        if f.ground == "euclidean" and bound
        else f"{f.ground} ground distance, exact"
    )
    return [
        ("layer", f"{lname} (index {f.layer}), {n} units, receptive fields {f.grid} pixels"),
        (
            "modules",
            f"k = {mods.k}"
            + ("" if f.k_given else " (default min(20, units // 5))")
            + (f", asked {f.k_asked} (tied merge heights)" if mods.k != f.k_asked else "")
            + f"; sizes {', '.join(map(str, mods.sizes.tolist()))}",
        ),
        ("EMD", f"{n * (n - 1) // 2:,} pairs in {f.emd_seconds:.2f} s; {ground_txt}"),
        ("clustering", f"average linkage, cophenetic r = {mods.cophenetic:.3f}"),
        (
            "communities",
            f"Leiden (modularity, resolution 1, seed {f.seed}) on the thresholded "
            f"graph ({ctx.rule}, unweighted): {f.part.n_communities} communities, "
            f"Q = {f.part.quality:.3f}; {f.in_layer} of them hold units of {lname}",
        ),
        (
            "agreement",
            f"ARI = {f.agreement.ari:.3f}, NMI = {f.agreement.nmi:.3f} (modules vs communities "
            f"on the {n} units of {lname})",
        ),
    ]


_INTRO = (
    "<p>Receptive fields of the units of one layer (products of the weight blocks down to the "
    "input, no biases or nonlinearity; shifted to be non-negative and normalised) compared "
    "pairwise by the Earth Mover's Distance (in pixels), clustered by average linkage and "
    "cut into k modules (T18). Each module's structural profile uses degree (edges to the next "
    "layer) and k_nn on the thresholded graph and strength (to the next layer) on the full "
    "graph. The modules are then compared with "
    "graph communities found from the connectivity alone (ARI/NMI near 0: the functional "
    "modules are not structural communities; near 1: they coincide).</p>"
)
_OUTRO = (
    "<p class='files'>Data: <a href='modules.csv'>modules.csv</a> "
    "<a href='module_stats.csv'>module_stats.csv</a></p>"
    "<p>Other layers or k: <code>netsci-dl modules CHECKPOINT --layer 2 --k 20 -o out/</code>"
    " (also writes graph.graphml with a <code>module</code> column for Gephi).</p>"
)


def _body(ctx: Any, f: _Found, saved: dict[str, tuple[Any, Any]], st: Any) -> str:
    """The section's HTML: the facts, the module figures and table, modules vs communities."""
    from netsci_dl.report._core import figure_html, table_html

    kv = "".join(
        f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td></tr>" for a, b in _facts(ctx, f)
    )
    agreement_fig = figure_html(
        ctx,
        saved["agreement"][0],
        f"Contingency table: RF modules (rows) vs Leiden communities (columns), units of {f.name}",
    )
    communities_fig = figure_html(
        ctx,
        saved["communities"][0],
        "Leiden communities of the thresholded "
        "graph: nodes of each layer (isolated nodes are singleton communities)",
    )
    return (
        _INTRO
        + f"<table class='kv'>{kv}</table>"
        + figure_html(ctx, saved["members"][0], "Mean receptive field and members of each module")
        + figure_html(ctx, saved["dendrogram"][0], "Dendrogram of the EMD clustering with the cut")
        + figure_html(
            ctx,
            saved["profiles"][0],
            "Module profiles: k_nn vs degree, degree vs strength (numbers: module ids)",
        )
        + "<h3>Per-module statistics</h3>"
        + table_html(st.set_index("module"))
        + "<h3>Modules and graph communities</h3>"
        + "<div style='display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start'>"
        + _cell(agreement_fig)
        + _cell(communities_fig)
        + "</div>"
        + _OUTRO
    )


def _summary(f: _Found) -> dict[str, Any]:
    """The section's scalars in ``summary.json``."""
    mods, emd = f.analysis.modules, f.analysis.emd
    return {
        "layer": f.layer,
        "layer_name": f.name,
        "n_units": f.n,
        "k": mods.k,
        "k_requested": f.k_asked,
        "k_rule": "given" if f.k_given else "min(20, n_units // 5), at least 2",
        "sizes": mods.sizes.tolist(),
        "cophenetic": mods.cophenetic,
        "linkage": "average",
        "distribution": "shift",
        "emd_ground": f.ground,
        "emd_method": emd.method,
        "emd_error_bound": emd.error_bound,
        "emd_seconds": f.emd_seconds,
        "communities_method": "leiden",
        "communities_seed": f.seed,
        "n_communities": f.part.n_communities,
        "modularity": f.part.quality,
        "n_communities_in_layer": f.in_layer,
        "ari": f.agreement.ari,
        "nmi": f.agreement.nmi,
    }
