"""DBN: greedy stacking, transform, generation, export (copies) and save/load round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netsci_dl as nd
from netsci_dl.errors import InputError
from netsci_dl.models.dbn import DBN
from netsci_dl.models.rbm import RBM


@pytest.fixture(scope="module")
def digits_dbn():
    from netsci_dl.datasets import load_digits

    d = load_digits()
    X = d.X[:500]
    dbn = DBN((64, 40, 30), epochs=6, batch_size=50, seed=0, image_shape=d.image_shape).fit(
        X, progress=False
    )
    return dbn, X


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _np_params(dbn):
    return [[t.numpy().astype(np.float64) for t in r._params()] for r in dbn.rbms_]


def test_upper_rbm_is_trained_on_the_probabilities_below(digits_dbn):
    """RBM 1 of the stack equals a lone RBM with its settings trained on rbm0.transform(X)."""
    dbn, X = digits_dbn
    lone = RBM(**dbn.config.rbm_params(1)).fit(dbn.rbms_[0].transform(X))
    for a, b in zip(lone._params(), dbn.rbms_[1]._params()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for layer in (0, 1):
        e = dbn.history_.recon_errors(layer)
        assert e[-1] < e[0]


def test_transform_and_reconstruct_are_the_sigmoid_passes(digits_dbn):
    dbn, X = digits_dbn
    (W0, vb0, hb0), (W1, vb1, hb1) = _np_params(dbn)
    h1 = _sig(X @ W0 + hb0)
    h2 = _sig(h1 @ W1 + hb1)
    np.testing.assert_allclose(dbn.transform(X, layer=1), h1, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dbn.transform(X), h2, rtol=1e-4, atol=1e-6)
    down = _sig(_sig(h2 @ W1.T + vb1) @ W0.T + vb0)
    np.testing.assert_allclose(dbn.reconstruct(X), down, rtol=1e-4, atol=1e-6)


def test_generate_is_seeded_and_leaves_training_generators_alone(digits_dbn):
    dbn, _ = digits_dbn
    before = [r.generator_.get_state() for r in dbn.rbms_]
    S = dbn.generate(7, n_gibbs=20, seed=1)
    assert S.shape == (7, 64)
    np.testing.assert_array_equal(S, dbn.generate(7, n_gibbs=20, seed=1))
    assert not np.array_equal(S, dbn.generate(7, n_gibbs=20, seed=2))
    for r, b in zip(dbn.rbms_, before):
        torch.testing.assert_close(r.generator_.get_state(), b, rtol=0, atol=0)


def test_exported_graph_is_a_copy_training_further_does_not_change_it():
    X = (np.random.default_rng(0).random((50, 6)) < 0.3).astype(np.float32)
    dbn = DBN((6, 4, 3), epochs=1, batch_size=10, seed=0).fit(X, progress=False)
    graphs = [dbn.to_graph(), nd.load(dbn)]
    single = nd.load(dbn.rbms_[1])
    sd = dbn.state_dict()
    frozen = [[b.copy() for b in G.blocks] for G in graphs]
    bias = [G.node_attrs["bias"].copy() for G in graphs]
    top_b, sd_w = single.blocks[0].copy(), sd["rbm.0.weights"].clone()
    for r, data in zip(dbn.rbms_, (X, dbn.rbms_[0].transform(X))):
        r.fit_epoch(r._as_tensor(data))
    after = dbn.to_graph()
    for G, blocks, b in zip(graphs, frozen, bias):
        for got, want in zip(G.blocks, blocks):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(G.node_attrs["bias"], b)
        assert not np.array_equal(after.blocks[0], G.blocks[0])  # the model did move on
    np.testing.assert_array_equal(single.blocks[0], top_b)
    torch.testing.assert_close(sd["rbm.0.weights"], sd_w, rtol=0, atol=0)
    np.testing.assert_array_equal(after.blocks[0], dbn.rbms_[0].weights_.numpy())


def test_graphs_collected_per_epoch_keep_their_epoch():
    X = (np.random.default_rng(1).random((50, 6)) < 0.3).astype(np.float32)
    rbm = RBM(4, n_epochs=0, batch_size=10, seed=0).fit(X)
    Xt = rbm._as_tensor(X)
    graphs, weights = [], []
    for _ in range(3):
        rbm.fit_epoch(Xt)
        graphs.append(nd.load(rbm))
        weights.append(rbm.weights_.numpy().copy())
    for G, W in zip(graphs, weights):
        np.testing.assert_array_equal(G.blocks[0], W)
    assert not np.array_equal(graphs[0].blocks[0], graphs[2].blocks[0])


def test_to_graph_and_save_load(digits_dbn, tmp_path):
    dbn, X = digits_dbn
    G = dbn.to_graph()
    assert G.layer_sizes == (64, 40, 30)
    assert tuple(G.meta["image_shape"]) == (8, 8)
    p = dbn.save(tmp_path / "m.safetensors")
    with pytest.raises(FileExistsError):
        dbn.save(p)
    H = nd.load(p)
    assert H.layer_sizes == G.layer_sizes
    assert H.meta["image_shape"] == [8, 8]
    np.testing.assert_array_equal(H.blocks[1], G.blocks[1])
    back = DBN.load(p)
    for a, b in zip(back.rbms_, dbn.rbms_):
        torch.testing.assert_close(a.weights_, b.weights_, rtol=0, atol=0)
        torch.testing.assert_close(a.hidden_bias_, b.hidden_bias_, rtol=0, atol=0)
    assert back.config == dbn.config
    np.testing.assert_array_equal(back.transform(X), dbn.transform(X))


def test_load_refuses_broken_files(digits_dbn, tmp_path):
    from safetensors.torch import save_file

    dbn, _ = digits_dbn
    good = dbn.save(tmp_path / "good.safetensors").read_bytes()
    sd = dbn.state_dict()
    files = {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "text": b"hello, I am not a model" * 10,
    }
    for name, data in files.items():
        (tmp_path / f"{name}.safetensors").write_bytes(data)
    tensors = {
        "nan": (dict(sd, **{"rbm.1.weights": torch.full((40, 30), float("nan"))}), None),
        "gap": ({k: v for k, v in sd.items() if not k.startswith("rbm.0.")}, None),
        "shape": (dict(sd, **{"rbm.1.weights": torch.zeros(41, 30)}), None),
        "meta": (sd, {"netsci_dl": "{not json"}),
    }
    for name, (t, meta) in tensors.items():
        save_file(t, str(tmp_path / f"{name}.safetensors"), metadata=meta)
    expect = {
        "empty": "empty or truncated",
        "truncated": "truncated|not a readable",
        "text": "truncated|not a readable",
        "nan": "NaN",
        "gap": "RBM indices",
        "shape": "visible units",
        "meta": "not valid JSON",
    }
    for name, match in expect.items():
        with pytest.raises(InputError, match=match) as e:
            DBN.load(tmp_path / f"{name}.safetensors")
        assert "\n" not in str(e.value)


def test_sparsity_on_top_layer_only():
    dbn = DBN((6, 5, 4), epochs=1)
    assert dbn.config.rbm_params(0)["sparsity_target"] is None
    assert dbn.config.rbm_params(1)["sparsity_target"] == 0.05
    assert dbn.config.rbm_params(1)["sparsity_rule"] == "lab"  # the study's default


def test_errors():
    with pytest.raises(TypeError, match="epochs"):
        DBN((6, 4))
    with pytest.raises(InputError, match="visible layer"):
        DBN((6, 4), epochs=1).fit(np.zeros((5, 7)), progress=False)
    with pytest.raises(InputError, match="no parameters"):
        DBN((6, 4), epochs=1).transform(np.zeros((5, 6)))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        DBN((6, 4), epochs=1).fit(np.full((5, 6), 2.0), progress=False)
    with pytest.raises(InputError, match="NaN"):
        DBN((6, 4), epochs=1).fit(np.full((5, 6), np.nan), progress=False)


def test_float64_dbn():
    X = (np.random.default_rng(0).random((40, 6)) < 0.3).astype(np.float64)
    dbn = DBN((6, 4, 3), epochs=2, batch_size=10, dtype="float64").fit(X, progress=False)
    assert dbn.rbms_[1].weights_.dtype == torch.float64


@pytest.mark.gpu
def test_dbn_on_cuda():
    X = (np.random.default_rng(0).random((40, 6)) < 0.3).astype(np.float32)
    dbn = DBN((6, 4, 3), epochs=2, batch_size=10, device="cuda").fit(X, progress=False)
    assert dbn.rbms_[0].weights_.device.type == "cuda"
    assert dbn.transform(X).shape == (40, 3)
