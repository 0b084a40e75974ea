"""``netsci-dl motifs``: 3- and 4-node motifs of the thresholded DAG against layered nulls."""

from __future__ import annotations

import click

from netsci_dl.cli._common import (
    MAX_N_NULL,
    LoaderOptions,
    bounded_int,
    loader_options,
    threshold_option,
    write_csv,
    write_json,
)
from netsci_dl.cli._parallel import parallel_context, parallel_options


@click.command("motifs")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@threshold_option("Motifs need a thresholded graph.")
@click.option("--null", default="rewire", show_default=True,
              type=click.Choice(["rewire", "replica"]), help="The layered null model.")  # fmt: skip
@click.option(
    "--n-null",
    default=20,
    show_default=True,
    type=int,
    callback=bounded_int(0, MAX_N_NULL),
    help="Replicas of each null model: the null graphs the counts are compared with.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option("--include-identity", is_flag=True, help="Count identity (skip) blocks as edges.")
@parallel_options(what="null graphs")
@loader_options
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Output folder.")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
def motifs(
    checkpoint: str,
    threshold_spec: str,
    null: str,
    n_null: int,
    seed: int,
    include_identity: bool,
    jobs: int,
    scheduler: str | None,
    loader: LoaderOptions,
    output: str,
    force: bool,
) -> None:
    """Counts of chains, fan-ins, fan-outs, feed-forward loops, 4-chains, bi-fans and diamonds
    in CHECKPOINT's thresholded graph (feed-forward direction), with z-scores against null
    graphs: OUTPUT/motifs.csv (motif, count, null_mean, null_sd, z) and OUTPUT/motifs.json."""
    from pathlib import Path

    from netsci_dl import threshold
    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.analysis import motif_counts
    from netsci_dl.cli._common import echo

    out, names = Path(output), ["motifs.csv", "motifs.json"]
    check_folder(out, names, force=force)
    H = threshold.apply_spec(loader.load(checkpoint), threshold_spec)
    with parallel_context(jobs, scheduler) as n_jobs:
        m = motif_counts(H, null=null, n_null=n_null, seed=seed,
                         include_identity=include_identity, n_jobs=n_jobs)  # fmt: skip
    summary = dict(m.to_dict(), source=str(checkpoint), threshold=threshold_spec)
    with atomic_outputs(out, names, force=force) as stage:
        write_csv(stage / "motifs.csv", m.to_frame())
        write_json(stage / "motifs.json", summary)
    echo(f"{H.n_edges} edges, {len(m.names)} motifs against {n_null} {null} nulls; wrote {out}/")
