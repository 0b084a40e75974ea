"""``netsci-dl communities``: Leiden / Louvain / SBM communities of a network's graph."""

from __future__ import annotations

from typing import Any

import click

from netsci_dl.cli._common import (
    LoaderOptions,
    echo,
    loader_options,
    option_group,
    threshold_option,
    write_csv,
    write_json,
)
from netsci_dl.errors import InputError

#: the SBM options' defaults (other values need --method sbm)
SBM_DEFAULTS = {"keep_layers_apart": False, "nested": False, "n_init": 1}


def _resolution(ctx: Any, param: Any, value: float) -> float:
    if not (value > 0 and value < float("inf")):
        raise InputError(f"--resolution {value}: expected a positive, finite number")
    return value


@click.command("communities")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option(
    "--method",
    default="leiden",
    show_default=True,
    type=click.Choice(["leiden", "louvain", "sbm"]),
    help="Community detection: Leiden, Louvain (modularity) or a stochastic block model.",
)
@click.option(
    "--resolution",
    default=1.0,
    show_default=True,
    type=float,
    callback=_resolution,
    help="Leiden/Louvain resolution.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@threshold_option("Use none for the full graph with |w| as weight.")
@loader_options
@click.option(
    "--weighted/--unweighted",
    default=None,
    help="Use |w| as edge weight (default: on the full graph yes, on a thresholded graph no; "
    "an SBM is topology only unless --weighted).",
)
@option_group(
    "sbm_options",
    dict,
    click.option("--keep-layers-apart", is_flag=True, help="SBM: blocks never mix layers."),
    click.option("--nested", is_flag=True, help="SBM: nested (hierarchical) block model."),
    click.option(
        "--n-init",
        default=1,
        show_default=True,
        type=int,
        help="SBM: fits; the lowest description length is kept.",
    ),
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
    help="Write the figures: community_layers.png/.svg (community sizes per layer).",
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
    sbm_options: dict[str, Any],
    graphml: bool,
    plots: bool,
    output: str,
    force: bool,
) -> None:
    """Communities of CHECKPOINT's graph: communities.csv (node, layer, index, community),
    summary.json, graph.graphml with the community of each node, and community_layers.png/.svg."""
    from netsci_dl import threshold
    from netsci_dl._files.atomic import atomic_outputs, check_folder
    from netsci_dl.analysis import communities, sbm

    names, stale = _outputs(graphml, plots)
    out = check_folder(output, names, force=force)
    if method != "sbm" and sbm_options != SBM_DEFAULTS:
        raise InputError("--keep-layers-apart, --nested and --n-init are for --method sbm")
    H = threshold.apply_spec(loader.load(checkpoint), threshold_spec)
    if method == "sbm":
        p = sbm(H, weights="abs" if weighted else None, seed=seed, **sbm_options)
    else:
        w = "auto" if weighted is None else ("abs" if weighted else None)
        p = communities(H, method, resolution=resolution, seed=seed, weights=w)
    df, summary = _tables(H, p, source=str(checkpoint), threshold=threshold_spec)
    # every file goes to a hidden staging folder first: a failure leaves no partial results
    with atomic_outputs(out, names, force=force, stale=stale) as stage:
        write_csv(stage / "communities.csv", df)
        write_json(stage / "summary.json", summary)
        _write_extras(stage, H, p, graphml, plots)
    echo(
        f"{p.method}: {p.n_communities} communities, {p.quality_name} = {p.quality:.4f}; wrote {out}/"
    )


def _tables(H: Any, p: Any, **provenance: str) -> tuple[Any, dict[str, Any]]:
    """communities.csv (node, layer, index, community) and summary.json: the partition, its
    provenance, and its agreement with the layers (rows: layers, columns: communities, cells:
    community sizes per layer)."""
    from netsci_dl.analysis import agreement

    df = p.to_frame()
    df.insert(1, "layer", H.node_layer)
    df.insert(2, "index", H.node_index)
    summary = dict(p.to_dict(), **provenance)
    summary["agreement_with_layers"] = agreement(H.node_layer, p.labels).to_dict()
    return df, summary


def _outputs(graphml: bool, plots: bool) -> tuple[list[str], list[str]]:
    """The files to write and the optional ones not asked for (removed with --force)."""
    graph_n, plot_n = ["graph.graphml"], ["community_layers.png", "community_layers.svg"]
    names = ["communities.csv", "summary.json"] + (graph_n if graphml else [])
    names += plot_n if plots else []
    return names, ([] if graphml else graph_n) + ([] if plots else plot_n)


def _write_extras(stage: Any, H: Any, p: Any, graphml: bool, plots: bool) -> None:
    """graph.graphml with a 'community' node column; the community sizes per layer."""
    if graphml:
        from netsci_dl.io.graphml import write_graphml

        write_graphml(H, stage / "graph.graphml", node_attrs={"community": p.labels})
    if plots:
        from netsci_dl.plot import save_figure
        from netsci_dl.plot.modules import plot_community_layers

        save_figure(plot_community_layers(p, H), stage / "community_layers")
