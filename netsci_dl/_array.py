"""numpy <-> torch helpers: lazy torch import, device choice, torch threads. The CPU path
always works."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from netsci_dl.errors import InputError

__all__ = [
    "import_torch",
    "resolve_device",
    "to_numpy",
    "is_tensor",
    "require",
    "check_threads",
    "torch_threads",
    "MAX_THREADS",
]


def require(module: str, extra: str, purpose: str) -> Any:
    """Import ``module`` or raise an ImportError saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        hint = (
            "graph-tool is not on PyPI: install Debian's python3-graph-tool and use a venv made "
            "with --system-site-packages (make setup does both)"
            if module.startswith("graph_tool")
            else f"pip install 'netsci_dl[{extra}]'"
        )
        raise ImportError(f"{purpose} needs {module}: {hint}") from e


def import_torch() -> Any:
    """Import torch, or raise an ImportError that says how to install it."""
    return require("torch", "torch", "this function")


def is_tensor(x: Any) -> bool:
    """True for a torch tensor, without importing torch when it is not loaded."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def to_numpy(x: Any) -> np.ndarray:
    """An ndarray from an array-like or a torch tensor (on any device)."""
    if is_tensor(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def resolve_device(device: Any = None, *, what: str | None = None) -> Any:
    """A ``torch.device`` for ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"`` (or None), else InputError.

    ``what`` names the value in the message (default ``device='...'``; the CLI says
    ``--device '...'``).

    Examples
    --------
    >>> resolve_device("cpu").type
    'cpu'
    >>> try:
    ...     resolve_device("warp9")
    ... except ValueError as e:
    ...     print(e)
    device='warp9': expected cpu, cuda, cuda:N or auto
    """
    torch = import_torch()
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    who = f"device={device!r}" if what is None else what
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"{who}: expected cpu, cuda, cuda:N or auto") from None
    if dev.type not in ("cpu", "cuda"):
        raise InputError(f"{who}: expected cpu, cuda, cuda:N or auto")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"{who} requested, but CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"{who}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return dev


MAX_THREADS = 1024


def check_threads(n: Any, *, name: str = "num_threads") -> int | None:
    """``None`` (torch's setting) or an integer from 1 to :data:`MAX_THREADS`, else InputError.

    Examples
    --------
    >>> check_threads(2), check_threads(None)
    (2, None)
    """
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_THREADS:
        raise InputError(f"{name}={n!r}: expected an integer from 1 to {MAX_THREADS}")
    return int(n)


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Temporarily ``torch.set_num_threads(n)`` (None: leave as is)."""
    if n is None:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)
