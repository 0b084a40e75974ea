"""Spectral estimates of a symmetric operator given only as matrix-vector products.

:func:`top_eigenvalue` (Lanczos with full reorthogonalisation, or power iteration) and
:func:`hutchinson_trace` (Rademacher probes) take any symmetric ``matvec`` on flat torch
vectors: a Hessian-vector product, a Gram operator, an explicit matrix. Pure: a callable in,
frozen results out; the callables that run a model (:func:`netsci_dl.activations.loss_hvp`)
live in :mod:`netsci_dl.activations`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from netsci_dl._args import count, real
from netsci_dl._array import resolve_device
from netsci_dl.analysis.spectra._curvature_results import TopEigenvalue, TraceEstimate
from netsci_dl.errors import InputError

__all__ = ["top_eigenvalue", "hutchinson_trace"]


def _start_vector(torch: Any, n: int, seed: int, dtype: Any, device: Any) -> Any:
    gen = torch.Generator().manual_seed(int(seed))
    v = torch.randn(n, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)
    return v / v.norm()


#: Most iterations of :func:`top_eigenvalue` (Lanczos keeps every vector: memory grows with
#: them) and most probes of :func:`hutchinson_trace`.
MAX_ITER = 10_000
MAX_PROBES = 100_000
MAX_N = 2**36  # the operator's dimension: vectors of n float64 (512 GiB at the bound)


def check_eigen_settings(
    method: str, n_iter: Any, tol: Any, seed: Any
) -> tuple[str, int, float, int]:
    """The checked settings of :func:`top_eigenvalue` (InputError naming the bad one)."""
    if method not in ("lanczos", "power"):
        raise InputError(f"method={method!r}: expected 'lanczos' or 'power'")
    return (
        method,
        count("n_iter", n_iter, hi=MAX_ITER),
        real("tol", tol, lo=0),
        count("seed", seed, lo=0),
    )


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

    method, n_iter, tol, seed = check_eigen_settings(method, n_iter, tol, seed)
    n = count("n", n, hi=MAX_N)
    dtype = torch.float64 if dtype is None else dtype
    device = torch.device("cpu") if device is None else resolve_device(device)
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

    n, m = count("n", n, hi=MAX_N), count("n_probes", n_probes, hi=MAX_PROBES)
    seed = count("seed", seed, lo=0)
    groups = {"all": n} if groups is None else dict(groups)
    if sum(groups.values()) != n:
        raise InputError(f"groups sizes sum to {sum(groups.values())}, not n={n}")
    dtype = torch.float64 if dtype is None else dtype
    device = torch.device("cpu") if device is None else resolve_device(device)
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
