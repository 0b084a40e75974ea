"""Exporters: MLP / CNN / RBM / checkpoints -> LayeredGraph, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from safetensors.torch import save_file

import netsci_dl as nd
from netsci_dl.export.conv import conv_block, flatten_block, reduce_kernels


class Evil:
    """A custom class: unpickling it would need arbitrary code."""


def mlp(seed: int = 0, bias: bool = True) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(7, 5, bias=bias), nn.Linear(5, 4, bias=bias), nn.Linear(4, 3, bias=bias)
    )


def test_mlp_blocks_reproduce_forward_pass():
    """x @ W_0 @ W_1 @ W_2 from the graph equals the module (no activations, no bias)."""
    m = mlp(bias=False)
    G = nd.load(m)
    assert G.layer_sizes == (7, 5, 4, 3)
    x = torch.randn(11, 7)
    y = x.numpy()
    for b in G.blocks:
        y = y @ b
    torch.testing.assert_close(torch.from_numpy(y), m(x).detach(), rtol=1e-5, atol=1e-5)
    assert G.meta["model_kind"] == "mlp"
    assert G.meta["directed"] is True


def test_mlp_from_state_dict_and_files(tmp_path):
    m = mlp(seed=1)
    G = nd.load(m)
    np.testing.assert_array_equal(G.blocks[0], m[0].weight.detach().numpy().T)
    np.testing.assert_allclose(G.node_attrs["bias"][7:12], m[0].bias.detach().numpy())
    assert not G.node_attrs["has_bias"][:7].any() and G.node_attrs["has_bias"][7:].all()
    np.testing.assert_array_equal(G.node_attrs["bias"][:7], 0.0)
    sd = m.state_dict()
    torch.save(sd, tmp_path / "m.pt")
    torch.save({"epoch": 3, "state_dict": sd}, tmp_path / "nested.pth")
    torch.save({"model": {f"module.{k}": v for k, v in sd.items()}}, tmp_path / "dp.pt")
    save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp_path / "m.safetensors"))
    np.savez(tmp_path / "m.npz", **{k: v.numpy() for k, v in sd.items()})
    for f in ["m.pt", "nested.pth", "dp.pt", "m.safetensors", "m.npz"]:
        H = nd.load(tmp_path / f)
        assert H.layer_sizes == G.layer_sizes, f
        for a, b in zip(G.blocks, H.blocks):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(G.node_attrs["bias"], H.node_attrs["bias"])
    assert nd.load(tmp_path / "nested.pth").meta["state_dict_key"] == "state_dict"
    assert nd.load(dict(sd)).layer_sizes == G.layer_sizes


def test_layer_selection_and_chain_errors():
    m = mlp()
    G = nd.load(m, layers=r"^[01]$")
    assert G.layer_sizes == (7, 5, 4)
    G = nd.load(m, layers=["1", "2"])
    assert G.layer_sizes == (5, 4, 3)
    with pytest.raises(ValueError, match="broken shape chain"):
        nd.load(m, layers=["0", "2"])
    with pytest.raises(ValueError, match="matches no weight"):
        nd.load(m, layers="nothing")
    with pytest.raises(ValueError, match="not found"):
        nd.load(m, layers=["7"])


def test_nan_weights_named(tmp_path):
    sd = mlp().state_dict()
    sd["1.weight"][2, 3] = float("nan")
    sd["1.weight"][0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"'1'.*1 NaN and 1 Inf.*\(0, 0\)"):
        nd.load(sd)


def test_bad_tensor_dims(tmp_path):
    sd = {"a.weight": torch.randn(3, 4, 5, 1, 1, 2), "b.weight": torch.randn(2, 3)}
    plan = nd.inspect(sd)
    skipped = {t.name: t.reason for t in plan.tensors if t.role == "skipped"}
    assert "6-D tensor is not a weight matrix" in skipped["a.weight"]
    with pytest.raises(ValueError, match="not weight matrices or convolution kernels"):
        nd.load(sd, layers=["a"])
    # a 3-D weight is a Conv1d kernel: a channel graph like any convolution
    G = nd.load({"c.weight": torch.randn(3, 4, 5), "d.weight": torch.randn(2, 3, 1)})
    assert G.layer_sizes == (4, 3, 2) and G.meta["model_kind"] == "cnn"


def test_refuses_pickled_objects(tmp_path):
    torch.save({"w": torch.ones(2, 2), "obj": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="refused.*weights_only=True"):
        nd.load(tmp_path / "evil.pt")
    torch.save(mlp(), tmp_path / "whole_module.pt")  # pickles the module class
    with pytest.raises(ValueError, match="refused"):
        nd.load(tmp_path / "whole_module.pt")


def test_truncated_and_foreign_files(tmp_path):
    torch.save(mlp().state_dict(), tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable torch checkpoint"):
        nd.load(tmp_path / "cut.pt")
    (tmp_path / "x.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ValueError, match="safetensors"):
        nd.load(tmp_path / "x.safetensors")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(ValueError, match="unknown checkpoint type"):
        nd.load(tmp_path / "x.txt")
    with pytest.raises(FileNotFoundError):
        nd.load(tmp_path / "missing.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="not a state_dict"):
        nd.load(tmp_path / "list.pt")


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1, groups=2)
        self.fc = nn.Linear(6 * 5 * 5, 10)
        self.out = nn.Linear(10, 3)


def test_cnn_channel_graph():
    torch.manual_seed(0)
    m = CNN()
    with pytest.raises(ValueError, match="flatten_order"):  # no forward: the order is unknown
        nd.load(m)
    G = nd.load(m, flatten_order="chw")
    assert G.layer_sizes == (1, 4, 6, 10, 3)
    assert G.meta["model_kind"] == "cnn"
    w1 = m.conv1.weight.detach().numpy()
    np.testing.assert_allclose(G.blocks[0], np.sqrt((w1**2).sum(axis=(2, 3))).T, rtol=1e-6)
    # grouped conv: output channels 0-2 only see input channels 0-1: one edge per kernel
    B = G.blocks[1]
    assert B.nnz == 6 * 2  # 6 outputs x 2 input channels each, not 6 x 4
    D = B.toarray()
    assert (D[2:, :3] == 0).all() and (D[:2, 3:] == 0).all()
    w2 = m.conv2.weight.detach().numpy()
    np.testing.assert_allclose(D[:2, 0], np.sqrt((w2[0] ** 2).sum(axis=(1, 2))), rtol=1e-6)
    # flatten: channel c's 25 features reduced per output unit
    wf = m.fc.weight.detach().numpy()
    np.testing.assert_allclose(G.blocks[2][5, 7], np.linalg.norm(wf[7, 125:150]), rtol=1e-6)
    # the state_dict alone cannot tell a grouped convolution from a branch: refused, naming both
    with pytest.raises(ValueError, match=r"conv2.*2 groups, or a branch.*pass the model"):
        nd.load(m.state_dict())
    H = nd.load(m.state_dict(), layers=["conv1"])
    np.testing.assert_allclose(H.blocks[0], G.blocks[0])
    L1 = nd.load(m, conv_reduce="sum", flatten_order="chw")
    np.testing.assert_allclose(L1.blocks[0], w1.sum(axis=(2, 3)).T, rtol=1e-5)


def test_kernel_reductions():
    w = np.arange(8.0).reshape(1, 2, 2, 2) - 3.5
    np.testing.assert_allclose(
        reduce_kernels(w, "l1"), [[np.abs(w[0, 0]).sum(), np.abs(w[0, 1]).sum()]]
    )
    np.testing.assert_allclose(reduce_kernels(w, "mean"), [[w[0, 0].mean(), w[0, 1].mean()]])
    np.testing.assert_allclose(reduce_kernels(w, "max_abs"), [[3.5, 3.5]])
    with pytest.raises(ValueError, match="conv_reduce"):
        reduce_kernels(w, "median")
    with pytest.raises(ValueError, match="not a multiple"):
        flatten_block(np.ones((2, 5)), 2)
    with pytest.raises(ValueError, match="does not divide"):
        conv_block(np.ones((4, 3, 1, 1)), 4)


def test_linear_then_conv_refused():
    sd = {"a.weight": torch.randn(4, 3), "b.weight": torch.randn(2, 4, 3, 3)}
    with pytest.raises(
        ValueError, match="broken shape chain: convolution 'b' follows the Linear layer 'a'"
    ):
        nd.load(sd)


def test_raw_matrices_and_layouts(tmp_path):
    rng = np.random.default_rng(0)
    W = [rng.normal(size=(6, 4)), rng.normal(size=(4, 2))]
    G = nd.from_matrices(W)
    np.testing.assert_allclose(G.blocks[1], W[1])
    H = nd.from_matrices([w.T for w in W], layout="out_in")
    np.testing.assert_allclose(H.blocks[0], G.blocks[0])
    np.savez(tmp_path / "w.npz", W0=W[0], W1=W[1])
    assert nd.load(tmp_path / "w.npz").layer_sizes == (6, 4, 2)
    with pytest.raises(ValueError, match="broken shape chain"):
        nd.load(tmp_path / "w.npz", layout="out_in")
    with pytest.raises(ValueError, match="must be 2-D"):
        nd.from_matrices([np.ones((2, 2, 2))])


def test_sklearn_rbm_transposed():
    from sklearn.neural_network import BernoulliRBM

    X = (np.random.default_rng(0).random((40, 9)) > 0.5).astype(float)
    r1 = BernoulliRBM(n_components=5, n_iter=2, random_state=0).fit(X)
    r2 = BernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(r1.transform(X))
    G = nd.load([r1, r2])
    assert G.layer_sizes == (9, 5, 3)
    assert G.meta["model_kind"] == "dbn" and G.meta["directed"] is False
    assert G.meta["image_shape"] == [3, 3]
    np.testing.assert_allclose(G.blocks[0], r1.components_.T, rtol=1e-6)
    np.testing.assert_allclose(G.node_attrs["bias"][:9], r1.intercept_visible_, rtol=1e-6)
    np.testing.assert_allclose(G.node_attrs["bias"][9:14], r1.intercept_hidden_, rtol=1e-6)
    np.testing.assert_allclose(
        G.node_attrs["top_down_bias"][9:14], r2.intercept_visible_, rtol=1e-6
    )


def test_rbm_checkpoint_layout(tmp_path):
    import json

    from safetensors.numpy import save_file as save_np

    from netsci_dl.export.rbm import rbm_state_dict

    rng = np.random.default_rng(1)
    Ws = [rng.normal(size=(16, 5)).astype(np.float32), rng.normal(size=(5, 4)).astype(np.float32)]
    vbs = [np.zeros(16, np.float32), np.ones(5, np.float32)]
    hbs = [np.full(5, 2.0, np.float32), np.full(4, 3.0, np.float32)]
    save_np(
        rbm_state_dict(Ws, vbs, hbs),
        str(tmp_path / "d.safetensors"),
        metadata={"netsci_dl": json.dumps({"image_shape": [4, 4], "epoch": 7})},
    )
    G = nd.load(tmp_path / "d.safetensors")
    assert G.layer_names == ("visible", "h1", "h2")
    assert G.meta["image_shape"] == [4, 4] and G.meta["checkpoint"]["epoch"] == 7
    np.testing.assert_array_equal(G.blocks[1], Ws[1])
    np.testing.assert_array_equal(G.node_attrs["bias"][16:21], hbs[0])
    assert nd.load(tmp_path / "d.safetensors", layers="h1").layer_sizes == (16, 5)
    with pytest.raises(ValueError, match="from the bottom"):
        nd.load(tmp_path / "d.safetensors", layers="h2")


def test_inspect_summary_lists_skips():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(4, 3)
            self.bn = nn.BatchNorm1d(3)
            self.fc2 = nn.Linear(3, 2)

    sd = Net().state_dict()
    plan = nd.inspect(sd)
    text = plan.summary()
    assert "fc1" in text and "fc2" in text
    assert "bn.weight" in text and "normalisation" in text
    assert "bn.running_mean" in text
    assert plan.layer_sizes == (4, 3, 2)
    d = plan.to_dict()
    assert d["n_edges"] == 4 * 3 + 3 * 2


def test_load_returns_saved_graph(tmp_path):
    G = nd.from_matrices([np.ones((2, 3))])
    nd.save(G, tmp_path / "g.npz")
    assert nd.load(tmp_path / "g.npz").equals(G)
    with pytest.raises(TypeError, match="cannot export"):
        nd.load(42)
