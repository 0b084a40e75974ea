"""Figures of functional modules: dendrogram with the cut, mean RF per module, module profiles."""

from __future__ import annotations

from typing import Any

import numpy as np

from netsci_dl.plot._base import new_figure, pyplot

__all__ = ["plot_dendrogram", "plot_module_rfs", "plot_module_profiles"]


def plot_dendrogram(modules: Any, *, title: str = "") -> Any:
    """Dendrogram of a :class:`~netsci_dl.analysis.modules.FunctionalModules` with the cut line.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.analysis.modules import functional_modules
    >>> m = functional_modules(np.array([1.0, 9, 9, 9, 9, 2]), k=2)
    >>> fig = plot_dendrogram(m); len(fig.axes)
    1
    """
    from scipy.cluster.hierarchy import dendrogram

    fig, axes = new_figure(1, width=7.0, height=3.6)
    ax = axes[0]
    n = modules.labels.size
    dendrogram(modules.linkage, ax=ax, no_labels=True, color_threshold=modules.cut_height,
               above_threshold_color="0.6", truncate_mode="lastp" if n > 300 else None,
               p=min(n, 300))
    ax.axhline(modules.cut_height, color="crimson", ls="--", lw=1)
    ax.set_ylabel("EMD merge height (pixels)")
    ax.set_xlabel(f"units ({n}), cut into k = {modules.k} modules")
    ax.set_title(title or f"{modules.method} linkage, cophenetic r = {modules.cophenetic:.3f}")
    return fig


def plot_module_rfs(stats: Any, *, which: str = "mean", title: str = "") -> Any:
    """Grid of the mean (or medoid) receptive field of every module.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> s = SimpleNamespace(mean_rf=np.random.default_rng(0).normal(size=(3, 4, 4)),
    ...                     size=np.array([2, 1, 1]))
    >>> fig = plot_module_rfs(s); len(fig.axes) >= 3
    True
    """
    rf = stats.mean_rf if which == "mean" else stats.medoid_rf
    if rf is None:
        raise ValueError(f"the statistics have no {which} receptive fields (pass rfs= and emd=)")
    rf = np.asarray(rf)
    if rf.ndim == 2:
        rf = rf[:, None, :]
    k = rf.shape[0]
    ncols = int(min(k, 5))
    nrows = int(np.ceil(k / ncols))
    plt = pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.8 * ncols, 1.9 * nrows), squeeze=False)
    for j, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if j < k:
            lim = float(np.abs(rf[j]).max()) or 1.0
            ax.imshow(rf[j], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"m{j} (n={int(stats.size[j])})", fontsize=8)
    fig.suptitle(title or f"{which} receptive field per module")
    return fig


def plot_module_profiles(stats: Any, *, title: str = "") -> Any:
    """T18's panels per module: k_nn vs degree and degree vs strength (means +/- sd).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> z = np.array([1.0, 2.0])
    >>> s = SimpleNamespace(degree_mean=z, degree_sd=z / 4, knn_mean=z, knn_sd=z / 4,
    ...                     strength_mean=z, strength_sd=z / 4, size=np.array([3, 2]))
    >>> fig = plot_module_profiles(s); len(fig.axes)
    2
    """
    fig, axes = new_figure(2)
    size = np.asarray(stats.size, np.float64)
    area = 20 + 180 * size / max(size.max(), 1)
    for ax, (x, xs, y, ys, xl, yl) in zip(axes, [
        (stats.degree_mean, stats.degree_sd, stats.knn_mean, stats.knn_sd,
         "degree k (thresholded)", "k_nn"),
        (stats.strength_mean, stats.strength_sd, stats.degree_mean, stats.degree_sd,
         "strength s (full graph)", "degree k"),
    ]):
        ax.errorbar(x, y, xerr=xs, yerr=ys, fmt="none", ecolor="0.6", lw=0.8)
        sc = ax.scatter(x, y, s=area, c=np.arange(size.size), cmap="tab20", edgecolor="k", lw=0.4)
        for j in range(size.size):
            ax.annotate(str(j), (x[j], y[j]), fontsize=7, ha="center", va="center")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        del sc
    fig.suptitle(title or "module profiles (mean +/- sd; area ~ module size)")
    return fig
