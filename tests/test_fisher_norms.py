"""Fisher trace by per-example gradient norms (method="auto") against the vmap path and BackPACK."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from netsci_dl.activations._fisher import fisher_trace
from netsci_dl.activations._sqnorms import fast_modules
from netsci_dl.errors import InputError
from netsci_dl.models.classifier import ArchConfig, build_classifier

C = 5


class Shared(nn.Module):
    """One Linear applied twice (shared weights) and a LayerNorm between."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.norm = nn.LayerNorm(6)
        self.out = nn.Linear(6, C)

    def forward(self, x):
        return self.out(torch.tanh(self.fc(self.norm(torch.tanh(self.fc(x))))))


class Tokens(nn.Module):
    """Embedding (padding row) -> Linear over positions (3-D input) -> mean -> tied output."""

    def __init__(self, tied: bool) -> None:
        super().__init__()
        self.emb = nn.Embedding(11, 4, padding_idx=0)
        self.mix = nn.Linear(4, 4)
        self.head = nn.Linear(4, 11, bias=False)
        if tied:
            self.head.weight = self.emb.weight  # one parameter owned by two modules
        self.scale = nn.Parameter(torch.ones(()))  # a parameter of the root module

    def forward(self, x):
        return self.scale * self.head(torch.relu(self.mix(self.emb(x))).mean(1))


def _convs() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1),
        nn.ReLU(inplace=True),  # in place on a hooked output
        nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2),
        nn.BatchNorm2d(4),
        nn.Conv2d(4, 6, (2, 3), padding="valid", bias=False),
        nn.Flatten(1),
        nn.Unflatten(1, (6, -1)),
        nn.Conv1d(6, 16, 3, stride=2, padding=1),
        nn.Flatten(1),
        nn.LazyLinear(C),
    )


def _model(name: str, dtype=torch.float64) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    if name == "mlp":
        net, X = nn.Sequential(nn.Linear(7, 9), nn.ReLU(), nn.Linear(9, C)), torch.randn(30, 7)
    elif name == "cnn":
        net, X = _convs(), torch.randn(30, 2, 9, 8, generator=g)
        net(X)  # materialise the lazy layer
        bn = net[3]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    elif name == "shared":
        net, X = Shared(), torch.randn(30, 6, generator=g)
    else:
        net, X = Tokens(tied=name == "tied"), torch.randint(0, 11, (30, 7), generator=g)
        X[:, -2:] = 0  # padding positions
        X[0] = 3  # one row looks up one index at every position: collisions
    net = net.to(dtype).eval()
    X = X.to(dtype) if X.is_floating_point() else X
    with torch.no_grad():
        n_cls = net(X[:1]).shape[1]
    y = torch.randint(0, n_cls, (30,), generator=g)
    return net, X, y


@pytest.mark.parametrize("name", ["mlp", "cnn", "shared", "tokens", "tied"])
@pytest.mark.parametrize("kind", ["empirical", "model", "model_exact"])
def test_norms_equal_vmap(name, kind):
    net, X, y = _model(name)
    kw = {"kind": kind, "n_samples": 3, "seed": 1, "batch_size": 8}
    a = fisher_trace(net, X, y, method="auto", **kw)
    b = fisher_trace(net, X, y, method="vmap", **kw)
    assert a.tensors == b.tensors and a.layers == b.layers
    # float64 throughout: only the order of the sums differs
    np.testing.assert_allclose(a.tensor_traces, b.tensor_traces, rtol=1e-10)
    np.testing.assert_allclose(a.stderrs, b.stderrs, rtol=1e-9)
    assert a.settings["method"] == "auto"


def test_what_is_closed_form_and_what_falls_back():
    fast = fast_modules(_model("tied")[0])
    assert set(fast) == {"mix"}  # emb/head share a weight: vmap; the root's scale: vmap
    fast = fast_modules(_model("tokens")[0])
    assert set(fast) == {"emb", "mix", "head"}
    fast = fast_modules(_model("cnn")[0])
    assert set(fast) == {"0", "2", "4", "7", "9"}  # BatchNorm: vmap


@pytest.mark.parametrize("kind", ["empirical", "model_exact"])
def test_frozen_weights_and_trainable_biases_equal_vmap(kind):
    # a layer whose weight is frozen keeps its bias in closed form (Linear and Conv alike)
    net, X, y = _model("cnn")
    net[0].weight.requires_grad_(False)
    net[9].weight.requires_grad_(False)
    mlp, Xm, ym = _model("mlp")
    mlp[0].weight.requires_grad_(False)
    for m, x, t in ((net, X, y), (mlp, Xm, ym)):
        a = fisher_trace(m, x, t, kind=kind, batch_size=8)
        b = fisher_trace(m, x, t, kind=kind, batch_size=8, method="vmap")
        assert a.tensors == b.tensors and "0.weight" not in a.tensors and "0.bias" in a.tensors
        np.testing.assert_allclose(a.tensor_traces, b.tensor_traces, rtol=1e-10)


def test_float32_lenet_equals_vmap_to_1e6():
    net = build_classifier(ArchConfig("lenet", (8, 8), 10), seed=0).eval()
    g = torch.Generator().manual_seed(0)
    X, y = torch.rand(200, 64, generator=g), torch.randint(0, 10, (200,), generator=g)
    a = fisher_trace(net, X, y, kind="empirical", batch_size=64)
    b = fisher_trace(net, X, y, kind="empirical", batch_size=64, method="vmap")
    # float32 gradients summed in another order: ~1e-7 relative per example
    np.testing.assert_allclose(a.tensor_traces, b.tensor_traces, rtol=1e-6)


def test_equals_backpack_batch_l2():
    backpack = pytest.importorskip("backpack")
    from backpack.extensions import BatchL2Grad

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, C)
    ).double()
    X = torch.randn(20, 1, 4, 4, dtype=torch.float64)
    y = torch.randint(0, C, (20,))
    ours = fisher_trace(net, X, y, kind="empirical", batch_size=7)
    model = backpack.extend(net)
    lossf = backpack.extend(nn.CrossEntropyLoss(reduction="sum"))
    with backpack.backpack(BatchL2Grad()):
        lossf(model(X), y).backward()
    ref = [float(p.batch_l2.mean()) for p in net.parameters()]
    np.testing.assert_allclose(ours.tensor_traces, ref, rtol=1e-10)


def test_batch_not_first_is_an_input_error():
    class SeqFirst(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, C)

        def forward(self, x):  # (b, T, 3) -> (T, b, 3): the layer sees positions first
            return self.fc(x.transpose(0, 1)).mean(0)

    X = torch.randn(4, 5, 3)
    with pytest.raises(InputError, match="method='vmap'"):
        fisher_trace(SeqFirst(), X, torch.zeros(4, dtype=torch.long), kind="empirical")
    with pytest.raises(InputError, match="method"):
        fisher_trace(SeqFirst(), X, torch.zeros(4, dtype=torch.long), kind="empirical", method="x")


class FlatByView(nn.Module):
    """A CNN that flattens a conv output with ``.view`` (needs the default memory layout)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 5 * 5, C)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return self.fc(h.view(h.shape[0], -1))


def test_conv_output_flattened_by_view_equals_vmap():
    # the channels-last weights make .view fail: the forward pass runs again without them
    torch.manual_seed(0)
    net = FlatByView().double().eval()
    X = torch.randn(12, 3, 5, 5, dtype=torch.float64)
    y = torch.randint(0, C, (12,))
    for kind in ("empirical", "model_exact"):
        a = fisher_trace(net, X, y, kind=kind, batch_size=5)
        b = fisher_trace(net, X, y, kind=kind, batch_size=5, method="vmap")
        np.testing.assert_allclose(a.tensor_traces, b.tensor_traces, rtol=1e-10)


@pytest.mark.parametrize(
    ("T", "k", "S", "o", "k_major"),
    [
        (1, 5, 3, 4, False),  # one position: the product of the norms
        (2, 40, 1, 30, False),  # T (k + S o) < k S o: the Gram identity
        (20, 3, 2, 2, False),  # the direct product, (S o, T) @ (T, k)
        (20, 3, 2, 2, True),  # the direct product, (k, T) @ (T, S o) on a k-major input
    ],
)
def test_each_contraction_route_equals_explicit_gradients(T, k, S, o, k_major):
    from netsci_dl.activations._sqnorm_ops import _contract

    g = torch.Generator().manual_seed(T + k)
    a = torch.randn(4, T, k, generator=g, dtype=torch.float64)
    if k_major:  # the unfolded input of a channels-first convolution: stride 1 along T
        a = a.transpose(1, 2).contiguous().transpose(1, 2)
        assert a.stride(-2) == 1
    d = torch.randn(4, T, S, o, generator=g, dtype=torch.float64)
    # per-example gradients, materialised: sum_t d_ts a_t^T, then squared norms
    explicit = torch.einsum("btk,btso->bsko", a, d).square().sum((-1, -2))
    # float64: only the order of the sums differs
    np.testing.assert_allclose(_contract(a, d).numpy(), explicit.numpy(), rtol=1e-12)


class DeadBranch(nn.Module):
    """A Linear whose output never reaches the logits: zero gradient for its parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Linear(4, 3)
        self.out = nn.Linear(4, C)

    def forward(self, x):
        self.unused(x)
        return self.out(x)


def test_a_layer_that_does_not_reach_the_logits_has_zero_trace():
    torch.manual_seed(0)
    net = DeadBranch().double().eval()
    X = torch.randn(9, 4, dtype=torch.float64)
    y = torch.randint(0, C, (9,))
    a = fisher_trace(net, X, y, kind="empirical", batch_size=4)
    b = fisher_trace(net, X, y, kind="empirical", batch_size=4, method="vmap")
    assert a.per_layer["unused"] == 0.0 and a.per_layer["out"] > 0
    np.testing.assert_allclose(a.tensor_traces, b.tensor_traces, rtol=1e-10)


class FrozenBranch(nn.Module):
    """A Linear run under torch.no_grad(): no gradient reaches its parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = nn.Linear(4, 4)
        self.out = nn.Linear(4, C)

    def forward(self, x):
        with torch.no_grad():
            h = self.frozen(x)
        return self.out(torch.tanh(h))


def test_a_layer_run_without_gradient_has_zero_trace_as_with_vmap():
    torch.manual_seed(0)
    net = FrozenBranch().double().eval()
    X = torch.randn(9, 4, dtype=torch.float64)
    y = torch.randint(0, C, (9,))
    for kind in ("empirical", "model_exact"):
        a = fisher_trace(net, X, y, kind=kind, batch_size=4)
        b = fisher_trace(net, X, y, kind=kind, batch_size=4, method="vmap")
        assert a.per_layer["frozen"] == 0.0 and a.per_layer["out"] > 0
        np.testing.assert_allclose(a.tensor_traces, b.tensor_traces, rtol=1e-10)


@pytest.mark.parametrize("method", ["auto", "vmap"])
@pytest.mark.parametrize("bad", [-1, C])
def test_labels_out_of_range_are_an_input_error(method, bad):
    net, X, y = _model("mlp")
    y = y.clone()
    y[17] = bad  # in the third batch of 8
    with pytest.raises(InputError, match="labels must lie in"):
        fisher_trace(net, X, y, kind="empirical", batch_size=8, method=method)


@pytest.mark.parametrize(
    "conv",
    [
        {"stride": 1, "padding": 1},
        {"stride": 2, "padding": (0, 2), "dilation": (2, 1)},
        {"stride": (1, 2), "padding": "valid", "bias": False},
        {"stride": 1, "padding": 1, "frozen": "bias"},
    ],
)
@pytest.mark.parametrize("kind", ["empirical", "model_exact"])
def test_first_conv_as_one_gemm_equals_vmap(conv, kind, monkeypatch):
    # a first-layer Conv2d (input without gradient) runs as one GEMM on its patches in the
    # channels-last pass; its module's forward is restored afterwards
    import netsci_dl.activations._sqnorm_ops as ops
    import netsci_dl.activations._sqnorms as sqnorms

    conv = dict(conv)  # the parametrized dict is shared between the kinds
    frozen = conv.pop("frozen", None)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 5, 3, **conv),
        nn.ReLU(inplace=True),
        nn.Conv2d(5, 4, 2),
        nn.Flatten(),
        nn.LazyLinear(C),
    ).double()
    X = torch.randn(12, 3, 9, 10, dtype=torch.float64)
    net(X)
    if frozen:
        getattr(net[0], frozen).requires_grad_(False)
    y = torch.randint(0, C, (12,))
    seen, unfolded, patches, cols = [], [], ops._patches, ops._conv_cols
    monkeypatch.setattr(ops, "_patches", lambda m, a: seen.append(m) or patches(m, a))
    for mod in (ops, sqnorms):  # the GEMM forward's and the norms' own references
        monkeypatch.setattr(mod, "_conv_cols", lambda m, a: unfolded.append(m) or cols(m, a))
    a = fisher_trace(net, X, y, kind=kind, batch_size=5)
    b = fisher_trace(net, X, y, kind=kind, batch_size=5, method="vmap")
    # the first conv's patches once per batch (3 batches), reused by the norms; the second
    # conv (its input needs a gradient) runs as it is and is unfolded for its norms
    assert seen == [net[0]] * 3 and unfolded == [net[2]] * 3
    assert "forward" not in net[0].__dict__ and "forward" not in net[2].__dict__
    assert not net[3]._forward_pre_hooks  # the Flatten's gradient-layout hook is gone
    np.testing.assert_allclose(a.tensor_traces, b.tensor_traces, rtol=1e-10)


class _Twice(nn.Module):
    """One conv called on the input (no gradient: the GEMM forward) and on its own output
    (channels last, with gradient); one Conv1d called on a channels-first input and on a
    channels-last view of another."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.c1 = nn.Conv1d(3, 4, 2)
        self.head = nn.LazyLinear(C)

    def forward(self, x):
        h = self.conv(torch.relu(self.conv(x)))  # (b, 3, 6, 5)
        rows = h.flatten(2)  # (b, 3, 30), channels first
        cols = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1, 3).transpose(1, 2)  # stride 1 on C
        return self.head(torch.cat([self.c1(rows), self.c1(cols)], 2).flatten(1))


@pytest.mark.parametrize("kind", ["empirical", "model_exact"])
def test_module_called_twice_on_inputs_of_two_layouts_equals_vmap(kind):
    torch.manual_seed(0)
    net = _Twice().double()
    X = torch.randn(10, 3, 6, 5, dtype=torch.float64)
    net(X)
    y = torch.randint(0, C, (10,))
    a = fisher_trace(net, X, y, kind=kind, batch_size=4)
    b = fisher_trace(net, X, y, kind=kind, batch_size=4, method="vmap")
    np.testing.assert_allclose(a.tensor_traces, b.tensor_traces, rtol=1e-10)
