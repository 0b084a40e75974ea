"""Accuracy of a model with a fraction of its weights pruned (the model half of pruning
percolation; the graph half is :func:`netsci_dl.analysis.pruning_percolation`).

The weights pruned are those of the model's ``nn.Linear`` layers, in module order, each seen as
its graph block ``W.T`` (``(in, out)``, the layout of :func:`netsci_dl.from_matrices` and the
exporters); the masks come from :func:`netsci_dl.analysis.prune_masks`, so for an MLP the
pruned model and the pruned graph of the same ``order``, ``scope`` and ``seed`` hold the same
edges. Biases and other parameters are kept. The model is copied; the caller's is untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl._array import import_torch, resolve_device, to_numpy
from netsci_dl.errors import InputError

__all__ = ["PruningAccuracy", "pruning_accuracy"]


@dataclass(frozen=True)
class PruningAccuracy:
    """Accuracy along the fraction of pruned weights.

    Attributes
    ----------
    fractions : (m,) float64
    accuracy : (m,) float64
        Fraction of the examples whose arg-max output equals the label.
    layers : tuple of str
        The ``nn.Linear`` modules pruned, in order.
    params : dict
    """

    fractions: np.ndarray
    accuracy: np.ndarray
    layers: tuple[str, ...]
    params: dict = field(default_factory=dict)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"fraction": self.fractions, "accuracy": self.accuracy})

    def to_dict(self) -> dict[str, Any]:
        return {
            "fractions": self.fractions.tolist(),
            "accuracy": self.accuracy.tolist(),
            "layers": list(self.layers),
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        return (
            f"PruningAccuracy({len(self.fractions)} fractions, accuracy "
            f"{self.accuracy[0]:.3g} -> {self.accuracy[-1]:.3g}, {len(self.layers)} layers)"
        )


def pruning_accuracy(
    model: Any,
    X: Any,
    y: Any,
    fractions: Sequence[float],
    *,
    order: str = "magnitude",
    scope: str = "global",
    seed: int | None = 0,
    batch_size: int = 1024,
    device: Any = "cpu",
) -> PruningAccuracy:
    """Classification accuracy of ``model`` on ``(X, y)`` with each fraction of its ``nn.Linear``
    weights zeroed (module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        A classifier: ``model(X)`` gives ``(n, n_classes)`` scores.
    X : (n, ...) array or tensor
    y : (n,) int array or tensor
    fractions : sequence of float in [0, 1]
    order, scope, seed
        As in :func:`netsci_dl.analysis.prune_masks`.
    batch_size : int
    device : str
        Where the model runs (``"cpu"``, ``"cuda"``, ``"auto"``).

    Returns
    -------
    PruningAccuracy

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    >>> X, y = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
    >>> pruning_accuracy(net, X, y, [0.0, 1.0]).accuracy.tolist()
    [1.0, 0.5]
    """
    from netsci_dl.analysis import prune_masks

    torch = import_torch()
    dev = resolve_device(device)
    f = np.asarray(fractions, dtype=np.float64)
    if f.ndim != 1 or f.size == 0 or np.any((f < 0) | (f > 1)):
        raise InputError("fractions must be a non-empty sequence of values in [0, 1]")
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise InputError(f"{type(model).__name__} has no nn.Linear layer to prune")
    Xt = torch.as_tensor(to_numpy(X) if not torch.is_tensor(X) else X, dtype=torch.float32)
    yt = torch.as_tensor(to_numpy(y)).long()
    if Xt.shape[0] != yt.shape[0]:
        raise InputError(f"X has {Xt.shape[0]} examples and y {yt.shape[0]}")
    work = copy.deepcopy(model).to(dev).eval()
    mods = [m for n, m in work.named_modules() if isinstance(m, torch.nn.Linear)]
    originals = [m.weight.detach().clone() for m in mods]
    blocks = [w.T.cpu().numpy() for w in originals]
    acc = np.empty(f.size)
    with torch.no_grad():
        for i, frac in enumerate(f):
            masks = prune_masks(blocks, float(frac), order=order, scope=scope, seed=seed)
            for m, w0, keep in zip(mods, originals, masks):
                m.weight.copy_(w0 * torch.as_tensor(keep.T, device=dev, dtype=w0.dtype))
            correct = 0
            for s in range(0, Xt.shape[0], batch_size):
                out = work(Xt[s : s + batch_size].to(dev))
                correct += int((out.argmax(dim=1).cpu() == yt[s : s + batch_size]).sum())
            acc[i] = correct / max(Xt.shape[0], 1)
    return PruningAccuracy(
        f,
        acc,
        tuple(n for n, _ in linears),
        {"order": order, "scope": scope, "seed": seed, "pruned": "nn.Linear weights"},
    )
