"""Per-example gradients of a classifier's loss, by ``torch.func`` (``vmap(grad(...))``).

The model maps a batch ``(b, ...)`` to logits ``(b, n_classes)``. For an example ``x`` and a
label ``t`` the per-example loss is the cross-entropy ``-log p(t | x) = -log_softmax(f(x))[t]``;
its gradient with respect to every parameter is computed for a whole batch at once by
``vmap(grad(loss))`` over :func:`torch.func.functional_call`, in eval mode (dropout off, batch
norm on its running statistics), with the model's parameters and buffers detached and moved to
``device`` (the caller's model is not changed, nor moved).

Several labels per example (``y`` of shape ``(n, S)``) give ``S`` gradients per example: the
label samples of the Fisher information, or every class. Labels may also be chosen from the
model's own predictions batch by batch (``y`` callable), so nothing of size ``n x n_params`` is
ever held unless asked for (:func:`per_example_grads` concatenates; the iterator does not).

Parameters are grouped by the module that owns them (``"conv1.weight"`` -> ``"conv1"``; a
parameter of the root module -> ``"model"``): :func:`param_groups`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from netsci_dl.errors import InputError

__all__ = [
    "GradBatch",
    "param_groups",
    "predict_log_probs",
    "iter_per_example_grads",
    "per_example_grads",
]

Targets = Any  # (n,) or (n, S) labels, or callable(log_probs (b, C), start) -> (b,) or (b, S)


def param_groups(model: Any) -> dict[str, tuple[str, ...]]:
    """Module name -> the names of its trainable parameters, in ``named_parameters`` order.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2))
    >>> param_groups(net)
    {'0': ('0.weight', '0.bias'), '2': ('2.weight', '2.bias')}
    """
    if not callable(getattr(model, "named_parameters", None)):
        raise InputError(f"model: expected a torch nn.Module, got {type(model).__name__}")
    out: dict[str, list[str]] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            mod = name.rsplit(".", 1)[0] if "." in name else "model"
            out.setdefault(mod, []).append(name)
    return {k: tuple(v) for k, v in out.items()}


@contextlib.contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


def _setup(model: Any, X: Any, device: Any) -> tuple[Any, Any, dict, dict, Any]:
    from netsci_dl._array import import_torch, resolve_device

    torch = import_torch()
    params = {k: v for k, v in model.named_parameters() if v.requires_grad}
    if not params:
        raise InputError("the model has no trainable parameters")
    first = next(iter(params.values()))
    dev = first.device if device is None else resolve_device(device)
    dtype = first.dtype
    params = {k: v.detach().to(dev) for k, v in params.items()}
    buffers = {k: v.detach().to(dev) for k, v in model.named_buffers()}
    if not isinstance(X, torch.Tensor):
        X = np.asarray(X)
        if not X.flags.writeable:  # a read-only array (a Dataset's): a model may write its input
            X = X.copy()
    Xt = torch.as_tensor(X)
    if Xt.ndim < 2:
        raise InputError(f"X has shape {tuple(Xt.shape)}; expected (n_examples, ...) rows")
    if not Xt.is_floating_point() and any(
        isinstance(m, torch.nn.Embedding) for m in model.modules()
    ):
        return torch, dev, params, buffers, Xt  # token ids stay integers
    return torch, dev, params, buffers, Xt.to(dtype=dtype)


def predict_log_probs(model: Any, X: Any, *, batch_size: int = 1024, device: Any = None) -> Any:
    """``log_softmax(model(X))`` in eval mode, batched: a ``(n, n_classes)`` tensor.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(2, 3)
    >>> predict_log_probs(net, torch.zeros(4, 2)).exp().sum(1).tolist()  # doctest: +ELLIPSIS
    [1.0..., 1.0..., 1.0..., 1.0...]
    """
    from torch.func import functional_call

    torch, dev, params, buffers, Xt = _setup(model, X, device)
    out = []
    with _eval_mode(model), torch.no_grad():
        for s in range(0, len(Xt), int(batch_size)):
            logits = functional_call(model, (params, buffers), (Xt[s : s + batch_size].to(dev),))
            out.append(torch.log_softmax(logits, dim=-1))
    return torch.cat(out) if out else torch.empty(0, 0)


@dataclass(frozen=True)
class GradBatch:
    """The per-example gradients of one batch of examples ``start:stop``.

    Attributes
    ----------
    start, stop : int
    grads : dict of str -> tensor
        Parameter name -> ``(b, *shape)`` for one label per example, ``(b, S, *shape)`` for
        ``S`` labels; gradients of the loss ``-log p(t | x)``.
    targets : (b,) or (b, S) int64 tensor
        The labels differentiated.
    log_probs : (b, n_classes) tensor
        ``log p(. | x)`` of the batch (eval mode, no gradient).
    """

    start: int
    stop: int
    grads: dict[str, Any]
    targets: Any
    log_probs: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (no tensors): the rows, and the shape of each gradient."""
        return {
            "start": int(self.start),
            "stop": int(self.stop),
            "grads": {k: [int(s) for s in g.shape] for k, g in self.grads.items()},
            "targets": [int(s) for s in self.targets.shape],
            "log_probs": [int(s) for s in self.log_probs.shape],
        }

    def __repr__(self) -> str:
        from netsci_dl._results import summary

        return summary(
            "GradBatch",
            f"{self.start}:{self.stop}",
            parameters=len(self.grads),
            targets=self.targets,
            log_probs=self.log_probs,
        )


def iter_per_example_grads(
    model: Any,
    X: Any,
    y: Targets,
    *,
    batch_size: int = 64,
    device: Any = None,
) -> Iterator[GradBatch]:
    """Per-example gradients of ``-log p(y | x)``, one :class:`GradBatch` at a time.

    Parameters
    ----------
    model : nn.Module
        Maps ``(b, ...)`` to logits ``(b, n_classes)``.
    X : (n, ...) array or tensor
        Cast to the dtype of the model's parameters (integers stay integers, token ids, when the
        model has an ``nn.Embedding``).
    y : (n,) or (n, S) int labels, callable, or "all"
        A callable gets ``(log_probs (b, C), start)`` and returns the batch's labels ``(b,)``
        or ``(b, S)`` (e.g. samples from the model's predictive distribution). ``"all"``:
        every class, ``S = n_classes`` in class order, by one ``jacrev`` of ``log_softmax``
        per example (one forward pass instead of ``S``; about 1.4x faster).
    batch_size : int
        Examples per ``vmap`` call; memory is about ``batch_size * S * n_params`` values.
    device : str, optional
        Where to compute (default: the model's device).

    Yields
    ------
    GradBatch

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(3, 2)
    >>> b = next(iter_per_example_grads(net, torch.ones(5, 3), torch.zeros(5, dtype=torch.long)))
    >>> tuple(b.grads["weight"].shape), tuple(b.targets.shape)
    ((5, 2, 3), (5,))
    """
    from torch.func import functional_call, grad, jacrev, vmap

    torch, dev, params, buffers, Xt = _setup(model, X, device)
    n = len(Xt)
    every = isinstance(y, str)
    if every and y != "all":
        raise InputError(f"y={y!r}: expected labels, a callable or 'all'")
    if not callable(y) and not every:
        yt = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
        if yt.shape[:1] != (n,) or yt.ndim > 2:
            raise InputError(f"y has shape {tuple(yt.shape)}; expected ({n},) or ({n}, S)")
        yt = yt.long()

    def loss(p: dict, x: Any, t: Any) -> Any:
        out = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return torch.nn.functional.cross_entropy(out, t.unsqueeze(0))

    def log_probs(p: dict, x: Any) -> Any:
        return torch.log_softmax(functional_call(model, (p, buffers), (x.unsqueeze(0),)), -1)[0]

    g = vmap(grad(loss), in_dims=(None, 0, 0))
    jac = vmap(jacrev(log_probs), in_dims=(None, 0))
    bs = max(1, int(batch_size))
    with _eval_mode(model):
        for s in range(0, n, bs):
            xb = Xt[s : s + bs].to(dev)
            with torch.no_grad():
                lp = torch.log_softmax(functional_call(model, (params, buffers), (xb,)), dim=-1)
            if every:
                t = torch.arange(lp.shape[1], device=dev).expand(len(xb), -1)
                grads = {k: -v for k, v in jac(params, xb).items()}  # of -log p(c | x)
                yield GradBatch(s, s + len(xb), grads, t, lp)
                continue
            t = y(lp, s) if callable(y) else yt[s : s + bs]
            t = torch.as_tensor(t, device=dev).long()
            if t.shape[0] != len(xb) or t.ndim not in (1, 2):
                raise InputError(
                    f"labels of batch {s}: shape {tuple(t.shape)}, expected (b,) or (b, S)"
                )
            if int(t.min()) < 0 or int(t.max()) >= lp.shape[1]:
                raise InputError(
                    f"labels must lie in [0, {lp.shape[1]}), got [{int(t.min())}, {int(t.max())}]"
                )
            if t.ndim == 1:
                grads = g(params, xb, t)
            else:
                S = t.shape[1]
                flat = g(params, xb.repeat_interleave(S, dim=0), t.reshape(-1))
                grads = {k: v.reshape(len(xb), S, *v.shape[1:]) for k, v in flat.items()}
            yield GradBatch(s, s + len(xb), grads, t, lp)


def per_example_grads(
    model: Any, X: Any, y: Targets, *, batch_size: int = 64, device: Any = None
) -> dict[str, Any]:
    """All per-example gradients at once: parameter name -> ``(n, [S,] *shape)`` tensor.

    Holds ``n * S * n_params`` values: for small problems and checks; the analyses stream
    :func:`iter_per_example_grads` instead.

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Linear(3, 2)
    >>> X, y = torch.randn(6, 3), torch.tensor([0, 1, 1, 0, 1, 0])
    >>> g = per_example_grads(net, X, y)
    >>> loss = torch.nn.functional.cross_entropy(net(X), y, reduction="sum")
    >>> torch.allclose(g["weight"].sum(0), torch.autograd.grad(loss, net.weight)[0], atol=1e-6)
    True
    """
    import torch

    parts: dict[str, list[Any]] = {}
    for b in iter_per_example_grads(model, X, y, batch_size=batch_size, device=device):
        for k, v in b.grads.items():
            parts.setdefault(k, []).append(v)
    return {k: torch.cat(v) for k, v in parts.items()}
