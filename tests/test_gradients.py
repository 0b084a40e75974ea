"""Per-example gradients by vmap(grad(...)): against a loop of autograd.grad and the batch gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netsci_dl.activations._gradients import (
    iter_per_example_grads,
    param_groups,
    per_example_grads,
    predict_log_probs,
)
from netsci_dl.errors import InputError
from netsci_dl.models.classifier import ArchConfig, build_classifier


def _lenet() -> torch.nn.Module:
    return build_classifier(
        ArchConfig("lenet", (8, 8), 4, hidden=(7,), channels=(2, 3)), seed=1, dtype="float64"
    )


def _data(n: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 64, generator=g, dtype=torch.float64), torch.randint(
        0, 4, (n,), generator=g
    )


def _loop_grads(net: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    names = [k for k, _ in net.named_parameters()]
    out: dict[str, list[torch.Tensor]] = {k: [] for k in names}
    for i in range(len(X)):
        loss = torch.nn.functional.cross_entropy(net(X[i : i + 1]), y[i : i + 1])
        gs = torch.autograd.grad(loss, list(net.parameters()))
        for k, g in zip(names, gs):
            out[k].append(g)
    return {k: torch.stack(v) for k, v in out.items()}


def test_vmap_equals_loop_of_autograd_grad() -> None:
    net = _lenet()
    X, y = _data()
    got = per_example_grads(net, X, y, batch_size=4)
    want = _loop_grads(net, X, y)
    assert list(got) == list(want)
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-10, atol=1e-12)


def test_sum_equals_batch_gradient() -> None:
    net = _lenet()
    X, y = _data(9, seed=3)
    got = per_example_grads(net, X, y, batch_size=5)
    loss = torch.nn.functional.cross_entropy(net(X), y, reduction="sum")
    batch = torch.autograd.grad(loss, list(net.parameters()))
    for (k, _), g in zip(net.named_parameters(), batch):
        torch.testing.assert_close(got[k].sum(0), g, rtol=1e-10, atol=1e-12)


def test_several_labels_per_example_and_callable_labels() -> None:
    net = _lenet()
    X, _ = _data(5)
    Y = torch.tensor([[0, 1, 3], [2, 2, 0], [1, 0, 3], [3, 3, 3], [0, 2, 1]])
    got = per_example_grads(net, X, Y, batch_size=2)
    for s in range(3):
        want = _loop_grads(net, X, Y[:, s])
        for k in want:
            torch.testing.assert_close(got[k][:, s], want[k], rtol=1e-10, atol=1e-12)
    every = per_example_grads(net, X, "all", batch_size=2)
    for c in range(4):
        want = _loop_grads(net, X, torch.full((5,), c))
        for k in want:
            torch.testing.assert_close(every[k][:, c], want[k], rtol=1e-10, atol=1e-12)
    seen = []

    def labels(lp: torch.Tensor, start: int) -> torch.Tensor:
        seen.append((start, tuple(lp.shape)))
        return lp.argmax(1)

    batches = list(iter_per_example_grads(net, X, labels, batch_size=2))
    assert seen == [(0, (2, 4)), (2, (2, 4)), (4, (1, 4))]
    pred = predict_log_probs(net, X).argmax(1)
    torch.testing.assert_close(torch.cat([b.targets for b in batches]), pred)
    want = _loop_grads(net, X, pred)
    torch.testing.assert_close(
        torch.cat([b.grads["fc2.weight"] for b in batches]), want["fc2.weight"]
    )


def test_eval_mode_used_and_restored() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(5, 6), torch.nn.BatchNorm1d(6), torch.nn.Dropout(0.5), torch.nn.Linear(6, 3)
    ).double()
    net[1].running_mean.fill_(0.3)
    net[1].running_var.fill_(2.0)
    X = torch.randn(4, 5, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 1])
    net.train()
    a = per_example_grads(net, X, y)
    b = per_example_grads(net, X, y)
    assert net.training  # restored
    net.eval()
    want = _loop_grads(net, X, y)
    for k in want:
        torch.testing.assert_close(a[k], want[k])
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    torch.testing.assert_close(net[1].running_mean, torch.full((6,), 0.3, dtype=torch.float64))


def test_param_groups_and_numpy_input() -> None:
    net = _lenet()
    assert list(param_groups(net)) == ["conv1", "conv2", "fc1", "fc2"]
    X, y = _data(3)
    g = per_example_grads(net, X.numpy(), y.numpy())
    torch.testing.assert_close(g["conv1.weight"], per_example_grads(net, X, y)["conv1.weight"])


def test_bad_labels() -> None:
    net = _lenet()
    X, _ = _data(3)
    with pytest.raises(InputError, match="shape"):
        per_example_grads(net, X, np.zeros(2, int))
    with pytest.raises(InputError, match="labels must lie"):
        per_example_grads(net, X, np.array([0, 1, 9]))
    with pytest.raises(InputError, match="'all'"):
        per_example_grads(net, X, "every")


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    net = _lenet()
    X, y = _data(4)
    a = per_example_grads(net, X, y)
    b = per_example_grads(net, X, y, device="cuda")
    for k in a:
        torch.testing.assert_close(b[k].cpu(), a[k])
