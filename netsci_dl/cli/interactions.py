"""``netsci-dl interactions``: AND / OR interactions of a classifier's output and of each layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from netsci_dl.cli._common import (
    device_option,
    echo,
    model_options,
    option_group,
    write_csv,
    write_json,
)
from netsci_dl.cli._data import check_model_data, data_options
from netsci_dl.cli._parallel import parallel_context, parallel_options
from netsci_dl.errors import InputError

TABLES = ("interactions.csv", "summary.json", "strength_by_order.csv", "layer_changes.csv")
FIGURES = ("strength_by_order", "salient_by_order", "layer_changes") + tuple(
    f"top_interactions_sample{s}" for s in (0, 1)
)


PLAYERS_HELP = "a grid such as 3x3, features:0-3,4-7, tokens or tokens:0-3,4-7"


def _grid(ctx: Any, param: Any, value: str) -> tuple[int, int] | str:
    if value.startswith(("features:", "tokens:")) or value == "tokens":
        return value
    try:
        g = tuple(int(v) for v in value.lower().split("x"))
    except ValueError:
        raise InputError(f"--players {value!r}: expected {PLAYERS_HELP}") from None
    if len(g) != 2 or min(g) < 1:
        raise InputError(f"--players {value!r}: expected {PLAYERS_HELP}")
    return g  # type: ignore[return-value]


def _shape(ctx: Any, param: Any, value: str | None) -> tuple[int, ...] | None:
    if not value:
        return None
    try:
        s = tuple(int(v) for v in value.lower().split("x"))
    except ValueError:
        raise InputError(f"--sample-shape {value!r}: expected e.g. 1x8x8") from None
    if min(s) < 1:
        raise InputError(f"--sample-shape {value!r}: sizes must be positive")
    return s


def _options(split: str, split_lr: float, iterations: int, qthres: float, **values: Any) -> Any:
    from netsci_dl.analysis.interactions import SplitOptions
    from netsci_dl.runs.interactions import InteractionOptions

    s = SplitOptions(qthres=qthres, iterations=iterations, lr=split_lr, method=split)
    return InteractionOptions(split=s, **values)


@click.command("interactions")
@click.argument(
    "sources", metavar="CHECKPOINT_OR_RUN...", nargs=-1, required=True, type=click.Path(exists=True)
)
@click.option(
    "-o", "--output", "out", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@data_options()
@option_group(
    "options",
    _options,
    click.option(
        "--players",
        default="3x3",
        show_default=True,
        callback=_grid,
        help="Grid of image patches, e.g. 3x3, or feature groups of tabular data, e.g. "
        "features:0-3,4-7,8 (flattened indices), or token positions of tokens:PATH data: "
        "tokens (each position) or tokens:0-3,4-7 (groups). At most 16 players.",
    ),
    click.option(
        "--explain", default=20, show_default=True, type=int, help="Examples of --data to explain."
    ),
    click.option(
        "--baseline",
        type=click.Choice(["zero", "mean", "learned"]),
        default="zero",
        show_default=True,
        help="Value of masked patches.",
    ),
    click.option(
        "--token-mask",
        type=click.Choice(["id", "attention"]),
        default="id",
        show_default=True,
        help="How a token outside a coalition is masked (token players): its id replaced by "
        "the mask id, or its attention_mask set to 0.",
    ),
    click.option(
        "--mask-id",
        default=None,
        type=int,
        help="Token id of masked tokens with --token-mask id (default: the model's "
        "mask_token_id, its tokenizer's mask token, else its pad_token_id).",
    ),
    click.option(
        "--split",
        type=click.Choice(["sgd", "lp"]),
        default="sgd",
        show_default=True,
        help="AND-OR split: CH24's SGD or the exact linear program.",
    ),
    click.option(
        "--iterations",
        default=2000,
        show_default=True,
        type=int,
        help="SGD iterations of the split.",
    ),
    click.option(
        "--split-lr",
        default=0.002,
        show_default=True,
        type=float,
        help="SGD learning rate of the split.",
    ),
    click.option("--qthres", default=0.02, show_default=True, type=float, help="Bound on |q|."),
    click.option(
        "--salient", default=0.05, show_default=True, type=float, help="Salient threshold."
    ),
    click.option(
        "--sample-shape",
        default=None,
        callback=_shape,
        help="One example as the model takes it, without the batch axis, e.g. 1x8x8 "
        "(default flat).",
    ),
    click.option(
        "--seed",
        default=0,
        show_default=True,
        type=int,
        help="Random seed: which examples are drawn.",
    ),
    device_option(),
)
@model_options(input_shape=False)
@click.option(
    "--snapshots", is_flag=True, help="Also every snapshot of a run (changes over training)."
)
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write the figures.")
@parallel_options(what="models (snapshots)")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
def interactions(
    sources: tuple[str, ...],
    out: str,
    data: str,
    options: Any,
    loader: Any,
    snapshots: bool,
    plots: bool,
    jobs: int,
    scheduler: str | None,
    force: bool,
) -> None:
    """AND / OR interactions (CH24) between image patches (feature groups, token positions) of
    the model's output and of each hidden layer (linear probes fitted on the whole data set), for --explain examples drawn from DATA.
    CHECKPOINT_OR_RUN is a model file or a run folder (its model.safetensors; with --snapshots
    every snapshot too), or with --model your own checkpoints of that class (in order). Writes interactions.csv (every value), summary.json,
    strength_by_order.csv, layer_changes.csv, figures, and snapshot_changes.csv."""
    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.datasets import load_dataset
    from netsci_dl.plot.interactions import interaction_figures
    from netsci_dl.runs.interactions import run_interactions

    names = list(TABLES) + (["snapshot_changes.csv"] if snapshots else [])
    figures = [f"{f}.{e}" for f in FIGURES for e in ("png", "svg")]
    folder = check_folder(out, names + (figures if plots else []), force=force)
    src = loader.snapshots(sources)
    check_model_data(src, load_dataset(data), input_shape=options.sample_shape, labels=True,
                     remedy="--resize HxW or --sample-shape")  # fmt: skip
    with parallel_context(jobs, scheduler) as n_jobs:
        run = run_interactions(src, data, options=options, snapshots=snapshots, n_jobs=n_jobs)
    R, figs = run.final, []
    # every file goes to a hidden staging folder first: a failure leaves no partial results
    pictures = len(run.image_shape) == 2  # examples drawn as images (not tokens, not tables)
    stale = [f for f in figures if not plots or (not pictures and f.startswith("top_"))]
    with atomic_outputs(folder, names + figures, force=force, stale=stale) as stage:
        write_csv(stage / "interactions.csv", run.to_frame())
        write_json(stage / "summary.json", run.to_dict())
        write_csv(stage / "strength_by_order.csv", run.strength_frame())
        write_csv(stage / "layer_changes.csv", run.layer_changes_frame())
        if snapshots:
            write_csv(stage / "snapshot_changes.csv", run.snapshot_changes_frame())
        if plots:
            figs = interaction_figures(
                R, stage, images=run.images if pictures else None, image_shape=run.image_shape,
                samples=(0, 1), name=Path(sources[0]).name,
            )  # fmt: skip
    frac = ", ".join(f"{n}: {f:.3f}" for n, f in zip(R.layers, R.sparsity()))
    echo(f"{len(run.results)} model(s), {R.n_players} players, {R.n_samples} samples")
    echo(f"salient fraction of AND+OR interactions per layer: {frac}")
    echo(f"wrote {folder}/ ({', '.join(names)} and {len(figs)} figure files)")
