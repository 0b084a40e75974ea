"""``--jobs N`` and ``--scheduler ADDRESS``: the options of every command that runs a parallel
job (through :mod:`netsci_dl.parallel`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import click

from netsci_dl.errors import InputError

__all__ = ["parallel_options", "parallel_context"]


def _jobs(ctx: Any, param: Any, value: int) -> int:
    if value == 0:
        raise InputError("--jobs 0: give a number of processes, or -1 for all cores")
    return value


def parallel_options(*, what: str) -> Callable[..., Any]:
    """Add ``--jobs`` (the one default of every command: 1, this process) and ``--scheduler``
    to a command; ``what`` names the tasks in the help ("EMD tiles", "snapshots")."""
    from netsci_dl.cli._common import DEFAULT_JOBS

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        f = click.option(
            "--scheduler",
            default=None,
            metavar="ADDRESS",
            help=f"Run the {what} on a running Dask scheduler: tcp://host:8786, or the path of "
            "its scheduler file (needs pip install 'netsci_dl[cluster]'). --jobs is then ignored.",
        )(f)
        return click.option(
            "--jobs",
            default=DEFAULT_JOBS,
            show_default=True,
            type=int,
            callback=_jobs,
            help=f"Worker processes for the {what} (-1: all cores; 1: this process).",
        )(f)

    return deco


@contextlib.contextmanager
def parallel_context(jobs: int, scheduler: str | None) -> Iterator[int]:
    """The ``n_jobs`` to pass to the library call made inside the block: ``jobs``, or -1 (every
    worker of the cluster) inside a Dask block when ``scheduler`` is given."""
    if jobs == 0:
        raise InputError("--jobs 0: give a number of processes, or -1 for all cores")
    if scheduler is None:
        yield jobs
        return
    from netsci_dl.parallel import use_scheduler

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(use_scheduler(scheduler))
        except (OSError, TimeoutError) as e:
            raise InputError(f"--scheduler {scheduler}: cannot connect ({e})") from e
        yield -1
