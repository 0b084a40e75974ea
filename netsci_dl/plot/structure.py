"""Figures of the structural analysis, drawn from a :class:`~netsci_dl.analysis.StructureSummary`.

Nothing is recomputed here: every function reads a summary (and optionally a ``reference``
summary, e.g. the checkpoint before learning, drawn underneath in grey). Per-block panels
follow the graph's blocks (``block_src[b] -> block_dst[b]``, any DAG), per-layer panels its
layers; panels sit in a grid of at most :data:`~netsci_dl.plot._base.MAX_COLS` per row, share an
axis where they show the same quantity, and every axis names the value it shows ("signed
weight", "kernel l2 norm"...). Pass ``G=`` (the graph the summary was made from) for the block
structure and the value names (``G.meta["edge_weight"]``); without it the summary is read as a
chain of signed weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.plot._base import (
    block_value_names,
    display_name,
    figure_legend,
    joint_value_name,
    legend_right,
    new_figure,
    panel_grid,
    save_figure,
    series_colors,
    tidy_log_axis,
    wrap,
)

__all__ = [
    "plot_weight_distributions",
    "plot_strength_distributions",
    "plot_degree_ccdf",
    "plot_knn",
    "plot_degree_strength",
    "structure_figures",
    "MIN_FIT_TAIL",
]

#: the degree CCDF draws the power-law fit (and the report shows the fits) only for tails of at
#: least this many values: fewer cannot tell a power law from its alternatives
MIN_FIT_TAIL = 50

_MAIN, _REF = "C0", "0.55"
_PANEL_W = 3.3  # inches per panel (panel_grid's default)


@dataclass(frozen=True)
class _Shape:
    """The block structure a summary was computed on, with display-safe names.

    ``block_*`` describe every block of the graph (identity blocks included: they decide which
    layers have outgoing edges); ``panel_names`` / ``panel_values`` describe the blocks the
    summary holds statistics for, in its order (the weight blocks: a summary leaves identity
    blocks out), so panel ``i`` is drawn from ``S.weights.blocks[i]`` under its own name.
    """

    layer_names: tuple[str, ...]
    block_src: tuple[int, ...]
    block_dst: tuple[int, ...]
    values: tuple[str, ...]  # what each block holds ("signed weight", "kernel l2 norm"...)
    kinds: tuple[str, ...]
    panel_names: tuple[str, ...]
    panel_values: tuple[str, ...]

    def _learned(self, ends: tuple[int, ...], layer: int) -> list[int]:
        return [b for b, e in enumerate(ends) if e == layer and self.kinds[b] != "identity"]

    def direction(self, layer: int) -> str:
        """``"up"`` for a layer with an outgoing weight block, ``"down"`` otherwise (a sink, or
        a group whose only way out is an identity skip), as the summary's strengths are."""
        return "up" if self._learned(self.block_src, layer) else "down"

    def strength_value(self, layer: int) -> str:
        """What the strength of this layer sums (the values of its blocks in that direction)."""
        ends = self.block_src if self.direction(layer) == "up" else self.block_dst
        return joint_value_name([self.values[b] for b in self._learned(ends, layer)])


def _shape(S: Any, G: Any = None) -> _Shape:
    nw = len(S.weights.blocks)  # the summary's blocks: the weight blocks of G
    if G is not None:
        from netsci_dl.errors import InputError

        if tuple(G.layer_sizes) != tuple(S.layer_sizes):
            raise InputError(
                f"G has layers {tuple(G.layer_sizes)} but the summary {tuple(S.layer_sizes)}; "
                "pass the graph the summary was computed on"
            )
        src, dst, names = tuple(G.block_src), tuple(G.block_dst), tuple(G.block_names)
        values, kinds = block_value_names(G), tuple(G.block_kinds)
        wb = [b for b, k in enumerate(kinds) if k != "identity"]
        if len(wb) != nw:
            raise InputError(
                f"G has {len(wb)} weight blocks but the summary {nw}; pass the graph the "
                "summary was computed on"
            )
        pnames, pvalues = tuple(names[b] for b in wb), tuple(values[b] for b in wb)
    else:
        src = tuple(getattr(S, "block_src", ()) or range(nw))
        dst = tuple(getattr(S, "block_dst", ()) or range(1, nw + 1))
        names = tuple(getattr(S, "block_names", ()) or (f"{s}->{d}" for s, d in zip(src, dst)))
        values = tuple(getattr(S, "value_names", ()) or ("signed weight",) * nw)
        kinds = tuple(getattr(S, "block_kinds", ()) or ("weight",) * nw)
        pnames, pvalues = names, values
    return _Shape(
        tuple(display_name(n, max_len=28) for n in S.layer_names),
        src,
        dst,
        values,
        kinds,
        tuple(display_name(n, max_len=40) for n in pnames),
        pvalues,
    )


def _suptitle(
    fig: Any, S: Any, what: str, reference: Any = None, ax: Any = None, legend_w: float = 0.0
) -> None:
    """The figure's title naming the model; on ``ax`` (a one-panel figure whose legend, about
    ``legend_w`` inches wide, sits at its right) instead of above the figure."""
    extra = f" (grey: {display_name(reference.name)})" if reference is not None else ""
    text = f"{display_name(S.name)}: {what}{extra}"
    if ax is not None:
        w = max(fig.get_figwidth() - legend_w - 1.0, 2.0)
        ax.set_title(wrap(text, w, fontsize=10.5), fontsize=10.5)
    else:
        fig.suptitle(wrap(text, fig.get_figwidth() - 0.3, fontsize=11), fontsize=11)


def _title(ax: Any, lines: list[str], width: float = _PANEL_W) -> None:
    ax.set_title(wrap("\n".join(lines), width - 0.2, fontsize=8.5, max_lines=2), fontsize=8.5)


def _empty(ax: Any, why: str) -> None:
    ax.text(0.5, 0.5, wrap(why, 2.6, fontsize=8), transform=ax.transAxes, ha="center",
            va="center", fontsize=8, color="0.4")  # fmt: skip


def _layer_slices(S: Any) -> list[slice]:
    off = np.concatenate([[0], np.cumsum(S.layer_sizes)])
    return [slice(int(off[l]), int(off[l + 1])) for l in range(len(S.layer_sizes))]


def _model_handles(S: Any, reference: Any, main: str = "line") -> tuple[list[Any], list[str]]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    hs: list[Any] = [Line2D([], [], color=_MAIN, lw=1.5)] if main == "line" else [
        Line2D([], [], color=_MAIN, marker="o", ls="", ms=4)
    ]  # fmt: skip
    ls = [display_name(S.name)]
    if reference is not None:
        hs.append(Patch(color=_REF, alpha=0.45) if main == "line" else Line2D(
            [], [], color=_REF, marker="o", ls="", ms=4))  # fmt: skip
        ls.append(display_name(reference.name))
    return hs, ls


def plot_weight_distributions(S: Any, *, reference: Any = None, G: Any = None) -> Any:
    """Histogram (density) of the values of each block (``G.block_src[b] -> G.block_dst[b]``);
    ``reference`` overlaid in grey. Panels of the same value kind share their axes.

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> from netsci_dl.analysis.structure._compare import structural_summary
    >>> G = nd.from_matrices([np.random.default_rng(0).normal(size=(4, 3))])
    >>> fig = plot_weight_distributions(structural_summary(G, threshold="quantile:0.5"), G=G)
    >>> len(fig.axes), fig.axes[0].get_xlabel()
    (1, 'signed weight (dimensionless)')
    """
    sh = _shape(S, G)
    blocks = S.weights.blocks
    nb = len(blocks)
    fig, axes = panel_grid(nb, sharex=sh.panel_values, sharey=sh.panel_values)
    for i, ax in enumerate(axes[:nb]):
        stats = []
        for summ, color in ((S, _MAIN), (reference, _REF)):
            if summ is None or i >= len(summ.weights.blocks):
                continue
            w = summ.weights.blocks[i]
            if not w.n:
                continue
            edges = np.asarray(w.hist_edges)
            dens = np.asarray(w.hist_counts) / (w.n * np.diff(edges))
            ref = color == _REF
            ax.stairs(dens, edges, color=color, fill=ref, alpha=0.45 if ref else 1,
                      zorder=1 if ref else 2)  # fmt: skip
            stats.append(f"{'grey' if ref else 'mean'} {w.mean:.3g}, skew {w.skewness:.2f}")
        if not blocks[i].n:
            _empty(ax, "no edges in this block")
        _title(ax, [sh.panel_names[i], "; ".join(stats)])
        ax.set_xlabel(wrap(f"{sh.panel_values[i]} (dimensionless)", _PANEL_W - 0.3, fontsize=9))
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("probability density (1/unit)")
    figure_legend(fig, *_model_handles(S, reference), where="bottom")
    _suptitle(fig, S, "distribution of the values of each block", reference)
    return fig


def _hist(ax: Any, s: np.ndarray, color: Any, fill: bool) -> None:
    counts, edges = np.histogram(s, bins=40)
    ax.stairs(counts / (len(s) * np.diff(edges)), edges, color=color, fill=fill,
              alpha=0.45 if fill else 1)  # fmt: skip


def plot_strength_distributions(S: Any, *, reference: Any = None, G: Any = None) -> Any:
    """Histogram (density) of the strength of each layer: ``s_up`` (the sum of the values of
    its outgoing blocks) for a layer with outgoing blocks, ``s_down`` (incoming) for a sink."""
    sh = _shape(S, G)
    sl = _layer_slices(S)
    L = len(sl)
    names = [sh.strength_value(l) for l in range(L)]
    fig, axes = panel_grid(L, sharex=names)
    for l, ax in enumerate(axes):
        key = "s_up" if sh.direction(l) == "up" else "s_down"
        lines = []
        for summ, color in ((reference, _REF), (S, _MAIN)):
            if summ is None or l >= len(summ.layer_sizes):
                continue
            s = np.asarray(summ.nodes[key][_layer_slices(summ)[l]], np.float64)
            if len(s) and np.ptp(s) > 0:
                _hist(ax, s, color, color == _REF)
            if len(s):
                lines.append(f"{'grey' if color == _REF else 'mean'} {s.mean():.3g}")
        if not ax.has_data():
            _empty(ax, "no spread: every unit has the same strength")
        _title(ax, [f"{sh.layer_names[l]} ({key})", ", ".join(lines[::-1])])
        ax.set_xlabel(wrap(f"{key} = sum of {names[l]}", _PANEL_W - 0.3, fontsize=9))
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("probability density (1/unit)")
    figure_legend(fig, *_model_handles(S, reference), where="bottom")
    _suptitle(fig, S, "node strength per layer (s_up: outgoing; sinks: s_down)", reference)
    return fig


def plot_degree_ccdf(S: Any, *, reference: Any = None, G: Any = None) -> Any:
    """CCDF ``P(K >= k)`` of the total degree on the thresholded graph, per layer and overall,
    log-log, with the fitted power-law tail (drawn when the fit is not flagged and its tail
    holds at least :data:`MIN_FIT_TAIL` values)."""
    from netsci_dl.analysis.structure.distributions import ccdf

    sh = _shape(S, G)
    fig, axes = new_figure(1, width=4.6, height=4.0)
    ax = axes[0]
    if reference is not None:
        v, p = ccdf(reference.nodes["k_tot"][reference.nodes["k_tot"] > 0])
        ax.loglog(v, p, color=_REF, lw=2.5, label=f"{display_name(reference.name)}: all")
    colors = series_colors(len(sh.layer_names))
    for l, s in enumerate(_layer_slices(S)):
        k = S.nodes["k_tot"][s]
        v, p = ccdf(k[k > 0])
        if len(v):
            ax.loglog(v, p, marker=".", ms=3, lw=1, color=colors[l], label=sh.layer_names[l])
    v, p = ccdf(S.nodes["k_tot"][S.nodes["k_tot"] > 0])
    if len(v):
        ax.loglog(v, p, color="k", lw=1.8, label=f"{display_name(S.name)}: all")
    else:
        _empty(ax, "no node keeps an edge at this threshold")
    fit = S.degree_fit
    pl = [f for f in fit.fits if f.name == "power_law" and getattr(f, "ok", True)]
    if pl and np.isfinite(fit.xmin) and len(v) and fit.n_tail >= MIN_FIT_TAIL:
        a = pl[0].params["alpha"]
        frac = fit.n_tail / max(len(S.nodes["k_tot"]), 1)
        xs = np.geomspace(fit.xmin, max(v.max(), fit.xmin * 1.01), 50)
        ax.loglog(xs, frac * (xs / fit.xmin) ** (1 - a), "r--", lw=1,
                  label=f"power law alpha={a:.2f}, k >= {fit.xmin:g} (KS D {pl[0].ks:.3f})")  # fmt: skip
    if ax.get_xscale() == "log":
        tidy_log_axis(ax.xaxis)
        tidy_log_axis(ax.yaxis)
    ax.set_xlabel("total degree k on the thresholded graph (edges kept)")
    ax.set_ylabel("P(K >= k) (fraction of nodes)")
    lw = legend_right(ax, title="layer")
    fig.set_figwidth(4.6 + lw)
    _suptitle(fig, S, f"degree CCDF, threshold {display_name(S.threshold)}", reference, ax, lw)
    return fig


def plot_knn(S: Any, *, reference: Any = None, G: Any = None) -> Any:
    """``knn(k)`` of the whole thresholded graph and of each block, with ``<k^2>/<k>``; every
    panel shows the same quantities, so all share their axes."""
    from matplotlib.lines import Line2D

    sh = _shape(S, G)
    curves = [S.knn, *S.knn_blocks]
    refs = [reference.knn, *reference.knn_blocks] if reference is not None else [None] * len(curves)
    r_blocks = [S.r, *S.r_blocks]
    fig, axes = panel_grid(len(curves), sharex=[0] * len(curves), sharey=[0] * len(curves))
    for i, (ax, c, rc) in enumerate(zip(axes, curves, refs)):
        if rc is not None and len(rc.k):
            ax.loglog(rc.k, rc.knn, "o", color=_REF, ms=3, alpha=0.6)
        if len(c.k):
            ax.loglog(c.k, c.knn, "o", color=_MAIN, ms=3)
            ax.axhline(c.reference, color="k", ls=":", lw=1)
        else:
            _empty(ax, "no node of degree >= 1")
        head = "whole graph" if i == 0 else f"block {sh.panel_names[i - 1]}"
        _title(ax, [head, f"r = {r_blocks[i]:.3f}, <k^2>/<k> = {c.reference:.3g}"])
        ax.set_xlabel("degree k (count)")
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("mean neighbour degree knn(k)")
    for ax in axes:
        if ax.get_xscale() == "log":
            tidy_log_axis(ax.xaxis)
            tidy_log_axis(ax.yaxis)
    hs, ls = _model_handles(S, reference, main="marker")
    hs.append(Line2D([], [], color="k", ls=":", lw=1))
    ls.append("<k^2>/<k> (no degree correlation)")
    figure_legend(fig, hs, ls, where="bottom")
    _suptitle(fig, S, f"nearest-neighbour degree, thresholded graph, r = {S.r:.3f}", reference)
    return fig


def plot_degree_strength(S: Any, *, G: Any = None) -> Any:
    """Per layer: degree (thresholded) vs strength (full graph), same direction (``up`` for a
    layer with outgoing blocks, ``down`` for a sink), with Pearson and Spearman in the title."""
    sh = _shape(S, G)
    sl = _layer_slices(S)
    L = len(sl)
    names = [sh.strength_value(l) for l in range(L)]
    fig, axes = panel_grid(L, sharex=[0] * L, sharey=names)
    for l, ax in enumerate(axes):
        d = sh.direction(l)
        k = S.nodes[f"k_{d}"][sl[l]]
        s = S.nodes[f"s_{d}"][sl[l]]
        pr, sr = S.degree_strength.pearson[l], S.degree_strength.spearman[l]
        ax.scatter(k, s, s=6, alpha=0.5, color=_MAIN)
        _title(ax, [f"{sh.layer_names[l]} (k_{d}, s_{d})", f"Pearson {pr:.2f}, Spearman {sr:.2f}"])
        ax.set_xlabel(f"degree k_{d} (edges kept)")
        ax.set_ylabel(wrap(f"s_{d} = sum of {names[l]}", 2.4, fontsize=9))
    _suptitle(fig, S, "degree vs strength per layer")
    return fig


def structure_figures(
    S: Any, out_dir: str | os.PathLike, *, reference: Any = None, G: Any = None
) -> dict[str, tuple[Path, Path]]:
    """Draw every structural figure and save each as PNG + SVG in ``out_dir``.

    Parameters
    ----------
    S : StructureSummary
    out_dir : path
    reference : StructureSummary, optional
        Drawn underneath in grey (e.g. the checkpoint before learning).
    G : LayeredGraph, optional
        The graph ``S`` was computed on: its blocks and what their values are.

    Returns
    -------
    dict
        ``name -> (png, svg)`` for ``weights``, ``strength``, ``degree_ccdf``, ``knn``,
        ``degree_strength``.
    """
    out = Path(out_dir)
    figs = {
        "weights": lambda: plot_weight_distributions(S, reference=reference, G=G),
        "strength": lambda: plot_strength_distributions(S, reference=reference, G=G),
        "degree_ccdf": lambda: plot_degree_ccdf(S, reference=reference, G=G),
        "knn": lambda: plot_knn(S, reference=reference, G=G),
        "degree_strength": lambda: plot_degree_strength(S, G=G),
    }
    return {name: save_figure(make(), out / name) for name, make in figs.items()}
