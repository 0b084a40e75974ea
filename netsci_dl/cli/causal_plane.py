"""``netsci-dl causal-plane``: graph EI and each layer's causal-plane path over training."""

from __future__ import annotations

import click

from netsci_dl.cli._common import (
    echo,
    is_quiet,
    layer_ei_options,
    model_options,
    threads_option,
    threshold_option,
    write_csv,
    write_json,
)
from netsci_dl.cli._parallel import parallel_context, parallel_options

NAMES = ["trajectory.csv", "trajectory.json"] + [
    f"{s}.{e}" for s in ("causal_plane", "ei_vs_step") for e in ("png", "svg")
]


@click.command("causal-plane")
@click.argument(
    "sources", metavar="RUN_DIR_OR_CHECKPOINTS...", nargs=-1, required=True, type=click.Path()
)
@click.option(
    "-o", "--output", "out", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@layer_ei_options
@click.option(
    "--weights",
    type=click.Choice(["abs", "pos", "neg", "none"]),
    default="abs",
    show_default=True,
    help="Transition weight of the graph EI: |w|, positive part, |negative part|, or unweighted.",
)
@threshold_option("Applies to the graph EI only; none for the full graph.")
@threads_option()
@model_options
@parallel_options(what="snapshots")
@click.option("--name", default=None, help="Model name for the figure titles.")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.pass_context
def causal_plane(
    ctx: click.Context,
    sources: tuple[str, ...],
    out: str,
    ei_options: object,
    activation: str | None,
    weights: str,
    threshold_spec: str,
    threads: int | None,
    loader: object,
    jobs: int,
    scheduler: str | None,
    name: str | None,
    force: bool,
) -> None:
    """Graph EI and every layer's path in the causal plane (sensitivity vs degeneracy) over the
    snapshots of a training run (a run folder, or checkpoints in order; with --model your own
    checkpoints of that class: a folder or files, step or epoch from the names, else the position). Writes trajectory.csv,
    trajectory.json, causal_plane.{png,svg} and ei_vs_step.{png,svg} into OUTPUT."""
    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.plot.ei import ei_figures, noise_floor
    from netsci_dl.runs.trajectory import ei_trajectory

    folder = check_folder(out, NAMES, force=force)
    src = loader.snapshots(sources)  # type: ignore[attr-defined]
    with parallel_context(jobs, scheduler) as n_jobs:
        T = ei_trajectory(
            src,
            weights=None if weights == "none" else weights,
            threshold=threshold_spec,
            activations=activation,
            options=ei_options,
            num_threads=threads,
            progress=not is_quiet(ctx),
            n_jobs=n_jobs,
        )
    # every file goes to a hidden staging folder first: a failure leaves no partial results
    with atomic_outputs(folder, NAMES, force=force) as stage:
        write_csv(stage / "trajectory.csv", T.to_frame())
        write_json(stage / "trajectory.json", T.to_dict())
        blocks = T.settings.get("blocks")
        ei_figures(T, stage, name=name, noise_floor=noise_floor(T), block_names=blocks)
    blocks = T.settings["blocks"]
    lengths = ", ".join(f"{blocks[i]}: {v:.2f}" for i, v in enumerate(T.path_lengths()))
    echo(f"{T.n_snapshots} snapshots; causal-plane path lengths (bits): {lengths}")
    echo(f"wrote {folder}/ ({', '.join(NAMES)})")
