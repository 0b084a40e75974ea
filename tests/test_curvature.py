"""Hessian top eigenvalue and trace, gradient covariance: closed forms and full matrices."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call, grad, jvp

from netsci_dl.activations._curvature import (
    gradient_covariance,
    hessian_top_eigenvalue,
    hessian_trace,
    hutchinson_trace,
    loss_hvp,
    top_eigenvalue,
)
from netsci_dl.errors import InputError

# torch loads its forward-AD decompositions with torch.jit.script on first use of jvp
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:DeprecationWarning")


def _quadratic_hvp(a: list[float]):
    A = torch.diag(torch.tensor(a, dtype=torch.float64))

    def f(theta: torch.Tensor) -> torch.Tensor:
        return 0.5 * theta @ A @ theta

    theta0 = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    return lambda v: jvp(grad(f), (theta0,), (v,))[1]


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_quadratic_top_eigenvalue(method: str) -> None:
    r = top_eigenvalue(_quadratic_hvp([5, 2, 1]), 3, method=method, n_iter=200, tol=1e-9)
    np.testing.assert_allclose(r.eigenvalue, 5.0, rtol=1e-8)
    assert r.converged and r.residual <= 1e-8 * 5


def test_quadratic_hutchinson_every_probe_is_eight() -> None:
    t = hutchinson_trace(_quadratic_hvp([5, 2, 1]), 3, n_probes=10, seed=1)
    np.testing.assert_allclose(t.samples, np.full(10, 8.0), rtol=0, atol=1e-12)
    assert t.trace == pytest.approx(8.0) and t.stderr == 0.0


def test_lanczos_is_algebraic_power_is_magnitude() -> None:
    mv = _quadratic_hvp([-7, 5, 1])
    assert top_eigenvalue(mv, 3, method="lanczos").eigenvalue == pytest.approx(5.0)
    assert top_eigenvalue(mv, 3, method="power", n_iter=500).eigenvalue == pytest.approx(-7.0)


def test_not_converged_is_reported() -> None:
    rng = np.random.default_rng(0)
    B = rng.normal(size=(40, 40))
    A = torch.as_tensor(B + B.T)
    r = top_eigenvalue(lambda v: A @ v, 40, n_iter=2, tol=1e-10)
    assert not r.converged and r.residual > 1e-3
    full = float(np.linalg.eigvalsh(B + B.T)[-1])
    r = top_eigenvalue(lambda v: A @ v, 40, n_iter=40, tol=1e-10)
    assert r.converged
    np.testing.assert_allclose(r.eigenvalue, full, rtol=1e-9)


def _tiny():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)
    ).double()
    g = torch.Generator().manual_seed(1)
    X = torch.randn(30, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (30,), generator=g)
    return net, X, y


def _full_hessian(net, X, y) -> np.ndarray:
    names = [k for k, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    sizes = [p.numel() for p in net.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])

    def loss(theta):
        ps = {k: c.view(s) for k, c, s in zip(names, theta.split(sizes), shapes)}
        return torch.nn.functional.cross_entropy(functional_call(net, ps, (X,)), y)

    return torch.autograd.functional.hessian(loss, flat).numpy()


def test_tiny_mlp_against_full_hessian() -> None:
    net, X, y = _tiny()
    H = _full_hessian(net, X, y)
    mv, n, groups = loss_hvp(net, X, y, batch_size=7)
    assert n == H.shape[0] and groups == {"0": 16, "2": 15}
    v = torch.linspace(-1, 1, n, dtype=torch.float64)
    np.testing.assert_allclose(mv(v).numpy(), H @ v.numpy(), rtol=1e-9, atol=1e-12)
    r = hessian_top_eigenvalue(net, X, y, n_iter=31, tol=1e-8, batch_size=7)
    np.testing.assert_allclose(r.eigenvalue, np.linalg.eigvalsh(H)[-1], rtol=1e-7)
    assert r.converged and r.quantity == "hessian"
    t = hessian_trace(net, X, y, n_probes=400, seed=2)
    assert abs(t.trace - np.trace(H)) < 4 * t.stderr
    d = np.diag(H)
    for name, lo, hi in (("0", 0, 16), ("2", 16, 31)):
        i = t.layers.index(name)
        assert abs(t.layer_traces[i] - d[lo:hi].sum()) < 4 * t.layer_stderrs[i]
    df = t.to_frame(step=1, epoch=1)
    assert set(df["metric"]) == {"hessian_trace", "hessian_trace_stderr"}
    assert set(df["layer"]) == {"0", "2", "all"}


def _loop_grads(net, X, y) -> np.ndarray:
    rows = []
    for i in range(len(X)):
        loss = torch.nn.functional.cross_entropy(net(X[i : i + 1]), y[i : i + 1])
        rows.append(
            torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(net.parameters()))])
        )
    return torch.stack(rows).numpy()


def test_gradient_covariance_gram_equals_explicit_covariance() -> None:
    net, X, y = _tiny()
    G = _loop_grads(net, X, y)
    Gc = G - G.mean(0)
    K = Gc.T @ Gc / len(G)  # (P, P)
    ev = np.linalg.eigvalsh(K)[::-1]
    c = gradient_covariance(net, X, y, batch_size=8, n_eigenvalues=5)
    np.testing.assert_allclose(c.top_eigenvalue, ev[0], rtol=1e-10)
    np.testing.assert_allclose(c.eigenvalues, ev[:5], rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(c.trace, np.trace(K), rtol=1e-10)
    K0 = K[:16, :16]
    np.testing.assert_allclose(c.layer_traces, [np.trace(K0), np.trace(K[16:, 16:])], rtol=1e-10)
    np.testing.assert_allclose(c.layer_top_eigenvalues[0], np.linalg.eigvalsh(K0)[-1], rtol=1e-10)
    assert c.n_examples == 30
    df = c.to_frame()
    assert df[(df.layer == "all") & (df.metric == "gradcov_trace")]["value"].item() == c.trace


def test_bad_input() -> None:
    net, X, y = _tiny()
    with pytest.raises(InputError, match="max_bytes"):
        gradient_covariance(net, X, y, max_bytes=100)
    with pytest.raises(InputError, match="labels"):
        hessian_trace(net, X, None)
    with pytest.raises(InputError, match="method"):
        top_eigenvalue(lambda v: v, 3, method="arnoldi")
    with pytest.raises(InputError, match="sum"):
        hutchinson_trace(lambda v: v, 3, groups={"a": 2})


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    net, X, y = _tiny()
    a = hessian_top_eigenvalue(net, X, y, n_iter=31, tol=1e-8)
    b = hessian_top_eigenvalue(net, X, y, n_iter=31, tol=1e-8, device="cuda")
    np.testing.assert_allclose(b.eigenvalue, a.eigenvalue, rtol=1e-7)
    c1 = gradient_covariance(net, X, y)
    c2 = gradient_covariance(net, X, y, device="cuda")
    np.testing.assert_allclose(c2.eigenvalues, c1.eigenvalues, rtol=1e-8, atol=1e-14)
