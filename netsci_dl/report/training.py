"""The report's "Training" section for a run folder: what each layer represents over training.

Each layer at each snapshot against the same layer at the end of the run, on probe examples
(linear CKA by default; :func:`netsci_dl.activations.training_similarity`), with the step from
which each layer stays similar to its final state and whether the layers settle bottom-up
(Raghu et al. 2017). The probe data are the run's own (its ``config.json`` names them) or the
ones the caller passes; a run without either gets a note, never a guess.
"""

from __future__ import annotations

import html
import os
from typing import Any

from netsci_dl._sanitize import csv_frame
from netsci_dl.datasets import PROBE_SIZE
from netsci_dl.errors import InputError

__all__ = ["training_section", "run_data"]

#: probe examples drawn from the run's data (the same at every snapshot)
CONVERGED = 0.9
_TITLE = "Training: similarity to the final state"


def run_data(run: str | os.PathLike) -> str | None:
    """The data spec a run folder was trained on (``"digits"``, ``"mnist:PATH"``, any spec of
    :func:`netsci_dl.datasets.load`), from its ``config.json``; None when it does not say.
    Runs written before 0.4 record a name (``"mnist-train"``) that does not load: the
    training section then says so and asks for ``--data``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "config.json").write_text('{"data": "digits"}')
    >>> run_data(d), run_data(tempfile.mkdtemp())
    ('digits', None)
    """
    from netsci_dl.runs.format import read_run_config

    data = (read_run_config(run) or {}).get("data")  # a broken config.json: InputError
    return str(data) if data else None


def training_section(
    ctx: Any,
    *,
    run: Any,
    data: str | None = None,
    measure: str = "cka",
    probe_size: int = PROBE_SIZE,
    spec: Any = None,
) -> Any:
    """Section "Training: similarity to the final state" of the report of a run.

    Parameters
    ----------
    ctx : ReportContext
    run : path, or sequence of CheckpointModel
        The run folder (its ``snapshots/``), or a user's checkpoints with their class
        (:func:`netsci_dl.runs.checkpoint_models`: a folder of ``epoch_N.pt`` files, HF Trainer
        ``checkpoint-N/`` folders, Lightning ``.ckpt`` files). Plain checkpoint paths without
        their class cannot run on data: the section then says so.
    data : str, optional
        Probe data spec (:func:`netsci_dl.datasets.load`); default the run folder's own
        (:func:`run_data`; a user's checkpoints record none).
    measure : str
        A similarity measure (:data:`netsci_dl.analysis.similarity.MEASURES`).
    probe_size : int
        Probe examples (a fixed random subset of the data, the same at every snapshot; default
        :data:`netsci_dl.datasets.PROBE_SIZE`).
    spec : ActivationSpec, optional
        How the models are run (:class:`netsci_dl.runs.ActivationSpec`; its ``input_shape``
        for flat data on a convolutional model).
    """
    from netsci_dl.report._core import Section, rel
    from netsci_dl.runs.checkpoints import CheckpointModel
    from netsci_dl.runs.format import list_snapshots
    from netsci_dl.runs.similarity import training_similarity

    folder = isinstance(run, str | os.PathLike)
    if not folder and not all(isinstance(it, CheckpointModel) for it in run):
        return _skipped(
            "plain checkpoints hold weights, not the code that runs them on data: name their "
            "class (netsci-dl analyze FOLDER --model pkg.module:Class --data SPEC; from Python, "
            "netsci_dl.runs.checkpoint_models(folder, model=Net))"
        )
    n = len(list_snapshots(run)) if folder else len(run)
    if n < 2:
        return _skipped(f"the run has {n} snapshot(s); two or more are needed")
    spec_data = data or (run_data(run) if folder else None)
    if spec_data is None:
        return _skipped(
            "the run does not record its data and none was given (netsci-dl analyze RUN "
            "--data SPEC, e.g. digits, mnist:PATH, npz:PATH)"
        )
    if data is None:  # the run's own record: a name from before 0.4, or a moved file
        try:
            ds = _probe(spec_data, probe_size)
        except (InputError, FileNotFoundError) as e:
            return _skipped(
                f"the run records its data as {spec_data!r}, which does not load ({e}); pass it "
                "with netsci-dl analyze RUN --data SPEC"
            )
    else:
        ds = _probe(spec_data, probe_size)
    T = training_similarity(run, ds, measure=measure, within=False, spec=spec)
    table = _write_tables(ctx, T)
    figs = _figures(ctx, T)
    files = ["training_similarity.csv", "training_similarity_summary.csv"] + [
        rel(ctx, p) for pair in figs for p in pair
    ]
    summary = _summary(T, ds, measure)
    return Section(_TITLE, _body(ctx, figs, table, summary), files=tuple(files), summary=summary)


def _skipped(reason: str) -> Any:
    from netsci_dl.report._core import Section

    return Section(_TITLE, f"<p>Skipped: {html.escape(reason)}.</p>", summary={"skipped": reason})


def _probe(spec: str, probe_size: int) -> Any:
    """The probe examples: the data of ``spec``, a fixed random subset of ``probe_size`` at most."""
    from netsci_dl.datasets import load_dataset

    ds = load_dataset(spec)
    return ds.subset(probe_size, seed=0) if len(ds) > probe_size else ds


def _write_tables(ctx: Any, T: Any) -> Any:
    """``training_similarity.csv`` and ``training_similarity_summary.csv``; returns the summary
    table (one row per layer)."""
    csv_frame(T.to_frame()).to_csv(ctx.folder / "training_similarity.csv", index=False)
    summary = T.summary_frame()
    csv_frame(summary).to_csv(ctx.folder / "training_similarity_summary.csv", index=False)
    return summary


def _figures(ctx: Any, T: Any) -> list[tuple[Any, Any]]:
    """Similarity to the final state per layer (curves, then as a map), PNG and SVG paths."""
    from netsci_dl.plot import save_figure
    from netsci_dl.plot.similarity import plot_similarity_to_reference, plot_training_map

    return [
        save_figure(
            plot_similarity_to_reference(T, name=ctx.name, threshold=CONVERGED),
            ctx.figures / "training_similarity",
        ),
        save_figure(plot_training_map(T, name=ctx.name), ctx.figures / "training_similarity_map"),
    ]


def _summary(T: Any, ds: Any, measure: str) -> dict[str, Any]:
    """The section's scalars: the probe set and when each layer settles (None: never)."""
    converged = T.converged_at(CONVERGED)
    return {
        "measure": measure,
        "n_snapshots": T.n_snapshots,
        "x_label": T.settings.get("x_label", "training step (epochs)"),
        "probe_size": len(ds),
        "data": ds.name,
        "bottom_up": bool(T.bottom_up(CONVERGED)),
        "converged_at": {str(k): (None if v != v else int(v)) for k, v in zip(T.layers, converged)},
    }


def _body(ctx: Any, figs: list[tuple[Any, Any]], table: Any, s: dict[str, Any]) -> str:
    """The section's HTML (from its summary ``s``): when each layer settles, the two figures,
    the per-layer table."""
    from netsci_dl.report._core import figure_html, table_html

    order = ", ".join(
        f"{html.escape(lay)}: {'never' if v is None else v}" for lay, v in s["converged_at"].items()
    )
    verdict = (
        "the layers settle bottom-up here (each layer reaches its final state no later than "
        "the layer above)"
        if s["bottom_up"]
        else "the layers do not settle bottom-up here"
    )
    return (
        f"<p>{s['n_snapshots']} snapshots (x axis: {html.escape(s['x_label'])}), each layer compared with the same layer at the end of "
        f"the run ({html.escape(s['measure'])}, on {s['probe_size']} examples of "
        f"{html.escape(s['data'])}). "
        f"{html.escape(s['x_label']).capitalize()} from which each layer stays at {CONVERGED} or above: {order}. "
        f"In short: {verdict}.</p>"
        + figure_html(ctx, figs[0][0], "Similarity of each layer to its final state")
        + figure_html(ctx, figs[1][0], "The same as a map: layers by snapshots")
        + "<details><summary>Per layer</summary>"
        + table_html(table.set_index(table.columns[0]))
        + "</details>"
        + "<p class='note'>netsci-dl similarity RUN --data ... writes the layer-by-layer "
        "grids too; netsci-dl measures RUN adds Fisher, curvature and EI to the same "
        "snapshots.</p>"
    )
