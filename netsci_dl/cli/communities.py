"""``netsci-dl communities``: Leiden / Louvain / SBM communities of a network's graph."""

from __future__ import annotations

import click

from netsci_dl.cli._common import LoaderOptions, loader_options, threshold_option
from netsci_dl.errors import InputError


@click.command("communities")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option(
    "--method", default="leiden", show_default=True, type=click.Choice(["leiden", "louvain", "sbm"])
)
@click.option(
    "--resolution", default=1.0, show_default=True, type=float, help="Leiden/Louvain resolution."
)
@click.option("--seed", default=0, show_default=True, type=int)
@threshold_option("Use none for the full graph with |w| as weight.")
@loader_options
@click.option(
    "--weighted/--unweighted",
    default=None,
    help="Use |w| as edge weight (default: on the full graph yes, on a thresholded graph no; "
    "an SBM is topology only unless --weighted).",
)
@click.option("--keep-layers-apart", is_flag=True, help="SBM: blocks never mix layers.")
@click.option("--nested", is_flag=True, help="SBM: nested (hierarchical) block model.")
@click.option(
    "--n-init",
    default=1,
    show_default=True,
    type=int,
    help="SBM: fits; the lowest description length is kept.",
)
@click.option(
    "--graphml/--no-graphml",
    default=True,
    show_default=True,
    help="Also write graph.graphml with a 'community' node column (for Gephi).",
)
@click.option(
    "--plots/--no-plots",
    default=True,
    show_default=True,
    help="Also write community_layers.png/.svg (community sizes per layer).",
)
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
def communities(
    checkpoint: str,
    method: str,
    resolution: float,
    seed: int,
    threshold_spec: str,
    loader: LoaderOptions,
    weighted: bool | None,
    keep_layers_apart: bool,
    nested: bool,
    n_init: int,
    graphml: bool,
    plots: bool,
    output: str,
    force: bool,
) -> None:
    """Communities of CHECKPOINT's graph: communities.csv (node, layer, index, community),
    summary.json, graph.graphml with the community of each node, and community_layers.png/.svg."""
    import json
    from pathlib import Path

    from netsci_dl import threshold
    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl._sanitize import csv_frame
    from netsci_dl.analysis import agreement, communities, sbm
    from netsci_dl.cli._common import echo

    out = Path(output)
    graph_n, plot_n = ["graph.graphml"], ["community_layers.png", "community_layers.svg"]
    names = ["communities.csv", "summary.json"] + (graph_n if graphml else [])
    names += plot_n if plots else []
    stale = ([] if graphml else graph_n) + ([] if plots else plot_n)
    check_folder(out, names, force=force)
    if not (resolution > 0 and resolution < float("inf")):
        raise InputError(f"--resolution {resolution}: expected a positive, finite number")
    if method != "sbm" and (keep_layers_apart or nested or n_init != 1):
        raise InputError("--keep-layers-apart, --nested and --n-init are for --method sbm")
    H = threshold.apply_spec(loader.load(checkpoint), threshold_spec)
    w: str | None = "auto" if weighted is None else ("abs" if weighted else None)
    if method == "sbm":
        p = sbm(
            H,
            weights="abs" if weighted else None,
            seed=seed,
            nested=nested,
            keep_layers_apart=keep_layers_apart,
            n_init=n_init,
        )
    else:
        p = communities(H, method, resolution=resolution, seed=seed, weights=w)
    df = p.to_frame()
    df.insert(1, "layer", H.node_layer)
    df.insert(2, "index", H.node_index)
    summary = p.to_dict()
    summary.update(source=str(checkpoint), threshold=threshold_spec)
    # rows: layers, columns: communities (contingency = community sizes per layer)
    summary["agreement_with_layers"] = agreement(H.node_layer, p.labels).to_dict()
    # every file goes to a hidden staging folder first: a failure leaves no partial results
    with atomic_outputs(out, names, force=force, stale=stale) as stage:
        csv_frame(df).to_csv(stage / "communities.csv", index=False)
        (stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if graphml:
            from netsci_dl.io.graphml import write_graphml

            write_graphml(H, stage / "graph.graphml", node_attrs={"community": p.labels})
        if plots:
            from netsci_dl.plot import save_figure
            from netsci_dl.plot.modules import plot_community_layers

            save_figure(plot_community_layers(p, H), stage / "community_layers")
    echo(
        f"{p.method}: {p.n_communities} communities, {p.quality_name} = {p.quality:.4f}; wrote {out}/"
    )
