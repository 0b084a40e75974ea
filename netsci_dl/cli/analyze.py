"""``netsci-dl analyze``: checkpoint -> report folder (index.html, summary.json, CSVs, figures)."""

from __future__ import annotations

import click

from netsci_dl.cli._common import export_options, layers_arg, parse_image_shape
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
@export_options
@click.option("--force", is_flag=True, help="Replace the report files of an existing folder.")
def analyze(
    checkpoint: str,
    output: str,
    compare_path: str | None,
    threshold_spec: str,
    name: str | None,
    layers: str | None,
    layout: str,
    conv_reduce: str,
    image_shape: str | None,
    force: bool,
) -> None:
    """Analyse CHECKPOINT as a graph and write a report folder: OUTPUT/index.html."""
    from pathlib import Path

    import netsci_dl as nd
    from netsci_dl.io.report import write_report

    out = Path(output)
    if out.exists() and out.is_dir() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} exists and is not empty; pass --force to replace the report")
    opts = {
        "layers": layers_arg(layers),
        "layout": layout,
        "conv_reduce": conv_reduce,
        "image_shape": parse_image_shape(image_shape),
    }
    G = nd.load(checkpoint, **opts)
    other = nd.load(compare_path, **opts) if compare_path else None
    index = write_report(
        G,
        out,
        compare=other,
        threshold=threshold_spec,
        force=force,
        name=name or Path(checkpoint).name,
        compare_name=Path(compare_path).name if compare_path else None,
    )
    click.echo(f"wrote {index}")
