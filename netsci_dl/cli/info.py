"""``netsci-dl info``: what a checkpoint holds and what would be exported (or why not)."""

from __future__ import annotations

import json

import click

from netsci_dl.cli._common import LoaderOptions, echo, loader_options
from netsci_dl.errors import InputError


@click.command()
@click.argument("checkpoint", type=click.Path())
@loader_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def info(checkpoint: str, loader: LoaderOptions, as_json: bool) -> None:
    """Show the node groups and weight blocks found in CHECKPOINT, every junction and what it
    became, and every tensor that is not exported, with the reason. It runs the validation of
    `export`: when `export` would refuse, the plan is still shown and the command exits with 2
    and the reason. A graph file netsci_dl wrote (.npz from `export`, .graphml, .gexf) is
    summarised instead. A Hugging Face folder (config.json and model.safetensors) is built by
    transformers, loaded and traced on a token example input."""
    from netsci_dl._files.atomic import check_input_file
    from netsci_dl.export.hf import is_hf_folder
    from netsci_dl.io.write_graph import is_graph_file, read

    if not is_hf_folder(checkpoint):  # a FIFO would block, another folder is not a checkpoint
        check_input_file(checkpoint, "input")
    if is_graph_file(checkpoint):
        G = read(checkpoint)
        if as_json:
            click.echo(json.dumps({"graph": repr(G), "meta": dict(G.meta)}, indent=2, default=str))
        else:
            echo(repr(G))
            for b, name in enumerate(G.block_names):
                echo(f"  {name}: {G.block_kinds[b]} {G.blocks[b].shape}")
        return
    plan = loader.inspect(checkpoint)
    if as_json:
        click.echo(json.dumps(plan.to_dict(), indent=2))
    else:
        echo(plan.summary())
    if plan.refusal:
        raise InputError(f"export would refuse: {plan.refusal}")
