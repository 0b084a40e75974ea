"""Curvature along training (Jastrzebski et al., ICLR 2020): Hessian and gradient covariance.

For the training loss ``L(theta) = (1/N) sum_i l_i(theta)`` (mean cross-entropy of the model on
``(X, y)``, eval mode, no weight decay term):

- :func:`hessian_top_eigenvalue`: the largest eigenvalue of the Hessian ``H`` by Lanczos
  (default; full reorthogonalisation, the algebraically largest Ritz value) or power iteration
  (the eigenvalue of largest magnitude) on Hessian-vector products, with the residual
  ``||H v - lambda v||`` of the returned pair (``v`` unit norm) and whether it met ``tol``.
- :func:`hessian_trace`: Hutchinson's estimate ``tr H = E[v^T H v]`` over Rademacher probes
  ``v``, with its standard error, overall and per layer (``E[v_l^T (H v)_l] = tr H_ll``).
- :func:`gradient_covariance`: ``K = (1/M) sum_i (g_i - g)(g_i - g)^T`` of the per-example loss
  gradients ``g_i`` over ``M`` examples, through the ``M x M`` Gram matrix of the centred
  gradients (``K`` and ``Gram / M`` share their non-zero eigenvalues): top eigenvalues and
  trace, overall and per layer.

Hessian-vector products are forward-over-reverse, ``jvp(grad(L))``, in :mod:`torch.func` (no
third-party Hessian code). The operator-level estimators they call,
:func:`~netsci_dl.analysis.top_eigenvalue` and :func:`~netsci_dl.analysis.hutchinson_trace`,
are pure and live in :mod:`netsci_dl.analysis.spectra`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from netsci_dl.analysis.spectra import (
    GradientCovariance,
    TopEigenvalue,
    TraceEstimate,
    hutchinson_trace,
    top_eigenvalue,
)
from netsci_dl.errors import InputError

__all__ = [
    "loss_hvp",
    "hessian_top_eigenvalue",
    "hessian_trace",
    "gradient_covariance",
]


# ---------------------------------------------------------------------- the training loss
def _prepare(model: Any, X: Any, y: Any, device: Any) -> tuple:
    import torch

    from netsci_dl._array import resolve_device
    from netsci_dl.activations._gradients import param_groups

    groups = param_groups(model)
    named = dict(model.named_parameters())
    names = [k for ks in groups.values() for k in ks]
    first = named[names[0]]
    dev = first.device if device is None else resolve_device(device)
    params = {k: named[k].detach().to(dev) for k in names}
    buffers = {k: v.detach().to(dev) for k, v in model.named_buffers()}
    Xt = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X)
    Xt = Xt.to(dtype=first.dtype)
    if y is None:
        raise InputError("curvature of the training loss needs the labels y")
    yt = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).long()
    if yt.ndim != 1 or len(yt) != len(Xt) or len(Xt) == 0:
        raise InputError(f"y has shape {tuple(yt.shape)}; expected ({len(Xt)},) labels, n >= 1")
    sizes = {mod: sum(named[k].numel() for k in ks) for mod, ks in groups.items()}
    return torch, dev, groups, names, params, buffers, Xt, yt, sizes


def loss_hvp(
    model: Any, X: Any, y: Any, *, batch_size: int = 1024, device: Any = None
) -> tuple[Callable[[Any], Any], int, dict[str, int]]:
    """Hessian-vector products of the mean cross-entropy of ``model`` on ``(X, y)``.

    Returns
    -------
    (matvec, n_params, groups)
        ``matvec(v)``: ``H v`` for a flat ``(n_params,)`` vector in parameter order (layers in
        :func:`~netsci_dl.activations._gradients.param_groups` order); ``groups``: layer name ->
        its number of parameters, in that order. Forward-over-reverse ``jvp(grad(L))`` summed
        over batches of ``batch_size`` examples, eval mode.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(2, 3)
    >>> mv, n, groups = loss_hvp(net, torch.ones(4, 2), torch.zeros(4, dtype=torch.long))
    >>> n, groups, tuple(mv(torch.ones(n)).shape)
    (9, {'model': 9}, (9,))
    """
    from torch.func import functional_call, grad, jvp

    torch, dev, groups, names, params, buffers, Xt, yt, sizes = _prepare(model, X, y, device)
    shapes = [params[k].shape for k in names]
    numels = [params[k].numel() for k in names]
    n = sum(numels)
    N = len(Xt)
    bs = max(1, int(batch_size))

    def loss(p: dict, xb: Any, yb: Any) -> Any:
        out = functional_call(model, (p, buffers), (xb,))
        return torch.nn.functional.cross_entropy(out, yb, reduction="sum")

    def matvec(v: Any) -> Any:
        v = v.to(device=dev, dtype=params[names[0]].dtype)
        tang = {k: c.view(s) for k, c, s in zip(names, v.split(numels), shapes)}
        out = torch.zeros(n, dtype=v.dtype, device=dev)
        was = model.training
        model.eval()
        try:
            with warnings.catch_warnings():
                # torch loads its forward-AD decompositions with torch.jit.script on first use
                warnings.filterwarnings("ignore", ".*torch.jit.script.*", DeprecationWarning)
                for s in range(0, N, bs):
                    xb, yb = Xt[s : s + bs].to(dev), yt[s : s + bs].to(dev)
                    _, hv = jvp(lambda p: grad(loss)(p, xb, yb), (params,), (tang,))  # noqa: B023
                    out += torch.cat([hv[k].reshape(-1) for k in names])
        finally:
            model.train(was)
        return out / N

    return matvec, n, sizes


def _loss_operator(
    model: Any, X: Any, y: Any, batch_size: int, device: Any
) -> tuple[Callable[[Any], Any], int, dict[str, int], Any, Any]:
    """:func:`loss_hvp` with the dtype and device its vectors live on (the model's)."""
    from netsci_dl._array import resolve_device

    mv, n, groups = loss_hvp(model, X, y, batch_size=batch_size, device=device)
    p = next(model.parameters())
    return mv, n, groups, p.dtype, p.device if device is None else resolve_device(device)


def _on_data(settings: dict[str, Any], batch_size: int, X: Any) -> dict[str, Any]:
    """The operator's settings with those of the data pass."""
    return dict(settings, batch_size=int(batch_size), n_examples=len(X))


def hessian_top_eigenvalue(
    model: Any,
    X: Any,
    y: Any,
    *,
    method: str = "lanczos",
    n_iter: int = 30,
    tol: float = 1e-3,
    batch_size: int = 1024,
    seed: int = 0,
    device: Any = None,
) -> TopEigenvalue:
    """Top eigenvalue of the Hessian of the mean cross-entropy of ``model`` on ``(X, y)``.

    See :func:`top_eigenvalue` (the method, the stopping rule and the residual) and
    :func:`loss_hvp` (the products). Each iteration is one pass over ``X``.

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    >>> r = hessian_top_eigenvalue(net, torch.randn(20, 3), torch.randint(0, 2, (20,)))
    >>> r.converged and r.eigenvalue > 0
    True
    """
    mv, n, _, dtype, dev = _loss_operator(model, X, y, batch_size, device)
    r = top_eigenvalue(
        mv,
        n,
        method=method,
        n_iter=n_iter,
        tol=tol,
        seed=seed,
        dtype=dtype,
        device=dev,
        quantity="hessian",
    )
    return dataclasses.replace(r, settings=_on_data(r.settings, batch_size, X))


def hessian_trace(
    model: Any,
    X: Any,
    y: Any,
    *,
    n_probes: int = 32,
    batch_size: int = 1024,
    seed: int = 0,
    device: Any = None,
) -> TraceEstimate:
    """Hutchinson estimate of the trace of the loss Hessian, overall and per layer.

    One pass over ``X`` per probe (:func:`loss_hvp`, :func:`hutchinson_trace`).

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    >>> t = hessian_trace(net, torch.randn(20, 3), torch.randint(0, 2, (20,)), n_probes=8)
    >>> t.layers, t.n_probes
    (('0', '2'), 8)
    """
    mv, n, groups, dtype, dev = _loss_operator(model, X, y, batch_size, device)
    t = hutchinson_trace(
        mv,
        n,
        n_probes=n_probes,
        seed=seed,
        groups=groups,
        dtype=dtype,
        device=dev,
        quantity="hessian",
    )
    return dataclasses.replace(t, settings=_on_data(t.settings, batch_size, X))


def gradient_covariance(
    model: Any,
    X: Any,
    y: Any,
    *,
    n_eigenvalues: int = 10,
    batch_size: int = 64,
    device: Any = None,
    max_bytes: int = 2**30,
) -> GradientCovariance:
    """Top eigenvalues and trace of the per-example gradient covariance ``K``, via the Gram.

    Parameters
    ----------
    model : nn.Module
    X : (M, ...) array or tensor, y : (M,) int labels
        The ``M`` examples; ``g_i`` = gradient of the cross-entropy of example ``i``.
    n_eigenvalues : int
        How many of the largest eigenvalues to keep.
    batch_size : int
        Examples per ``vmap`` call.
    device : str, optional
    max_bytes : int
        The ``M x n_params`` matrix of gradients is held in memory; larger is an error (pass
        fewer examples).

    Returns
    -------
    GradientCovariance
        ``K = Gc^T Gc / M`` with ``Gc`` the centred gradients (rows); its non-zero eigenvalues
        are those of ``Gc Gc^T / M`` (``M x M``), computed in float64.

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Linear(3, 2)
    >>> c = gradient_covariance(net, torch.randn(10, 3), torch.randint(0, 2, (10,)))
    >>> c.eigenvalues.shape, bool(c.trace >= c.top_eigenvalue > 0)
    ((10,), True)
    """
    import torch

    from netsci_dl.activations._gradients import iter_per_example_grads

    _torch, dev, groups, names, params, _b, Xt, yt, sizes = _prepare(model, X, y, device)
    M, P = len(Xt), sum(sizes.values())
    itemsize = params[names[0]].element_size()
    if M * P * itemsize > int(max_bytes):
        raise InputError(
            f"gradient_covariance: {M} examples x {P} parameters need "
            f"{M * P * itemsize / 2**20:.0f} MiB > max_bytes={max_bytes}; pass fewer examples"
        )
    G = torch.empty((M, P), dtype=params[names[0]].dtype, device=dev)
    for b in iter_per_example_grads(model, Xt, yt, batch_size=batch_size, device=dev):
        G[b.start : b.stop] = torch.cat(
            [b.grads[k].reshape(b.stop - b.start, -1) for k in names], dim=1
        )
    G = G.double()
    G -= G.mean(0, keepdim=True)
    bounds = np.cumsum([0, *sizes.values()])
    gram = torch.zeros((M, M), dtype=torch.float64, device=dev)
    top_l, tr_l = [], []
    for i in range(len(sizes)):
        Gl = G[:, bounds[i] : bounds[i + 1]]
        Kl = (Gl @ Gl.T) / M
        gram += Kl
        top_l.append(float(torch.linalg.eigvalsh(Kl)[-1]))
        tr_l.append(float(torch.diagonal(Kl).sum()))
    ev = torch.linalg.eigvalsh(gram).flip(0).cpu().numpy()
    k = max(1, min(int(n_eigenvalues), M))
    return GradientCovariance(
        top_eigenvalue=float(ev[0]),
        trace=float(torch.diagonal(gram).sum()),
        eigenvalues=ev[:k],
        layers=tuple(sizes),
        layer_top_eigenvalues=top_l,
        layer_traces=tr_l,
        n_examples=M,
        settings={"batch_size": int(batch_size), "normalisation": "1/M"},
    )
