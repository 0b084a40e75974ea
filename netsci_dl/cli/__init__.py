"""The ``netsci-dl`` command line: parse, make one library call, write. No numeric code here.

Every command lives in its own module and is registered below. Bad input (``ValueError``,
``TypeError``, missing files, existing outputs without ``--force``) becomes one line on stderr
and exit code 2; outputs are written atomically, so an error leaves no partial file.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

__all__ = ["cli", "main"]

USER_ERRORS = (
    ValueError,
    TypeError,
    FileNotFoundError,
    FileExistsError,
    ImportError,
    IsADirectoryError,
)


class _Group(click.Group):
    """A click group that turns user errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as e:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"netsci-dl: error: {e}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or info messages.")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="netsci_dl")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, debug: bool) -> None:
    """netsci-dl: treat a trained neural network as a complex network."""
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    ctx.obj["debug"] = debug
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )


def main() -> None:
    """Console-script entry point."""
    import warnings

    # Debian's mpl_toolkits (installed beside graph-tool) shadows pip's: matplotlib warns that 3-D
    # axes are unavailable. We never draw in 3-D.
    warnings.filterwarnings("ignore", message="Unable to import Axes3D")
    cli(prog_name="netsci-dl")


def _register_commands() -> None:
    """Add every click command defined in a public module of this package (one per file)."""
    import importlib
    import pkgutil

    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        for obj in vars(module).values():
            if isinstance(obj, click.Command) and obj.callback is not None:
                if getattr(obj.callback, "__module__", None) == module.__name__:
                    cli.add_command(obj)


_register_commands()
