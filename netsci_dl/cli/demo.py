"""``netsci-dl demo``: the main job on the embedded default data (scikit-learn's digits)."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "-o",
    "--output",
    default="demo_out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Output folder.",
)
@click.option("--force", is_flag=True, help="Replace an existing output folder's files.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
def demo(output: str, force: bool, seed: int) -> None:
    """Train a small DBN on digits, export it, threshold it and write the results to OUTPUT."""
    from netsci_dl.demo import run_demo

    paths = run_demo(output, force=force, seed=seed, echo=click.echo)
    click.echo("")
    click.echo("outputs:")
    for label, p in paths.items():
        click.echo(f"  {label:<12} {p}")
