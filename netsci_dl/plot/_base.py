"""Shared figure helpers: a headless matplotlib, panel grids that scale with depth, figure
legends outside the data, names made safe for any figure, what a block's values are, and saving
PNG + SVG atomically.

Every figure of :mod:`netsci_dl.plot` is built with matplotlib's constrained layout, so titles,
axis labels, tick labels and the figure legend are given room and never overlap;
:func:`netsci_dl.plot._layout_check.layout_problems` checks a drawn figure for that.
"""

from __future__ import annotations

import os
import textwrap
import unicodedata
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_COLS",
    "pyplot",
    "save_figure",
    "new_figure",
    "panel_grid",
    "figure_legend",
    "series_colors",
    "display_name",
    "wrap",
    "value_name",
    "block_value_names",
    "joint_value_name",
    "tidy_log_axis",
    "legend_right",
]

#: panels per row in a grid; more panels wrap onto the next row
MAX_COLS = 4


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no display needed), with seaborn's style."""
    import warnings

    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")
    with warnings.catch_warnings():
        # Debian's mpl_toolkits (beside graph-tool) shadows pip's: 3-D axes, which we never use,
        # are unavailable, and matplotlib says so on import
        warnings.filterwarnings("ignore", message="Unable to import Axes3D")
        import matplotlib.pyplot as plt
        import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    return plt


# ---- names ------------------------------------------------------------------------------------
def _bad_char(c: str) -> bool:
    """Characters an SVG (XML 1.0) may not hold or that no figure should show raw: C0/C1
    controls, surrogates, noncharacters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF)."""
    o = ord(c)
    return (
        unicodedata.category(c) in ("Cc", "Cs") or 0xFDD0 <= o <= 0xFDEF or (o & 0xFFFE) == 0xFFFE
    )


def display_name(name: Any, *, max_len: int = 40) -> str:
    r"""``name`` made safe for a figure: no character that breaks an SVG, no mathtext, short.

    Whitespace controls (tab, newline, ...) and line/paragraph separators become a space; other
    control characters, surrogates and noncharacters (U+FFFE...) become visible escapes
    (``\x07``, ``\ufffe``); ``$`` is escaped so matplotlib never reads the name as mathtext;
    a name longer than ``max_len`` keeps its start and end around an ellipsis.

    Examples
    --------
    >>> display_name("conv\x07 1\ufffe$x$")
    'conv\\x07 1\\ufffe\\$x\\$'
    >>> display_name("encoder.layers.11.self_attention.out_proj", max_len=24)
    'encoder.laye…on.out_proj'
    """
    s = str(name)
    out = []
    for c in s:
        if c in "\t\n\r\v\f\u2028\u2029\x1c\x1d\x1e\x1f\x85":
            out.append(" ")
        elif _bad_char(c):
            o = ord(c)
            out.append(
                f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"
            )
        else:
            out.append(c)
    s = "".join(out)
    if max_len and len(s) > max_len:
        keep = max(max_len - 1, 2)
        head = (keep + 1) // 2
        s = s[:head] + "…" + s[len(s) - (keep - head) :]
    return s.replace("$", r"\$")


def wrap(text: str, width_in: float, *, fontsize: float = 9.0, max_lines: int = 3) -> str:
    """``text`` broken into lines that fit ``width_in`` inches at ``fontsize`` points (each line
    of the input is wrapped on its own; at most ``max_lines`` lines per input line)."""
    chars = max(int(width_in * 72 / (0.58 * fontsize)), 8)
    lines = []
    for part in str(text).split("\n"):
        got = textwrap.wrap(part, chars, break_long_words=True, break_on_hyphens=False) or [""]
        if len(got) > max_lines:
            got = got[:max_lines]
            got[-1] = got[-1][: max(chars - 1, 1)] + "…"
        lines.extend(got)
    return "\n".join(lines)


# ---- what a block's values are ----------------------------------------------------------------
_SIGNED = {
    "signed": "signed weight",
    "abs": "|w|",
    "pos": "positive part of w",
    "neg": "|negative part of w|",
    None: "edge (unweighted, 1)",
}
_KERNEL = {
    "l2": "kernel l2 norm",
    "l1": "kernel l1 norm",
    "sum": "kernel sum (signed)",
    "mean": "kernel mean (signed)",
    "max_abs": "kernel max |w|",
}


def value_name(
    edge_weight: str | None = None, *, kind: str = "weight", weights: str | None = "signed"
) -> str:
    """Name of the values one block holds, for an axis label or a table header.

    Parameters
    ----------
    edge_weight : str, optional
        How the block's values were made: one entry of ``G.meta["edge_weight"]`` (``"weight"``
        or ``""`` for a Linear / RBM matrix, ``"l2 of each 3x3 kernel"`` for a convolution,
        ``"flatten: l2 over 16 features per channel"`` where a Linear layer follows one).
    kind : str
        The block's kind (``G.block_kinds[b]``): ``"identity"`` blocks carry no learned weight.
    weights : {"signed", "abs", "pos", "neg", None}
        How the values are used (the package's one keyword for signed weights).

    Returns
    -------
    str
        ``"signed weight"``, ``"|w|"``, ``"kernel l2 norm"``, ``"identity (skip, 1 per unit)"``...

    Examples
    --------
    >>> value_name("weight"), value_name(None, weights="abs"), value_name("l2 of each 3x3 kernel")
    ('signed weight', '|w|', 'kernel l2 norm')
    >>> value_name("sum of each 5x5 kernel", weights="abs")
    '|kernel sum|'
    >>> value_name("l2 of each 1x1 kernel")     # a single-tap kernel is one signed weight
    'signed weight'
    >>> value_name("l2 over the 4 features of each channel (flatten, channel-major)")
    'l2 norm over the features of a channel'
    """
    if weights not in _SIGNED:
        from netsci_dl.errors import InputError

        raise InputError(f"weights={weights!r}; use one of 'signed', 'abs', 'pos', 'neg', None")
    if kind == "identity":
        return "identity (skip, 1 per unit)"
    note = (edge_weight or "").strip()
    if weights is None:
        return _SIGNED[None]
    from netsci_dl.threshold import single_tap

    if note in ("", "weight", "weights") or single_tap(note):  # a 1x1 kernel: one signed weight
        return _SIGNED[weights]
    red = note.split(" ", 1)[0]
    if note.startswith("flatten:") or " features of each channel (flatten" in note:
        if note.startswith("flatten:"):  # the 0.2 note: "flatten: l2 over 16 features ..."
            red = note.split()[1] if len(note.split()) > 1 else ""
        base = _KERNEL.get(red, f"{red} of").replace("kernel ", "")
        name = f"{base} over the features of a channel"
    elif red in _KERNEL and " kernel" in note:
        name = _KERNEL[red]
    else:
        return display_name(note, max_len=48)
    signed = red in ("sum", "mean")
    if signed and weights == "abs":
        return "|" + name.replace(" (signed)", "") + "|"
    if signed and weights in ("pos", "neg"):
        return f"{weights} part of {name.replace(' (signed)', '')}"
    return name


def block_value_names(G: Any, *, weights: str | None = "signed") -> tuple[str, ...]:
    """:func:`value_name` of every block of ``G``, from ``G.meta["edge_weight"]`` and
    ``G.block_kinds`` (an unweighted, thresholded graph holds 1 per kept edge).

    Examples
    --------
    >>> import numpy as np, netsci_dl as nd
    >>> G = nd.LayeredGraph((2, 2, 2), (np.eye(2), np.eye(2)),
    ...                     meta={"edge_weight": ["weight", "l2 of each 3x3 kernel"]})
    >>> block_value_names(G)
    ('signed weight', 'kernel l2 norm')
    """
    nb = len(G.blocks)
    notes = G.meta.get("edge_weight")
    if not isinstance(notes, (list, tuple)) or len(notes) != nb:
        notes = ["weight"] * nb
    kinds = tuple(getattr(G, "block_kinds", ())) or ("weight",) * nb
    weighted = getattr(G, "weighted", True)
    return tuple(
        value_name(str(n), kind=k, weights=weights if weighted else None)
        for n, k in zip(notes, kinds)
    )


def joint_value_name(names: Sequence[str]) -> str:
    """One name for a quantity summed over blocks of these value names (``"signed weight"``,
    or ``"signed weight + kernel l2 norm"`` when they differ)."""
    uniq = list(dict.fromkeys(n for n in names if n))
    return " + ".join(uniq) if uniq else "no block"


# ---- figures ----------------------------------------------------------------------------------
def series_colors(n: int) -> list[Any]:
    """``n`` distinguishable colours (tab10 up to 10, tab20 up to 20, then cycling)."""
    plt = pyplot()
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    m = 10 if n <= 10 else 20
    return [cmap(i % m) for i in range(n)]


def new_figure(ncols: int = 1, *, width: float = 4.2, height: float = 3.4) -> tuple[Any, Any]:
    """A constrained-layout figure with ``ncols`` axes side by side (a 1-D array of axes)."""
    import numpy as np

    plt = pyplot()
    n = max(1, ncols)
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False, layout="constrained")
    return fig, np.asarray(axes).ravel()


def panel_grid(
    n: int,
    *,
    ncols: int = MAX_COLS,
    width: float = 3.3,
    height: float = 2.7,
    sharex: Sequence[Hashable] | None = None,
    sharey: Sequence[Hashable] | None = None,
) -> tuple[Any, list[Any]]:
    """A constrained-layout figure of ``n`` panels, at most ``ncols`` per row, wrapping.

    Parameters
    ----------
    n : int
        Number of panels (at least one is made).
    ncols : int
        Panels per row (default :data:`MAX_COLS`).
    width, height : float
        Inches per panel.
    sharex, sharey : sequence of hashable, optional
        One key per panel: panels with the same key share that axis (the same quantity).

    Returns
    -------
    (Figure, list of Axes)
        The ``n`` axes in reading order; the unused cells of the last row are removed.

    Examples
    --------
    >>> fig, axes = panel_grid(6, sharex=["w"] * 6)
    >>> len(axes), axes[0].get_subplotspec().get_gridspec().get_geometry()
    (6, (2, 4))
    """
    plt = pyplot()
    n = max(1, int(n))
    cols = max(1, min(n, int(ncols)))
    rows = -(-n // cols)
    fig = plt.figure(figsize=(width * cols + 0.4, height * rows + 0.6), layout="constrained")
    grid = fig.subplots(rows, cols, squeeze=False)
    flat = list(grid.ravel())
    for ax in flat[n:]:
        ax.remove()
    axes = flat[:n]
    for keys, how in ((sharex, "x"), (sharey, "y")):
        if keys is None:
            continue
        first: dict[Hashable, Any] = {}
        for ax, key in zip(axes, keys):
            if key in first:
                (ax.sharex if how == "x" else ax.sharey)(first[key])
            else:
                first[key] = ax
    return fig, axes


def figure_legend(
    fig: Any,
    handles: Sequence[Any] | None = None,
    labels: Sequence[str] | None = None,
    *,
    where: str = "right",
    title: str | None = None,
    fontsize: float = 8,
) -> Any:
    """One legend for the whole figure, outside every axes (``where``: ``"right"`` or
    ``"bottom"``), from ``handles``/``labels`` or, by default, the labelled artists of all axes
    (each label once). Returns the legend, or None when there is nothing to show."""
    if handles is None:
        seen: dict[str, Any] = {}
        for ax in fig.axes:
            hs, ls = ax.get_legend_handles_labels()
            for h, lab in zip(hs, ls):
                seen.setdefault(lab, h)
        labels, handles = list(seen), list(seen.values())
    if not handles:
        return None
    if where == "bottom":
        width = fig.get_figwidth()
        longest = max(len(str(s)) for s in labels) + 4
        ncol = max(1, min(len(labels), int(width * 72 / (0.6 * fontsize * longest))))
        loc = "outside lower center"
    else:
        ncol, loc = 1, "outside right upper"
    return fig.legend(
        handles,
        labels,
        loc=loc,
        ncol=ncol,
        fontsize=fontsize,
        title=title,
        title_fontsize=fontsize,
        frameon=True,
    )


def legend_right(
    ax: Any,
    handles: Sequence[Any] | None = None,
    labels: Sequence[str] | None = None,
    *,
    title: str | None = None,
    fontsize: float = 8,
) -> float:
    """A legend just right of ``ax`` (outside its data, top-aligned with it; constrained layout
    makes room). Returns an estimate of the legend's width in inches (0 when there is none),
    for wrapping a title to the width that is left."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return 0.0
    labels = list(labels or [])
    # never taller than the axes (it would run past the tick labels below): more columns
    fig_h = ax.figure.get_figheight()
    fit = max(int((fig_h - 1.3) * 72 / (fontsize * 1.75)), 3)
    lines = sum(str(s).count("\n") + 1 for s in labels) + (1 if title else 0)
    ncol = max(1, -(-lines // fit))
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
              fontsize=fontsize, title=title, title_fontsize=fontsize, ncol=ncol)  # fmt: skip
    longest = max(len(str(p)) for s in labels for p in str(s).split("\n"))
    return ncol * (0.6 * fontsize * longest / 72 + 0.45) + 0.2


#: callables ``check(fig, stem)`` run by :func:`save_figure` after the layout, before saving
#: (the test suite registers layout checks here to inspect every figure a report draws)
SAVE_CHECKS: list[Any] = []


def save_figure(fig: Any, stem: str | os.PathLike, *, dpi: int = 110) -> tuple[Path, Path]:
    """Write ``stem.png`` and ``stem.svg`` (each atomically) and close the figure.

    Returns
    -------
    (png_path, svg_path)
    """
    from netsci_dl._files.atomic import atomic_path

    stem = Path(stem)
    out = []
    try:
        engine = fig.get_layout_engine()
        if engine is not None and engine.__class__.__name__ == "ConstrainedLayoutEngine":
            fig.canvas.draw()  # lay out once, then keep the positions for both formats
            fig.set_layout_engine("none")
        for check in SAVE_CHECKS:
            check(fig, stem)
        for ext in ("png", "svg"):
            p = stem.with_name(stem.name + "." + ext)
            with atomic_path(p) as tmp:
                fig.savefig(tmp, format=ext, dpi=dpi, bbox_inches="tight")
            out.append(p)
    finally:
        pyplot().close(fig)
    return out[0], out[1]


def tidy_log_axis(axis: Any) -> None:
    """Ticks of a log-scaled axis that never crowd: labelled major ticks at 1, 2, 5 x 10^k when
    the view spans less than two decades (10^k otherwise), plain numbers, no minor labels."""
    import numpy as np
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

    ax = axis.axes
    lo, hi = sorted(ax.get_xlim() if axis is ax.xaxis else ax.get_ylim())
    span = np.log10(hi / lo) if lo > 0 and hi > 0 else 3.0
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if span < 2 else (1.0,)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())
