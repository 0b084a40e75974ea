"""``netsci-dl analyze``: checkpoint -> report folder (index.html, summary.json, CSVs, figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from netsci_dl.cli._common import LoaderOptions, echo, loader_options, threshold_option
from netsci_dl.cli._data import check_run, data_options
from netsci_dl.errors import InputError


@click.command()
@click.argument(
    "sources", metavar="CHECKPOINT_OR_RUN...", nargs=-1, required=True, type=click.Path()
)
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Report folder."
)
@click.option(
    "--compare",
    "compare_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="A second checkpoint (e.g. before training); shifts are CHECKPOINT minus it.",
)
@click.option(
    "--compare-by",
    type=click.Choice(["name", "position"]),
    default="name",
    show_default=True,
    help="Pair the layers of --compare by name (unmatched names are an error) or by position.",
)
@threshold_option()
@click.option("--name", default=None, help="Model name shown in titles (default: the file name).")
@click.option(
    "--modules-layer",
    default="1",
    show_default=True,
    help="Layer (index 1..L-1 or name) whose receptive fields are clustered into functional "
    "modules (the report's modules section).",
)
@click.option(
    "--modules-k",
    default=None,
    type=int,
    help="Number of functional modules (default: min(20, units // 5)).",
)
@data_options(
    default=None,
    what="The data set of a run's training section (its probe data; default: a run folder's "
    "own, from its config.json)",
)
@loader_options
@click.option("--force", is_flag=True, help="Replace the report files of an existing folder.")
def analyze(
    sources: tuple[str, ...],
    output: str,
    compare_path: str | None,
    compare_by: str,
    threshold_spec: str,
    name: str | None,
    modules_layer: str,
    modules_k: int | None,
    data: str | None,
    loader: LoaderOptions,
    force: bool,
) -> None:
    """Analyse a checkpoint as a graph and write a report folder: OUTPUT/index.html. A run (a
    netsci_dl run folder, a folder of your checkpoints such as epoch_1.pt ... with --model, HF
    Trainer checkpoint-N/ folders, Lightning .ckpt files, or several checkpoints in order) is
    analysed at its last snapshot, and the report gains the graph at each snapshot (x axis:
    epoch, step or checkpoint index, as the names say) and, with data, how each layer's
    representation settles.

    \b
    From Python, the same calls:
      items = netsci_dl.runs.checkpoint_models(folder, model=Net)
      G = netsci_dl.load(items[-1].path, model=Net(), example_input=x)
      netsci_dl.runs.graph_measures_over_training(items, load_with={"example_input": x})
      netsci_dl.runs.training_similarity(items, netsci_dl.datasets.load(spec))
      netsci_dl.report.write_report(G, out, sections=[...]) with
      report.trajectory.graph_trajectory_section and report.training.training_section."""
    from netsci_dl._files.atomic import check_folder
    from netsci_dl.report import write_report

    out = check_folder(output, force=force, nonempty_needs_force=True)
    final, run = _run_of(sources, loader)
    if run is None and data is not None:
        raise InputError("--data is for a run (a run folder or several checkpoints)")
    if run is not None:
        check_run(run, data)  # its config.json, sidecars and --data, before any work
    G = loader.load(final)
    other = loader.load(compare_path) if compare_path else None
    first = Path(sources[0] if len(sources) == 1 else final).resolve().name  # what is shown
    extra = _run_sections(run, data, loader, final) if run is not None else []
    index = write_report(
        G,
        out,
        compare=other,
        threshold=threshold_spec,
        force=force,
        name=name or first,
        compare_name=Path(compare_path).name if compare_path else None,
        compare_by=compare_by,
        sections=_sections(modules_layer, modules_k, extra),
    )
    echo(f"wrote {index}")


def _run_of(sources: tuple[str, ...], loader: LoaderOptions) -> tuple[Any, Any]:
    """``(the checkpoint whose graph is the report's, the run's snapshots or None)``: a
    netsci_dl run folder (its path), a user's checkpoints with their class or HF folders
    (:func:`netsci_dl.runs.checkpoint_models`), or plain checkpoint paths (graphs only)."""
    from netsci_dl.export.hf import is_hf_folder
    from netsci_dl.runs.files import FINAL_MODEL, final_model
    from netsci_dl.runs.format import list_snapshots, snapshot_sources

    for s in sources:
        if not Path(s).exists():
            raise FileNotFoundError(f"{s}: no such checkpoint or run folder")
    one = Path(sources[0])
    if len(sources) == 1 and (not one.is_dir() or is_hf_folder(one)):
        return sources[0], None
    if len(sources) == 1 and ((one / FINAL_MODEL).is_file() or list_snapshots(one)):
        return final_model(one), one  # a netsci_dl run folder
    paths = [p for p, _ in snapshot_sources(list(sources))]
    if loader.model is not None or all(is_hf_folder(p) for p in paths):
        run = loader.snapshots(list(sources))
        return run[-1].path, run
    return paths[-1], list(sources)  # plain checkpoints: their graphs only


def _run_sections(run: Any, data: str | None, loader: LoaderOptions, final: Any) -> list:
    """The sections of a run: the graph at each snapshot, and its training section."""
    from functools import partial

    from netsci_dl.report.training import training_section
    from netsci_dl.report.trajectory import graph_trajectory_section
    from netsci_dl.runs.similarity import ActivationSpec

    spec = loader.with_input_shape(ActivationSpec())
    graphs = run[0] if isinstance(run, list) and len(run) == 1 else run
    return [
        partial(graph_trajectory_section, snapshots=graphs, load_with=loader.kwargs(final)),
        partial(training_section, run=run, data=data, spec=spec),
    ]


def _sections(modules_layer: str, modules_k: int | None, run_sections: list) -> list:
    """The report's sections: the default ones, the modules section at ``--modules-layer`` /
    ``--modules-k``, and for a run its sections (:func:`_run_sections`) before the last."""
    from functools import partial

    from netsci_dl.report import DEFAULT_SECTIONS
    from netsci_dl.report.modules import modules_section

    layer: int | str = int(modules_layer) if modules_layer.lstrip("-").isdigit() else modules_layer
    sections = [
        partial(modules_section, layer=layer, k=modules_k) if b is modules_section else b
        for b in DEFAULT_SECTIONS
    ]
    return sections[:-1] + run_sections + sections[-1:]
