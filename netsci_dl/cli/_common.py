"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from netsci_dl.errors import InputError
from netsci_dl.export.conv import REDUCTIONS

__all__ = [
    "export_options",
    "layers_arg",
    "parse_image_shape",
    "load_input",
    "echo",
    "check_device",
]


def check_device(value: str | None, option: str = "--device") -> str | None:
    """A torch device string that exists here (``None`` passes: the default device).

    Raises
    ------
    InputError
        Not a device torch knows (``warp9``), or CUDA asked for where there is none.
    """
    if value is None or value == "auto":
        return value
    import torch

    try:
        dev = torch.device(value)
    except (RuntimeError, ValueError, TypeError):
        raise InputError(
            f"{option} {value!r}: not a torch device (e.g. cpu, cuda, cuda:1)"
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"{option} {value!r}: CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(
                f"{option} {value!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    elif dev.type not in ("cpu", "mps", "xpu"):
        raise InputError(f"{option} {value!r}: netsci_dl runs on cpu or cuda")
    return value


def echo(text: Any = "") -> None:
    """``click.echo`` of text that may hold names from a file: control characters escaped."""
    from netsci_dl._sanitize import terminal_lines

    click.echo(terminal_lines(text))


def load_input(
    path: str,
    *,
    layers: Any = None,
    layout: str = "auto",
    conv_reduce: str = "l2",
    image_shape: tuple[int, ...] | None = None,
) -> Any:
    """The graph of a command's input: a checkpoint (through :func:`netsci_dl.load`) or a graph
    file netsci_dl wrote (``.npz`` from ``export``, ``.graphml[.gz]``, ``.gexf[.gz]``)."""
    from netsci_dl.io._atomic import check_input_file
    from netsci_dl.io.write_graph import is_graph_file, read

    check_input_file(path, "input")  # a FIFO would block, a folder is not a file
    if is_graph_file(path):
        if layers is not None:
            raise InputError(
                f"--layers selects the layers of a checkpoint, but {path} is a graph file; "
                "export the checkpoint with --layers instead"
            )
        G = read(path)
        return G.with_meta(image_shape=list(image_shape)) if image_shape else G
    import netsci_dl as nd

    return nd.load(
        path, layers=layers, layout=layout, conv_reduce=conv_reduce, image_shape=image_shape
    )


def parse_image_shape(value: str | None) -> tuple[int, ...] | None:
    """``"28x28"`` -> ``(28, 28)``."""
    if not value:
        return None
    try:
        shape = tuple(int(v) for v in value.lower().replace(",", "x").split("x"))
    except ValueError:
        raise InputError(f"--image-shape {value!r}: expected e.g. 28x28") from None
    if any(s <= 0 for s in shape):
        raise InputError(f"--image-shape {value!r}: sizes must be positive")
    return shape


def layers_arg(value: str | None) -> Any:
    """``--layers``: a regex, or a comma-separated list when it contains commas."""
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()] if "," in value else value


def export_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--layers``, ``--layout``, ``--conv-reduce``, ``--image-shape``."""
    opts = [
        click.option(
            "--layers",
            default=None,
            help="Layers to export: a regular expression, or a comma-separated list of names.",
        ),
        click.option(
            "--layout",
            type=click.Choice(["auto", "out_in", "in_out"]),
            default="auto",
            show_default=True,
            help="Weight orientation: torch (out_in) or (in_out).",
        ),
        click.option(
            "--conv-reduce",
            type=click.Choice(list(REDUCTIONS)),
            default="l2",
            show_default=True,
            help="How a conv kernel becomes one edge weight.",
        ),
        click.option("--image-shape", default=None, help="Input image shape, e.g. 28x28."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f
