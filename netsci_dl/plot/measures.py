"""One figure for every measure of a run: a panel per metric over training, a line per layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netsci_dl.plot._base import (
    display_name,
    figure_legend,
    panel_grid,
    series_colors,
    tidy_log_axis,
)
from netsci_dl.runs.format import TEST_ACCURACY, TRAIN_LOSS

__all__ = ["DEFAULT_METRICS", "plot_measures"]

#: the metrics drawn by default, in this order, when the table has them
DEFAULT_METRICS = (
    "graph_ei",
    "layer_ei",
    "layer_sensitivity",
    "layer_degeneracy",
    "fisher_trace",
    "fisher_trace_share",
    "hessian_top_eigenvalue",
    "hessian_trace",
    "gradcov_top_eigenvalue",
    "cka_to_reference",
    "svcca_to_reference",
    "pwcca_to_reference",
    TEST_ACCURACY,
    TRAIN_LOSS,
)

_UNITS = {
    "graph_ei": "bits",
    "layer_ei": "bits",
    "layer_sensitivity": "bits",
    "layer_degeneracy": "bits",
}


def plot_measures(
    df: Any,
    *,
    metrics: Sequence[str] | None = None,
    x: str = "step",
    name: str | None = None,
) -> Any:
    """Every metric of a long table (``snapshot step epoch layer metric value``) over training.

    Parameters
    ----------
    df : pandas.DataFrame
        :func:`netsci_dl.activations.training_measures`, or any table with those columns
        (``EITrajectory.to_long_frame()``, a Fisher table, ...).
    metrics : sequence of str, optional
        The panels, in order (default: those of :data:`DEFAULT_METRICS` in ``df``, else every
        metric of ``df``). Standard-error and residual columns are never drawn as panels; a
        ``<metric>_stderr`` present is drawn as a band.
    x : {"step", "epoch"}
        The x axis; ``"step"`` is labelled by ``df.attrs["x_label"]`` where the table has it
        (what the steps count: epochs, steps, a checkpoint index), else "training step".
    name : str, optional
        Model name in the title.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"snapshot": ["a", "a", "b", "b"], "step": [0, 0, 1, 1],
    ...                    "epoch": [0, 0, 1, 1], "layer": ["all", "all", "all", "all"],
    ...                    "metric": ["graph_ei", "fisher_trace"] * 2, "value": [1., 2., 3., 4.]})
    >>> [ax.get_title() for ax in plot_measures(df).axes]
    ['graph_ei (bits)', 'fisher_trace']
    """
    import numpy as np

    if x not in ("step", "epoch"):
        raise ValueError(f"x must be 'step' or 'epoch', got {x!r}")
    present = list(dict.fromkeys(df["metric"]))
    if metrics is None:
        metrics = [m for m in DEFAULT_METRICS if m in present] or [
            m for m in present if not m.endswith(("_stderr", "_residual"))
        ]
    missing = [m for m in metrics if m not in present]
    if missing:
        raise ValueError(f"metrics {missing} are not in the table; it has {present}")
    layers = list(dict.fromkeys(df.loc[df["metric"].isin(metrics), "layer"]))
    colors = dict(zip(layers, series_colors(len(layers))))
    fig, axes = panel_grid(len(metrics), sharex=[x] * len(metrics))
    handles: dict[str, Any] = {}
    for ax, metric in zip(axes, metrics):
        rows = df[df["metric"] == metric]
        err = df[df["metric"] == f"{metric}_stderr"]
        for layer, g in rows.groupby("layer", sort=False):
            g = g.sort_values(x)
            xs = g[x].to_numpy(dtype=float)
            ys = g["value"].to_numpy(dtype=float)
            (line,) = ax.plot(xs, ys, "o-", ms=3, lw=1.2, color=colors[layer])
            handles.setdefault(str(layer), line)
            e = err[err["layer"] == layer].sort_values(x)
            if len(e) == len(g):
                se = e["value"].to_numpy(dtype=float)
                ax.fill_between(xs, ys - se, ys + se, color=colors[layer], alpha=0.2, lw=0)
        unit = _UNITS.get(metric)
        ax.set_title(f"{metric} ({unit})" if unit else metric, fontsize=9)
        # what the steps count, where the table says (runs.format.UNIT_LABELS)
        ax.set_xlabel(df.attrs.get("x_label", "training step") if x == "step" else "epoch")
        if (
            np.all(rows["value"].to_numpy(dtype=float) > 0)
            and metric.startswith(("fisher_trace", "hessian_", "gradcov_"))
            and not metric.endswith("_share")
        ):
            ax.set_yscale("log")
            tidy_log_axis(ax.yaxis)
    if len(handles) > 1 or (handles and "all" not in handles):
        labels = [display_name(k, max_len=28) for k in handles]
        figure_legend(fig, list(handles.values()), labels, title="layer")
    head = f"{name}: " if name else ""
    fig.suptitle(f"{head}measures over training", fontsize=10)
    return fig
