"""Figures of AND / OR interactions, drawn from a :class:`~netsci_dl.analysis.interactions.
LayerInteractions` (nothing is recomputed here).

- :func:`plot_strength_by_order`: mean strength ``sum_{|S|=k} |I(S)|`` against the order ``k``,
  one line per layer, AND and OR side by side;
- :func:`plot_layer_changes`: salient interactions shared with, new in and forgotten by the next
  layer, against the order;
- :func:`plot_top_interactions`: the strongest interactions of one sample drawn on its image
  (the patches of the set highlighted, the rest dimmed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.plot._base import new_figure, save_figure

__all__ = [
    "plot_strength_by_order",
    "plot_layer_changes",
    "plot_top_interactions",
    "interaction_figures",
]


def _title(R: Any, what: str, name: str | None) -> str:
    who = name or R.label or "model"
    return f"{what}: {who} ({R.n_players} players, {R.n_samples} samples)"


def plot_strength_by_order(R: Any, *, salient_only: bool = False, name: str | None = None) -> Any:
    """Strength of AND and OR interactions by order, one line per layer.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from netsci_dl.activations import layer_interactions
    >>> net = torch.nn.Linear(2, 2)
    >>> R = layer_interactions(net, np.ones((1, 2)), [0], players=[[0], [1]], options=None)
    >>> fig = plot_strength_by_order(R)
    >>> fig.axes[0].get_xlabel()
    'order |S| (players)'
    """
    sa, so = R.strength_by_order(salient_only=salient_only)
    fig, axes = new_figure(2, width=4.6, height=3.6)
    k = np.arange(R.n_players + 1)
    for ax, s, kind in zip(axes, (sa, so), ("AND", "OR")):
        for l, layer in enumerate(R.layers):
            ax.plot(k, s[l], "o-", ms=3.5, lw=1.3, label=layer, color=f"C{l % 10}")
        ax.set_xlabel("order |S| (players)")
        ax.set_ylabel(f"mean sum |I_{kind.lower()}| (log-odds)")
        ax.set_title(f"{kind} interactions")
        ax.set_xticks(k)
    axes[1].legend(title="layer", fontsize=8, title_fontsize=8)
    what = "salient strength by order" if salient_only else "strength by order"
    fig.suptitle(_title(R, what, name), fontsize=10)
    return fig


def plot_layer_changes(R: Any, *, name: str | None = None) -> Any:
    """Salient interactions shared with, new in, and forgotten by the next layer, by order.

    One line per pair of successive layers; counts are per sample (AND and OR together).
    """
    changes = R.changes()
    fig, axes = new_figure(3, width=3.8, height=3.4)
    k = np.arange(R.n_players + 1)
    for ax, key, label in zip(
        axes, ("overlap", "new", "forgotten"), ("shared", "new", "forgotten")
    ):
        for i, c in enumerate(changes):
            ax.plot(
                k[1:],
                getattr(c, key)[1:] / max(c.n_samples, 1),
                "o-",
                ms=3.5,
                lw=1.3,
                color=f"C{i % 10}",
                label=f"{c.before} \u2192 {c.after}",
            )
        ax.set_xlabel("order |S| (players)")
        ax.set_ylabel("salient interactions per sample")
        ax.set_title(label)
        ax.set_xticks(k[1:])
    if changes:
        axes[0].legend(fontsize=7)
    fig.suptitle(_title(R, "salient interactions between layers", name), fontsize=10)
    return fig


def plot_top_interactions(
    R: Any,
    images: Any,
    *,
    image_shape: tuple[int, int],
    sample: int = 0,
    layer: str | int = "output",
    k: int = 6,
    name: str | None = None,
) -> Any:
    """The ``k`` strongest interactions of one sample and layer, drawn on its image.

    Parameters
    ----------
    R : LayerInteractions
    images : (n_samples, ...) array
        The explained samples (any layout with ``prod(image_shape)`` values per sample, e.g.
        flat 64 or ``(1, 8, 8)``); players index into the flattened sample.
    image_shape : (H, W)
    sample, layer, k : which sample and layer, how many interactions.
    """
    img = np.asarray(images, dtype=np.float64).reshape(len(images), -1)[sample]
    H, W = image_shape
    C = img.size // (H * W)
    top = R.top(layer, sample, k)
    fig, axes = new_figure(len(top) + 1, width=2.1, height=2.5)
    base = img.reshape(C, H, W).mean(axis=0)
    axes[0].imshow(base, cmap="gray_r", vmin=0, vmax=max(base.max(), 1e-12))
    axes[0].set_title(f"sample {sample}, target {int(R.targets[sample])}", fontsize=8)
    for ax, (kind, m, val) in zip(axes[1:], top):
        keep = np.zeros(img.size, dtype=bool)
        for i in range(R.n_players):
            if (m >> i) & 1:
                keep[R.players[i]] = True
        mask = keep.reshape(C, H, W).any(axis=0)
        rgb = np.stack([base] * 3, axis=-1) / max(base.max(), 1e-12)
        rgb = 1.0 - rgb  # dark strokes on white
        col = np.array([0.85, 0.2, 0.1]) if kind == "and" else np.array([0.1, 0.35, 0.85])
        rgb[mask] = 0.55 * rgb[mask] + 0.45 * col
        rgb[~mask] = 0.35 + 0.3 * rgb[~mask]
        ax.imshow(rgb)
        players = "+".join(str(i) for i in range(R.n_players) if (m >> i) & 1)
        ax.set_title(f"{kind.upper()} {{{players}}}\n{val:+.3g}", fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    lname = R.layers[R.index(layer)]
    fig.suptitle(
        f"top interactions, layer {lname}: {name or R.label or 'model'} (log-odds)", fontsize=9
    )
    return fig


def interaction_figures(
    R: Any,
    folder: str | os.PathLike,
    *,
    images: Any = None,
    image_shape: tuple[int, int] | None = None,
    samples: tuple[int, ...] = (0,),
    name: str | None = None,
) -> list[Path]:
    """Write ``strength_by_order``, ``salient_by_order``, ``layer_changes`` and (with images)
    ``top_interactions_sample{i}`` as PNG and SVG into ``folder``; return the paths."""
    out: list[Path] = []
    folder = Path(folder)
    out += save_figure(plot_strength_by_order(R, name=name), folder / "strength_by_order")
    out += save_figure(
        plot_strength_by_order(R, salient_only=True, name=name), folder / "salient_by_order"
    )
    if len(R.layers) > 1:
        out += save_figure(plot_layer_changes(R, name=name), folder / "layer_changes")
    if images is not None and image_shape is not None:
        for s in samples:
            if s < R.n_samples:
                fig = plot_top_interactions(R, images, image_shape=image_shape, sample=s, name=name)
                out += save_figure(fig, folder / f"top_interactions_sample{s}")
    return out
