"""Refusals that point to the Python API: what the command line cannot take, Python can.

A command line takes strings: a data set as a spec (``--data npz:PATH``), players as a grid or
feature ranges, a model that runs on one tensor. The Python functions behind the data-path
commands take more (a torch ``Dataset`` or ``DataLoader``, arrays, any index groups, any
``nn.Module``, so a wrapper around a model with another forward). When a command refuses such
an input, its error line ends with one sentence naming the function to use
(:func:`with_python_hint`, called where the CLI reports every error).
"""

from __future__ import annotations

import os
import traceback

from netsci_dl.errors import InputError

__all__ = ["PYTHON_API", "DATA_API", "with_python_hint", "command_of"]

#: the Python function behind each data-path command
PYTHON_API = {
    "similarity": "netsci_dl.runs.training_similarity",
    "measures": "netsci_dl.runs.training_measures",
    "interactions": "netsci_dl.runs.run_interactions",
    "critical-period": "netsci_dl.runs.critical_period",
    "causal-plane": "netsci_dl.runs.ei_trajectory",
    "analyze": "netsci_dl.runs.training_similarity",
    "prune": "netsci_dl.runs.pruning_sweep",
}
#: the function that takes a torch Dataset, a DataLoader or arrays where the command takes
#: a spec (interactions: its per-model function; critical-period trains from a spec only)
DATA_API = {
    "similarity": "netsci_dl.runs.training_similarity",
    "measures": "netsci_dl.runs.training_measures",
    "interactions": "netsci_dl.activations.layer_interactions",
    "analyze": "netsci_dl.runs.training_similarity",
}
_PLAYERS_API = "netsci_dl.activations.layer_interactions"


def _data_hint(command: str) -> str | None:
    fn = DATA_API.get(command)
    if fn is None:
        return None
    return f"From Python, pass a torch Dataset, a DataLoader or arrays to {fn}(...)."


def _players_hint(command: str) -> str:
    return (
        f"From Python, pass any index groups into the flattened example as players to "
        f"{_PLAYERS_API}(model, X, y, players=[[0, 5], [9, 10]])."
    )


def _forward_hint(command: str) -> str:
    fn = PYTHON_API.get(command, "netsci_dl.runs.training_similarity")
    return (
        "From Python, wrap the model in an nn.Module whose forward(x) calls it as it needs "
        f"(several inputs, a dict) and pass that module to {fn}(...)."
    )


def _in_user_code(e: BaseException) -> bool:
    """Whether ``e`` was raised in the user's model: a frame of a ``forward`` outside
    netsci_dl and torch, or torch's call of a forward with the wrong arguments."""
    import torch

    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    theirs = os.path.dirname(os.path.abspath(torch.__file__))
    frames = traceback.extract_tb(e.__traceback__)
    for f in frames:
        path = os.path.abspath(f.filename)
        if f.name == "forward" and not path.startswith((ours, theirs)):
            return True
    return isinstance(e, TypeError) and "forward()" in str(e)


def with_python_hint(command: str | None, e: BaseException) -> BaseException:
    """``e`` as the command line reports it: a refusal of something the Python API can do
    ends with the sentence that names the function (a data set that is not a spec, players
    that are not a grid or feature ranges, a model that does not run on one tensor: the
    failure in its own code becomes an input error). Anything else is returned as it is.

    Examples
    --------
    >>> e = with_python_hint("similarity", InputError("--data 'x': expected ..."))
    >>> str(e).endswith("netsci_dl.runs.training_similarity(...).")
    True
    >>> e = InputError("--threads 0: expected ...")
    >>> with_python_hint("similarity", e) is e
    True
    """
    if command is None:
        return e
    hint = None
    if isinstance(e, InputError):
        text = str(e)
        if text.startswith("--data "):
            hint = _data_hint(command)
        elif text.startswith("--players ") and command == "interactions":
            hint = _players_hint(command)
        if hint is None or text.endswith(hint):
            return e
        out = InputError(f"{text.rstrip('.')}. {hint}")
    elif command in PYTHON_API and isinstance(
        e, TypeError | IndexError | KeyError | AttributeError
    ):
        if not _in_user_code(e):
            return e
        out = InputError(
            f"the model does not run on the one tensor netsci-dl passes it "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). "
            f"{_forward_hint(command)}"
        )
    else:
        return e
    out.__cause__ = e
    out.__traceback__ = e.__traceback__
    return out


def command_of(args: list[str]) -> str | None:
    """The subcommand in a command line (its first word that is not an option)."""
    return next((a for a in args if not a.startswith("-")), None)
