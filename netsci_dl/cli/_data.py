"""``--data SPEC`` and the options that say how it is read: ``--normalize``, ``--resize``,
``--limit``. Every command that takes data takes all four (:func:`data_options`); the command
receives one spec string (:func:`netsci_dl.datasets.join_spec`) that its pipeline loads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from netsci_dl.cli._common import option_group
from netsci_dl.datasets import join_spec, parse_limit, parse_normalize, parse_resize
from netsci_dl.errors import InputError

__all__ = ["DATA_HELP", "data_options"]

#: what ``--data`` accepts, in every command's help
DATA_HELP = (
    "digits | mnist:PATH | npz:PATH (X, optional y, any shape) | pt:PATH (tensors) | "
    "folder:PATH (one sub-folder of PNG/JPEG per class) | cifar10:PATH (binary version) | "
    "tokens:PATH (npz of input_ids). uint8 values are divided by 255; floats are kept as given."
)


def _spec(
    data: str | None, normalize: str | None, resize: str | None, limit: int | None
) -> str | None:
    opts = {
        "normalize": parse_normalize(normalize),
        "resize": parse_resize(resize),
        "limit": parse_limit(limit),
    }
    if data is None:
        given = [f"--{k}" for k, v in opts.items() if v is not None]
        if given:
            raise InputError(f"{', '.join(given)} read --data: pass --data too")
        return None
    return join_spec(data, **opts)


def data_options(
    *, default: str | None = "digits", what: str = "The data set"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--data`` (default ``default``; ``what`` starts its help) with ``--normalize``,
    ``--resize`` and ``--limit``; the command's ``data`` argument is the joined spec."""
    return option_group(
        "data",
        _spec,
        click.option(
            "--data", default=default, show_default=default is not None, help=f"{what}: {DATA_HELP}"
        ),
        click.option(
            "--normalize",
            default=None,
            metavar="MEAN,STD",
            help="Normalise --data after scaling: (x - MEAN) / STD, one pair for every channel, "
            "or per channel M1,M2,M3/S1,S2,S3 (channels on axis 1 of N,C,H,W).",
        ),
        click.option(
            "--resize", default=None, metavar="HxW", help="Resize --data images (bilinear)."
        ),
        click.option(
            "--limit", default=None, type=int, help="Read only the first N examples of --data."
        ),
    )
