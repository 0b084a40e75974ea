"""Figures of a critical-period grid: final accuracy, Fisher trace and shares, curvature."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from netsci_dl.plot._base import new_figure, save_figure

__all__ = [
    "plot_final_accuracy",
    "plot_metric_over_training",
    "plot_fisher_shares",
    "critical_figures",
]


def _runs(traj: Any) -> list[str]:
    names = list(dict.fromkeys(traj["run"]))
    return (["control"] if "control" in names else []) + [n for n in names if n != "control"]


def plot_final_accuracy(summary: Any, *, title: str = "") -> Any:
    """Final test accuracy against deficit removal epoch (and window onset, if several).

    ``summary``: one row per run (``onset``, ``window``, ``removal_epoch``,
    ``final_test_accuracy``; window 0 is the control, drawn as a dashed line).
    """
    runs = summary[summary["window"] > 0]
    ctrl = summary[summary["window"] == 0]
    panels = [("removal_epoch", "onset", "deficit removal epoch")]
    if runs["onset"].nunique() > 1:
        panels.append(("onset", "window", "deficit window onset (epoch)"))
    fig, axes = new_figure(len(panels))
    for ax, (x, by, label) in zip(axes, panels):
        for key, g in runs.groupby(by):
            g = g.sort_values(x)
            ax.plot(g[x], 100 * g["final_test_accuracy"], "o-", label=f"{by} {key}")
        if len(ctrl):
            ax.axhline(
                100 * float(ctrl["final_test_accuracy"].iloc[0]),
                color="k",
                ls="--",
                lw=1,
                label="no deficit",
            )
        ax.set_xlabel(label)
        ax.set_ylabel("final test accuracy (%)")
        ax.legend(fontsize=8)
    fig.suptitle(title or "critical period: final test accuracy")
    return fig


def plot_metric_over_training(
    traj: Any, metrics: list[str], *, layer: str = "all", title: str = "", ylabels: list[str]
) -> Any:
    """One panel per metric: its value over epochs, one line per run (the control in black)."""
    fig, axes = new_figure(len(metrics))
    for ax, metric, yl in zip(axes, metrics, ylabels):
        for name in _runs(traj):
            d = traj[(traj["run"] == name) & (traj["layer"] == layer) & (traj["metric"] == metric)]
            if not len(d):
                continue
            d = d.sort_values("epoch")
            kw = {"color": "k", "lw": 2} if name == "control" else {"lw": 1.2}
            ax.plot(d["epoch"], d["value"], label=name, **kw)
        ax.set_xlabel("epoch")
        ax.set_ylabel(yl)
        if metric.endswith(("eigenvalue", "trace")) and not metric.startswith("test"):
            vals = traj.loc[traj["metric"] == metric, "value"]
            if len(vals) and float(vals.min()) > 0:
                ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    return fig


def plot_fisher_shares(traj: Any, runs: list[str], *, title: str = "") -> Any:
    """Per-layer shares of the Fisher trace over epochs (stacked), one panel per run."""
    fig, axes = new_figure(len(runs))
    for ax, name in zip(axes, runs):
        d = traj[(traj["run"] == name) & traj["metric"].str.endswith("fisher_trace_share")]
        if not len(d):
            continue
        wide = d.pivot_table(index="epoch", columns="layer", values="value", sort=False)
        layers = list(dict.fromkeys(d["layer"]))
        wide = wide[layers]
        ax.stackplot(wide.index, *[wide[c].to_numpy() for c in layers], labels=layers)
        ax.set_xlabel("epoch")
        ax.set_ylabel("share of the Fisher trace")
        ax.set_ylim(0, 1)
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(title)
    return fig


def critical_figures(
    summary: Any, traj: Any, out_dir: str | os.PathLike, *, title: str = ""
) -> list[Path]:
    """Write the grid's figures into ``out_dir`` (PNG + SVG each); returns the PNG paths.

    ``final_accuracy``, ``test_accuracy``, ``fisher_trace`` (with and without the deficit),
    ``fisher_shares`` (the control and the run with the latest removal), ``curvature`` (top
    Hessian and gradient-covariance eigenvalues), when the table has them.
    """
    out = Path(out_dir)
    paths = []
    fig = plot_final_accuracy(summary, title=title)
    paths.append(save_figure(fig, out / "final_accuracy")[0])
    metrics = set(traj["metric"])
    fig = plot_metric_over_training(
        traj, ["test_accuracy"], title=title, ylabels=["test accuracy (clean)"]
    )
    paths.append(save_figure(fig, out / "test_accuracy")[0])
    fm = "fisher_trace" if "fisher_trace" in metrics else "empirical_fisher_trace"
    if fm in metrics:
        fig = plot_metric_over_training(
            traj, [fm], title=title, ylabels=[fm.replace("_", " ") + " (probe set)"]
        )
        paths.append(save_figure(fig, out / "fisher_trace")[0])
        runs = summary[summary["window"] > 0].sort_values("removal_epoch")["run"].tolist()
        pick = (["control"] if "control" in set(summary["run"]) else []) + runs[-1:]
        if pick:
            fig = plot_fisher_shares(traj, pick, title=title)
            paths.append(save_figure(fig, out / "fisher_shares")[0])
    curv = [m for m in ("hessian_top_eigenvalue", "gradcov_top_eigenvalue") if m in metrics]
    if curv:
        labels = {
            "hessian_top_eigenvalue": "top Hessian eigenvalue",
            "gradcov_top_eigenvalue": "top eigenvalue of K (grad. covariance)",
        }
        fig = plot_metric_over_training(traj, curv, title=title, ylabels=[labels[m] for m in curv])
        paths.append(save_figure(fig, out / "curvature")[0])
    return paths
