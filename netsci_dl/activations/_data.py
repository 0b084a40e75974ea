"""The one adapter from a user's data object to the arrays the runners take.

Every public data-path function of :mod:`netsci_dl.activations` takes, as ``X``, an array or a
tensor (as always), a :class:`netsci_dl.datasets.Dataset`, a torch ``Dataset`` or a
``DataLoader``; the last three also give ``y`` when the function takes one and it was not
passed (:func:`netsci_dl.datasets.as_arrays`), and a token Dataset gives its
``attention_mask`` when the function takes one and it was not passed.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from netsci_dl._array import is_tensor
from netsci_dl.datasets import as_arrays

__all__ = ["accepts_data"]


def _plain(X: Any) -> bool:
    return isinstance(X, np.ndarray | list | tuple) or is_tensor(X) or np.isscalar(X)


def accepts_data(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(model, X, ..., y=...)`` that also takes a data object as ``X`` (module docstring)."""
    sig = inspect.signature(fn)
    names = list(sig.parameters)
    if names[1:2] != ["X"]:
        raise TypeError(f"{fn.__name__}: the second parameter must be X")  # pragma: no cover
    has_y = "y" in sig.parameters
    has_mask = "attention_mask" in sig.parameters

    @functools.wraps(fn)
    def wrapper(*args: Any, **named: Any) -> Any:
        bound = sig.bind_partial(*args, **named)
        X = bound.arguments.get("X")
        if X is None or _plain(X):
            return fn(*args, **named)
        Xa, ya = as_arrays(X)
        mask = getattr(X, "attention_mask", None)
        if has_mask and bound.arguments.get("attention_mask") is None and mask is not None:
            bound.arguments["attention_mask"] = mask
        bound.arguments["X"] = Xa
        if has_y and bound.arguments.get("y") is None and ya is not None:
            bound.arguments["y"] = ya
        return fn(*bound.args, **bound.kwargs)

    return wrapper
