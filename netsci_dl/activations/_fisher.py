"""Trace of the Fisher information per layer (Achille, Rovere & Soatto, ICLR 2019).

For a classifier with predictive distribution ``p(y | x)`` and parameters ``theta`` grouped by
module (layer), the Fisher information is ``F = E_x E_{y ~ p(y|x)} [g g^T]`` with ``g =
grad_theta log p(y | x)``; its trace restricted to layer ``l`` is

    tr F_l = E_x E_{y ~ p(y|x)} ||g_l||^2,

``g_l`` the part of ``g`` that belongs to the parameters of layer ``l``. Three estimates over a
fixed probe set ``X`` (use the same ``X`` for every snapshot of a run):

- ``kind="model_exact"``: the inner expectation in closed form, ``sum_c p(c|x) ||g_l(x, c)||^2``
  (``n_classes`` gradients per example).
- ``kind="model"``: ``n_samples`` labels per example drawn from ``p(y|x)`` (A19's estimator);
  unbiased for the same quantity.
- ``kind="empirical"``: the true labels ``y``: the *empirical* Fisher, a different quantity
  (not the Fisher; it is named so in every output).

The outer expectation is the mean over the probe set; the standard error is that of this mean
over examples (``std(ddof=1) / sqrt(n)`` of the per-example values; for ``model`` it includes
the label sampling). Per-example gradients come from
:func:`netsci_dl.activations._gradients.iter_per_example_grads` (``vmap(grad(...))``, or
``vmap(jacrev(log_softmax))`` for ``model_exact``; eval mode).
Pure: a model and arrays in, a :class:`FisherTrace` out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netsci_dl._tables import long_rows as _long_rows
from netsci_dl.errors import InputError

__all__ = ["FISHER_KINDS", "FISHER_METHODS", "FisherTrace", "fisher_trace"]

FISHER_KINDS = ("model", "model_exact", "empirical")
FISHER_METHODS = ("auto", "vmap")


@dataclass(frozen=True, eq=False)
class FisherTrace:
    """Fisher-information traces per layer of one model on one probe set.

    Attributes
    ----------
    kind : {"model", "model_exact", "empirical"}
    layers : tuple of str
        Module names, in parameter order.
    traces, stderrs : (n_layers,) float64 ndarray
        ``tr F_l`` and its standard error.
    n_params : (n_layers,) int64 ndarray
    total, total_stderr : float
        ``tr F`` (the sum over layers) and its standard error.
    tensors : tuple of str
        Parameter names; ``tensor_traces`` (n_tensors,) their traces (e.g. weight and bias
        of a layer apart).
    n_examples : int
    n_samples : int or None
        Labels sampled per example (``model`` only).
    settings : dict
        kind, n_samples, batch_size, seed, device.

    ``per_layer``, ``stderr``, ``shares`` (``tr F_l / tr F``), ``per_parameter`` (``tr F_l /
    n_params_l``) and ``per_tensor`` are dicts keyed by name.
    """

    kind: str
    layers: tuple[str, ...]
    traces: np.ndarray
    stderrs: np.ndarray
    n_params: np.ndarray
    total: float
    total_stderr: float
    tensors: tuple[str, ...] = field(repr=False)
    tensor_traces: np.ndarray = field(repr=False)
    n_examples: int = 0
    n_samples: int | None = None
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for k in ("traces", "stderrs", "n_params", "tensor_traces"):
            a = np.array(getattr(self, k))
            a.setflags(write=False)
            object.__setattr__(self, k, a)

    @property
    def per_layer(self) -> dict[str, float]:
        return dict(zip(self.layers, self.traces.tolist()))

    @property
    def stderr(self) -> dict[str, float]:
        return dict(zip(self.layers, self.stderrs.tolist()))

    @property
    def shares(self) -> dict[str, float]:
        tot = self.total if self.total > 0 else np.nan
        return dict(zip(self.layers, (self.traces / tot).tolist()))

    @property
    def per_parameter(self) -> dict[str, float]:
        return dict(zip(self.layers, (self.traces / self.n_params).tolist()))

    @property
    def per_tensor(self) -> dict[str, float]:
        return dict(zip(self.tensors, self.tensor_traces.tolist()))

    @property
    def metric(self) -> str:
        """``"fisher_trace"``, or ``"empirical_fisher_trace"`` for ``kind="empirical"``."""
        return "empirical_fisher_trace" if self.kind == "empirical" else "fisher_trace"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "metric": self.metric,
            "total": self.total,
            "total_stderr": self.total_stderr,
            "per_layer": self.per_layer,
            "stderr": self.stderr,
            "shares": self.shares,
            "per_parameter": self.per_parameter,
            "n_params": dict(zip(self.layers, self.n_params.tolist())),
            "per_tensor": self.per_tensor,
            "n_examples": self.n_examples,
            "n_samples": self.n_samples,
            "settings": dict(self.settings),
        }

    def to_frame(self, *, snapshot: Any = None, step: Any = None, epoch: Any = None) -> Any:
        """Long table ``snapshot step epoch layer metric value``.

        Per layer (module name): ``{m}``, ``{m}_stderr``, ``{m}_share``, ``{m}_per_param``;
        layer ``"all"``: ``{m}`` and ``{m}_stderr``, where ``m`` is :attr:`metric`.
        """
        m = self.metric
        rows: list[tuple[str, str, float]] = []
        for i, name in enumerate(self.layers):
            rows += [
                (name, m, self.traces[i]),
                (name, f"{m}_stderr", self.stderrs[i]),
                (name, f"{m}_share", self.traces[i] / self.total if self.total > 0 else np.nan),
                (name, f"{m}_per_param", self.traces[i] / self.n_params[i]),
            ]
        rows += [("all", m, self.total), ("all", f"{m}_stderr", self.total_stderr)]
        return _long_rows(rows, snapshot, step, epoch)

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "FisherTrace",
            repr(self.kind),
            total=self.total,
            total_stderr=self.total_stderr,
            layers=len(self.layers),
            n_params=int(self.n_params.sum()),
            n_examples=self.n_examples,
            n_samples=self.n_samples,
        )


def _se(v: np.ndarray) -> np.ndarray:
    n = v.shape[0]
    return v.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(v.shape[1:])


def fisher_trace(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    kind: str,
    n_samples: int = 1,
    batch_size: int = 64,
    seed: int = 0,
    device: Any = None,
    method: str = "auto",
) -> FisherTrace:
    """Trace of the Fisher information of ``model`` per layer, over the probe set ``X``.

    Parameters
    ----------
    model : nn.Module
        Maps ``(b, ...)`` to logits ``(b, n_classes)``; evaluated in eval mode, not modified.
    X : (n, ...) array or tensor
        The probe set (keep it fixed across snapshots).
    y : (n,) int labels, optional
        Required for ``kind="empirical"``; unused by the other kinds.
    kind : {"model", "model_exact", "empirical"}
        See the module docstring. No default: the choice is part of the result.
    n_samples : int
        Labels drawn per example for ``kind="model"``.
    batch_size : int
        Examples per ``vmap`` call (memory ~ ``batch_size * S * n_params`` values, ``S`` =
        ``n_samples``, ``n_classes`` or 1).
    seed : int
        Fixes the label samples (drawn on the CPU: the same on every device).
    device : str, optional
        Where to compute (default: the model's device).
    method : {"auto", "vmap"}
        ``"auto"``: per-example gradient norms without per-example gradients where the layer
        allows it (``nn.Linear``, ``nn.Conv1d``/``nn.Conv2d``, ``nn.Embedding``: one forward and
        one backward pass per label, :mod:`netsci_dl.activations._sqnorms`), ``vmap`` for every
        other parameter; the examples must not interact in the forward pass and those layers must
        see them on their inputs' first axis. ``"vmap"``: every per-example gradient by
        ``vmap(grad(...))``. Both give the same numbers (to float rounding).

    Returns
    -------
    FisherTrace

    Examples
    --------
    Softmax regression at W = 0, b = 0 (uniform predictions over 4 classes):
    ``tr F_W = E||x||^2 (1 - 1/4)``, ``tr F_b = 1 - 1/4``.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4)).double()
    >>> with torch.no_grad():
    ...     _ = net[0].weight.zero_(), net[0].bias.zero_()
    >>> X = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    >>> f = fisher_trace(net, X, kind="model_exact")
    >>> {k: round(v, 4) for k, v in f.per_tensor.items()}, round(f.total, 4)
    ({'0.weight': 1.125, '0.bias': 0.75}, 1.875)
    """
    import torch

    from netsci_dl.activations._gradients import param_groups

    if kind not in FISHER_KINDS:
        raise InputError(f"kind={kind!r}: expected one of {', '.join(FISHER_KINDS)}")
    if kind == "empirical" and y is None:
        raise InputError("kind='empirical' needs the true labels y")
    if int(n_samples) < 1:
        raise InputError(f"n_samples={n_samples}: must be >= 1")
    if method not in FISHER_METHODS:
        raise InputError(f"method={method!r}: expected one of {', '.join(FISHER_METHODS)}")
    groups = param_groups(model)
    names = [k for ks in groups.values() for k in ks]
    sizes = dict(model.named_parameters())
    gen = torch.Generator().manual_seed(int(seed))
    S = int(n_samples)

    def targets(lp: Any, start: int) -> Any:
        p = lp.detach().double().exp().cpu()
        return torch.multinomial(p, S, replacement=True, generator=gen).to(lp.device)

    labels = {"empirical": y, "model_exact": "all"}.get(kind, targets)
    if method == "vmap":
        per_ex = _vmap_columns(model, X, labels, names, kind, batch_size, device)
    else:
        from netsci_dl.activations._sqnorms import iter_sqnorms

        per_ex = []
        for _, _, lp, sq in iter_sqnorms(model, X, labels, batch_size=batch_size, device=device):
            v = torch.stack([sq[k] for k in names], 1).double()  # (b, n_tensors, S)
            if kind == "model_exact":  # weighted by p(c | x) over the classes
                v = (v * lp.double().exp().unsqueeze(1)).sum(-1)
            else:  # the mean over the S label samples (S = 1: the one label)
                v = v[..., 0] if v.shape[-1] == 1 else v.mean(-1)
            per_ex.append(v.cpu().numpy())
    if not per_ex:
        raise InputError("X holds no examples")
    T = per_ex[0] if len(per_ex) == 1 else np.concatenate(per_ex)  # (n, n_tensors)
    # a layer's tensors are adjacent in ``names``: one reduceat sums each layer's columns
    starts = np.cumsum([0] + [len(ks) for ks in groups.values()])[:-1]
    LT = np.empty((T.shape[0], len(groups) + 1))  # per layer and the total
    np.add.reduceat(T, starts, axis=1, out=LT[:, :-1])
    LT[:, -1] = LT[:, :-1].sum(1)
    means, ses = LT.mean(0), _se(LT)
    n_params = np.array([sum(sizes[k].numel() for k in ks) for ks in groups.values()], np.int64)
    return FisherTrace(
        kind=kind,
        layers=tuple(groups),
        traces=means[:-1],
        stderrs=ses[:-1],
        n_params=n_params,
        total=float(means[-1]),
        total_stderr=float(ses[-1]),
        tensors=tuple(names),
        tensor_traces=T.mean(0),
        n_examples=int(T.shape[0]),
        n_samples=S if kind == "model" else None,
        settings={
            "kind": kind,
            "n_samples": S if kind == "model" else None,
            "batch_size": int(batch_size),
            "seed": int(seed),
            "device": None if device is None else str(device),
            "method": method,
        },
    )


def _vmap_columns(
    model: Any, X: Any, labels: Any, names: list, kind: str, batch_size: int, device: Any
) -> list[np.ndarray]:
    """``(b, n_tensors)`` per-example squared norms per batch, from ``vmap`` per-example gradients."""
    import torch

    from netsci_dl.activations._gradients import iter_per_example_grads

    per_ex = []
    for batch in iter_per_example_grads(model, X, labels, batch_size=batch_size, device=device):
        lead = batch.targets.ndim
        cols = []
        for k in names:
            v = batch.grads[k]
            sq = v.reshape(*v.shape[:lead], -1).double().pow(2).sum(-1)  # (b,) or (b, S)
            if kind == "model_exact":
                sq = (sq * batch.log_probs.double().exp()).sum(1)
            elif lead == 2:
                sq = sq.mean(1)
            cols.append(sq)
        per_ex.append(torch.stack(cols, dim=1).cpu().numpy())
    return per_ex
