"""Figures of effective information over training, drawn from an :class:`~netsci_dl.analysis.
trajectory.EITrajectory` (nothing is recomputed here).

- :func:`plot_causal_plane`: sensitivity (x) vs degeneracy (y), one path per layer, the line
  y = x (EI = 0) dashed, start (open circle) and end (arrow head, filled circle) marked;
- :func:`plot_ei_trajectory`: the graph EI and every layer's EI_parts vs training step.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.plot._base import new_figure, save_figure

__all__ = ["plot_causal_plane", "plot_ei_trajectory", "ei_figures"]


def _model_name(T: Any, name: str | None) -> str:
    if name:
        return name
    sizes = T.settings.get("layer_sizes") or []
    return "-".join(str(s) for s in sizes) or "model"


def plot_causal_plane(T: Any, *, name: str | None = None, ax: Any = None) -> Any:
    """The causal plane: one path per layer over the snapshots, arrow heads at the end.

    Parameters
    ----------
    T : EITrajectory
    name : str, optional
        Model name for the title (default: its layer sizes).
    ax : matplotlib Axes, optional
        Draw into these axes (e.g. side by side with another run); default: a new figure.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> from netsci_dl.analysis.trajectory import ei_trajectory
    >>> Gs = [nd.from_matrices([np.eye(3) * s]) for s in (0.5, 2.0, 4.0)]
    >>> T = ei_trajectory(Gs, n_samples=1000, sensitivity_samples=100, device="cpu")
    >>> fig = plot_causal_plane(T, name="toy")
    >>> fig.axes[0].get_xlabel()
    'sensitivity (bits)'
    """
    if ax is None:
        fig, axes = new_figure(1, width=5.0, height=4.4)
        ax = axes[0]
    else:
        fig = ax.figure
    x, y = T.sensitivity, T.degeneracy
    colors = [f"C{i % 10}" for i in range(T.n_layers)]
    for l in range(T.n_layers):
        c = colors[l]
        n_in, n_out = T.layer_shapes[l]
        ax.plot(
            x[:, l],
            y[:, l],
            "-",
            color=c,
            lw=1.4,
            alpha=0.9,
            label=f"layer {l + 1} ({n_in}\u2192{n_out})",
        )
        ax.plot(x[:-1, l], y[:-1, l], ".", color=c, ms=4)
        ax.plot(x[0, l], y[0, l], "o", mfc="white", mec=c, ms=7, zorder=3)
        ax.plot(x[-1, l], y[-1, l], "o", color=c, ms=6, zorder=3)
        if len(x) >= 2 and (x[-1, l] != x[-2, l] or y[-1, l] != y[-2, l]):
            ax.annotate(
                "",
                xy=(x[-1, l], y[-1, l]),
                xytext=(x[-2, l], y[-2, l]),
                arrowprops={"arrowstyle": "-|>", "color": c, "lw": 1.4, "mutation_scale": 14},
                zorder=4,
            )
    lo = float(min(np.nanmin(x), np.nanmin(y), 0.0))
    hi = float(max(np.nanmax(x), np.nanmax(y), 1e-9))
    pad = 0.05 * (hi - lo)
    ax.plot(
        [lo - pad, hi + pad], [lo - pad, hi + pad], "--", color="0.4", lw=1, label="EI = 0 (y = x)"
    )
    ax.set_xlabel("sensitivity (bits)")
    ax.set_ylabel("degeneracy (bits)")
    s = T.settings
    ax.set_title(f"{_model_name(T, name)}: causal plane", fontsize=11)
    ax.text(
        0.99,
        0.01,
        f"{T.n_snapshots} snapshots, bins={s.get('bins')}, n={s.get('n_samples')}\n"
        "open circle: first, arrow: last",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=7,
        color="0.3",
    )
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_ei_trajectory(T: Any, *, name: str | None = None) -> Any:
    """Graph EI (left) and every layer's EI_parts (right) vs training step.

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> from netsci_dl.analysis.trajectory import ei_trajectory
    >>> Gs = [nd.from_matrices([np.eye(3) * s]) for s in (0.5, 4.0)]
    >>> T = ei_trajectory(Gs, n_samples=1000, sensitivity_samples=100, device="cpu")
    >>> len(plot_ei_trajectory(T).axes)
    2
    """
    fig, (a, b) = new_figure(2)
    steps = T.steps
    s = T.settings
    a.plot(steps, T.ei, "o-", color="C0", ms=4)
    thr = s.get("threshold") or "full graph"
    a.set_title(f"graph EI ({thr}, weights={s.get('weights')})", fontsize=10)
    a.set_xlabel("training step (epochs)")
    a.set_ylabel("EI (bits)")
    for l in range(T.n_layers):
        n_in, n_out = T.layer_shapes[l]
        b.plot(
            steps,
            T.ei_parts[:, l],
            "o-",
            ms=4,
            color=f"C{l % 10}",
            label=f"layer {l + 1} ({n_in}\u2192{n_out})",
        )
    b.set_title(f"layer EI_parts (bins={s.get('bins')})", fontsize=10)
    b.set_xlabel("training step (epochs)")
    b.set_ylabel("EI_parts (bits)")
    b.legend(fontsize=8)
    fig.suptitle(f"{_model_name(T, name)}: effective information over training", fontsize=11)
    fig.tight_layout()
    return fig


def ei_figures(
    T: Any, folder: str | os.PathLike, *, name: str | None = None
) -> dict[str, tuple[Path, Path]]:
    """Write ``causal_plane.{png,svg}`` and ``ei_vs_step.{png,svg}`` into ``folder``.

    Returns
    -------
    dict
        ``{"causal_plane": (png, svg), "ei_vs_step": (png, svg)}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "causal_plane": save_figure(plot_causal_plane(T, name=name), folder / "causal_plane"),
        "ei_vs_step": save_figure(plot_ei_trajectory(T, name=name), folder / "ei_vs_step"),
    }
