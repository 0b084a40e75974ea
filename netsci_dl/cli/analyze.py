"""``netsci-dl analyze``: checkpoint -> report folder (index.html, summary.json, CSVs, figures)."""

from __future__ import annotations

from pathlib import Path

import click

from netsci_dl.cli._common import LoaderOptions, echo, loader_options, threshold_option
from netsci_dl.cli._data import check_run, data_options
from netsci_dl.errors import InputError


@click.command()
@click.argument("checkpoint", metavar="CHECKPOINT_OR_RUN_DIR", type=click.Path())
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
    what="The data set of a run folder's training section (its probe data; default: the "
    "run's own, from its config.json)",
)
@loader_options
@click.option("--force", is_flag=True, help="Replace the report files of an existing folder.")
def analyze(
    checkpoint: str,
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
    """Analyse CHECKPOINT as a graph and write a report folder: OUTPUT/index.html. A run folder
    (from train-dbn or the trainers) is analysed at its final model, and the report gains a
    section on how each layer's representation settles over the run's snapshots."""
    from netsci_dl._files.atomic import check_folder
    from netsci_dl.report import write_report
    from netsci_dl.runs.files import final_model

    out = check_folder(output, force=force, nonempty_needs_force=True)
    from netsci_dl.export.hf import is_hf_folder

    run = Path(checkpoint) if Path(checkpoint).is_dir() and not is_hf_folder(checkpoint) else None
    if run is None and data is not None:
        raise InputError("--data is for a run folder (its training section)")
    if run is not None:
        check_run(run, data)  # its config.json, sidecars and --data, before any work
    G = loader.load(final_model(run) if run is not None else checkpoint)
    other = loader.load(compare_path) if compare_path else None
    index = write_report(
        G,
        out,
        compare=other,
        threshold=threshold_spec,
        force=force,
        name=name or Path(checkpoint).resolve().name,
        compare_name=Path(compare_path).name if compare_path else None,
        compare_by=compare_by,
        sections=_sections(modules_layer, modules_k, run, data),
    )
    echo(f"wrote {index}")


def _sections(
    modules_layer: str, modules_k: int | None, run: Path | None, data: str | None
) -> list:
    """The report's sections: the default ones, the modules section at ``--modules-layer`` /
    ``--modules-k``, and for a run folder its training section before the last."""
    from functools import partial

    from netsci_dl.report import DEFAULT_SECTIONS
    from netsci_dl.report.modules import modules_section

    layer: int | str = int(modules_layer) if modules_layer.lstrip("-").isdigit() else modules_layer
    sections = [
        partial(modules_section, layer=layer, k=modules_k) if b is modules_section else b
        for b in DEFAULT_SECTIONS
    ]
    if run is not None:
        from netsci_dl.report.training import training_section

        sections.insert(-1, partial(training_section, run=run, data=data))
    return sections
