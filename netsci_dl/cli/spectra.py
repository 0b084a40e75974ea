"""``netsci-dl spectra``: the spectrum of every weight matrix and kernel of a checkpoint."""

from __future__ import annotations

from pathlib import Path

import click

from netsci_dl.cli._common import (
    LoaderOptions,
    echo,
    is_quiet,
    loader_options,
    write_csv,
    write_json,
)
from netsci_dl.cli._parallel import parallel_context, parallel_options
from netsci_dl.errors import InputError

OUTPUTS = ("spectra.csv", "spectra.json", "esd.png", "esd.svg", "alpha.png", "alpha.svg")
#: loader options that build a graph, and so mean nothing to the raw tensors
_GRAPH_ONLY = ("conv_reduce", "image_shape", "model", "input_shape", "fold_batchnorm")


def _check(loader: LoaderOptions, xmin: str) -> float | str | None:
    used = [o for o in _GRAPH_ONLY if getattr(loader, o) != getattr(LoaderOptions(), o)]
    if used:
        opts = ", ".join("--" + o.replace("_", "-") for o in used)
        raise InputError(f"{opts}: spectra reads the raw weight tensors; no graph is built")
    if xmin in ("ks", "peak"):
        return None if xmin == "ks" else xmin
    try:
        return float(xmin)
    except ValueError:
        raise InputError(f"--xmin {xmin!r}: expected ks, peak or a positive number") from None


@click.command("spectra")
@click.argument("checkpoint", type=click.Path())
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option("--delta-from", "reference", default=None, type=click.Path(),
              help="A checkpoint to subtract: the spectra of W - W_from instead (Delta W), "
              "matrices paired by name.")  # fmt: skip
@click.option("--xmin", default="ks", show_default=True,
              help="Tail of the power-law fit: ks (minimal KS distance), peak (searched in "
              "[0.95, 1.5] x the peak of the ESD) or a number.")  # fmt: skip
@click.option("--compat", type=click.Choice(["none", "weightwatcher"]), default="none",
              show_default=True, help="weightwatcher: its eigenvalue floor 1e-5, its xmin scan "
              "(tails down to 2) under --xmin ks, and its log10 lower bound of the peak "
              "window (mixing log and linear units).")  # fmt: skip
@click.option("--traps/--no-traps", default=True, show_default=True,
              help="Count correlation traps (spikes of each matrix with its entries shuffled).")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed of the shuffles.")
@loader_options
@parallel_options(what="matrices")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.pass_context
def spectra(ctx: click.Context, checkpoint: str, output: str, reference: str | None, xmin: str,
            compat: str, traps: bool, seed: int, loader: LoaderOptions, jobs: int,
            scheduler: str | None, force: bool) -> None:  # fmt: skip
    """Eigenvalues of W^T W for every weight matrix and kernel of CHECKPOINT: power-law alpha,
    norms, stable rank, Marchenko-Pastur spikes, correlation traps. Writes spectra.csv (one
    row per matrix), spectra.json and the figures esd and alpha (.png/.svg) into -o."""
    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.plot.spectra import spectra_figures
    from netsci_dl.runs.spectra import checkpoint_spectra

    rule = _check(loader, xmin)
    out = check_folder(Path(output), OUTPUTS, force=force)
    with parallel_context(jobs, scheduler) as n_jobs:
        S = checkpoint_spectra(checkpoint, reference=reference, layers=loader.layers,
                               layout=loader.layout, state_dict_key=loader.state_dict_key,
                               xmin=rule, compat=None if compat == "none" else compat, traps=traps,
                               seed=seed, n_jobs=n_jobs,
                               progress=not is_quiet(ctx))  # fmt: skip
    with atomic_outputs(out, OUTPUTS, force=force) as stage:
        write_csv(stage / "spectra.csv", S.to_frame())
        write_json(stage / "spectra.json", S.to_dict())
        spectra_figures(S, stage)
    echo(f"{S!r}; wrote {out}/")
