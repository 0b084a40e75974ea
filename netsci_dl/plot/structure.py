"""Figures of the structural analysis, drawn from a :class:`~netsci_dl.analysis.compare.StructureSummary`.

Nothing is recomputed here: every function reads a summary (and optionally a ``reference``
summary, e.g. the checkpoint before learning, drawn underneath in grey).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.plot._base import new_figure, save_figure

__all__ = [
    "plot_weight_distributions",
    "plot_strength_distributions",
    "plot_degree_ccdf",
    "plot_knn",
    "plot_degree_strength",
    "structure_figures",
]

_MAIN, _REF = "C0", "0.55"


def _layer_slices(S: Any) -> list[slice]:
    off = np.concatenate([[0], np.cumsum(S.layer_sizes)])
    return [slice(int(off[l]), int(off[l + 1])) for l in range(len(S.layer_sizes))]


def _title(fig: Any, S: Any, what: str, reference: Any = None) -> None:
    extra = f" (grey: {reference.name})" if reference is not None else ""
    fig.suptitle(f"{S.name}: {what}{extra}", fontsize=11)


def plot_weight_distributions(S: Any, *, reference: Any = None) -> Any:
    """Histogram (density) of the signed weights of each block; ``reference`` overlaid in grey.

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> from netsci_dl.analysis._compare import structural_summary
    >>> G = nd.from_matrices([np.random.default_rng(0).normal(size=(4, 3))])
    >>> fig = plot_weight_distributions(structural_summary(G, threshold="quantile:0.5"))
    >>> len(fig.axes)
    1
    """
    blocks = S.weights.blocks
    fig, axes = new_figure(len(blocks))
    for ax, i in zip(axes, range(len(blocks))):
        for summ, color in ((reference, _REF), (S, _MAIN)):
            if summ is None or i >= len(summ.weights.blocks):
                continue
            w = summ.weights.blocks[i]
            if not w.n:
                continue
            edges = np.asarray(w.hist_edges)
            dens = np.asarray(w.hist_counts) / (w.n * np.diff(edges))
            ax.stairs(
                dens,
                edges,
                color=color,
                fill=color == _REF,
                alpha=0.45 if color == _REF else 1,
                label=f"{summ.name}: mean {w.mean:.3g}, skew {w.skewness:.2f}",
            )
        ax.set_title(blocks[i].name, fontsize=10)
        ax.set_xlabel("weight w (dimensionless)")
        ax.set_ylabel("probability density (1/unit of w)")
        ax.legend(fontsize=7, loc="upper left")
    _title(fig, S, "weight distribution per block", reference)
    fig.tight_layout()
    return fig


def plot_strength_distributions(S: Any, *, reference: Any = None) -> Any:
    """Histogram (density) of the signed strength ``s_up`` of each layer (last layer: ``s_down``)."""
    import seaborn as sns

    sl = _layer_slices(S)
    fig, axes = new_figure(len(sl))
    for l, ax in enumerate(axes):
        for summ, color in ((reference, _REF), (S, _MAIN)):
            if summ is None or l >= len(summ.layer_sizes):
                continue
            s = summ.nodes["s_up"][_layer_slices(summ)[l]]
            if len(s) and np.ptp(s) > 0:
                sns.histplot(
                    s,
                    stat="density",
                    element="step",
                    fill=color == _REF,
                    color=color,
                    alpha=0.45 if color == _REF else 1,
                    ax=ax,
                    bins=40,
                    label=f"{summ.name}: mean {s.mean():.3g}",
                )
        direction = "s_down" if l == len(sl) - 1 else "s_up"
        ax.set_title(f"{S.layer_names[l]} ({direction})", fontsize=10)
        ax.set_xlabel("strength s = sum of signed weights (dimensionless)")
        ax.set_ylabel("probability density (1/unit of s)")
        ax.legend(fontsize=7, loc="upper left")
    _title(fig, S, "node strength per layer (signed, towards the next layer)", reference)
    fig.tight_layout()
    return fig


def plot_degree_ccdf(S: Any, *, reference: Any = None) -> Any:
    """CCDF ``P(K >= k)`` of the total degree on the thresholded graph, per layer and overall,
    log-log, with the fitted power-law tail."""
    from netsci_dl.analysis.distributions import ccdf

    fig, axes = new_figure(1, width=5.6, height=4.2)
    ax = axes[0]
    if reference is not None:
        v, p = ccdf(reference.nodes["k_tot"][reference.nodes["k_tot"] > 0])
        ax.loglog(v, p, color=_REF, lw=2.5, label=f"{reference.name}: all")
    for l, s in enumerate(_layer_slices(S)):
        k = S.nodes["k_tot"][s]
        v, p = ccdf(k[k > 0])
        if len(v):
            ax.loglog(v, p, marker=".", ms=3, lw=1, label=S.layer_names[l])
    v, p = ccdf(S.nodes["k_tot"][S.nodes["k_tot"] > 0])
    if len(v):
        ax.loglog(v, p, color="k", lw=1.8, label=f"{S.name}: all")
    fit = S.degree_fit
    pl = [f for f in fit.fits if f.name == "power_law"]
    if pl and np.isfinite(fit.xmin):
        a = pl[0].params["alpha"]
        frac = fit.n_tail / max(len(S.nodes["k_tot"]), 1)
        xs = np.geomspace(fit.xmin, max(v.max(), fit.xmin * 1.01), 50)
        ax.loglog(
            xs,
            frac * (xs / fit.xmin) ** (1 - a),
            "r--",
            lw=1,
            label=f"power law a={a:.2f}, xmin={fit.xmin:g} (KS {pl[0].ks:.3f})",
        )
    ax.set_xlabel("degree k (edges kept, count)")
    ax.set_ylabel("P(K >= k) (fraction of nodes)")
    ax.legend(fontsize=7)
    _title(fig, S, f"degree CCDF, threshold {S.threshold}", reference)
    fig.tight_layout()
    return fig


def plot_knn(S: Any, *, reference: Any = None) -> Any:
    """``knn(k)`` of the whole thresholded graph and of each block, with ``<k^2>/<k>``."""
    fig, axes = new_figure(1 + len(S.knn_blocks))
    curves = [S.knn, *S.knn_blocks]
    refs = [reference.knn, *reference.knn_blocks] if reference is not None else [None] * len(curves)
    for ax, c, rc in zip(axes, curves, refs):
        if rc is not None and len(rc.k):
            ax.loglog(rc.k, rc.knn, "o", color=_REF, ms=3, alpha=0.6, label=f"{reference.name}")
        if len(c.k):
            ax.loglog(c.k, c.knn, "o", color=_MAIN, ms=3, label=f"{S.name}")
            ax.axhline(c.reference, color="k", ls=":", lw=1, label=f"<k^2>/<k> = {c.reference:.3g}")
        ax.set_title("whole graph" if c.name == "all" else f"block {c.name}", fontsize=10)
        ax.set_xlabel("degree k (count)")
        ax.set_ylabel("mean neighbour degree knn(k) (count)")
        ax.legend(fontsize=7)
    _title(fig, S, f"nearest-neighbour degree, r = {S.r:.3f}", reference)
    fig.tight_layout()
    return fig


def plot_degree_strength(S: Any) -> Any:
    """Per layer: degree (thresholded) vs signed strength (full graph), same direction, with the
    Pearson and Spearman correlations in the legend."""
    sl = _layer_slices(S)
    fig, axes = new_figure(len(sl))
    last = len(sl) - 1
    for l, ax in enumerate(axes):
        k = S.nodes["k_down" if l == last and last > 0 else "k_up"][sl[l]]
        s = S.nodes["s_up"][sl[l]]
        pr, sr = S.degree_strength.pearson[l], S.degree_strength.spearman[l]
        ax.scatter(k, s, s=6, alpha=0.5, color=_MAIN, label=f"Pearson {pr:.2f}, Spearman {sr:.2f}")
        ax.set_title(
            f"{S.layer_names[l]} ({'down' if l == last and last > 0 else 'up'})", fontsize=10
        )
        ax.set_xlabel("degree k (edges kept, count)")
        ax.set_ylabel("strength s (sum of signed weights)")
        ax.legend(fontsize=7, loc="best")
    _title(fig, S, "degree vs strength per layer")
    fig.tight_layout()
    return fig


def structure_figures(
    S: Any, out_dir: str | os.PathLike, *, reference: Any = None
) -> dict[str, tuple[Path, Path]]:
    """Draw every structural figure and save each as PNG + SVG in ``out_dir``.

    Returns
    -------
    dict
        ``name -> (png, svg)`` for ``weights``, ``strength``, ``degree_ccdf``, ``knn``,
        ``degree_strength``.
    """
    out = Path(out_dir)
    figs = {
        "weights": lambda: plot_weight_distributions(S, reference=reference),
        "strength": lambda: plot_strength_distributions(S, reference=reference),
        "degree_ccdf": lambda: plot_degree_ccdf(S, reference=reference),
        "knn": lambda: plot_knn(S, reference=reference),
        "degree_strength": lambda: plot_degree_strength(S),
    }
    return {name: save_figure(make(), out / name) for name, make in figs.items()}
