"""The pruning-percolation figure (:func:`netsci_dl.runs.pruning_sweep`, or a percolation alone):
the giant component and the accuracy of the pruned model against the pruned fraction."""

from __future__ import annotations

from typing import Any

import numpy as np

from netsci_dl.plot._base import display_name, legend_right, new_figure

__all__ = ["plot_pruning"]


def plot_pruning(frame: Any, *, critical: float, accuracy_at: float | None = None,
                 name: str | None = None, order: str = "magnitude") -> Any:  # fmt: skip
    """``giant`` (P_inf, the fraction of nodes in the largest component) and, when the frame
    has it, ``accuracy`` against ``fraction``; dotted lines at the critical fraction of the
    giant component and at the fraction where the accuracy falls (when finite)."""
    fig, axes = new_figure(1, width=5.2, height=3.6)
    ax = axes[0]
    f = np.asarray(frame["fraction"], dtype=float)
    ax.plot(f, frame["giant"], "o-", ms=3, color="C0", label="P_inf (largest component)")
    if "accuracy" in frame:
        ax.plot(f, frame["accuracy"], "s-", ms=3, color="C3", label="accuracy of the pruned model")
    if np.isfinite(critical):
        ax.axvline(critical, color="C0", ls=":", lw=1.2, label=f"f_c = {critical:.3g}")
    if accuracy_at is not None and np.isfinite(accuracy_at):
        ax.axvline(accuracy_at, color="C3", ls=":", lw=1.2,
                   label=f"accuracy falls at {accuracy_at:.3g}")  # fmt: skip
    ax.set_xlim(f[0], f[-1])
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"fraction of weights pruned ({order} order)")
    ax.set_ylabel("fraction")
    fig.set_figwidth(fig.get_figwidth() + legend_right(ax))
    title = "pruning percolation"
    fig.suptitle(f"{display_name(name)}: {title}" if name else title)
    return fig
