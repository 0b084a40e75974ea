"""``netsci-dl export``: checkpoint -> graph file (optionally thresholded)."""

from __future__ import annotations

import click

from netsci_dl.cli._common import export_options, layers_arg, parse_image_shape
from netsci_dl.threshold import SPEC_HELP


@click.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output file (.npz).")
@click.option("--threshold", "threshold_spec", default=None, help=SPEC_HELP)
@click.option("--keep-weights", is_flag=True, help="Keep signed weights on thresholded edges.")
@export_options
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
def export(
    checkpoint: str,
    output: str,
    threshold_spec: str | None,
    keep_weights: bool,
    layers: str | None,
    layout: str,
    conv_reduce: str,
    image_shape: str | None,
    force: bool,
) -> None:
    """Export CHECKPOINT (.pt/.pth/.safetensors/.npz) to a graph file."""
    from netsci_dl.io import write_graph

    import netsci_dl as nd

    write_graph.check_output(output, force=force)
    G = nd.load(
        checkpoint,
        layers=layers_arg(layers),
        layout=layout,
        conv_reduce=conv_reduce,
        image_shape=parse_image_shape(image_shape),
    )
    if threshold_spec:
        G = nd.threshold.apply_spec(G, threshold_spec, keep_weights=keep_weights)
    path = write_graph.write(G, output, force=force)
    click.echo(f"wrote {path}: {G!r}")
