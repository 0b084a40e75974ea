"""Figures of representation similarity (seaborn heat maps and curves); nothing is recomputed.

- :func:`plot_similarity_matrix`: a layer x layer heat map of a
  :class:`~netsci_dl.analysis.similarity.SimilarityMatrix`;
- :func:`plot_similarity_to_reference`: each layer's similarity to the reference (final)
  snapshot vs training step, one curve per layer (R17's "converges bottom-up" figure);
- :func:`plot_training_map`: the same values as a layer x snapshot heat map;
- :func:`plot_within_grids`: the layer x layer grid within the first, middle and last snapshot;
- :func:`similarity_figures`: all of them for a
  :class:`~netsci_dl.analysis.similarity.TrainingSimilarity`, written as PNG + SVG.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from netsci_dl.plot._base import new_figure, pyplot, save_figure

__all__ = [
    "plot_similarity_matrix",
    "plot_similarity_to_reference",
    "plot_training_map",
    "plot_within_grids",
    "similarity_figures",
]

_LABELS = {
    "cka": "linear CKA",
    "cka_debiased": "debiased linear CKA",
    "cka_rbf": "RBF CKA",
    "cka_rbf_debiased": "debiased RBF CKA",
    "cka_minibatch": "minibatch CKA",
    "cca": "mean CCA",
    "svcca": "SVCCA (mean corr.)",
    "pwcca": "PWCCA",
}


def _label(measure: str) -> str:
    return _LABELS.get(measure, measure)


def _range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    lo = min(0.0, float(finite.min())) if finite.size else 0.0
    return lo, 1.0


def _heat(
    ax: Any, values: np.ndarray, rows: Any, cols: Any, measure: str, *, cbar: bool = True
) -> None:
    import seaborn as sns

    lo, hi = _range(values)
    small = values.shape[0] * values.shape[1] <= 64
    sns.heatmap(
        values,
        ax=ax,
        vmin=lo,
        vmax=hi,
        cmap="viridis",
        annot=small,
        fmt=".2f",
        annot_kws={"fontsize": 7},
        xticklabels=list(cols),
        yticklabels=list(rows),
        square=values.shape[0] == values.shape[1],
        cbar=cbar,
        cbar_kws={"label": _label(measure)} if cbar else None,
    )
    ax.tick_params(axis="both", labelsize=8)


def plot_similarity_matrix(
    M: Any, *, name: str | None = None, row_label: str = "A", col_label: str = "B", ax: Any = None
) -> Any:
    """Heat map of a SimilarityMatrix (rows: layers of A, columns: layers of B).

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.analysis.similarity import similarity_matrix
    >>> X = np.random.default_rng(0).normal(size=(30, 4))
    >>> fig = plot_similarity_matrix(similarity_matrix({"a": X, "b": X[:, :2]}))
    >>> fig.axes[0].get_xlabel()
    'layer of B'
    """
    if ax is None:
        fig, axes = new_figure(1, width=4.8, height=4.0)
        ax = axes[0]
    else:
        fig = ax.figure
    _heat(ax, np.asarray(M.values), M.rows, M.cols, M.measure)
    ax.set_xlabel(f"layer of {col_label}")
    ax.set_ylabel(f"layer of {row_label}")
    title = f"{name}: " if name else ""
    ax.set_title(f"{title}{_label(M.measure)}, n={M.n_samples}", fontsize=10)
    return fig


def _stage_changes(T: Any) -> list[int]:
    stages = [s.stage for s in T.snapshots]
    return [int(T.steps[i]) for i in range(1, len(stages)) if stages[i] != stages[i - 1]]


def plot_similarity_to_reference(T: Any, *, name: str | None = None, threshold: float = 0.9) -> Any:
    """Each layer's similarity to the reference snapshot vs training step (bottom layer darkest).

    A dashed line marks ``threshold`` (the level :meth:`TrainingSimilarity.converged_at` uses);
    dotted vertical lines mark where the trainer moves to the next RBM of a DBN.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.analysis.similarity import similarity_over_training
    >>> X = np.random.default_rng(0).normal(size=(30, 3))
    >>> T = similarity_over_training([({"h1": X + s}, {"step": s}) for s in range(3)])
    >>> plot_similarity_to_reference(T).axes[0].get_xlabel()
    'training step (epochs)'
    """
    plt = pyplot()
    fig, axes = new_figure(1, width=5.6, height=3.8)
    ax = axes[0]
    vals = T.to_reference
    cmap = plt.get_cmap("viridis")
    L = vals.shape[1]
    for l, layer in enumerate(T.layers):
        c = cmap(0.85 * l / max(L - 1, 1))
        ax.plot(T.steps, vals[:, l], "o-", ms=3.5, lw=1.5, color=c, label=layer)
    for x in _stage_changes(T):
        ax.axvline(x, color="0.6", ls=":", lw=1)
    ax.axhline(threshold, color="0.4", ls="--", lw=1)
    lo, _ = _range(vals)
    ax.set_ylim(min(lo, 0.0) - 0.02, 1.03)
    ax.set_xlabel(T.settings.get("x_label", "training step (epochs)"))
    ax.set_ylabel(f"{_label(T.measure)} to {T.reference}")
    head = f"{name}: " if name else ""
    ax.set_title(f"{head}similarity of each layer to the reference", fontsize=10)
    ax.legend(title="layer", fontsize=8, title_fontsize=8, loc="lower right")
    return fig


def plot_training_map(T: Any, *, name: str | None = None) -> Any:
    """Layer (rows, bottom layer at the bottom) x snapshot (columns, by step) heat map of the
    similarity to the reference.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.analysis.similarity import similarity_over_training
    >>> X = np.random.default_rng(0).normal(size=(30, 3))
    >>> T = similarity_over_training([({"h1": X + s, "h2": X}, {"step": s}) for s in range(3)])
    >>> plot_training_map(T).axes[0].get_ylabel()
    'layer'
    """
    S = T.n_snapshots
    fig, axes = new_figure(1, width=min(3.0 + 0.35 * S, 14.0), height=1.6 + 0.45 * len(T.layers))
    ax = axes[0]
    vals = T.to_reference.T[::-1]
    _heat(ax, vals, list(T.layers)[::-1], [str(s) for s in T.steps], T.measure)
    ax.set_xlabel(T.settings.get("x_label", "training step (epochs)"))
    ax.set_ylabel("layer")
    head = f"{name}: " if name else ""
    ax.set_title(f"{head}{_label(T.measure)} to {T.reference}", fontsize=10)
    return fig


def plot_within_grids(T: Any, *, name: str | None = None, which: Any = None) -> Any:
    """Layer x layer grids within snapshots (default: first, middle, last), one panel each.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.analysis.similarity import similarity_over_training
    >>> X = np.random.default_rng(0).normal(size=(30, 3))
    >>> T = similarity_over_training([({"a": X, "b": X + s}, {"step": s}) for s in range(3)])
    >>> [ax.get_title() for ax in plot_within_grids(T).axes[:3]]
    ['step 0', 'step 1', 'step 2']
    """
    W = T.within
    if W is None:
        raise ValueError("this TrainingSimilarity has no within-snapshot grids (within=False)")
    S = T.n_snapshots
    idx = sorted(set(which if which is not None else (0, S // 2, S - 1)))
    fig, axes = new_figure(len(idx), width=3.8, height=3.4)
    for k, (ax, i) in enumerate(zip(axes, idx)):
        _heat(ax, W[i], T.layers, T.layers, T.measure, cbar=k == len(idx) - 1)
        ax.set_title(f"step {T.steps[i]}", fontsize=9)
    head = f"{name}: " if name else ""
    fig.suptitle(f"{head}{_label(T.measure)} between layers of one snapshot", fontsize=10)
    return fig


def similarity_figures(
    T: Any, folder: str | os.PathLike, *, name: str | None = None
) -> dict[str, tuple[Path, Path]]:
    """Write every figure of a TrainingSimilarity into ``folder`` (PNG + SVG each).

    ``similarity_to_reference`` (curves), ``similarity_map`` (layer x step heat map),
    ``similarity_first_vs_reference`` (layer x layer, first snapshot vs reference), and
    ``similarity_within`` (when the grids were computed).

    Returns
    -------
    dict
        figure name -> (png, svg).
    """
    from netsci_dl.analysis.similarity import SimilarityMatrix

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    first = T.snapshots[0]
    M = SimilarityMatrix(
        first.to_reference,
        first.layers,
        first.reference_layers,
        T.measure,
        int(T.settings.get("n_samples") or 0),
    )
    out = {
        "similarity_to_reference": save_figure(
            plot_similarity_to_reference(T, name=name), folder / "similarity_to_reference"
        ),
        "similarity_map": save_figure(plot_training_map(T, name=name), folder / "similarity_map"),
        "similarity_first_vs_reference": save_figure(
            plot_similarity_matrix(
                M, name=name, row_label=first.label or "first", col_label=T.reference
            ),
            folder / "similarity_first_vs_reference",
        ),
    }
    if T.within is not None:
        out["similarity_within"] = save_figure(
            plot_within_grids(T, name=name), folder / "similarity_within"
        )
    return out
