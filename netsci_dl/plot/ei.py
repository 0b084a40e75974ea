"""Figures of effective information over training, drawn from an :class:`~netsci_dl.analysis.
trajectory.EITrajectory` (nothing is recomputed here).

- :func:`plot_causal_plane`: sensitivity (x) vs degeneracy (y), one path per layer with a marker
  at every snapshot, a diamond where training moves to the next RBM (the snapshots' ``layer``
  changes), the first snapshot an open circle, the last a filled one with an arrow head, and the
  line y = x (EI = 0);
- :func:`plot_ei_trajectory`: the graph EI and every layer's EI_parts vs training step, with the
  hand-overs between RBMs marked.

Both take ``noise_floor`` (bits, one value or one per layer): a value within the floor of 0 is
drawn as 0 and the legend states the floor. :func:`noise_floor` computes the usual one, the
bias of the plug-in estimator for independent variables (:func:`plugin_mi_floor`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.plot._base import (
    display_name,
    legend_right,
    new_figure,
    panel_grid,
    save_figure,
    series_colors,
    wrap,
)

__all__ = [
    "plot_causal_plane",
    "plot_ei_trajectory",
    "ei_figures",
    "noise_floor",
    "plugin_mi_floor",
]


def plugin_mi_floor(n_pairs: int, *, bins: int, n_samples: int) -> float:
    """Bias of the plug-in mutual information of ``n_pairs`` pairs of independent variables,
    each binned into ``bins`` values from ``n_samples`` samples, summed over the pairs (bits).

    ``n_pairs (bins - 1)^2 / (2 n_samples ln 2)``: the first-order bias of the plug-in estimate
    (Miller 1955; Panzeri & Treves 1996), which is what a pair with no causal link shows on
    average. With fewer occupied output bins the bias is smaller, so this is a conservative
    floor.

    Examples
    --------
    >>> round(plugin_mi_floor(1, bins=8, n_samples=1000), 5)
    0.03535
    """
    return float(n_pairs) * (bins - 1) ** 2 / (2.0 * n_samples * math.log(2.0))


def noise_floor(T: Any) -> np.ndarray:
    """``(n_layers,)`` noise floor (bits) of each layer of an EI trajectory.

    :func:`plugin_mi_floor` of the layer's ``n_in * n_out`` pairs with ``T.settings["bins"]``
    and the smaller of ``n_samples`` (EI_parts) and ``sensitivity_samples`` (sensitivity, per
    input): sensitivity, EI_parts and degeneracy within this of 0 cannot be told from 0.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> T = SimpleNamespace(layer_shapes=[(2, 3)],
    ...                     settings={"bins": 8, "n_samples": 20000, "sensitivity_samples": 1000})
    >>> noise_floor(T).round(4).tolist()
    [0.2121]
    """
    s = T.settings
    n = min(int(s.get("n_samples") or 1), int(s.get("sensitivity_samples") or s.get("n_samples")))
    return np.array(
        [plugin_mi_floor(a * b, bins=int(s["bins"]), n_samples=n) for a, b in T.layer_shapes],
        dtype=np.float64,
    )


def _model_name(T: Any, name: str | None) -> str:
    if name:
        return display_name(name, max_len=60)
    sizes = T.settings.get("layer_sizes") or []
    return "-".join(str(s) for s in sizes) or "model"


def _layer_labels(T: Any, block_names: Sequence[str] | None) -> list[str]:
    names = block_names or T.settings.get("block_names") or [
        f"layer {l + 1}" for l in range(T.n_layers)
    ]  # fmt: skip
    return [
        f"{display_name(names[l], max_len=28)} ({a}\u2192{b})"
        for l, (a, b) in enumerate(T.layer_shapes)
    ]


def _handovers(T: Any) -> list[int]:
    """Snapshots at which training moves to the next RBM (their ``layer`` changes)."""
    lay = list(getattr(T, "layers", ()) or ())
    return [
        s
        for s in range(1, len(lay))
        if lay[s] is not None and lay[s - 1] is not None and lay[s] != lay[s - 1]
    ]


def _floor(values: np.ndarray, floor: Any, n_layers: int) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (snapshots, layers) with ``|v| < floor`` set to 0, and the floor per layer."""
    f = np.broadcast_to(np.asarray(0.0 if floor is None else floor, np.float64), (n_layers,))
    if np.any(f < 0) or not np.all(np.isfinite(f)):
        from netsci_dl.errors import InputError

        raise InputError(f"noise_floor must be finite and >= 0 (bits), got {floor!r}")
    v = np.asarray(values, np.float64)
    return np.where(np.abs(v) < f, 0.0, v), f


def _floor_label(f: np.ndarray) -> str:
    if not np.any(f > 0):
        return ""
    lo, hi = float(f.min()), float(f.max())
    rng = f"{hi:.2g}" if np.isclose(lo, hi) else f"{lo:.2g}..{hi:.2g}"
    return f"|value| < {rng} bits (noise floor) shown as 0"


def plot_causal_plane(
    T: Any,
    *,
    name: str | None = None,
    ax: Any = None,
    noise_floor: float | Sequence[float] | None = None,
    block_names: Sequence[str] | None = None,
) -> Any:
    """The causal plane: one path per layer over the snapshots.

    Parameters
    ----------
    T : EITrajectory
    name : str, optional
        Model name for the title (default: its layer sizes).
    ax : matplotlib Axes, optional
        Draw into these axes (e.g. side by side with another run); default: a new figure.
    noise_floor : float or (n_layers,) floats, optional
        Bits; sensitivity and degeneracy within this of 0 are drawn as 0, and the legend says
        so. ``noise_floor(T)`` (this module) gives the plug-in bias of each layer; default: no
        floor, values as computed.
    block_names : sequence of str, optional
        A name for each layer's block (default ``T.settings["block_names"]`` or "layer 1"...).

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> from netsci_dl.runs.trajectory import ei_trajectory
    >>> Gs = [nd.from_matrices([np.eye(3) * s]) for s in (0.5, 2.0, 4.0)]
    >>> from netsci_dl.analysis import LayerEIOptions
    >>> opts = LayerEIOptions(n_samples=1000, sensitivity_samples=100, device="cpu")
    >>> T = ei_trajectory(Gs, activations="sigmoid", options=opts, threshold="none")
    >>> fig = plot_causal_plane(T, name="toy", noise_floor=0.05)
    >>> fig.axes[0].get_xlabel()
    'sensitivity (bits)'
    """
    from matplotlib.lines import Line2D

    if ax is None:
        fig, axes = new_figure(1, width=4.6, height=4.2)
        ax = axes[0]
    else:
        fig = ax.figure
    L = T.n_layers
    x, f = _floor(T.sensitivity, noise_floor, L)
    y, _ = _floor(T.degeneracy, noise_floor, L)
    colors = series_colors(L)
    labels = _layer_labels(T, block_names)
    hand = _handovers(T)
    for l in range(L):
        c = colors[l]
        ax.plot(x[:, l], y[:, l], "-", color=c, lw=1.3, alpha=0.9, marker="o", ms=3)
        ax.plot(x[0, l], y[0, l], "o", mfc="white", mec=c, mew=1.5, ms=8, zorder=3)
        ax.plot(x[-1, l], y[-1, l], "o", color=c, ms=7, zorder=3)
        if hand:
            ax.plot(x[hand, l], y[hand, l], "D", mfc=c, mec="k", mew=0.8, ms=6, zorder=4)
        if len(x) >= 2 and (x[-1, l] != x[-2, l] or y[-1, l] != y[-2, l]):
            ax.annotate("", xy=(x[-1, l], y[-1, l]), xytext=(x[-2, l], y[-2, l]), zorder=4,
                        arrowprops={"arrowstyle": "-|>", "color": c, "lw": 1.3,
                                    "mutation_scale": 13})  # fmt: skip
    finite = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)], [0.0]])
    lo, hi = float(finite.min()), float(max(finite.max(), 1e-9))
    pad = 0.05 * (hi - lo)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "--", color="0.4", lw=1)
    ax.set_xlabel("sensitivity (bits)")
    ax.set_ylabel("degeneracy (bits)")
    hs = [Line2D([], [], color=colors[l], lw=1.5) for l in range(L)]
    ls = list(labels)
    grey = {"color": "0.35", "ls": ""}
    hs += [
        Line2D([], [], color="0.4", ls="--", lw=1),
        Line2D([], [], marker="o", ms=3, **grey),
        Line2D([], [], marker="o", mfc="white", mec="0.35", mew=1.5, ms=8, **grey),
        Line2D([], [], marker="o", ms=7, **grey),
    ]
    ls += ["y = x (EI = 0)", "a snapshot", "first snapshot", "last snapshot (arrow head)"]
    if hand:
        hs.append(Line2D([], [], marker="D", mfc="0.6", mec="k", mew=0.8, ms=6, ls=""))
        ls.append("training moves to the next RBM")
    note = _floor_label(f)
    if note:
        hs.append(Line2D([], [], ls=""))
        ls.append(wrap(note, 2.6, fontsize=7.5))
    neg = int(np.sum(y < 0))
    if neg:
        hs.append(Line2D([], [], ls=""))
        ls.append(wrap(f"degeneracy < 0 at {neg} point(s): estimator noise", 2.6, fontsize=7.5))
    s = T.settings
    head = (
        f"{T.n_snapshots} snapshots, bins={s.get('bins')}\n"
        f"n={s.get('n_samples')}, per input {s.get('sensitivity_samples')}"
    )
    lw = legend_right(ax, hs, ls, title=head, fontsize=7.5)
    if fig.get_layout_engine() is not None and len(fig.axes) == 1:
        fig.set_figwidth(4.4 + lw)
    w = max(fig.get_figwidth() / max(len(fig.axes), 1) - lw - 0.8, 2.0)
    ax.set_title(wrap(f"{_model_name(T, name)}: causal plane", w, fontsize=10.5), fontsize=10.5)
    return fig


def plot_ei_trajectory(
    T: Any,
    *,
    name: str | None = None,
    noise_floor: float | Sequence[float] | None = None,
    block_names: Sequence[str] | None = None,
) -> Any:
    """Graph EI (left) and every layer's EI_parts (right) vs training step; dotted vertical
    lines where training moves to the next RBM. ``noise_floor`` as in
    :func:`plot_causal_plane` (applied to EI_parts; the graph EI is exact).

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> from netsci_dl.runs.trajectory import ei_trajectory
    >>> Gs = [nd.from_matrices([np.eye(3) * s]) for s in (0.5, 4.0)]
    >>> from netsci_dl.analysis import LayerEIOptions
    >>> opts = LayerEIOptions(n_samples=1000, sensitivity_samples=100, device="cpu")
    >>> T = ei_trajectory(Gs, activations="sigmoid", options=opts, threshold="none")
    >>> len(plot_ei_trajectory(T).axes)
    2
    """
    from matplotlib.lines import Line2D

    fig, (a, b) = panel_grid(2, width=3.6, height=3.0)
    steps = np.asarray(T.steps)
    s = T.settings
    L = T.n_layers
    parts, f = _floor(T.ei_parts, noise_floor, L)
    a.plot(steps, T.ei, "o-", color="k", ms=4)
    thr = display_name(s.get("threshold") or "full graph")
    a.set_title(wrap(f"graph EI ({thr}, weights={s.get('weights')})", 3.4, fontsize=9),
                fontsize=9)  # fmt: skip
    colors = series_colors(L)
    labels = _layer_labels(T, block_names)
    for l in range(L):
        b.plot(steps, parts[:, l], "o-", ms=3.5, color=colors[l])
    b.set_title(f"layer EI_parts (bins={s.get('bins')}, n={s.get('n_samples')})", fontsize=9)
    hand = _handovers(T)
    for ax in (a, b):
        for h in hand:
            ax.axvline(steps[h], color="0.45", ls=":", lw=1)
        ax.set_xlabel(T.settings.get("x_label", "training step (epochs)"))
    a.set_ylabel("graph EI (bits)")
    b.set_ylabel("EI_parts (bits)")
    hs: list[Any] = [Line2D([], [], color="k", marker="o", ms=4)]
    ls = ["graph EI"]
    hs += [Line2D([], [], color=colors[l], marker="o", ms=3.5) for l in range(L)]
    ls += labels
    if hand:
        hs.append(Line2D([], [], color="0.45", ls=":", lw=1))
        ls.append("training moves to the next RBM")
    note = _floor_label(f)
    if note:
        hs.append(Line2D([], [], ls=""))
        ls.append(wrap(note, 2.6, fontsize=7.5))
    lw = legend_right(b, hs, ls, fontsize=7.5)
    fig.set_figwidth(7.6 + lw)
    fig.suptitle(
        wrap(f"{_model_name(T, name)}: effective information over training", 7.0, fontsize=11),
        fontsize=11,
    )
    return fig


def ei_figures(
    T: Any,
    folder: str | os.PathLike,
    *,
    name: str | None = None,
    noise_floor: float | Sequence[float] | None = None,
    block_names: Sequence[str] | None = None,
) -> dict[str, tuple[Path, Path]]:
    """Write ``causal_plane.{png,svg}`` and ``ei_vs_step.{png,svg}`` into ``folder``.

    ``noise_floor`` and ``block_names`` as in :func:`plot_causal_plane` (e.g.
    ``noise_floor=noise_floor(T)``).

    Returns
    -------
    dict
        ``{"causal_plane": (png, svg), "ei_vs_step": (png, svg)}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kw = {"name": name, "noise_floor": noise_floor, "block_names": block_names}
    return {
        "causal_plane": save_figure(plot_causal_plane(T, **kw), folder / "causal_plane"),
        "ei_vs_step": save_figure(plot_ei_trajectory(T, **kw), folder / "ei_vs_step"),
    }
