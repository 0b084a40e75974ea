"""Fisher-information traces: closed form of softmax regression, a class loop, the estimators."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netsci_dl.activations._fisher import fisher_trace
from netsci_dl.errors import InputError
from netsci_dl.models.classifier import ArchConfig, build_classifier

C, D = 10, 5


def _softmax_regression(seed: int = 0, zero: bool = False) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(D, C)).double()
    if zero:
        with torch.no_grad():
            net[0].weight.zero_()
            net[0].bias.zero_()
    return net


def _X(n: int = 60, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, D, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _closed_form(net: torch.nn.Module, X: torch.Tensor) -> tuple[float, float]:
    with torch.no_grad():
        p = torch.softmax(net(X), 1)
    one_minus = 1 - (p**2).sum(1)
    return float(((X**2).sum(1) * one_minus).mean()), float(one_minus.mean())


def test_softmax_regression_model_exact_closed_form() -> None:
    net, X = _softmax_regression(), _X()
    trW, trb = _closed_form(net, X)
    f = fisher_trace(net, X, kind="model_exact", batch_size=16)
    np.testing.assert_allclose(f.per_tensor["0.weight"], trW, rtol=1e-10)
    np.testing.assert_allclose(f.per_tensor["0.bias"], trb, rtol=1e-10)
    np.testing.assert_allclose(f.per_layer["0"], trW + trb, rtol=1e-10)
    np.testing.assert_allclose(f.total, trW + trb, rtol=1e-10)


def test_softmax_regression_at_zero() -> None:
    net, X = _softmax_regression(zero=True), _X()
    f = fisher_trace(net, X, kind="model_exact")
    np.testing.assert_allclose(
        f.per_tensor["0.weight"], 0.9 * float((X**2).sum(1).mean()), rtol=1e-10
    )
    np.testing.assert_allclose(f.per_tensor["0.bias"], 0.9, rtol=1e-10)


def test_model_within_three_standard_errors() -> None:
    net = _softmax_regression(seed=2)
    # one input repeated: the standard error is that of the label sampling alone
    X = _X(1, seed=4).repeat(400, 1)
    exact = fisher_trace(net, X, kind="model_exact").total
    est = fisher_trace(net, X, kind="model", seed=5)
    assert est.total_stderr > 0
    assert abs(est.total - exact) < 3 * est.total_stderr
    # many inputs, several samples each
    X = _X(200, seed=6)
    exact = fisher_trace(net, X, kind="model_exact").total
    est = fisher_trace(net, X, kind="model", n_samples=8, seed=7)
    assert abs(est.total - exact) < 3 * est.total_stderr
    assert est.n_samples == 8 and est.settings["n_samples"] == 8


def test_empirical_uses_true_labels() -> None:
    net, X = _softmax_regression(seed=3), _X(30)
    y = torch.randint(0, C, (30,), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        p = torch.softmax(net(X), 1)
    e = torch.nn.functional.one_hot(y, C).double()
    want = float(((X**2).sum(1) * ((p - e) ** 2).sum(1)).mean())
    f = fisher_trace(net, X, y, kind="empirical")
    np.testing.assert_allclose(f.per_tensor["0.weight"], want, rtol=1e-10)
    assert f.metric == "empirical_fisher_trace"
    assert set(f.to_frame()["metric"]) >= {"empirical_fisher_trace", "empirical_fisher_trace_share"}


def test_lenet_model_exact_equals_class_loop() -> None:
    net = build_classifier(
        ArchConfig("lenet", (8, 8), 3, hidden=(6,), channels=(2, 3)), seed=0, dtype="float64"
    )
    X = torch.rand(4, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    f = fisher_trace(net, X, kind="model_exact", batch_size=3)
    mods = {"conv1": 0.0, "conv2": 0.0, "fc1": 0.0, "fc2": 0.0}
    for i in range(4):
        lp = torch.log_softmax(net(X[i : i + 1]), 1)[0]
        for c in range(3):
            gs = torch.autograd.grad(lp[c], list(net.parameters()), retain_graph=True)
            for (name, _), g in zip(net.named_parameters(), gs):
                mods[name.split(".")[0]] += float(lp[c].detach().exp()) * float((g**2).sum()) / 4
    assert f.layers == tuple(mods)
    np.testing.assert_allclose(f.traces, list(mods.values()), rtol=1e-10)
    np.testing.assert_allclose(sum(f.shares.values()), 1.0, rtol=1e-12)
    n_params = [sum(p.numel() for n, p in net.named_parameters() if n.startswith(m)) for m in mods]
    np.testing.assert_allclose(
        list(f.per_parameter.values()), np.array(list(mods.values())) / n_params
    )


def test_batch_size_seed_and_frame() -> None:
    net, X = _softmax_regression(seed=1), _X(25)
    a = fisher_trace(net, X, kind="model", n_samples=2, seed=3, batch_size=4)
    b = fisher_trace(net, X, kind="model", n_samples=2, seed=3, batch_size=4)
    c = fisher_trace(net, X, kind="model", n_samples=2, seed=4, batch_size=4)
    assert a.total == b.total and a.total != c.total
    e1 = fisher_trace(net, X, kind="model_exact", batch_size=3)
    e2 = fisher_trace(net, X, kind="model_exact", batch_size=25)
    np.testing.assert_allclose(e1.traces, e2.traces, rtol=1e-12)
    df = e1.to_frame(snapshot="s", step=3, epoch=3)
    assert list(df.columns) == ["snapshot", "step", "epoch", "layer", "metric", "value"]
    tot = df[(df.layer == "all") & (df.metric == "fisher_trace")]["value"]
    np.testing.assert_allclose(tot.to_numpy(), [e1.total])
    assert e1.traces.flags.writeable is False


def test_bad_input() -> None:
    net, X = _softmax_regression(), _X(3)
    with pytest.raises(InputError, match="kind"):
        fisher_trace(net, X, kind="fisher")
    with pytest.raises(InputError, match="true labels"):
        fisher_trace(net, X, kind="empirical")
    with pytest.raises(InputError, match="n_samples"):
        fisher_trace(net, X, kind="model", n_samples=0)


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    net, X = _softmax_regression(seed=1), _X(20)
    a = fisher_trace(net, X, kind="model_exact")
    b = fisher_trace(net, X, kind="model_exact", device="cuda")
    np.testing.assert_allclose(b.traces, a.traces, rtol=1e-8)
    # label samples are drawn on the CPU: the same on every device
    a = fisher_trace(net, X, kind="model", n_samples=3, seed=2)
    b = fisher_trace(net, X, kind="model", n_samples=3, seed=2, device="cuda")
    np.testing.assert_allclose(b.traces, a.traces, rtol=1e-8)
