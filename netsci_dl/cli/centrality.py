"""``netsci-dl centrality``: Scabini & Bruno's eight measures for every neuron, and neuron types."""

from __future__ import annotations

import click

from netsci_dl.cli._common import LoaderOptions, loader_options, write_csv, write_json
from netsci_dl.errors import InputError


@click.command("centrality")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option(
    "--neuron-measures",
    "measures",
    default="all",
    show_default=True,
    help="Comma-separated names among strength, avg_neighbor_strength, current_flow_closeness, "
    "bipartite_clustering, log_subgraph_centrality, harmonic, second_order, maximal_cliques.",
)
@click.option("--nodes", default="hidden", show_default=True, type=click.Choice(["hidden", "all"]),
              help="Which nodes get a row: the hidden neurons, or all.")  # fmt: skip
@click.option("--types", "n_types", default=0, show_default=True, type=int,
              help="Also cluster the neurons into this many types (k-means; 0: no).")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed of the k-means.")
@click.option("--include-identity", is_flag=True, help="Count identity (skip) blocks as edges.")
@loader_options
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Output folder.")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
def centrality(
    checkpoint: str,
    measures: str,
    nodes: str,
    n_types: int,
    seed: int,
    include_identity: bool,
    loader: LoaderOptions,
    output: str,
    force: bool,
) -> None:
    """Neuron-level measures of CHECKPOINT's graph (undirected, all layers): OUTPUT/neurons.csv
    (one row per neuron; a ``type`` column with --types) and OUTPUT/centrality.json."""
    from pathlib import Path

    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.analysis import NEURON_MEASURES, neuron_measures, neuron_types
    from netsci_dl.cli._common import echo

    out, names = Path(output), ["neurons.csv", "centrality.json"]
    check_folder(out, names, force=force)
    chosen = NEURON_MEASURES if measures == "all" else tuple(measures.replace(" ", "").split(","))
    if n_types < 0:
        raise InputError(f"--types {n_types}: expected 0 (no types) or a positive number")
    G = loader.load(checkpoint)
    m = neuron_measures(G, measures=chosen, nodes=nodes, include_identity=include_identity)
    df, summary = m.to_frame(), {"source": str(checkpoint), "params": m.params}
    if n_types:
        t = neuron_types(m, k=n_types, seed=seed)
        df["type"] = t.labels
        summary["types"] = {k: v for k, v in t.to_dict().items() if k != "labels"}
    with atomic_outputs(out, names, force=force) as stage:
        write_csv(stage / "neurons.csv", df)
        write_json(stage / "centrality.json", summary)
    echo(f"{len(m)} neurons, {len(chosen)} measures; wrote {out}/")
