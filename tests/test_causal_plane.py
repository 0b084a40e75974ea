"""Layer EI (MMH20 / deep-ei conventions): exact cases, convergence, seeds, devices."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from netsci_dl.analysis.information.causal_plane import (
    LayerEIOptions,
    _mi_from_counts,
    layer_causal_plane,
)
from netsci_dl.analysis.information.causal_plane import layer_ei as _layer_ei
from netsci_dl.graph import LayeredGraph

_FIELDS = {f.name for f in dataclasses.fields(LayerEIOptions)}


def layer_ei(layer, **kw):
    """``layer_ei`` with the estimator settings given as a LayerEIOptions (never the
    deprecated keywords): the tests below write them as keywords for brevity."""
    opts = {k: kw.pop(k) for k in list(kw) if k in _FIELDS}
    if "options" in kw:
        base = kw.pop("options")
        return _layer_ei(layer, options=dataclasses.replace(base, **opts), **kw)
    return _layer_ei(layer, options=LayerEIOptions(**opts), **kw)


def test_identity_linear_ei_parts_exact() -> None:
    w, bins = 4, 8
    r = layer_ei(np.eye(w), bins=bins, n_samples=200_000, sensitivity_samples=20_000, device="cpu")
    assert r.out_range == (0.0, 1.0) and r.activation == "identity"
    # width * log2(bins), up to the plug-in bias of the 12 independent pairs (~3.5e-4 bits each)
    np.testing.assert_allclose(r.ei_parts, w * np.log2(bins), atol=5e-3)
    np.testing.assert_allclose(np.diag(r.pairs), np.log2(bins), atol=1e-3)
    np.testing.assert_allclose(r.sensitivity, w * np.log2(bins), atol=5e-3)
    assert r.ei_whole is not None and abs(r.ei_whole - w * np.log2(bins)) < 0.2  # 4096 states


def test_ones_linear_sensitivity_exact() -> None:
    w, bins = 5, 8
    r = layer_ei(
        np.ones((w, w)),
        bins=bins,
        out_range=(0, 1),
        n_samples=1000,
        sensitivity_samples=20_000,
        device="cpu",
    )
    np.testing.assert_allclose(r.sensitivity, w * w * np.log2(bins), atol=1e-2)


def test_torch_layer_forms_agree() -> None:
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 2)
    kw = {"bins": 8, "n_samples": 5000, "sensitivity_samples": 500, "seed": 3, "device": "cpu"}
    a = layer_ei(torch.nn.Sequential(lin, torch.nn.Sigmoid()), **kw)
    b = layer_ei((lin.weight.detach().numpy().T, lin.bias.detach().numpy(), "sigmoid"), **kw)
    c = layer_ei(lin, activation="sigmoid", **kw)
    assert a.activation == "sigmoid" and a.out_range == (0.0, 1.0)
    for r in (b, c):
        np.testing.assert_allclose(r.pairs, a.pairs, atol=1e-12)
        assert r.sensitivity == a.sensitivity and r.ei_whole == a.ei_whole


def test_same_seed_same_numbers_and_settings_recorded() -> None:
    W = np.random.default_rng(0).normal(0, 2, (6, 5))
    kw = {
        "activation": "tanh",
        "in_range": (-1, 1),
        "n_samples": 4000,
        "sensitivity_samples": 300,
        "device": "cpu",
    }
    a, b = layer_ei(W, seed=7, **kw), layer_ei(W, seed=7, **kw)
    c = layer_ei(W, seed=8, **kw)
    assert a.ei_parts == b.ei_parts and a.sensitivity == b.sensitivity
    assert a.ei_parts != c.ei_parts
    d = json.loads(json.dumps(a.to_dict()))
    assert d["bins"] == 8 and d["in_range"] == [-1.0, 1.0] and d["out_range"] == [-1.0, 1.0]
    assert d["n_samples"] == 4000 and d["seed"] == 7 and d["device"] == "cpu"
    np.testing.assert_allclose(d["degeneracy"], a.sensitivity - a.ei_parts)
    np.testing.assert_allclose(a.degeneracy("whole"), a.sensitivity - a.ei_whole)
    np.testing.assert_allclose(a.phi_ff, a.ei_whole - a.ei_parts)


def test_estimate_converges() -> None:
    """The plug-in bias shrinks as samples grow: EI of independent-ish pairs decreases to its limit."""
    W = np.random.default_rng(1).normal(0, 4, (4, 3))
    vals = [
        layer_ei(
            (W, None, "sigmoid"), n_samples=n, sensitivity=False, whole=False, device="cpu"
        ).ei_parts
        for n in (2_000, 20_000, 200_000)
    ]
    assert abs(vals[2] - vals[1]) < abs(vals[1] - vals[0])
    assert abs(vals[2] - vals[1]) < 0.05


def test_vectorised_counts_match_per_pair_histograms() -> None:
    """The GEMM-counted MI equals a per-pair np.histogram2d on the same samples."""
    from netsci_dl.analysis.information import causal_plane as cp

    W = np.random.default_rng(2).normal(0, 3, (3, 4)).astype(np.float32)
    r = layer_ei((W, None, "sigmoid"), n_samples=3000, sensitivity=False, seed=5, device="cpu")
    gen = torch.Generator().manual_seed(cp._seeds(5)[0])
    x = torch.rand((3000, 3), generator=gen)
    y = torch.sigmoid(x @ torch.as_tensor(W) + 0).numpy()
    xb, yb = cp._bin(x, 0, 1, 8).numpy(), cp._bin(torch.as_tensor(y), 0, 1, 8).numpy()
    ref = np.zeros((3, 4))
    for A in range(3):
        for B in range(4):
            c, _, _ = np.histogram2d(xb[:, A], yb[:, B], bins=8, range=((0, 8), (0, 8)))
            ref[A, B] = _mi_from_counts(c)
    np.testing.assert_allclose(r.pairs, ref, atol=1e-10)


def test_mi_from_counts_simple() -> None:
    np.testing.assert_allclose(_mi_from_counts(np.eye(4) * 5), 2.0)
    np.testing.assert_allclose(_mi_from_counts(np.ones((4, 4))), 0.0, atol=1e-12)


def test_whole_refused_above_limit_and_errors() -> None:
    with pytest.raises(ValueError, match="ei_whole refused"):
        layer_ei(np.ones((8, 2)), whole=True, n_samples=10, device="cpu")
    r = layer_ei(np.ones((8, 2)), n_samples=100, sensitivity_samples=10, device="cpu")
    assert r.ei_whole is None and r.phi_ff is None
    with pytest.raises(ValueError, match="ei_whole"):
        r.degeneracy("whole")
    with pytest.raises(ValueError, match="activation"):
        layer_ei(np.ones((2, 2)), activation="softmax", device="cpu")
    with pytest.raises(ValueError, match="bias"):
        layer_ei(np.ones((2, 2)), bias=np.zeros(3), device="cpu")
    with pytest.raises(ValueError, match="out_range"):
        layer_ei(np.ones((2, 2)), out_range=(1, 0), device="cpu")
    with pytest.raises(ValueError, match="NaN"):
        layer_ei(np.array([[np.nan]]), device="cpu")


def test_layer_causal_plane_graph_and_list() -> None:
    rng = np.random.default_rng(0)
    blocks = (
        rng.normal(0, 1, (4, 3)).astype(np.float32),
        rng.normal(0, 1, (3, 2)).astype(np.float32),
    )
    bias = rng.normal(0, 1, 9).astype(np.float32)
    G = LayeredGraph((4, 3, 2), blocks, node_attrs={"bias": bias})
    o = LayerEIOptions(n_samples=3000, sensitivity_samples=300, seed=1, device="cpu")
    with pytest.raises(ValueError, match="does not record the activation"):
        layer_causal_plane(G, options=o)  # raw matrices: no activation is assumed
    pts = layer_causal_plane(G, activations="sigmoid", options=o)
    assert len(pts) == 2 and all(p.activation == "sigmoid" for p in pts)
    assert [p.name for p in pts] == ["L0->L1", "L1->L2"]
    ref = layer_ei((blocks[1], bias[7:9], "sigmoid"), options=o)
    np.testing.assert_allclose(pts[1].sensitivity, ref.sensitivity)
    pts2 = layer_causal_plane([(blocks[0], None, "tanh"), blocks[1]], options=o)
    assert pts2[0].activation == "tanh" and pts2[1].in_range == (-1.0, 1.0)
    with pytest.raises(ValueError, match="activations"):
        layer_causal_plane(G, activations=["sigmoid"], options=o)
    with pytest.raises(TypeError, match="n_samples"):  # the 0.2 keywords are gone (0.3.0)
        layer_causal_plane(G, activations="sigmoid", n_samples=3000)


def test_partial_biases_and_activations_from_the_model() -> None:
    """Linear(64, 32) -> ReLU -> Linear(32, 10, bias=False): the second layer has no bias (0),
    the activations come from the traced model."""
    import netsci_dl as nd

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3, bias=False)
    )
    G = nd.load(net)
    assert G.node_attrs["has_bias"].tolist() == [False] * 6 + [True] * 4 + [False] * 3
    o = LayerEIOptions(n_samples=2000, sensitivity_samples=200, device="cpu")
    pts = layer_causal_plane(G, options=o)
    assert [p.activation for p in pts] == ["relu", "identity"]
    assert pts[1].in_range == (0.0, 10.0)  # the range of the ReLU feeding it
    ref = layer_ei(
        (net[2].weight.detach().numpy().T, np.zeros(3), "identity"),
        options=LayerEIOptions(
            n_samples=2000, sensitivity_samples=200, device="cpu", in_range=(0.0, 10.0)
        ),
    )
    np.testing.assert_allclose(pts[1].ei_parts, ref.ei_parts)


@pytest.mark.gpu
def test_cuda_matches_shapes() -> None:
    W = np.random.default_rng(0).normal(0, 1, (20, 30))
    r = layer_ei((W, None, "sigmoid"), n_samples=20_000, sensitivity_samples=1000, device="cuda")
    c = layer_ei((W, None, "sigmoid"), n_samples=20_000, sensitivity_samples=1000, device="cpu")
    assert r.device.startswith("cuda") and r.pairs.shape == (20, 30)
    np.testing.assert_allclose(r.ei_parts, c.ei_parts, rtol=0.05)
