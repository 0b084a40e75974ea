"""A learned baseline for masked inputs: the one that makes the AND interactions sparse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from netsci_dl.activations._masking import (
    _eval_mode,
    _model_device,
    check_players,
    feature_masks,
    resolve_baseline,
)
from netsci_dl.errors import InputError

__all__ = ["learn_baseline"]


def _moebius_torch(v: Any, n: int) -> Any:
    """Moebius transform over the last axis of a torch tensor (autograd-friendly)."""
    torch = __import__("torch")
    lead = v.shape[:-1]
    x = v.reshape(-1, 1 << n)
    for i in range(n):
        y = x.reshape(x.shape[0], 1 << (n - i - 1), 2, 1 << i)
        lo, hi = y[:, :, 0, :], y[:, :, 1, :]
        x = torch.stack([lo, hi - lo], dim=2).reshape(x.shape[0], 1 << n)
    return x.reshape(*lead, 1 << n)


def learn_baseline(
    model: Any,
    X: Any,
    y: Any,
    players: Sequence[Any],
    *,
    init: Any = "mean",
    iterations: int = 100,
    lr: float = 0.05,
    momentum: float = 0.9,
    rest: str = "keep",
    device: Any = None,
) -> np.ndarray:
    """A baseline that makes the AND interactions sparse: minimise ``mean_x sum_{S != empty}
    |I_and(S)|`` over the baseline ``b`` (Ren et al. 2023), clipped to the data range.

    Momentum SGD on ``b`` with a normalised step: each iteration moves ``b`` by ``lr_t * range *
    buffer / max|buffer|`` (``range`` = per-feature max - min of ``X``; ``lr_t`` decays linearly
    to 0), then clips ``b`` to ``[min X, max X]`` per feature. All ``n_samples * 2**n`` masked
    inputs go through the model each iteration (with gradients): keep ``X`` small.

    Parameters
    ----------
    model, X, y, players, rest, device : as in :func:`masked_values`
    init : "zero", "mean" or array
    iterations, lr, momentum : float

    Returns
    -------
    (n_features,) float32 ndarray
        The learned baseline, flat (one value per feature of a sample).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    >>> X = np.random.default_rng(0).random((3, 4), dtype=np.float32)
    >>> b = learn_baseline(net, X, [0, 1, 0], [[0, 1], [2, 3]], iterations=5)
    >>> b.shape, bool(np.all((b >= X.min(0)) & (b <= X.max(0))))
    ((4,), True)
    """
    from netsci_dl._array import import_torch, to_numpy

    torch = import_torch()
    Xn = np.asarray(to_numpy(X), dtype=np.float32)
    yn = np.asarray(to_numpy(y)).astype(np.int64).reshape(-1)
    if Xn.ndim < 2 or yn.size != Xn.shape[0]:
        raise InputError(f"X of shape {Xn.shape} and {yn.size} targets do not match")
    Xf = Xn.reshape(Xn.shape[0], -1)
    groups = check_players(players, Xf.shape[1])
    n = len(groups)
    fm = feature_masks(groups, Xf.shape[1], rest=rest)
    dev = _model_device(model, device)
    lo_np, hi_np = Xf.min(axis=0), Xf.max(axis=0)
    span = torch.as_tensor(np.maximum(hi_np - lo_np, 1e-12), device=dev)
    lo, hi = torch.as_tensor(lo_np, device=dev), torch.as_tensor(hi_np, device=dev)
    b = torch.as_tensor(resolve_baseline(init, Xn), device=dev).clamp(lo, hi).clone()
    b.requires_grad_(True)
    keep = torch.as_tensor(fm, device=dev, dtype=torch.float32)  # (2**n, d)
    xs = torch.as_tensor(Xf, device=dev)
    t = torch.as_tensor(np.repeat(yn, fm.shape[0]), device=dev)
    buf = torch.zeros_like(b)
    was = [p.requires_grad for p in model.parameters()]
    with _eval_mode(model):
        try:
            for p in model.parameters():
                p.requires_grad_(False)
            for it in range(int(iterations)):
                xm = keep[None] * xs[:, None, :] + (1 - keep[None]) * b[None, None, :]
                z = model(xm.reshape((-1, *Xn.shape[1:])))
                z = z.reshape(z.shape[0], -1)
                if z.shape[1] == 1:
                    v = torch.where(t == 1, z[:, 0], -z[:, 0])
                else:
                    zy = z.gather(1, t[:, None])[:, 0]
                    other = z.scatter(1, t[:, None], float("-inf"))
                    v = zy - torch.logsumexp(other, dim=1)
                I = _moebius_torch(v.reshape(Xf.shape[0], -1), n)
                loss = I[:, 1:].abs().sum(dim=1).mean()
                (g,) = torch.autograd.grad(loss, b)
                with torch.no_grad():
                    buf.mul_(momentum).add_(g)
                    scale = buf.abs().max().clamp_min(1e-30)
                    eta = lr * (1.0 - it / max(int(iterations), 1))
                    b -= eta * span * buf / scale
                    b.copy_(torch.minimum(torch.maximum(b, lo), hi))
        finally:
            for p, w in zip(model.parameters(), was):
                p.requires_grad_(w)
    return b.detach().cpu().numpy().astype(np.float32)
