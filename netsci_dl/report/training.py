"""The report's "Training" section for a run folder: what each layer represents over training.

Each layer at each snapshot against the same layer at the end of the run, on probe examples
(linear CKA by default; :func:`netsci_dl.activations.training_similarity`), with the step from
which each layer stays similar to its final state and whether the layers settle bottom-up
(Raghu et al. 2017). The probe data are the run's own (its ``config.json`` names them) or the
ones the caller passes; a run without either gets a note, never a guess.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from netsci_dl._sanitize import csv_frame
from netsci_dl.datasets import PROBE_SIZE

__all__ = ["training_section", "run_data"]

CONVERGED = 0.9


def run_data(run: str | os.PathLike) -> str | None:
    """The data spec a run folder was trained on (``"digits"``, ``"mnist:PATH"``), from its
    ``config.json``; None when it does not say.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "config.json").write_text('{"data": "digits"}')
    >>> run_data(d), run_data(tempfile.mkdtemp())
    ('digits', None)
    """
    cfg = Path(run) / "config.json"
    if not cfg.is_file():
        return None
    try:
        data = json.loads(cfg.read_text()).get("data")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    return str(data) if data else None


def training_section(
    ctx: Any,
    *,
    run: str | os.PathLike,
    data: str | None = None,
    measure: str = "cka",
    probe_size: int = PROBE_SIZE,
) -> Any:
    """Section "Training: similarity to the final state" of the report of a run folder.

    Parameters
    ----------
    ctx : ReportContext
    run : path
        The run folder (its ``snapshots/``).
    data : str, optional
        Probe data spec (:func:`netsci_dl.datasets.load_dataset`); default the run's own
        (:func:`run_data`).
    measure : str
        A similarity measure (:data:`netsci_dl.analysis.similarity.MEASURES`).
    probe_size : int
        Probe examples (a fixed random subset of the data, the same at every snapshot; default
        :data:`netsci_dl.datasets.PROBE_SIZE`).
    """
    from netsci_dl.datasets import load_dataset
    from netsci_dl.plot import save_figure
    from netsci_dl.plot.similarity import plot_similarity_to_reference, plot_training_map
    from netsci_dl.report._core import Section, figure_html, rel, table_html
    from netsci_dl.runs.format import list_snapshots
    from netsci_dl.runs.similarity import training_similarity

    title = "Training: similarity to the final state"
    snaps = list_snapshots(run)
    if len(snaps) < 2:
        reason = f"the run folder has {len(snaps)} snapshot(s); two or more are needed"
        return Section(
            title, f"<p>Skipped: {html.escape(reason)}.</p>", summary={"skipped": reason}
        )
    spec = data or run_data(run)
    if spec is None:
        reason = (
            "the run does not record its data and none was given (netsci-dl analyze RUN "
            "--data digits|mnist:PATH)"
        )
        return Section(
            title, f"<p>Skipped: {html.escape(reason)}.</p>", summary={"skipped": reason}
        )
    ds = load_dataset(spec)
    if len(ds) > probe_size:
        ds = ds.subset(probe_size, seed=0)
    T = training_similarity(run, ds, measure=measure, within=False)
    csv_frame(T.to_frame()).to_csv(ctx.folder / "training_similarity.csv", index=False)
    summary = T.summary_frame()
    csv_frame(summary).to_csv(ctx.folder / "training_similarity_summary.csv", index=False)
    figs = [
        save_figure(
            plot_similarity_to_reference(T, name=ctx.name, threshold=CONVERGED),
            ctx.figures / "training_similarity",
        ),
        save_figure(plot_training_map(T, name=ctx.name), ctx.figures / "training_similarity_map"),
    ]
    converged = T.converged_at(CONVERGED)
    bottom_up = bool(T.bottom_up(CONVERGED))
    order = ", ".join(
        f"{html.escape(str(lay))}: {'never' if v != v else int(v)}"
        for lay, v in zip(T.layers, converged)
    )
    verdict = (
        "the layers settle bottom-up here (each layer reaches its final state no later than "
        "the layer above)"
        if bottom_up
        else "the layers do not settle bottom-up here"
    )
    body = (
        f"<p>{T.n_snapshots} snapshots, each layer compared with the same layer at the end of "
        f"the run ({html.escape(measure)}, on {len(ds)} examples of {html.escape(ds.name)}). "
        f"Step from which each layer stays at {CONVERGED} or above: {order}. "
        f"In short: {verdict}.</p>"
        + figure_html(ctx, figs[0][0], "Similarity of each layer to its final state")
        + figure_html(ctx, figs[1][0], "The same as a map: layers by snapshots")
        + "<details><summary>Per layer</summary>"
        + table_html(summary.set_index(summary.columns[0]))
        + "</details>"
        + "<p class='note'>netsci-dl similarity RUN --data ... writes the layer-by-layer "
        "grids too; netsci-dl measures RUN adds Fisher, curvature and EI to the same "
        "snapshots.</p>"
    )
    files = ["training_similarity.csv", "training_similarity_summary.csv"] + [
        rel(ctx, p) for pair in figs for p in pair
    ]
    return Section(
        title,
        body,
        files=tuple(files),
        summary={
            "measure": measure,
            "n_snapshots": T.n_snapshots,
            "probe_size": len(ds),
            "data": ds.name,
            "bottom_up": bottom_up,
            "converged_at": {
                str(k): (None if v != v else int(v)) for k, v in zip(T.layers, converged)
            },
        },
    )
