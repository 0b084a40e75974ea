"""``netsci-dl measures``: every per-snapshot measure of a run in one long table and figure."""

from __future__ import annotations

import json

import click

from netsci_dl.cli._common import layer_ei_options, threshold_option
from netsci_dl.cli._parallel import parallel_context, parallel_options
from netsci_dl.errors import InputError

OUTPUTS = ("measures.csv", "measures.json")
FIGURE = "measures"


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
@click.option(
    "--data",
    default="digits",
    show_default=True,
    help="Probe examples and labels: 'digits' or 'mnist:PATH'.",
)
@click.option(
    "--probe-size",
    default=500,
    show_default=True,
    type=int,
    help="Examples of --data used as the probe set (the same at every snapshot).",
)
@click.option(
    "--fisher-kind",
    type=click.Choice(["model_exact", "model", "empirical"]),
    default="model_exact",
    show_default=True,
)
@click.option("--lanczos-iter", default=20, show_default=True, type=int)
@click.option("--hutchinson-probes", default=0, show_default=True, type=int)
@click.option("--gradcov/--no-gradcov", default=True, show_default=True)
@click.option(
    "--similarity",
    "sim_measure",
    default="cka",
    show_default=True,
    help="Similarity of each layer to its final state (cka, svcca, pwcca, ...).",
)
@layer_ei_options
@threshold_option("Applies to the graph EI only; none for the full graph.")
@click.option("--x", "x_axis", type=click.Choice(["step", "epoch"]), default="step")
@click.option("--name", default=None, help="Model name for the figure title.")
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write the figure.")
@parallel_options(jobs_default=1, what="snapshots")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.pass_context
def measures(
    ctx: click.Context,
    sources: tuple[str, ...],
    output: str,
    families: str,
    data: str,
    probe_size: int,
    fisher_kind: str,
    lanczos_iter: int,
    hutchinson_probes: int,
    gradcov: bool,
    sim_measure: str,
    ei_options: object,
    activation: str | None,
    threshold_spec: str,
    x_axis: str,
    name: str | None,
    plots: bool,
    jobs: int,
    scheduler: str | None,
    force: bool,
) -> None:
    """Follow a training run with every measure: graph and layer EI from the weights, Fisher
    trace per layer, curvature (Hessian, gradient covariance) and each layer's similarity to
    its final state on --data, and the trainer's accuracy and loss. Writes measures.csv (one
    row per snapshot, layer, metric), measures.json (the settings) and measures.png/.svg."""
    from pathlib import Path

    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl._sanitize import csv_frame
    from netsci_dl.cli._common import echo
    from netsci_dl.datasets import load_dataset
    from netsci_dl.runs.measures import TrainingMeasureOptions, training_measures

    out = Path(output)
    figures = [f"{FIGURE}.png", f"{FIGURE}.svg"]
    names = list(OUTPUTS) + (figures if plots else [])
    check_folder(out, names, force=force)
    for s in sources:
        if not Path(s).exists():
            raise FileNotFoundError(f"{s}: no such run folder or snapshot")
    if probe_size < 2:
        raise InputError(f"--probe-size {probe_size}: need at least 2 examples")
    opts = TrainingMeasureOptions(
        ei=ei_options,
        ei_activations=activation,
        ei_threshold=threshold_spec,
        fisher_kind=fisher_kind,
        lanczos_iter=lanczos_iter,
        hutchinson_probes=hutchinson_probes,
        gradcov=gradcov,
        similarity=sim_measure,
        seed=ei_options.seed,  # type: ignore[attr-defined]
        device=ei_options.device,  # type: ignore[attr-defined]
    )
    ds = load_dataset(data).subset(probe_size, seed=opts.seed)
    src = sources[0] if len(sources) == 1 and Path(sources[0]).is_dir() else list(sources)
    with parallel_context(jobs, scheduler) as n_jobs:
        df = training_measures(
            src,
            ds,
            measures=families,
            options=opts,
            n_jobs=n_jobs,
            progress=not (ctx.obj and ctx.obj.get("quiet")),
        )
    doc = dict(df.attrs, sources=list(sources), data=ds.name, metrics=sorted(set(df["metric"])))
    with atomic_outputs(out, names, force=force, stale=[] if plots else figures) as stage:
        csv_frame(df).to_csv(stage / "measures.csv", index=False)
        (stage / "measures.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
        if plots:
            from netsci_dl.plot import save_figure
            from netsci_dl.plot.measures import plot_measures

            save_figure(plot_measures(df, x=x_axis, name=name), stage / FIGURE)
    echo(
        f"{df['snapshot'].nunique()} snapshots, {df['metric'].nunique()} metrics "
        f"({', '.join(dict.fromkeys(df['family']))}); wrote {out}/"
    )
