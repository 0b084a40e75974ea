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
third-party Hessian code). The operator-level :func:`top_eigenvalue` and
:func:`hutchinson_trace` take any symmetric ``matvec`` on flat vectors. Pure: a model and arrays
in, frozen results out.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from netsci_dl.analysis._curvature_results import GradientCovariance, TopEigenvalue, TraceEstimate
from netsci_dl.errors import InputError

__all__ = [
    "TopEigenvalue",
    "TraceEstimate",
    "GradientCovariance",
    "top_eigenvalue",
    "hutchinson_trace",
    "loss_hvp",
    "hessian_top_eigenvalue",
    "hessian_trace",
    "gradient_covariance",
]


# ---------------------------------------------------------------------- operator level
def _start_vector(torch: Any, n: int, seed: int, dtype: Any, device: Any) -> Any:
    gen = torch.Generator().manual_seed(int(seed))
    v = torch.randn(n, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)
    return v / v.norm()


def top_eigenvalue(
    matvec: Callable[[Any], Any],
    n: int,
    *,
    method: str = "lanczos",
    n_iter: int = 30,
    tol: float = 1e-3,
    seed: int = 0,
    dtype: Any = None,
    device: Any = None,
    quantity: str = "operator",
) -> TopEigenvalue:
    """Top eigenvalue of the symmetric ``n x n`` operator ``matvec`` (flat tensors ``(n,)``).

    Parameters
    ----------
    matvec : callable
        ``v -> A v`` on 1-D tensors.
    n : int
    method : {"lanczos", "power"}
        Lanczos with full reorthogonalisation: the algebraically largest eigenvalue, stopping
        when the residual estimate ``beta_m |y_m|`` falls below ``tol * |theta|``, then checked
        with one more product. Power iteration: the eigenvalue of largest magnitude.
    n_iter : int
        Most products (Lanczos: at most ``n``).
    tol : float
        Relative residual ``||A v - lambda v|| / |lambda||`` counted as converged.
    seed : int
        The random start vector.
    dtype, device : torch dtype and device of the vectors (default float64, CPU).
    quantity : str
        Stored in the result (names the metric in :meth:`TopEigenvalue.to_frame`).

    Returns
    -------
    TopEigenvalue

    Examples
    --------
    >>> import torch
    >>> A = torch.diag(torch.tensor([5.0, 2.0, 1.0], dtype=torch.float64))
    >>> r = top_eigenvalue(lambda v: A @ v, 3)
    >>> round(r.eigenvalue, 10), r.residual < 1e-10, r.converged
    (5.0, True, True)
    """
    import torch

    if method not in ("lanczos", "power"):
        raise InputError(f"method={method!r}: expected 'lanczos' or 'power'")
    n = int(n)
    if n < 1 or int(n_iter) < 1:
        raise InputError("n and n_iter must be >= 1")
    dtype = torch.float64 if dtype is None else dtype
    device = torch.device("cpu") if device is None else device
    v = _start_vector(torch, n, seed, dtype, device)
    settings = {"method": method, "n_iter": int(n_iter), "tol": float(tol), "seed": int(seed)}
    if method == "power":
        lam, res, used = 0.0, float("inf"), 0
        for _ in range(int(n_iter)):
            w = matvec(v)
            used += 1
            lam = float(v @ w)
            res = float((w - lam * v).norm())
            if res <= tol * abs(lam):
                break
            nw = w.norm()
            if float(nw) == 0.0:
                break
            v = w / nw
        return TopEigenvalue(lam, res, res <= tol * abs(lam), used, method, quantity, settings)
    Q = [v]
    alphas: list[float] = []
    betas: list[float] = []
    theta, yv = 0.0, np.ones(1)
    for j in range(min(int(n_iter), n)):
        w = matvec(Q[j])
        alphas.append(float(Q[j] @ w))
        Qm = torch.stack(Q)
        for _ in range(2):  # full reorthogonalisation, twice is enough
            w = w - Qm.T @ (Qm @ w)
        b = float(w.norm())
        T = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        evals, evecs = np.linalg.eigh(T)
        theta, yv = float(evals[-1]), evecs[:, -1]
        scale = max(abs(theta), np.finfo(float).tiny)
        if b * abs(yv[-1]) <= 0.1 * tol * scale or b <= 1e-12 * max(1.0, scale):
            break
        betas.append(b)
        Q.append(w / b)
    Qm = torch.stack(Q[: len(alphas)])
    u = Qm.T @ torch.as_tensor(yv, dtype=dtype, device=device)
    u = u / u.norm()
    res = float((matvec(u) - theta * u).norm())
    return TopEigenvalue(
        theta, res, res <= tol * abs(theta), len(alphas) + 1, method, quantity, settings
    )


def hutchinson_trace(
    matvec: Callable[[Any], Any],
    n: int,
    *,
    n_probes: int = 32,
    seed: int = 0,
    groups: dict[str, int] | None = None,
    dtype: Any = None,
    device: Any = None,
    quantity: str = "operator",
) -> TraceEstimate:
    """Hutchinson's trace estimate ``mean_k v_k^T A v_k`` over Rademacher probes ``v_k``.

    Parameters
    ----------
    matvec : callable
        ``v -> A v`` on 1-D tensors ``(n,)``.
    n : int
    n_probes : int
    seed : int
    groups : dict of str -> int, optional
        Consecutive blocks of the vector (name -> size, in order, summing to ``n``): the trace
        of each diagonal block is estimated from the same probes.
    dtype, device, quantity : as :func:`top_eigenvalue`.

    Returns
    -------
    TraceEstimate

    Examples
    --------
    For a diagonal operator every probe gives the exact trace (``v_i^2 = 1``):

    >>> import torch
    >>> a = torch.tensor([5.0, 2.0, 1.0], dtype=torch.float64)
    >>> t = hutchinson_trace(lambda v: a * v, 3, n_probes=4, groups={"x": 1, "rest": 2})
    >>> t.samples.tolist(), t.stderr, t.per_layer
    ([8.0, 8.0, 8.0, 8.0], 0.0, {'x': 5.0, 'rest': 3.0})
    """
    import torch

    n, m = int(n), int(n_probes)
    if m < 1:
        raise InputError(f"n_probes={n_probes}: must be >= 1")
    groups = {"all": n} if groups is None else dict(groups)
    if sum(groups.values()) != n:
        raise InputError(f"groups sizes sum to {sum(groups.values())}, not n={n}")
    dtype = torch.float64 if dtype is None else dtype
    device = torch.device("cpu") if device is None else device
    gen = torch.Generator().manual_seed(int(seed))
    bounds = np.cumsum([0, *groups.values()])
    per = np.empty((m, len(groups)))
    for k in range(m):
        v = (torch.randint(0, 2, (n,), generator=gen) * 2 - 1).to(dtype=dtype, device=device)
        prod = (v * matvec(v)).double().cpu().numpy()
        per[k] = np.add.reduceat(prod, bounds[:-1]) if n else 0.0
    tot = per.sum(1)

    def se(a: np.ndarray) -> np.ndarray:
        return a.std(0, ddof=1) / np.sqrt(m) if m > 1 else np.zeros(a.shape[1:])

    return TraceEstimate(
        trace=float(tot.mean()),
        stderr=float(se(tot[:, None])[0]),
        samples=tot,
        layers=tuple(groups),
        layer_traces=per.mean(0),
        layer_stderrs=se(per),
        quantity=quantity,
        settings={"n_probes": m, "seed": int(seed)},
    )


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
    mv, n, _ = loss_hvp(model, X, y, batch_size=batch_size, device=device)
    p = next(model.parameters())
    from netsci_dl._array import resolve_device

    dev = p.device if device is None else resolve_device(device)
    r = top_eigenvalue(
        mv,
        n,
        method=method,
        n_iter=n_iter,
        tol=tol,
        seed=seed,
        dtype=p.dtype,
        device=dev,
        quantity="hessian",
    )
    return TopEigenvalue(
        r.eigenvalue,
        r.residual,
        r.converged,
        r.n_iter,
        r.method,
        "hessian",
        dict(r.settings, batch_size=int(batch_size), n_examples=len(X)),
    )


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
    mv, n, groups = loss_hvp(model, X, y, batch_size=batch_size, device=device)
    p = next(model.parameters())
    from netsci_dl._array import resolve_device

    dev = p.device if device is None else resolve_device(device)
    t = hutchinson_trace(
        mv,
        n,
        n_probes=n_probes,
        seed=seed,
        groups=groups,
        dtype=p.dtype,
        device=dev,
        quantity="hessian",
    )
    return TraceEstimate(
        t.trace,
        t.stderr,
        t.samples,
        t.layers,
        t.layer_traces,
        t.layer_stderrs,
        "hessian",
        dict(t.settings, batch_size=int(batch_size), n_examples=len(X)),
    )


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
