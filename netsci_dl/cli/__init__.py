"""The ``netsci-dl`` command line: parse, make one library call, write. No numeric code here.

Every command lives in its own module and is registered below. The contract, for every
command:

- **Bad input** (:class:`netsci_dl.errors.InputError`; an ``OSError`` about a path: missing,
  existing without ``--force``, a folder, a FIFO, permission denied, read-only file system, disk
  full...; a usage error; a missing optional dependency) prints **one line** on stderr,
  ``netsci-dl: error: ...``, and exits with code **2**.
- Anything else is a bug: one line ``netsci-dl: internal error: ...``, exit code **1**.
- ``--debug`` (before or after the command) adds the traceback; ``-q`` / ``--quiet`` silences
  progress, info messages and warnings. Without ``-q`` each distinct warning is printed once, as
  one line ``netsci-dl: warning: ...``.
- Outputs are written to temporary names and moved in at the end, also on SIGINT and SIGTERM
  (exit codes 130 and 143), so an error never leaves a partial file behind.
- Text from files (layer names, paths) is shown with control characters escaped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import Any

import click

__all__ = ["cli", "main", "exit_code_of", "error_line"]

_GLOBAL_FLAGS = {"-q": "quiet", "--quiet": "quiet", "--debug": "debug"}
#: OSErrors that are not about a path the user gave (they are reported as internal errors)
_NOT_PATH_ERRORS = (
    ConnectionError,
    TimeoutError,
    ChildProcessError,
    ProcessLookupError,
    BlockingIOError,
    InterruptedError,
)


def _hoist(args: Sequence[str]) -> tuple[list[str], dict[str, bool]]:
    """Take ``-q``, ``--quiet`` and ``--debug`` from anywhere before ``--``."""
    rest: list[str] = []
    flags = {"quiet": False, "debug": False}
    it = iter(args)
    for a in it:
        if a == "--":
            rest.append(a)
            rest.extend(it)
            break
        if a in _GLOBAL_FLAGS:
            flags[_GLOBAL_FLAGS[a]] = True
        else:
            rest.append(a)
    return rest, flags


def _is_input_error(e: BaseException) -> bool:
    from netsci_dl.errors import InputError

    if isinstance(e, InputError):
        return True
    if isinstance(e, OSError):
        return not isinstance(e, _NOT_PATH_ERRORS)
    if isinstance(e, ImportError):  # a missing optional dependency, not one of our modules
        name = getattr(e, "name", None) or ""
        return not (name == "netsci_dl" or name.startswith("netsci_dl."))
    return False


def _oserror_text(e: OSError) -> str:
    if e.strerror is None:
        return str(e)
    if e.filename is None:
        return e.strerror
    text = f"{e.filename}: {e.strerror}"
    if e.filename2 is not None:
        text += f" ({e.filename2})"
    return text


def exit_code_of(e: BaseException) -> int:
    """The exit code the CLI gives for an exception (2 bad input, 1 internal error).

    Examples
    --------
    >>> from netsci_dl.errors import InputError
    >>> exit_code_of(InputError("bad")), exit_code_of(PermissionError(13, "denied")), exit_code_of(KeyError(1))
    (2, 2, 1)
    """
    from netsci_dl._files.atomic import Terminated

    if isinstance(e, Terminated):
        return 128 + e.signum
    if isinstance(e, KeyboardInterrupt):
        return 130
    if isinstance(e, click.ClickException):
        return e.exit_code
    return 2 if _is_input_error(e) else 1


def error_line(e: BaseException) -> str:
    """The one line printed on stderr for an exception (control characters escaped).

    Examples
    --------
    >>> error_line(FileNotFoundError(2, "No such file or directory", "x.pt"))
    'netsci-dl: error: x.pt: No such file or directory'
    >>> error_line(KeyError(101)).split(" (")[0]
    'netsci-dl: internal error: KeyError: 101'
    """
    from netsci_dl._files.atomic import Terminated
    from netsci_dl._sanitize import for_terminal

    def one(s: str) -> str:
        return for_terminal(" ".join(s.split("\n")).strip())

    if isinstance(e, Terminated):
        return f"netsci-dl: {e}; partial outputs removed"
    if isinstance(e, KeyboardInterrupt):
        return "netsci-dl: interrupted; partial outputs removed"
    if isinstance(e, click.UsageError):
        where = e.ctx.command_path if e.ctx is not None else "netsci-dl"
        return one(f"{where}: error: {e.format_message()} (see '{where} --help')")
    if isinstance(e, click.ClickException):
        return one(f"netsci-dl: error: {e.format_message()}")
    if _is_input_error(e):
        text = _oserror_text(e) if isinstance(e, OSError) else str(e)
        if isinstance(e, ImportError) and "pip install" not in text:
            text = f"{text} (an optional dependency is missing)"
        return one(f"netsci-dl: error: {text or type(e).__name__}")
    msg = str(e)
    text = f"{type(e).__name__}: {msg}" if msg else type(e).__name__
    return one(
        f"netsci-dl: internal error: {text} (a bug in netsci_dl, not in your input; rerun with "
        "--debug for the traceback and report it)"
    )


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from netsci_dl._sanitize import for_terminal

        msg = " ".join(record.getMessage().split("\n"))
        if record.levelno >= logging.WARNING:
            msg = f"netsci-dl: {record.levelname.lower()}: {msg}"
        return for_terminal(msg)


@contextlib.contextmanager
def _output_policy(quiet: bool) -> Iterator[None]:
    """Warnings once each, as one line (none with ``-q``); netsci_dl's log lines on stderr."""
    import warnings

    from netsci_dl._sanitize import for_terminal

    def show(message: Any, category: Any, filename: str, lineno: int, file=None, line=None):
        text = " ".join(str(message).split("\n")).strip()
        print(f"netsci-dl: warning: {for_terminal(text)}", file=sys.stderr)

    logger = logging.getLogger("netsci_dl")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    old_level, old_prop = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR if quiet else logging.INFO)
    logger.propagate = False
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        else:
            warnings.simplefilter("once")
            for cat in (
                DeprecationWarning,
                PendingDeprecationWarning,
                ImportWarning,
                ResourceWarning,
            ):
                warnings.filterwarnings("ignore", category=cat)
            # Debian's mpl_toolkits (installed beside graph-tool) shadows pip's: matplotlib warns
            # that 3-D axes are unavailable. We never draw in 3-D.
            warnings.filterwarnings("ignore", message="Unable to import Axes3D")
        warnings.showwarning = show
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
            logger.propagate = old_prop


@contextlib.contextmanager
def _torch_cache_dir() -> Iterator[None]:
    """Point torch's compile cache into a private temporary folder, removed afterwards.

    Importing ``torch._dynamo`` (which ``torch.func`` does: Fisher, curvature) creates
    ``$TMPDIR/torchinductor_<user>`` and leaves it behind. netsci_dl compiles nothing, so a
    command keeps that folder to itself and removes it; a ``TORCHINDUCTOR_CACHE_DIR`` the user
    set is left alone.
    """
    import shutil
    import tempfile

    if os.environ.get("TORCHINDUCTOR_CACHE_DIR"):
        yield
        return
    tmp = tempfile.mkdtemp(prefix="netsci_dl-torch-")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tmp
    try:
        yield
    finally:
        os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
        shutil.rmtree(tmp, ignore_errors=True)


class _Group(click.Group):
    """A click group that keeps the CLI contract (see the module docstring)."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from netsci_dl._files.atomic import forget_checks, remove_live, signals_raise

        rest, flags = _hoist(sys.argv[1:] if args is None else list(args))
        front = [f for f, on in (("--quiet", flags["quiet"]), ("--debug", flags["debug"])) if on]
        code, rv = 0, None
        forget_checks()
        try:
            with signals_raise(), _output_policy(flags["quiet"]), _torch_cache_dir():
                rv = super().main(
                    args=front + rest,
                    prog_name="netsci-dl",  # also under CliRunner, which passes "cli"
                    complete_var=complete_var,
                    standalone_mode=False,
                    **extra,
                )
                if isinstance(rv, int) and not isinstance(rv, bool):
                    code = rv  # the exit code of ctx.exit(n) / --help / --version
                    rv = None
        except BaseException as e:  # noqa: BLE001  (the one place that reports every error)
            if isinstance(e, SystemExit):
                raise
            if isinstance(e, click.Abort) and isinstance(e.__context__, KeyboardInterrupt):
                e = e.__context__
            remove_live()
            from netsci_dl.cli._python_api import command_of, with_python_hint

            e = with_python_hint(command_of(rest), e)  # what the Python API can do, it names
            if isinstance(e, BrokenPipeError):  # `netsci-dl info x | head`
                code = 1
            else:
                if flags["debug"] and not isinstance(e, click.UsageError):
                    traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
                print(error_line(e), file=sys.stderr)
                code = exit_code_of(e)
        finally:
            forget_checks()
        if not standalone_mode:
            if code:
                raise SystemExit(code)
            return rv
        sys.exit(code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress bars, info messages or warnings (also after the command).",
)
@click.option(
    "--debug",
    is_flag=True,
    help="Add the traceback to an error line (also after the command).",
)
@click.version_option(package_name="netsci_dl")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, debug: bool) -> None:
    """netsci-dl: treat a trained neural network as a complex network.

    Bad input prints one line on stderr and exits with code 2; an internal error prints one
    line and exits with code 1 (--debug shows the traceback). Outputs are never left half
    written, and existing files are replaced only with --force.
    """
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    ctx.obj["debug"] = debug


def main() -> None:
    """Console-script entry point."""
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
