"""Figures of weight-matrix spectra (:func:`netsci_dl.analysis.layer_spectra`): the ESD of each
matrix on log-log axes with its power-law fit and Marchenko-Pastur bulk edge, and alpha per
layer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.plot._base import display_name, panel_grid, save_figure, tidy_log_axis

__all__ = ["plot_esd", "plot_alpha", "plot_alpha_over_training", "spectra_figures", "MAX_PANELS"]

#: the ESD figure draws at most this many matrices (evenly spaced in input order)
MAX_PANELS = 24


def _what(S: Any) -> str:
    src = S.settings.get("source")
    what = "W - W_ref" if S.settings.get("delta") else "W"
    return f"{display_name(Path(src).name)}: {what}" if src else what


def _esd_panel(ax: Any, s: Any) -> None:
    lam = s.esd.eigenvalues[s.esd.eigenvalues > 0]
    if len(lam) < 2 or lam[0] == lam[-1]:
        ax.text(0.5, 0.5, "no spread of nonzero eigenvalues", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    edges = np.geomspace(lam[0], lam[-1] * (1 + 1e-12), min(60, max(10, len(lam) // 5)))
    counts, _ = np.histogram(lam, bins=edges)
    dens = counts / (len(lam) * np.diff(edges))
    ax.stairs(np.where(dens > 0, dens, np.nan), edges, fill=True, alpha=0.5, label="ESD")
    if np.isfinite(s.alpha):
        xs = np.geomspace(s.xmin, lam[-1], 40)
        frac = s.n_tail / len(lam)
        fit = frac * (s.alpha - 1) / s.xmin * (xs / s.xmin) ** (-s.alpha)
        ax.plot(xs, fit, "r-", lw=1.2, label="power-law fit")
        ax.axvline(s.xmin, color="r", ls=":", lw=1, label="xmin")
    ax.axvline(s.mp.lambda_plus, color="k", ls="--", lw=1, label="MP bulk edge")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        tidy_log_axis(axis)
    ax.tick_params(labelsize=7)
    a = f"alpha {s.alpha:.2f} +- {s.alpha_stderr:.2f}" if np.isfinite(s.alpha) else "no fit"
    ax.set_title(f"{display_name(s.name, max_len=28)}\n{a}, spikes {s.mp.n_spikes}", fontsize=9)
    ax.set_xlabel("eigenvalue of W^T W", fontsize=8)
    ax.set_ylabel("density", fontsize=8)


def plot_esd(S: Any) -> Any:
    """One panel per matrix (at most :data:`MAX_PANELS`, evenly spaced): the ESD as a density
    on logarithmic bins, log-log; the fitted power law over ``[xmin, lambda_max]`` scaled to
    the tail's share; ``xmin``; the Marchenko-Pastur bulk edge ``lambda_plus``."""
    from netsci_dl.plot._base import figure_legend

    idx = np.arange(len(S))
    if len(idx) > MAX_PANELS:
        idx = np.unique(np.round(np.linspace(0, len(S) - 1, MAX_PANELS)).astype(int))
    fig, axes = panel_grid(max(1, len(idx)))
    for ax, i in zip(axes, idx):
        _esd_panel(ax, S[int(i)])
    shown = f" ({len(idx)} of {len(S)} matrices)" if len(idx) < len(S) else ""
    fig.suptitle(f"{_what(S)}: empirical spectral densities{shown}")
    figure_legend(fig)
    return fig


def plot_alpha(S: Any) -> Any:
    """alpha +- its standard error per matrix, in input order; the band ``2 <= alpha <= 6``
    where Martin & Mahoney find the layers of well-trained models."""
    from netsci_dl.plot._base import legend_right, new_figure

    n = len(S)
    fig, axes = new_figure(1, width=max(4.2, 0.28 * n + 2.0), height=3.6)
    ax = axes[0]
    x = np.arange(n)
    err = np.array([s.alpha_stderr for s in S], dtype=float)
    ax.axhspan(2, 6, color="0.9", zorder=0, label="2 <= alpha <= 6")
    ax.errorbar(x, S.alpha, yerr=err, fmt="o", ms=4, capsize=2, label="alpha +- s.e.")
    ax.set_xticks(x, [display_name(s, max_len=24) for s in S.names], rotation=90, fontsize=7)
    ax.set_xlabel("weight matrix")
    ax.set_ylabel("power-law exponent alpha of the ESD")
    fig.set_figwidth(fig.get_figwidth() + legend_right(ax))
    rule = S.settings.get("xmin")
    rule = "KS" if rule is None else rule
    fig.suptitle(f"{_what(S)}: alpha per layer (xmin by {rule})")
    return fig


def plot_alpha_over_training(T: Any) -> Any:
    """alpha of every matrix (one line each) and its log10 spectral norm over the snapshots of
    a :class:`netsci_dl.runs.spectra.SpectraTrajectory`, against the training step."""
    from netsci_dl.plot._base import legend_right, new_figure, series_colors

    fig, axes = new_figure(2, width=4.2, height=3.4)
    colors = series_colors(len(T.names))
    for ax, metric, label in (
        (axes[0], "alpha", "alpha (ESD tail exponent)"),
        (axes[1], "log_spectral_norm", "log10 lambda_max"),
    ):
        values = T.metric(metric)
        for j, name in enumerate(T.names):
            ax.plot(T.steps, values[:, j], marker=".", color=colors[j], label=display_name(name))
        ax.set_xlabel("training step")
        ax.set_ylabel(label)
    fig.set_figwidth(fig.get_figwidth() + legend_right(axes[1], title="matrix"))
    what = "W - W_first" if T.settings.get("delta") else "W"
    fig.suptitle(f"{what} over training: {len(T.labels)} snapshots")
    return fig


def spectra_figures(S: Any, out_dir: str | os.PathLike) -> dict[str, tuple[Path, Path]]:
    """Draw :func:`plot_esd` and :func:`plot_alpha` and save each as PNG + SVG (atomically) in
    ``out_dir``: ``{"esd": (png, svg), "alpha": (png, svg)}``."""
    out = Path(out_dir)
    return {
        "esd": save_figure(plot_esd(S), out / "esd"),
        "alpha": save_figure(plot_alpha(S), out / "alpha"),
    }
