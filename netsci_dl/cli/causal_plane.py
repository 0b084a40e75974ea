"""``netsci-dl causal-plane``: graph EI and each layer's causal-plane path over training."""

from __future__ import annotations

import json

import click

from netsci_dl.cli._common import layer_ei_options, threshold_option
from netsci_dl.cli._parallel import parallel_context, parallel_options


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
    help="Transition weight of the graph EI.",
)
@threshold_option("Applies to the graph EI only; none for the full graph.")
@click.option(
    "--threads",
    default=None,
    type=click.IntRange(min=1),
    help="torch CPU threads (1 is fastest for small layers on a busy machine).",
)
@parallel_options(jobs_default=1, what="snapshots")
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
    jobs: int,
    scheduler: str | None,
    name: str | None,
    force: bool,
) -> None:
    """Graph EI and every layer's path in the causal plane (sensitivity vs degeneracy) over the
    snapshots of a training run (a run folder, or checkpoints in order). Writes trajectory.csv,
    trajectory.json, causal_plane.{png,svg} and ei_vs_step.{png,svg} into OUTPUT."""
    from pathlib import Path

    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl._sanitize import csv_frame
    from netsci_dl.cli._common import echo
    from netsci_dl.plot.ei import ei_figures, noise_floor
    from netsci_dl.runs.trajectory import ei_trajectory

    folder = Path(out)
    names = ["trajectory.csv", "trajectory.json"] + [
        f"{s}.{e}" for s in ("causal_plane", "ei_vs_step") for e in ("png", "svg")
    ]
    check_folder(folder, names, force=force)
    for s in sources:
        if not Path(s).exists():
            raise FileNotFoundError(f"{s}: no such run folder or checkpoint")
    src = sources[0] if len(sources) == 1 and Path(sources[0]).is_dir() else list(sources)
    with parallel_context(jobs, scheduler) as n_jobs:
        T = ei_trajectory(
            src,
            weights=None if weights == "none" else weights,
            threshold=threshold_spec,
            activations=activation,
            options=ei_options,
            num_threads=threads,
            progress=not (ctx.obj and ctx.obj.get("quiet")),
            n_jobs=n_jobs,
        )
    # every file goes to a hidden staging folder first: a failure leaves no partial results
    with atomic_outputs(folder, names, force=force) as stage:
        csv_frame(T.to_frame()).to_csv(stage / "trajectory.csv", index=False)
        (stage / "trajectory.json").write_text(json.dumps(T.to_dict(), indent=2) + "\n")
        ei_figures(
            T, stage, name=name, noise_floor=noise_floor(T), block_names=T.settings.get("blocks")
        )
    blocks = T.settings["blocks"]
    lengths = ", ".join(f"{blocks[i]}: {v:.2f}" for i, v in enumerate(T.path_lengths()))
    echo(f"{T.n_snapshots} snapshots; causal-plane path lengths (bits): {lengths}")
    echo(f"wrote {folder}/ ({', '.join(names)})")
