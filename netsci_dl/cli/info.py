"""``netsci-dl info``: what a checkpoint holds and what would be exported."""

from __future__ import annotations

import json

import click

from netsci_dl.cli._common import export_options, layers_arg, parse_image_shape


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
    rest is skipped. A saved graph (.npz from `export`) is summarised instead."""
    from pathlib import Path

    from netsci_dl.io.npz import is_graph_npz, load_graph

    if Path(checkpoint).suffix.lower() == ".npz" and is_graph_npz(checkpoint):
        G = load_graph(checkpoint)
        if as_json:
            click.echo(json.dumps({"graph": repr(G), "meta": dict(G.meta)}, indent=2, default=str))
        else:
            click.echo(repr(G))
            for k, v in G.meta.items():
                click.echo(f"  {k}: {v}")
        return
    from netsci_dl.export import inspect

    plan = inspect(
        checkpoint,
        layers=layers_arg(layers),
        layout=layout,
        conv_reduce=conv_reduce,
        image_shape=parse_image_shape(image_shape),
    )
    click.echo(json.dumps(plan.to_dict(), indent=2) if as_json else plan.summary())
