"""``netsci-dl analyze``: checkpoint -> report folder (index.html, summary.json, CSVs, figures)."""

from __future__ import annotations

import click

from netsci_dl.cli._common import echo, export_options, layers_arg, load_input, parse_image_shape
from netsci_dl.threshold import SPEC_HELP


@click.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Report folder."
)
@click.option(
    "--compare",
    "compare_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="A second checkpoint (e.g. before training); shifts are CHECKPOINT minus it.",
)
@click.option(
    "--threshold", "threshold_spec", default="quantile:0.95", show_default=True, help=SPEC_HELP
)
@click.option("--name", default=None, help="Model name shown in titles (default: the file name).")
@click.option(
    "--modules-layer",
    default="1",
    show_default=True,
    help="Layer (index or name) of the report's functional-modules section.",
)
@click.option(
    "--modules-k",
    default=None,
    type=int,
    help="Modules in that section (default: min(20, units // 5)).",
)
@export_options
@click.option("--force", is_flag=True, help="Replace the report files of an existing folder.")
def analyze(
    checkpoint: str,
    output: str,
    compare_path: str | None,
    threshold_spec: str,
    name: str | None,
    modules_layer: str,
    modules_k: int | None,
    layers: str | None,
    layout: str,
    conv_reduce: str,
    image_shape: str | None,
    force: bool,
) -> None:
    """Analyse CHECKPOINT as a graph and write a report folder: OUTPUT/index.html."""
    from functools import partial
    from pathlib import Path

    from netsci_dl.io._atomic import check_folder
    from netsci_dl.io.report import DEFAULT_SECTIONS, write_report
    from netsci_dl.io.report_modules import modules_section

    out = check_folder(output, force=force, nonempty_needs_force=True)
    opts = {
        "layers": layers_arg(layers),
        "layout": layout,
        "conv_reduce": conv_reduce,
        "image_shape": parse_image_shape(image_shape),
    }
    G = load_input(checkpoint, **opts)
    other = load_input(compare_path, **opts) if compare_path else None
    mlayer: int | str = int(modules_layer) if modules_layer.lstrip("-").isdigit() else modules_layer
    sections = [
        partial(modules_section, layer=mlayer, k=modules_k) if b is modules_section else b
        for b in DEFAULT_SECTIONS
    ]
    index = write_report(
        G,
        out,
        compare=other,
        threshold=threshold_spec,
        force=force,
        name=name or Path(checkpoint).name,
        compare_name=Path(compare_path).name if compare_path else None,
        sections=sections,
    )
    echo(f"wrote {index}")
