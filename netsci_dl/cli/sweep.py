"""``netsci-dl sweep``: metrics over a grid of threshold cuts, the net against its null models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from netsci_dl.analysis.structure.sweep import NULLS, RULES
from netsci_dl.cli._common import (
    MAX_CUTS,
    MAX_N_NULL,
    LoaderOptions,
    bounded_int,
    echo,
    figure_names,
    is_quiet,
    loader_options,
    option_group,
    write_csv,
    write_json,
)
from netsci_dl.cli._parallel import parallel_context, parallel_options
from netsci_dl.errors import InputError

OUTPUTS = ("sweep.csv", "sweep.json")
FIGURE = "sweep"


def _parse_cuts(ctx: Any, param: Any, value: str | None) -> list[float] | None:
    """``"0.01,0.02,0.03"`` -> ``[0.01, 0.02, 0.03]``."""
    if value is None:
        return None
    parts = [v.strip() for v in value.split(",") if v.strip()]
    if len(parts) > MAX_CUTS:
        raise InputError(f"--cuts: {len(parts):,} cuts; at most {MAX_CUTS:,}")
    try:
        return [float(v) for v in parts]
    except ValueError:
        raise InputError(f"--cuts {value[:40]!r}: expected numbers separated by commas") from None


def _parse_nulls(ctx: Any, param: Any, value: str) -> list[str]:
    """``"replica,rewire"`` -> ``["replica", "rewire"]``; ``"none"`` or ``""`` -> ``[]``."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    return [] if names == ["none"] else names


@click.command("sweep")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option(
    "--cuts",
    default=None,
    callback=_parse_cuts,
    help="Cuts separated by commas, in the rule's units (e.g. 0.01,0.02,0.03). "
    "Default: --n-cuts cuts from keeping about 20% of the edges to about 0.05%.",
)
@click.option("--n-cuts", default=20, show_default=True, type=int,
              callback=bounded_int(1, MAX_CUTS), help="Cuts of the default grid.")  # fmt: skip
@click.option(
    "--rule",
    type=click.Choice(list(RULES)),
    default="value",
    show_default=True,
    help="Threshold rule: value keeps |w| > c (both signs); the others as in --threshold "
    "of the other commands.",
)
@option_group(
    "null_options",
    dict,
    click.option(
        "--nulls",
        default=",".join(NULLS),
        callback=_parse_nulls,
        show_default=True,
        help="Null models separated by commas: replica (layered random replica), rewire "
        "(degree-preserving rewiring within each block); 'none' for the net only.",
    ),
    click.option(
        "--n-null",
        default=10,
        show_default=True,
        type=int,
        callback=bounded_int(0, MAX_N_NULL),
        help="Replicas of each null per cut.",
    ),
    click.option(
        "--seed", default=0, show_default=True, type=int, help="Random seed of the null models."
    ),
    click.option(
        "--geodesic-sources",
        default=None,
        type=int,
        help="Estimate the mean geodesic from this many random sources (default: exact, all).",
    ),
    click.option(
        "--rewire-rounds",
        default=20,
        show_default=True,
        type=int,
        help="Curveball rounds of the rewiring null.",
    ),
)
@click.option("--name", default=None, help="Model name shown in the title (default: file name).")
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write the figures.")
@parallel_options(what="cuts")
@loader_options
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.pass_context
def sweep(
    ctx: click.Context,
    checkpoint: str,
    output: str,
    cuts: list[float] | None,
    n_cuts: int,
    rule: str,
    null_options: dict[str, Any],
    name: str | None,
    plots: bool,
    jobs: int,
    scheduler: str | None,
    loader: LoaderOptions,
    force: bool,
) -> None:
    """Threshold CHECKPOINT over a grid of cuts and measure, for the net and its null models
    (layered random replica, degree-preserving rewiring within each block): edges, mean degree,
    isolated fraction, components, giant fraction, mean geodesic on the giant, assortativity r.
    Writes OUTPUT/sweep.csv (one row per cut, model, replica), sweep.json (the parameters) and
    sweep.png/.svg (each metric against the cut, the net against the null bands)."""
    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.analysis.structure.sweep import default_cuts, threshold_sweep

    figures = figure_names(FIGURE)
    names = list(OUTPUTS) + (figures if plots else [])
    out = check_folder(output, names, force=force)
    G = loader.load(checkpoint)
    grid = cuts if cuts is not None else default_cuts(G, rule=rule, n=n_cuts).tolist()
    with parallel_context(jobs, scheduler) as n_jobs:
        df = threshold_sweep(
            G, grid, rule=rule, **null_options, progress=not is_quiet(ctx), n_jobs=n_jobs
        )
    params = dict(df.attrs, source=str(checkpoint), cuts=list(map(float, grid)))
    # every file goes to a hidden staging folder first: a failure leaves no partial results
    with atomic_outputs(out, names, force=force, stale=[] if plots else figures) as stage:
        write_csv(stage / "sweep.csv", df)
        write_json(stage / "sweep.json", params)
        if plots:
            from netsci_dl.plot import save_figure
            from netsci_dl.plot.sweep import plot_sweep

            fig = plot_sweep(df, rule=rule, name=name or Path(checkpoint).name)
            save_figure(fig, stage / FIGURE)
    echo(f"{len(grid)} cuts, {len(df)} graphs; wrote {out}/")
