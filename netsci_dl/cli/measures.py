"""``netsci-dl measures``: every per-snapshot measure of a run in one long table and figure."""

from __future__ import annotations

from typing import Any

import click

from netsci_dl.cli._common import (
    curvature_options,
    echo,
    figure_names,
    is_quiet,
    layer_ei_options,
    model_options,
    option_group,
    probe_size_option,
    threshold_option,
    write_csv,
    write_json,
)
from netsci_dl.cli._data import check_model_data, data_options
from netsci_dl.cli._parallel import parallel_context, parallel_options

OUTPUTS = ("measures.csv", "measures.json")
FIGURE = "measures"


def _options(ei_options: Any, activation: str | None, threshold_spec: str, **values: Any) -> Any:
    """The :class:`~netsci_dl.runs.measures.TrainingMeasureOptions` of the options (the seed
    and device of the layer EI are every measure's)."""
    from netsci_dl.runs.measures import TrainingMeasureOptions

    return TrainingMeasureOptions(
        ei=ei_options,
        ei_activations=activation,
        ei_threshold=threshold_spec,
        seed=ei_options.seed,
        device=ei_options.device,
        **values,
    )


@click.command("measures")
@click.argument(
    "sources", metavar="RUN_DIR_OR_SNAPSHOTS...", nargs=-1, required=True, type=click.Path()
)
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option(
    "--measures",
    "families",
    default="ei,fisher,curvature,similarity",
    show_default=True,
    help="Comma-separated families: ei (weights), fisher, curvature, similarity (on --data).",
)
@data_options(what="The data set of the probe examples and labels")
@probe_size_option()
@layer_ei_options
@threshold_option("Applies to the graph EI only; none for the full graph.")
@option_group(
    "options",
    _options,
    *curvature_options(),
    click.option(
        "--similarity",
        default="cka",
        show_default=True,
        help="Similarity of each layer to its final state (cka, svcca, pwcca, ...).",
    ),
    also=("ei_options", "activation", "threshold_spec"),
)
@model_options
@click.option(
    "--x",
    "x_axis",
    type=click.Choice(["step", "epoch"]),
    default="step",
    show_default=True,
    help="x axis of the figure: training step or epoch.",
)
@click.option("--name", default=None, help="Model name for the figure title.")
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write the figure.")
@parallel_options(what="snapshots")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.pass_context
def measures(
    ctx: click.Context,
    sources: tuple[str, ...],
    output: str,
    families: str,
    data: str,
    probe_size: int,
    options: Any,
    loader: Any,
    x_axis: str,
    name: str | None,
    plots: bool,
    jobs: int,
    scheduler: str | None,
    force: bool,
) -> None:
    """Follow a training run with every measure: graph and layer EI from the weights, Fisher
    trace per layer, curvature (Hessian, gradient covariance) and each layer's similarity to
    its final state on --data, and the trainer's accuracy and loss. With --model: your own
    checkpoints of that class (a folder or files; step or epoch from the names, else the
    position). Writes measures.csv (one row per snapshot, layer, metric), measures.json (the
    settings) and measures.png/.svg."""
    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.datasets import load_dataset
    from netsci_dl.runs.measures import training_measures

    figures = figure_names(FIGURE)
    names = list(OUTPUTS) + (figures if plots else [])
    out = check_folder(output, names, force=force)
    src = loader.snapshots(sources, "snapshot")
    ds = load_dataset(data).subset(probe_size, seed=options.seed)
    if set(families.replace(" ", "").split(",")) - {"ei"}:  # a family that runs on --data
        check_model_data(src, ds, input_shape=loader.sample_shape, labels=True)
    with parallel_context(jobs, scheduler) as n_jobs:
        df = training_measures(src, loader.inputs(ds), ds.y, measures=families, options=options,
                               n_jobs=n_jobs, progress=not is_quiet(ctx))  # fmt: skip
    doc = dict(df.attrs, sources=list(sources), data=ds.name, metrics=sorted(set(df["metric"])))
    with atomic_outputs(out, names, force=force, stale=[] if plots else figures) as stage:
        write_csv(stage / "measures.csv", df)
        write_json(stage / "measures.json", doc, default=str)
        if plots:
            from netsci_dl.plot import save_figure
            from netsci_dl.plot.measures import plot_measures

            save_figure(plot_measures(df, x=x_axis, name=name), stage / FIGURE)
    echo(
        f"{df['snapshot'].nunique()} snapshots, {df['metric'].nunique()} metrics "
        f"({', '.join(dict.fromkeys(df['family']))}); wrote {out}/"
    )
