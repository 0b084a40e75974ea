"""``netsci-dl clusterability``: spectral clusters, n-cut and the shuffle null (Filan et al.)."""

from __future__ import annotations

import click

from netsci_dl.cli._common import LoaderOptions, is_quiet, loader_options, write_csv, write_json
from netsci_dl.cli._parallel import parallel_context, parallel_options


@click.command("clusterability")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--clusters", "k", default=12, show_default=True, type=int,
              help="Number of spectral clusters.")  # fmt: skip
@click.option("--n-shuffles", default=50, show_default=True, type=int,
              help="Nets with each weight matrix shuffled, clustered afresh.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option("--include-identity", is_flag=True, help="Count identity (skip) blocks as edges.")
@parallel_options(what="shuffles")
@loader_options
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Output folder.")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.pass_context
def clusterability(
    ctx: click.Context,
    checkpoint: str,
    k: int,
    n_shuffles: int,
    seed: int,
    include_identity: bool,
    jobs: int,
    scheduler: str | None,
    loader: LoaderOptions,
    output: str,
    force: bool,
) -> None:
    """Spectral clustering of CHECKPOINT's undirected |W| graph, its n-cut, and the n-cuts of
    nets with every weight matrix shuffled: OUTPUT/clusters.csv (node, layer, index, cluster)
    and OUTPUT/clusterability.json (n-cut, z-score, percentile, the null n-cuts)."""
    from pathlib import Path

    import pandas as pd

    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.analysis import clusterability as run
    from netsci_dl.cli._common import echo

    out, names = Path(output), ["clusters.csv", "clusterability.json"]
    check_folder(out, names, force=force)
    G = loader.load(checkpoint)
    quiet = is_quiet(ctx)
    with parallel_context(jobs, scheduler) as n_jobs:
        r = run(G, k=k, n_shuffles=n_shuffles, seed=seed, include_identity=include_identity,
                n_jobs=n_jobs, progress=not quiet)  # fmt: skip
    layers = [G.layer_names[i] for i in G.node_layer]
    df = pd.DataFrame({"node": range(G.n_nodes), "layer": layers, "index": G.node_index,
                       "cluster": r.labels})  # fmt: skip
    summary = {key: v for key, v in r.to_dict().items() if key != "labels"}
    summary["source"] = str(checkpoint)
    with atomic_outputs(out, names, force=force) as stage:
        write_csv(stage / "clusters.csv", df)
        write_json(stage / "clusterability.json", summary)
    echo(f"n-cut {r.ncut:.4g}, z = {r.z:.3g}, percentile {r.percentile:.3g}; wrote {out}/")
