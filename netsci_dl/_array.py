"""numpy <-> torch helpers: lazy torch import, device choice. The CPU path always works."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from netsci_dl.errors import InputError

__all__ = ["import_torch", "resolve_device", "to_numpy", "is_tensor", "require"]


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


def resolve_device(device: Any = None) -> Any:
    """A ``torch.device``: ``None`` or ``"auto"`` picks CUDA when present, else the CPU.

    An explicit ``"cuda"`` on a machine without CUDA raises a ValueError naming the problem.

    Examples
    --------
    >>> resolve_device("cpu").type
    'cpu'
    """
    torch = import_torch()
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device={device!r} requested, but CUDA is not available on this machine")
    return dev
