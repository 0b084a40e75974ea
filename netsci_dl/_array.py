"""numpy <-> torch helpers: lazy torch import, device choice, torch threads. The CPU path
always works."""

from __future__ import annotations

import contextlib
import os
import sys
import time
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
    "free_threads",
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


def _others_running() -> int | None:
    """Runnable tasks on the machine now that are not threads of this process (Linux), else None.

    ``/proc/loadavg``'s running count less this process's threads in state R; the median of 5
    looks 1 ms apart (one look is noisy).
    """
    looks = []
    for i in range(5):
        try:
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[0])
            mine = 0
            for t in os.listdir("/proc/self/task"):
                try:
                    with open(f"/proc/self/task/{t}/stat") as f:
                        st = f.read()
                except OSError:
                    continue  # the thread ended meanwhile
                mine += st[st.rindex(")") + 2 : st.rindex(")") + 3] == "R"
        except (OSError, ValueError, IndexError):
            return None
        looks.append(max(running - mine, 0))
        if i < 4:
            time.sleep(0.001)
    return sorted(looks)[2]


def free_threads(cap: int | None = None) -> int:
    """How many CPU threads to use now: the cores this process may run on, less the busy ones.

    Cores: ``os.sched_getaffinity`` (``os.cpu_count`` elsewhere), at most ``cap`` (default
    torch's current setting when torch is loaded). Busy: other runnable tasks now (Linux:
    ``/proc/loadavg``'s running count less this process's running threads; elsewhere the 1-minute
    load average less one). At least 1. Intra-op threads that share a core with another process
    wait for each other at every barrier (measured 3-10x slower GEMMs at batch 100 with one of two
    cores busy), so a busy machine gets one thread per process.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    if cap is None:
        torch = sys.modules.get("torch")
        cap = torch.get_num_threads() if torch is not None else cores
    others = _others_running()
    if others is None:
        try:
            others = max(round(os.getloadavg()[0]) - 1, 0)
        except (AttributeError, OSError):
            others = 0
    return max(1, min(int(cap), cores - others))
