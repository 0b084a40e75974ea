"""``netsci-dl similarity``: layer similarity over training (CKA, SVCCA, PWCCA ...) on data."""

from __future__ import annotations

import json
from typing import Any

import click

from netsci_dl.analysis.similarity import MEASURES
from netsci_dl.cli._common import (
    device_option,
    echo,
    figure_names,
    is_quiet,
    model_options,
    option_group,
    probe_size_option,
    write_csv,
    write_json,
)
from netsci_dl.cli._data import check_model_data, data_options
from netsci_dl.cli._parallel import parallel_context, parallel_options
from netsci_dl.errors import InputError

FIGURES = (
    "similarity_to_reference",
    "similarity_map",
    "similarity_first_vs_reference",
    "similarity_within",
)
TABLES = ("similarity.csv", "similarity_summary.csv", "similarity.json")


def _keep(ctx: Any, param: Any, value: str) -> float | int:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        raise InputError(
            f"--keep {value!r}: a fraction such as 0.99, or a number of directions"
        ) from None


def _names(ctx: Any, param: Any, value: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


def _reference(value: str) -> int | str:
    try:
        return int(value)
    except ValueError:
        return value


def _options(**values: Any) -> Any:
    from netsci_dl.analysis.similarity import SimilarityOptions

    return SimilarityOptions(**values)


def _spec(**values: Any) -> Any:
    from netsci_dl.runs.similarity import ActivationSpec

    return ActivationSpec(**values)


@click.command("similarity")
@click.argument(
    "sources", metavar="RUN_DIR_OR_CHECKPOINTS...", nargs=-1, required=True, type=click.Path()
)
@click.option(
    "-o", "--output", "out", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@data_options(what="The data set of the probe examples")
@click.option(
    "--measure",
    type=click.Choice(sorted(MEASURES)),
    default="cka",
    show_default=True,
    help="Similarity measure.",
)
@probe_size_option()
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Random seed of the probe set."
)
@click.option(
    "--reference",
    default="-1",
    show_default=True,
    help="Snapshot every layer is compared with: an index (-1 = last) or a checkpoint path.",
)
@option_group(
    "spec",
    _spec,
    click.option(
        "--activation-layers",
        "layers",
        default=None,
        callback=_names,
        help="Layers whose activations are compared: comma-separated module names of the "
        "model (default: all layers).",
    ),
    click.option(
        "--pool",
        type=click.Choice(["mean", "none", "dft"]),
        default="mean",
        show_default=True,
        help="How convolutional outputs become units.",
    ),
    click.option(
        "--batch-size", default=256, show_default=True, type=int, help="Examples per batch."
    ),
    device_option(),
)
@option_group(
    "options",
    _options,
    click.option(
        "--keep",
        default="0.99",
        show_default=True,
        callback=_keep,
        help="SVCCA: variance fraction kept (float) or number of directions (int).",
    ),
    click.option(
        "--criterion",
        type=click.Choice(["variance", "mass"]),
        default="variance",
        show_default=True,
        help="SVCCA cut: fraction of sum s^2 (R17) or of sum s (google/svcca tutorials).",
    ),
    click.option(
        "--rbf-scale", default=0.5, show_default=True, type=float, help="RBF CKA bandwidth."
    ),
)
@model_options
@click.option("--no-within", is_flag=True, help="Skip the layer x layer grid of each snapshot.")
@click.option(
    "--stream",
    is_flag=True,
    help="Never hold activation matrices (linear CKA measures only).",
)
@click.option("--name", default=None, help="Model name for the figure titles.")
@parallel_options(what="snapshots")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.pass_context
def similarity(
    ctx: click.Context,
    sources: tuple[str, ...],
    out: str,
    data: str,
    measure: str,
    probe_size: int,
    seed: int,
    reference: str,
    spec: Any,
    options: Any,
    loader: Any,
    no_within: bool,
    stream: bool,
    name: str | None,
    jobs: int,
    scheduler: str | None,
    force: bool,
) -> None:
    """Similarity of every layer at every snapshot to the reference (last) snapshot, and
    between the layers of each snapshot, on the examples of --data. SOURCES: a run folder, or
    checkpoints in order (with --model: your own checkpoints of that class, or Hugging Face
    folders; a folder or files; step or epoch from the names, else the position). Writes similarity.csv (long table), similarity_summary.csv (per layer:
    first value, minimum, step of convergence), similarity.json and figures (PNG + SVG) into
    OUTPUT."""
    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.datasets import load_dataset
    from netsci_dl.plot.similarity import similarity_figures
    from netsci_dl.runs.similarity import training_similarity

    within = figure_names("similarity_within") if no_within else []
    names = [n for n in list(TABLES) + figure_names(*FIGURES) if n not in within]
    folder = check_folder(out, names, force=force)
    src, spec = loader.snapshots(sources), loader.with_input_shape(spec)
    ds = load_dataset(data).subset(probe_size, seed=seed)
    check_model_data(src, ds, input_shape=spec.input_shape, layers=spec.layers)  # before work
    with parallel_context(jobs, scheduler) as n_jobs:
        T = training_similarity(
            src, ds, measure=measure, options=options, spec=spec, reference=_reference(reference),
            within=not no_within, stream=stream, progress=not is_quiet(ctx), n_jobs=n_jobs,
        )  # fmt: skip
    summary, doc = _document(T)
    # every file goes to a hidden staging folder first: a failure leaves no partial results
    with atomic_outputs(folder, names, force=force, stale=within) as stage:
        write_csv(stage / "similarity.csv", T.to_frame())
        write_csv(stage / "similarity_summary.csv", summary)
        write_json(stage / "similarity.json", doc)
        similarity_figures(T, stage, name=name)
    echo(_convergence(T, ds.name, measure))
    echo(f"wrote {folder}/ ({', '.join(names)})")


def _document(T: Any) -> tuple[Any, dict[str, Any]]:
    """The summary table and similarity.json of ``T``."""
    summary = T.summary_frame()
    doc = dict(T.to_dict(), summary=json.loads(summary.to_json(orient="records")))
    doc["bottom_up"] = {f"{t:g}": T.bottom_up(t) for t in (0.9, 0.95, 0.99)}
    return summary, doc


def _convergence(T: Any, data: str, measure: str) -> str:
    """When each layer settles (stays >= 0.9 to the reference), and whether bottom-up."""
    conv = ", ".join(
        f"{lay}: {'never' if v != v else int(v)}" for lay, v in zip(T.layers, T.converged_at(0.9))
    )
    return (
        f"{T.n_snapshots} snapshots, {T.settings['n_samples']} examples of {data}; "
        f"step from which each layer stays >= 0.9 {measure} to the reference: {conv}; "
        f"bottom-up: {'yes' if T.bottom_up(0.9) else 'no'}"
    )
