"""``netsci-dl info``: what a checkpoint holds and what would be exported."""

from __future__ import annotations

import json

import click

from netsci_dl.cli._common import echo, export_options, layers_arg, parse_image_shape


@click.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@export_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def info(
    checkpoint: str,
    layers: str | None,
    layout: str,
    conv_reduce: str,
    image_shape: str | None,
    as_json: bool,
) -> None:
    """Show the layers found in CHECKPOINT, their shapes, what will be exported and why the
    rest is skipped. A graph file netsci_dl wrote (.npz from `export`, .graphml, .gexf) is
    summarised instead."""
    from netsci_dl.io._atomic import check_input_file
    from netsci_dl.io.write_graph import is_graph_file, read

    check_input_file(checkpoint, "input")  # a FIFO would block, a folder is not a file
    if is_graph_file(checkpoint):
        G = read(checkpoint)
        if as_json:
            click.echo(json.dumps({"graph": repr(G), "meta": dict(G.meta)}, indent=2, default=str))
        else:
            echo(repr(G))
            for k, v in G.meta.items():
                echo(f"  {k}: {v}")
        return
    from netsci_dl.export import inspect

    plan = inspect(
        checkpoint,
        layers=layers_arg(layers),
        layout=layout,
        conv_reduce=conv_reduce,
        image_shape=parse_image_shape(image_shape),
    )
    if as_json:
        click.echo(json.dumps(plan.to_dict(), indent=2))
    else:
        echo(plan.summary())
