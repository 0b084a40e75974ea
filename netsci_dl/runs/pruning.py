"""Pruning percolation against accuracy: one sweep of pruned fractions, the graph and the model
pruned by the same masks.

:func:`pruning_sweep` runs :func:`netsci_dl.analysis.pruning_percolation` on the graph and
:func:`netsci_dl.activations.pruning_accuracy` on the model with the same fractions, ``order``,
``scope`` and ``seed``. Both draw their masks from :func:`netsci_dl.analysis.prune_masks`, so
they prune the same weights exactly when the graph's weight blocks are the model's ``nn.Linear``
weights (transposed), in module order: an MLP. That is checked (shapes and values), and any
other pair is refused, since a convolution's graph block (a kernel norm per channel pair) is not
the set of weights the model would lose.

Two fractions summarise the sweep: ``critical_fraction``, where the giant component ``P_inf``
first falls below ``level`` times its unpruned value, and ``accuracy_fraction``, where the
accuracy first falls more than ``drop`` below its unpruned value (both interpolated linearly
between the grid points around the crossing; NaN when it never does). A net whose accuracy
falls well before its giant component (``accuracy_fraction < critical_fraction``) loses its
function while it is still connected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl import _args
from netsci_dl._array import resolve_device
from netsci_dl.analysis.structure.percolation import first_crossing
from netsci_dl.errors import InputError

__all__ = ["PruningSweep", "pruning_sweep"]

#: the default grid of pruned fractions: 0, 0.05, ..., 1
DEFAULT_FRACTIONS = tuple(np.round(np.linspace(0.0, 1.0, 21), 10).tolist())


@dataclass(frozen=True)
class PruningSweep:
    """The giant component and the accuracy along the pruned fraction (module docstring).

    Attributes
    ----------
    percolation : netsci_dl.analysis.Percolation
    accuracy : netsci_dl.activations.PruningAccuracy
    accuracy_fraction : float
        Where the accuracy first falls more than ``params["drop"]`` below its first value.
    params : dict
    """

    percolation: Any
    accuracy: Any
    accuracy_fraction: float
    params: dict = field(default_factory=dict)

    @property
    def fractions(self) -> np.ndarray:
        return self.percolation.fractions

    @property
    def critical_fraction(self) -> float:
        return float(self.percolation.critical_fraction)

    def to_frame(self) -> Any:
        """One row per fraction: ``fraction``, ``giant``, ``n_components``, ``accuracy``."""
        return self.percolation.to_frame().assign(accuracy=self.accuracy.accuracy)

    def to_dict(self) -> dict[str, Any]:
        p, a = self.percolation, self.accuracy
        return {
            "fractions": p.fractions.tolist(),
            "giant": p.giant.tolist(),
            "n_components": p.n_components.tolist(),
            "accuracy": a.accuracy.tolist(),
            "critical_fraction": _num(p.critical_fraction),
            "accuracy_fraction": _num(self.accuracy_fraction),
            "unpruned_accuracy": float(a.accuracy[0]),
            "layers": list(a.layers),
            "params": dict(self.params),
        }

    def __repr__(self) -> str:
        return (
            f"PruningSweep({len(self.fractions)} fractions, f_c = {self.critical_fraction:.3g}, "
            f"accuracy falls at {self.accuracy_fraction:.3g})"
        )


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _check_same_weights(G: Any, model: Any) -> None:
    """The graph's weight blocks must be the model's ``nn.Linear`` weights, transposed."""
    import torch

    blocks = [b for b, k in zip(G.blocks, G.block_kinds) if k != "identity"]
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    why = None
    if len(blocks) != len(linears):
        why = f"the graph has {len(blocks)} weight blocks and the model {len(linears)} nn.Linear"
    else:
        for b, (name, m) in zip(blocks, linears):
            w = m.weight.detach().cpu().numpy().T
            dense = b.toarray() if hasattr(b, "toarray") else np.asarray(b)
            if dense.shape != w.shape:
                why = f"{name} is {w.shape[0]}->{w.shape[1]}, its block {dense.shape}"
                break
            if not np.allclose(dense, w, rtol=1e-6, atol=1e-7):  # float32 round trips
                why = f"{name}'s weights differ from its graph block"
                break
    if why:
        raise InputError(
            f"pruning needs the graph to be the model's nn.Linear weights (an MLP): {why}"
        )


def pruning_sweep(
    G: Any,
    model: Any,
    X: Any,
    y: Any,
    fractions: Sequence[float] | None = None,
    *,
    order: str = "magnitude",
    scope: str = "global",
    seed: int | None = 0,
    level: float = 0.5,
    drop: float = 0.1,
    batch_size: int = 1024,
    device: Any = "cpu",
) -> PruningSweep:
    """Prune ``model`` and its graph ``G`` by the same masks over ``fractions``: the giant
    component of the graph and the accuracy of the model on ``(X, y)`` (module docstring).

    Parameters
    ----------
    G : LayeredGraph
        The model's graph (e.g. ``netsci_dl.load(model)``): its weight blocks must be the
        model's ``nn.Linear`` weights.
    model : torch.nn.Module
        A classifier taking ``X`` as given.
    X, y : the examples and their integer labels
    fractions : increasing values in [0, 1], optional
        Default: 0, 0.05, ..., 1.
    order, scope, seed, level
        As in :func:`netsci_dl.analysis.pruning_percolation`.
    drop : float in (0, 1)
        ``accuracy_fraction`` is where the accuracy falls below its first value minus ``drop``.
    batch_size, device
        As in :func:`netsci_dl.activations.pruning_accuracy`.

    Returns
    -------
    PruningSweep
    """
    import torch

    _args.real("drop", drop, lo=0, hi=1)
    _args.real("level", level, lo=0, hi=1)
    _args.seed("seed", seed)
    _args.count("batch_size", batch_size, hi=2**31 - 1)
    resolve_device(device)
    if not isinstance(model, torch.nn.Module):
        raise InputError(f"model: expected a torch nn.Module, got {type(model).__name__}")
    from netsci_dl.activations import pruning_accuracy
    from netsci_dl.analysis import pruning_percolation

    if not 0 < drop < 1:
        raise InputError(f"drop must be in (0, 1), got {drop}")
    f = np.asarray(DEFAULT_FRACTIONS if fractions is None else fractions, dtype=np.float64)
    _check_same_weights(G, model)
    p = pruning_percolation(G, f, order=order, scope=scope, seed=seed, level=level)
    a = pruning_accuracy(
        model, X, y, f, order=order, scope=scope, seed=seed, batch_size=batch_size, device=device
    )
    at = first_crossing(f, a.accuracy, a.accuracy[0] - drop)
    params = dict(p.params, drop=drop, n_examples=int(np.shape(y)[0]))
    return PruningSweep(p, a, at, params)
