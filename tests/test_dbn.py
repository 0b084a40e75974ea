"""DBN: greedy stacking, transform, generation, export and save/load round trips."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import netsci_dl as nd  # noqa: E402
from netsci_dl.models.dbn import DBN  # noqa: E402


@pytest.fixture(scope="module")
def digits_dbn():
    from netsci_dl.datasets import load_digits

    d = load_digits()
    X = d.X[:500]
    dbn = DBN((64, 40, 30), epochs=6, batch_size=50, seed=0, image_shape=d.image_shape).fit(
        X, quiet=True
    )
    return dbn, X


def test_layers_trained_on_probabilities(digits_dbn):
    dbn, X = digits_dbn
    h1 = dbn.transform(X, layer=1)
    np.testing.assert_allclose(h1, dbn.rbms_[0].transform(X), rtol=1e-6)
    top = dbn.transform(X)
    np.testing.assert_allclose(top, dbn.rbms_[1].transform(h1), rtol=1e-6)
    assert top.shape == (500, 30)
    for layer in (0, 1):
        e = dbn.history_.recon_errors(layer)
        assert e[-1] < e[0]


def test_reconstruct_and_generate(digits_dbn):
    dbn, X = digits_dbn
    R = dbn.reconstruct(X)
    assert R.shape == X.shape
    assert float(np.mean((R - X) ** 2)) < float(np.mean((X - X.mean()) ** 2))
    S = dbn.generate(7, n_gibbs=20, seed=1)
    assert S.shape == (7, 64)
    assert bool(np.all((S >= 0) & (S <= 1)))
    np.testing.assert_array_equal(S, dbn.generate(7, n_gibbs=20, seed=1))


def test_to_graph_and_save_load(digits_dbn, tmp_path):
    dbn, X = digits_dbn
    G = dbn.to_graph()
    assert G.layer_sizes == (64, 40, 30)
    assert tuple(G.meta["image_shape"]) == (8, 8)
    np.testing.assert_allclose(G.blocks[0], dbn.rbms_[0].weights_.numpy(), rtol=1e-6)
    p = dbn.save(tmp_path / "m.safetensors")
    with pytest.raises(FileExistsError):
        dbn.save(p)
    H = nd.load(p)
    assert H.layer_sizes == G.layer_sizes
    assert H.meta["image_shape"] == [8, 8]
    np.testing.assert_allclose(H.blocks[1], G.blocks[1])
    back = DBN.load(p)
    for a, b in zip(back.rbms_, dbn.rbms_):
        torch.testing.assert_close(a.weights_, b.weights_)
        torch.testing.assert_close(a.hidden_bias_, b.hidden_bias_)
    np.testing.assert_allclose(back.transform(X), dbn.transform(X), rtol=1e-6)


def test_sparsity_on_top_layer_only():
    dbn = DBN((6, 5, 4), epochs=1)
    assert dbn.config.rbm_params(0)["sparsity_target"] is None
    assert dbn.config.rbm_params(1)["sparsity_target"] == 0.05


def test_errors():
    with pytest.raises(TypeError, match="epochs"):
        DBN((6, 4))
    with pytest.raises(ValueError, match="visible layer"):
        DBN((6, 4), epochs=1).fit(np.zeros((5, 7)), quiet=True)
    with pytest.raises(ValueError, match="not|no parameters"):
        DBN((6, 4), epochs=1).transform(np.zeros((5, 6)))


def test_float64_dbn():
    X = (np.random.default_rng(0).random((40, 6)) < 0.3).astype(np.float64)
    dbn = DBN((6, 4, 3), epochs=2, batch_size=10, dtype="float64").fit(X, quiet=True)
    assert dbn.rbms_[1].weights_.dtype == torch.float64


@pytest.mark.gpu
def test_dbn_on_cuda():
    X = (np.random.default_rng(0).random((40, 6)) < 0.3).astype(np.float32)
    dbn = DBN((6, 4, 3), epochs=2, batch_size=10, device="cuda").fit(X, quiet=True)
    assert dbn.rbms_[0].weights_.device.type == "cuda"
    assert dbn.transform(X).shape == (40, 3)
