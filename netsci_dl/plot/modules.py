"""Figures of functional modules: dendrogram with the cut, mean RF per module, module profiles,
mean and member RFs per module, community sizes per layer, and the modules-vs-communities
agreement heat map."""

from __future__ import annotations

from typing import Any

import numpy as np

from netsci_dl.errors import InputError
from netsci_dl.plot._base import (
    MAX_COLS,
    display_name,
    legend_right,
    new_figure,
    pyplot,
    series_colors,
    wrap,
)

__all__ = [
    "plot_dendrogram",
    "plot_module_rfs",
    "plot_module_profiles",
    "plot_module_members",
    "plot_community_layers",
    "plot_agreement",
]


def plot_dendrogram(modules: Any, *, title: str = "") -> Any:
    """Dendrogram of a :class:`~netsci_dl.analysis.fields.modules.FunctionalModules` with the cut line.

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.analysis.fields.modules import functional_modules
    >>> m = functional_modules(np.array([1.0, 9, 9, 9, 9, 2]), k=2)
    >>> fig = plot_dendrogram(m); len(fig.axes)
    1
    """
    from scipy.cluster.hierarchy import dendrogram

    fig, axes = new_figure(1, width=7.0, height=3.6)
    ax = axes[0]
    n = modules.labels.size
    dendrogram(
        modules.linkage,
        ax=ax,
        no_labels=True,
        color_threshold=modules.cut_height,
        above_threshold_color="0.6",
        truncate_mode="lastp" if n > 300 else None,
        p=min(n, 300),
    )
    ax.axhline(modules.cut_height, color="crimson", ls="--", lw=1)
    ax.set_ylabel("EMD merge height (pixels)")
    ax.set_xlabel(f"units ({n}), cut into k = {modules.k} modules (dashed: the cut)")
    head = display_name(title, max_len=80) if title else ""
    head = head or f"{modules.method} linkage, cophenetic r = {modules.cophenetic:.3f}"
    ax.set_title(wrap(head, 6.4, fontsize=11), fontsize=11)
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
        raise InputError(f"the statistics have no {which} receptive fields (pass rfs= and emd=)")
    rf = np.asarray(rf)
    if rf.ndim == 2:
        rf = rf[:, None, :]
    k = rf.shape[0]
    ncols = int(max(min(k, MAX_COLS), 1))
    nrows = int(np.ceil(k / ncols)) or 1
    plt = pyplot()
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(1.8 * ncols, 1.9 * nrows + 0.4), squeeze=False, layout="constrained"
    )
    for j, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if j < k:
            lim = float(np.abs(rf[j]).max()) or 1.0
            ax.imshow(rf[j], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"m{j} (n={int(stats.size[j])})", fontsize=8)
    head = display_name(title, max_len=80) if title else f"{which} receptive field per module"
    fig.suptitle(wrap(head + " (red > 0 > blue)", 1.8 * ncols - 0.2, fontsize=10), fontsize=10)
    return fig


def _nonneg_err(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``(2, k)`` asymmetric error of ``mean +/- sd`` for a quantity that is never negative:
    the lower bar stops at 0."""
    m = np.asarray(mean, np.float64)
    d = np.asarray(sd, np.float64)
    return np.vstack([np.minimum(d, np.maximum(m, 0.0)), d])


def plot_module_profiles(stats: Any, *, title: str = "", value: str = "signed weight") -> Any:
    """T18's panels per module: k_nn vs degree and degree vs strength (means, bars +/- 1 sd).

    Degree and k_nn are never negative: their bars are asymmetric, the lower one stopping at 0;
    strength (a signed sum) keeps symmetric bars. Modules are told apart by colour and marker,
    named in the legend at the right (with their sizes); marker area grows with module size.

    Parameters
    ----------
    stats : ModuleStatistics
    title : str
    value : str
        What the strength sums, for its axis label (e.g. from
        :func:`netsci_dl.plot._base.block_value_names`).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> z = np.array([1.0, 2.0])
    >>> s = SimpleNamespace(degree_mean=z, degree_sd=z * 2, knn_mean=z, knn_sd=z / 4,
    ...                     strength_mean=z, strength_sd=z / 4, size=np.array([3, 2]))
    >>> fig = plot_module_profiles(s); len(fig.axes)
    2
    >>> float(fig.axes[0].get_xlim()[0]) >= -0.5   # no bar below zero degree
    True
    """
    from matplotlib.lines import Line2D

    fig, axes = new_figure(2, width=3.6, height=3.4)
    size = np.asarray(stats.size, np.float64)
    k = size.size
    area = 20 + 160 * size / max(size.max(), 1) if k else size
    colors = series_colors(k)
    marks = "osD^v<>ph"
    dm, ds = np.asarray(stats.degree_mean, float), np.asarray(stats.degree_sd, float)
    panels = [
        (dm, _nonneg_err(dm, ds), np.asarray(stats.knn_mean, float),
         _nonneg_err(stats.knn_mean, stats.knn_sd), "degree k (thresholded graph)",
         "mean neighbour degree k_nn"),
        (np.asarray(stats.strength_mean, float), np.asarray(stats.strength_sd, float), dm,
         _nonneg_err(dm, ds), wrap(f"strength s = sum of {value} (full graph)", 3.2),
         "degree k (thresholded graph)"),
    ]  # fmt: skip
    for ax, (x, xe, y, ye, xl, yl) in zip(axes, panels):
        ax.errorbar(x, y, xerr=xe, yerr=ye, fmt="none", ecolor="0.6", lw=0.8, zorder=1)
        for j in range(k):
            ax.scatter(x[j], y[j], s=area[j], color=colors[j], marker=marks[(j // 20) % 9],
                       edgecolor="k", lw=0.4, zorder=2)  # fmt: skip
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
    handles = [
        Line2D([], [], color=colors[j], marker=marks[(j // 20) % 9], ls="", mec="k", mew=0.4)
        for j in range(k)
    ]
    labels = [f"m{j} (n={int(size[j])})" for j in range(k)]
    lw = legend_right(axes[1], handles, labels, title="module", fontsize=7)
    fig.set_figwidth(7.4 + lw)
    head = display_name(title, max_len=80) if title else "module profiles"
    fig.suptitle(
        wrap(head + ": means, bars +/- 1 sd (degree and k_nn: the lower bar stops at 0)",
             6.8 + lw, fontsize=10),
        fontsize=10,
    )  # fmt: skip
    return fig


def _member_order(labels: np.ndarray, emd: Any) -> np.ndarray:
    """Units sorted by module, then (with ``emd``) by mean EMD to the rest of their module
    (most typical first), then by index."""
    n = labels.size
    if emd is None:
        return np.lexsort((np.arange(n), labels))
    from scipy.spatial.distance import squareform

    c = emd.condensed if hasattr(emd, "condensed") else np.asarray(emd, np.float64)
    D = squareform(c, checks=False) if np.ndim(c) == 1 else np.asarray(c, np.float64)
    if D.shape != (n, n):
        raise InputError(f"emd is for {D.shape[0]} units but labels has {n}")
    same = labels[:, None] == labels[None, :]
    own = (D * same).sum(axis=1)
    return np.lexsort((np.arange(n), own, labels))


def plot_module_members(
    rfs: Any,
    labels: Any,
    *,
    emd: Any = None,
    n_members: int = 8,
    title: str = "",
) -> Any:
    """One row per module: its mean receptive field, then up to ``n_members`` member RFs.

    Parameters
    ----------
    rfs : (n, h, w) array
        Receptive fields of the layer's units (signed; e.g.
        :func:`~netsci_dl.analysis.receptive_fields`).
    labels : (n,) int array or FunctionalModules
        Module of each unit, ``0..k-1``.
    emd : EMDResult, condensed or square array, optional
        With it, members are shown most typical first (least mean EMD to their module, the
        medoid leading); without it, by unit index.
    n_members : int
        Members shown per module (the row says how many there are in all).
    title : str

    Returns
    -------
    matplotlib Figure
        Every panel uses a diverging colormap centred at 0 with its own symmetric limit
        (``RdBu_r``: red positive, blue negative). With more than 10 modules the rows are set
        in two blocks side by side.

    Examples
    --------
    >>> import numpy as np
    >>> rfs = np.random.default_rng(0).normal(size=(5, 4, 4))
    >>> fig = plot_module_members(rfs, np.array([0, 0, 1, 1, 1]), n_members=2)
    >>> len([a for a in fig.axes if a.images])
    6
    """
    lab = np.asarray(getattr(labels, "labels", labels))
    R = np.asarray(rfs, np.float64)
    if R.ndim == 2:
        R = R[:, None, :]
    if R.ndim != 3 or R.shape[0] != lab.size:
        raise InputError(f"rfs has shape {R.shape}; expected ({lab.size}, h, w) to match labels")
    if lab.dtype.kind not in "iu" or (lab.size and lab.min() < 0):
        raise InputError("labels must be non-negative integers (0..k-1)")
    if n_members < 0:
        raise InputError(f"n_members={n_members} must be >= 0")
    k = int(lab.max()) + 1 if lab.size else 0
    size = np.bincount(lab, minlength=k)
    order = _member_order(lab, emd)
    starts = np.concatenate([[0], np.cumsum(size)])
    nb = 2 if k > 10 else 1  # blocks of rows side by side
    nrows = int(np.ceil(k / nb)) or 1
    per = 1 + n_members
    ncols = nb * per + (nb - 1)  # one spacer column between blocks
    plt = pyplot()
    aspect = R.shape[1] / max(R.shape[2], 1)
    cell = 0.72
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(cell * ncols + 0.8, cell * aspect * nrows + 1.0),
        squeeze=False,
        layout="constrained",
    )
    fig.get_layout_engine().set(w_pad=0.01, h_pad=0.01, wspace=0.02, hspace=0.02)
    for ax in axes.ravel():
        ax.set_axis_off()
    for m in range(k):
        b, r = divmod(m, nrows)
        c0 = b * (per + 1)
        members = order[starts[m] : starts[m + 1]][:n_members]
        panels = [R[lab == m].mean(axis=0)] + [R[u] for u in members]
        for j, img in enumerate(panels):
            ax = axes[r, c0 + j]
            lim = float(np.abs(img).max()) or 1.0
            ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_axis_on()
            ax.set_xticks([])
            ax.set_yticks([])
            for sp_ in ax.spines.values():
                sp_.set_color("k" if j == 0 else "0.75")
                sp_.set_linewidth(1.2 if j == 0 else 0.5)
            if j == 0:
                ax.set_ylabel(
                    f"m{m}\nn={int(size[m])}", rotation=0, ha="right", va="center", fontsize=8
                )
            if r == 0:
                ax.set_title("mean" if j == 0 else f"#{j}", fontsize=8)
    head = display_name(title, max_len=80) if title else (
        "mean RF (left) and members per module"
        + (", most typical first" if emd is not None else "")
        + "; colour scale per panel, centred at 0"
    )  # fmt: skip
    fig.suptitle(wrap(head, max(fig.get_figwidth() - 0.3, 2.0), fontsize=10), fontsize=10)
    return fig


def plot_community_layers(
    partition: Any,
    G: Any,
    *,
    max_communities: int = 25,
    title: str = "",
) -> Any:
    """Community sizes per layer: one stacked bar per community, one colour per layer.

    Parameters
    ----------
    partition : Partition or (n_nodes,) int array
        Community of every node of ``G`` (``0..c-1``).
    G : LayeredGraph
        For the layer of each node and the layer names.
    max_communities : int
        The largest communities get their own bar; the rest are pooled into one "other" bar,
        and single-node communities (e.g. isolated nodes of a thresholded graph) into one
        "singletons" bar.
    title : str

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from netsci_dl.graph import LayeredGraph
    >>> G = LayeredGraph((2, 3), (np.ones((2, 3), np.float32),))
    >>> fig = plot_community_layers(np.array([0, 1, 0, 1, 1]), G); len(fig.axes)
    1
    """
    lab = np.asarray(getattr(partition, "labels", partition))
    if lab.shape != (G.n_nodes,):
        raise InputError(f"partition has shape {lab.shape}, expected ({G.n_nodes},) for G")
    if lab.dtype.kind not in "iu" or (lab.size and lab.min() < 0):
        raise InputError("partition labels must be non-negative integers")
    if max_communities < 1:
        raise InputError(f"max_communities={max_communities} must be >= 1")
    layer = np.asarray(G.node_layer)
    c = int(lab.max()) + 1 if lab.size else 0
    L = G.n_layers
    T = np.bincount(lab * L + layer, minlength=c * L).reshape(c, L)  # (communities, layers)
    tot = T.sum(axis=1)
    rank = np.lexsort((np.arange(c), -tot))  # largest first
    single = rank[tot[rank] == 1]
    rank = rank[tot[rank] > 1]
    keep = rank[:max_communities]
    rest = rank[max_communities:]
    rows = [T[keep]]
    names = [str(i) for i in keep]
    for part, label in ((rest, "other"), (single, "singletons")):
        if part.size:
            rows.append(T[part].sum(axis=0, keepdims=True))
            names.append(f"{label} ({part.size})")
    M = np.vstack(rows) if rows else np.zeros((0, L), np.int64)
    plt = pyplot()
    width = max(3.6, 0.3 * len(names) + 1.6)
    fig, ax = plt.subplots(figsize=(width, 3.6), layout="constrained")
    colors = series_colors(L)
    bottom = np.zeros(len(names))
    x = np.arange(len(names))
    for li in range(L):
        ax.bar(x, M[:, li], bottom=bottom, color=colors[li], edgecolor="white", lw=0.4,
               label=f"{display_name(G.layer_names[li], max_len=24)} ({G.layer_sizes[li]})")  # fmt: skip
        bottom += M[:, li]
    ax.set_xticks(x)
    slot = (width - 1.2) / max(len(names), 1)  # inches per bar
    wide = max((len(n) for n in names), default=0) * 0.6 * 7 / 72 > 0.9 * slot
    ax.set_xticklabels(names, fontsize=7, rotation=90 if wide else 0)
    ax.set_xlabel(
        wrap("community (largest first; pooled bars: number of communities)", width - 1.0)
    )
    ax.set_ylabel("nodes")
    lw = legend_right(ax, title="layer", fontsize=7)
    fig.set_figwidth(width + lw)
    method = getattr(partition, "method", None)
    head = display_name(title, max_len=80) if title else (
        f"{display_name(method) + ': ' if method else ''}{c} communities, nodes per layer"
    )  # fmt: skip
    ax.set_title(wrap(head, width - 0.8, fontsize=11), fontsize=11)
    return fig


def plot_agreement(
    agreement: Any,
    *,
    row_label: str = "RF module",
    col_label: str = "graph community",
    title: str = "",
) -> Any:
    """Heat map of the contingency table of two partitions, with ARI and NMI in the title.

    Parameters
    ----------
    agreement : Agreement
        From :func:`netsci_dl.analysis.agreement` (rows: first partition).
    row_label, col_label : str
        Axis labels (what the rows and columns are).
    title : str
        Prefix of the title (ARI and NMI are always appended).

    Returns
    -------
    matplotlib Figure
        Cell counts are written in the cells when the table has at most 30 x 30 cells.

    Examples
    --------
    >>> from netsci_dl.analysis.structure._agreement import agreement
    >>> fig = plot_agreement(agreement([0, 0, 1, 1], [0, 0, 1, 2]))
    >>> "ARI" in fig.axes[0].get_title()
    True
    """
    Cm = np.asarray(agreement.contingency)
    ra, cb = Cm.shape
    plt = pyplot()
    w, h = min(3.6 + 0.34 * cb, 14.0), min(2.0 + 0.2 * ra, 10.0)
    fig, ax = plt.subplots(figsize=(w, h), layout="constrained")
    im = ax.imshow(
        Cm,
        cmap="Blues",
        aspect="auto",
        interpolation="nearest",
        vmin=0,
        vmax=max(int(Cm.max()) if Cm.size else 1, 1),
    )
    ax.grid(False)
    # one tick label per row / column while they fit (7 pt), else every step-th
    cstep = max(1, int(np.ceil(cb * 0.16 / max(w - 2.4, 0.5))))
    rstep = max(1, int(np.ceil(ra * 0.16 / max(h - 1.6, 0.5))))
    ax.set_xticks(np.arange(0, cb, cstep))
    ax.set_xticklabels(
        [display_name(v, max_len=12) for v in list(agreement.labels_b)[::cstep]],
        fontsize=7,
        rotation=90 if cb > 15 else 0,
    )
    ax.set_yticks(np.arange(0, ra, rstep))
    ax.set_yticklabels([display_name(v, max_len=12) for v in list(agreement.labels_a)[::rstep]],
                       fontsize=7)  # fmt: skip
    ax.set_xlabel(display_name(col_label, max_len=60))
    ax.set_ylabel(display_name(row_label, max_len=60))
    if ra <= 30 and cb <= 30 and Cm.size:
        hi = Cm.max() / 2
        for (i, j), v in np.ndenumerate(Cm):
            if v:
                ax.text(j, i, str(int(v)), ha="center", va="center", fontsize=6,
                        color="white" if v > hi else "black")  # fmt: skip
    fig.colorbar(im, ax=ax, label="units", shrink=0.8)
    head = f"{display_name(title, max_len=60)}: " if title else ""
    text = f"{head}ARI = {agreement.ari:.3f}, NMI = {agreement.nmi:.3f}"
    ax.set_title(wrap(text, w - 1.4, fontsize=10), fontsize=10)
    return fig
