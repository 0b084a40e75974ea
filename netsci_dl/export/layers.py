"""One fully connected layer of a torch model as arrays: the parameter layout of ``nn.Linear``
(``weight`` is ``(out, in)``) read here, so the analyses that take a layer (the layer EI of
:mod:`netsci_dl.analysis.information`) see arrays only."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from netsci_dl._array import to_numpy

__all__ = ["linear_layer"]


def linear_layer(layer: Any) -> tuple[np.ndarray, np.ndarray | None, Any] | None:
    """``(W (n_in, n_out), b (n_out,) or None, activation module or None)`` of an ``nn.Linear``
    or an ``nn.Sequential(nn.Linear[, activation])``; None for anything else (arrays, tuples).

    Raises TypeError for a Sequential of another form. torch is not imported for a non-torch
    input.

    Examples
    --------
    >>> import torch
    >>> W, b, act = linear_layer(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU()))
    >>> W.shape, b.shape, type(act).__name__
    ((3, 2), (2,), 'ReLU')
    >>> linear_layer([[1.0, 2.0]]) is None
    True
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    act = None
    if isinstance(layer, torch.nn.Sequential):
        mods = list(layer)
        if not mods or not isinstance(mods[0], torch.nn.Linear) or len(mods) > 2:
            raise TypeError("a Sequential layer must be (nn.Linear,) or (nn.Linear, activation)")
        act = mods[1] if len(mods) == 2 else None
        layer = mods[0]
    if not isinstance(layer, torch.nn.Linear):
        return None
    b = to_numpy(layer.bias) if layer.bias is not None else None
    return to_numpy(layer.weight).T, b, act
