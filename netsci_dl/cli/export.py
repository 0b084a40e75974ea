"""``netsci-dl export``: checkpoint -> graph file (thresholded by the package's default rule)."""

from __future__ import annotations

import click

from netsci_dl.cli._common import LoaderOptions, echo, loader_options, threshold_option


@click.command()
@click.argument("checkpoint", type=click.Path())
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output file (.npz, .graphml, .graphml.gz, .gexf, .gexf.gz).",
)
@click.option(
    "--format",
    "fmt",
    default=None,
    help="graphml, graphml.gz, gexf, gexf.gz or npz (default: from the output suffix).",
)
@click.option(
    "--directed/--undirected",
    default=None,
    help="Write edges as directed (src -> dst) or undirected (default: the model's).",
)
@click.option(
    "--node-attrs",
    "node_attrs",
    default=None,
    type=click.Path(dir_okay=False),
    help="CSV or .npz of per-node columns (n_nodes rows, e.g. analyze's nodes.csv) to attach.",
)
@threshold_option("Use 'none' to export every edge.")
@click.option("--keep-weights", is_flag=True, help="Keep signed weights on thresholded edges.")
@loader_options
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
def export(
    checkpoint: str,
    output: str,
    threshold_spec: str,
    keep_weights: bool,
    loader: LoaderOptions,
    force: bool,
    fmt: str | None = None,
    directed: bool | None = None,
    node_attrs: str | None = None,
) -> None:
    """Export CHECKPOINT (.pt/.pth/.safetensors/.npz, a Hugging Face folder, or a graph file
    netsci_dl wrote) to a graph file."""
    from netsci_dl import threshold
    from netsci_dl.io import write_graph

    write_graph.check_output(output, force=force, fmt=fmt)
    G = loader.load(checkpoint)
    G = threshold.apply_spec(G, threshold_spec, keep_weights=keep_weights)
    if node_attrs:
        from netsci_dl.io.node_table import read_node_table

        G = G.replace(node_attrs={**G.node_attrs, **read_node_table(node_attrs, G.n_nodes)})
    if directed is not None:
        G = G.with_meta(directed=directed)
    path = write_graph.write(G, output, force=force, fmt=fmt)
    echo(f"wrote {path}: {G!r}")
