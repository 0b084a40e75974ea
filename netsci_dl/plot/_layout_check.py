"""Checks of a drawn figure's layout, from matplotlib's own text extents (used by the tests of
every figure and reusable by the report's): no two text boxes intersect, no legend covers an
axes' data area, and the figure's SVG is well-formed XML."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

__all__ = ["text_boxes", "layout_problems", "svg_problem"]


def _hidden_ticklabels(fig: Any) -> set[int]:
    """ids of tick labels matplotlib does not draw (axis off, ticks outside the view)."""
    out: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not ax.axison or not axis.get_visible():  # no tick is drawn
                for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                    out.update((id(tick.label1), id(tick.label2)))
                continue
            lo, hi = sorted(axis.get_view_interval())
            scale = axis.get_scale()
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                loc = tick.get_loc()
                if loc is None:
                    continue
                if scale == "log":
                    inside = (
                        loc > 0 and lo > 0 and np.log(lo) - 1e-9 <= np.log(loc) <= np.log(hi) + 1e-9
                    )
                else:
                    eps = 1e-9 * max(abs(hi - lo), 1e-300)
                    inside = lo - eps <= loc <= hi + eps
                if not inside:
                    out.update((id(tick.label1), id(tick.label2)))
    return out


def text_boxes(fig: Any) -> list[tuple[str, Any]]:
    """``(text, Bbox in display pixels)`` of every visible, non-empty text the figure draws
    (titles, axis and tick labels, legend entries, annotations), after ``fig.canvas.draw()``."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    skip = _hidden_ticklabels(fig)
    containers = [*fig.legends, *(ax.get_legend() for ax in fig.axes), *fig.axes]
    for c in containers:  # nothing inside a hidden legend or axes is drawn
        if c is not None and not c.get_visible():
            skip.update(id(t) for t in c.findobj(Text))
    return [
        (t.get_text(), t.get_window_extent(renderer))
        for t in fig.findobj(Text)
        if id(t) not in skip and t.get_visible() and t.get_text().strip()
    ]


def _overlap(a: Any, b: Any, tol: float) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > tol and min(a.y1, b.y1) - max(a.y0, b.y0) > tol


def layout_problems(fig: Any, *, tol: float = 0.5) -> list[str]:
    """Every layout defect of a figure, in words; empty when there is none.

    Two text boxes that intersect by more than ``tol`` pixels in both directions; a legend
    that covers the area of any axes.
    """
    boxes = text_boxes(fig)
    problems = []
    if boxes:
        B = np.array([[b.x0, b.y0, b.x1, b.y1] for _, b in boxes])
        w = np.minimum(B[:, None, 2], B[None, :, 2]) - np.maximum(B[:, None, 0], B[None, :, 0])
        h = np.minimum(B[:, None, 3], B[None, :, 3]) - np.maximum(B[:, None, 1], B[None, :, 1])
        hit = np.triu((w > tol) & (h > tol), 1)
        for i, j in zip(*np.nonzero(hit)):
            problems.append(f"texts overlap: {boxes[i][0]!r} and {boxes[j][0]!r}")
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    renderer = fig.canvas.get_renderer()
    for leg in legends:
        if leg is None or not leg.get_visible():
            continue
        lb = leg.get_window_extent(renderer)
        for ax in fig.axes:
            if ax.get_visible() and _overlap(lb, ax.get_window_extent(renderer), tol):
                problems.append(f"a legend covers the data of axes {ax.get_title()!r}")
    return problems


def svg_problem(fig: Any) -> str:
    """Why the figure's SVG is not well-formed XML (the parser's message), or ``""``."""
    import xml.etree.ElementTree as ET

    buf = io.BytesIO()
    fig.savefig(buf, format="svg")
    try:
        ET.fromstring(buf.getvalue())
    except ET.ParseError as e:
        return str(e)
    return ""
