"""Shared figure helpers: a headless matplotlib, the house style, saving PNG + SVG atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["pyplot", "save_figure", "new_figure"]


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


def new_figure(ncols: int = 1, *, width: float = 4.2, height: float = 3.4) -> tuple[Any, Any]:
    """A figure with ``ncols`` axes side by side (a 1-D array of axes)."""
    import numpy as np

    plt = pyplot()
    fig, axes = plt.subplots(
        1, max(1, ncols), figsize=(width * max(1, ncols), height), squeeze=False
    )
    return fig, np.asarray(axes).ravel()


def save_figure(fig: Any, stem: str | os.PathLike, *, dpi: int = 110) -> tuple[Path, Path]:
    """Write ``stem.png`` and ``stem.svg`` (each atomically) and close the figure.

    Returns
    -------
    (png_path, svg_path)
    """
    from netsci_dl.io._atomic import atomic_path

    stem = Path(stem)
    out = []
    try:
        for ext in ("png", "svg"):
            p = stem.with_name(stem.name + "." + ext)
            with atomic_path(p) as tmp:
                fig.savefig(tmp, format=ext, dpi=dpi, bbox_inches="tight")
            out.append(p)
    finally:
        pyplot().close(fig)
    return out[0], out[1]
