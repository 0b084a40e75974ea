"""Figure of a threshold sweep (:func:`netsci_dl.analysis.structure.sweep.threshold_sweep`): every metric
against the cut, the net against the bands of its null models (mean and spread).

Nothing is recomputed here: the function reads the sweep's DataFrame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netsci_dl.plot._base import pyplot

__all__ = ["plot_sweep", "RULE_LABELS", "METRIC_LABELS"]

#: x-axis label of each rule (the quantity the cut is in, and what is kept)
RULE_LABELS = {
    "value": "cut c (keep |w| > c, both signs)",
    "abs": "cut c (keep |w| > c, both signs)",
    "pos": "cut c (keep w > c)",
    "neg": "cut c (keep w < -c)",
    "quantile": "quantile q of |w| (keep |w| above it)",
    "quantile-pos": "quantile q of w (keep w above it)",
    "quantile-neg": "quantile q of -w (keep -w above it)",
    "quantile-layer": "quantile q of |w| per block (keep |w| above it)",
    "topk": "k (keep the k largest |w| out of each node)",
    "topk-in": "k (keep the k largest |w| into each node)",
    "density": "density (fraction of the possible edges kept)",
}

#: y-axis label of each metric
METRIC_LABELS = {
    "n_edges": "edges kept (count)",
    "mean_degree": "mean degree <k> (edges per node)",
    "isolated_fraction": "isolated nodes (fraction of nodes)",
    "n_components": "connected components (count)",
    "giant_fraction": "giant component (fraction of nodes)",
    "mean_geodesic": "mean geodesic on the giant (hops)",
    "r": "degree assortativity r (Newman)",
}

_NULL_STYLE = {
    "replica": ("C0", "layered random replica"),
    "rewire": ("C1", "degree-preserving rewiring"),
}
_LOG_Y = ("n_edges", "n_components")


def plot_sweep(
    df: Any, *, rule: str | None = None, name: str | None = None, max_cols: int = 4
) -> Any:
    """One panel per metric, in a grid of at most ``max_cols`` panels per row: the net's value
    against the cut (black), and for each null model its mean over the replicas (dashed) with a
    band of one standard deviation either side (the spread; no band with a single replica).

    Parameters
    ----------
    df : pandas.DataFrame
        The result of :func:`~netsci_dl.analysis.structure.sweep.threshold_sweep`.
    rule : str, optional
        The threshold rule, for the x-axis label; default ``df.attrs["rule"]`` (else "value").
    name : str, optional
        Model name for the title.
    max_cols : int
        Panels per row (at most 4).

    Returns
    -------
    matplotlib.figure.Figure
        A single legend sits below the panels, outside the data.

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> from netsci_dl.analysis.structure.sweep import threshold_sweep
    >>> G = nd.from_matrices([np.random.default_rng(0).normal(size=(6, 5))])
    >>> fig = plot_sweep(threshold_sweep(G, [0.5, 1.0], n_null=2))
    >>> len([ax for ax in fig.axes if ax.get_visible()])
    7
    """
    from netsci_dl.analysis.structure.sweep_metrics import METRICS

    plt = pyplot()
    rule = rule or df.attrs.get("rule", "value")
    metrics = [m for m in METRICS if m in df.columns]
    ncols = max(1, min(int(max_cols), 4, len(metrics)))
    nrows = -(-len(metrics) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.9 * ncols, 3.0 * nrows + 0.9),
        squeeze=False,
        layout="constrained",
    )
    axes = axes.ravel()
    net = df[df["model"] == "net"].sort_values("cut")
    nulls = [m for m in _NULL_STYLE if (df["model"] == m).any()]
    for ax, metric in zip(axes, metrics):
        for model in nulls:
            color, label = _NULL_STYLE[model]
            g = df[df["model"] == model].groupby("cut")[metric]
            mean = g.mean()
            n_rep = int(g.size().max())
            ax.plot(
                mean.index,
                mean.to_numpy(),
                ls="--",
                color=color,
                lw=1.3,
                label=f"{label}: mean ± sd of {n_rep}",
            )
            if n_rep > 1:
                sd = g.std(ddof=1).to_numpy()
                lo, hi = mean.to_numpy() - sd, mean.to_numpy() + sd
                if metric in _LOG_Y:
                    lo = np.where(lo > 0, lo, np.nan)
                ax.fill_between(mean.index, lo, hi, color=color, alpha=0.25, lw=0)
        ax.plot(net["cut"], net[metric], "o-", color="k", ms=3, lw=1.4, label="net")
        if metric in _LOG_Y and (net[metric] > 0).any():
            ax.set_yscale("log")
        ax.set_xlabel(RULE_LABELS.get(rule, f"cut ({rule})"), fontsize=9)
        ax.set_ylabel(METRIC_LABELS.get(metric, metric), fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    order = [labels.index("net"), *[i for i, t in enumerate(labels) if t != "net"]]
    fig.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        loc="outside lower center",
        ncol=len(labels),
        fontsize=9,
        frameon=False,
    )
    title = f"{name}: " if name else ""
    fig.suptitle(f"{title}threshold sweep against null models", fontsize=11)
    return fig
