"""Receptive fields: products of the weight blocks, reshape, distributions, errors."""

from __future__ import annotations

import numpy as np
import pytest

from netsci_dl.analysis.fields._receptive_fields import receptive_fields, to_distributions
from netsci_dl.analysis.fields.emd import SignedFields, emd_matrix
from netsci_dl.graph import LayeredGraph
from tests.conftest import random_layered


def _graph(sizes=(12, 5, 4, 3), image_shape=(3, 4), **kw):
    G = random_layered(sizes, seed=1, **kw)
    return G.with_meta(image_shape=list(image_shape)) if image_shape else G


def test_rf_products_equal_manual_matmuls():
    G = _graph()
    W = [np.asarray(b, dtype=np.float64) for b in G.blocks]
    manual = {1: W[0], 2: W[0] @ W[1], 3: W[0] @ W[1] @ W[2]}
    with pytest.raises(TypeError, match="layer"):
        receptive_fields(G)  # the 0.2 form (every layer, a dict) is gone
    all_rfs = {lay: receptive_fields(G, lay) for lay in range(1, G.n_layers)}
    assert sorted(all_rfs) == [1, 2, 3]
    for lay, P in manual.items():
        np.testing.assert_allclose(all_rfs[lay].reshape(P.shape[1], -1), P.T, rtol=1e-12)
        np.testing.assert_array_equal(receptive_fields(G, lay), all_rfs[lay])
        assert all_rfs[lay].shape == (G.layer_sizes[lay], 3, 4)
        assert all_rfs[lay].dtype == np.float64
    # unit j of layer 2, pixel (r, c) = input unit r * 4 + c
    rf = receptive_fields(G, 2)
    assert rf[3, 1, 2] == pytest.approx(manual[2][1 * 4 + 2, 3])
    np.testing.assert_array_equal(receptive_fields(G, -1), all_rfs[3])
    np.testing.assert_array_equal(receptive_fields(G, "L2"), all_rfs[2])


def test_sparse_and_thresholded_graphs_use_signed_weights():
    G = _graph(sparse_p=0.6)
    dense = G.replace(blocks=tuple(b.toarray() for b in G.blocks))
    for lay in (1, 2, 3):
        np.testing.assert_allclose(
            receptive_fields(G, lay), receptive_fields(dense, lay), rtol=1e-12
        )
    from netsci_dl.threshold import by_value

    T = by_value(dense, 0.5)  # unweighted: the signed weights live in edge_attrs["weight"]
    kept = [np.where(np.abs(b) > 0.5, b, 0).astype(np.float64) for b in dense.blocks]
    np.testing.assert_allclose(
        receptive_fields(T, 2).reshape(4, -1), (kept[0] @ kept[1]).T, rtol=1e-6
    )


def test_per_stage_threshold():
    G = _graph()
    W = [np.asarray(b, dtype=np.float64) for b in G.blocks]

    def cut(P, t):
        return np.where(np.abs(P) < t * np.abs(P).max(), 0, P)

    P1 = cut(W[0], 0.3)
    P2 = cut(P1 @ W[1], 0.2)
    got = receptive_fields(G, 2, threshold=[0.3, 0.2])
    np.testing.assert_allclose(got.reshape(4, -1), P2.T, rtol=1e-12)
    np.testing.assert_allclose(
        receptive_fields(G, 2, threshold=0.3).reshape(4, -1), cut(P1 @ W[1], 0.3).T, rtol=1e-12
    )
    np.testing.assert_array_equal(receptive_fields(G, 2, threshold=0.0), receptive_fields(G, 2))
    with pytest.raises(ValueError, match="threshold"):
        receptive_fields(G, 2, threshold=1.5)
    with pytest.raises(ValueError, match="2 product stages"):
        receptive_fields(G, 2, threshold=[0.1])


def test_image_shape_from_meta_or_argument():
    G = _graph(image_shape=None)
    with pytest.raises(ValueError, match="image_shape"):
        receptive_fields(G, 1)
    assert receptive_fields(G, 1, image_shape=(2, 6)).shape == (5, 2, 6)
    assert receptive_fields(G, 1, image_shape=(12,)).shape == (5, 12)
    with pytest.raises(ValueError, match="12 units"):
        receptive_fields(G, 1, image_shape=(5, 5))
    G2 = _graph(image_shape=(4, 3))
    assert receptive_fields(G2, 1).shape == (5, 4, 3)


def test_bad_layers():
    G = _graph()
    with pytest.raises(ValueError, match="input layer"):
        receptive_fields(G, 0)
    with pytest.raises(ValueError, match="out of range"):
        receptive_fields(G, 4)
    with pytest.raises(ValueError, match="is not one of"):
        receptive_fields(G, "nope")


def test_distributions():
    rng = np.random.default_rng(2)
    R = rng.normal(size=(6, 3, 4))
    flat = R.reshape(6, -1)
    shift = to_distributions(R)
    ref = flat - flat.min(1, keepdims=True)
    np.testing.assert_allclose(shift.reshape(6, -1), ref / ref.sum(1, keepdims=True))
    assert shift.shape == R.shape
    np.testing.assert_allclose(
        to_distributions(R, "abs").reshape(6, -1),
        np.abs(flat) / np.abs(flat).sum(1, keepdims=True),
    )
    pos = to_distributions(R, "pos").reshape(6, -1)
    np.testing.assert_allclose(pos.sum(1), 1)
    assert (pos[flat <= 0] == 0).all()
    s = to_distributions(R, "signed")
    assert isinstance(s, SignedFields)
    assert s.shape == R.shape
    np.testing.assert_allclose(
        (s.pos - s.neg).reshape(6, -1), flat / np.abs(flat).sum(1, keepdims=True)
    )
    d = to_distributions({1: R, 2: R[:2]}, "abs")
    assert sorted(d) == [1, 2]
    assert d[2].shape == (2, 3, 4)
    with pytest.raises(ValueError, match="method="):
        to_distributions(R, "softmax")


@pytest.mark.parametrize(
    ("method", "fill", "what"),
    [("shift", 2.5, "constant"), ("abs", 0.0, "all zero"), ("signed", 0.0, "all zero")],
)
def test_errors_name_the_unit(method, fill, what):
    R = np.random.default_rng(3).normal(size=(5, 2, 2))
    R[3] = fill
    with pytest.raises(ValueError, match=f"unit 3 of layer 2 is {what}"):
        to_distributions(R, method, layer=2)
    with pytest.raises(ValueError, match=f"unit 3 of layer 7 is {what}"):
        to_distributions({7: R}, method)
    R = np.abs(np.random.default_rng(4).normal(size=(5, 2, 2))) + 0.1
    with pytest.raises(ValueError, match="unit 0 is never positive"):
        to_distributions(-R, "pos")


def test_graph_to_emd_pipeline():
    G = _graph()
    P = to_distributions(receptive_fields(G, 1))
    r = emd_matrix(P, ground="manhattan", n_jobs=1, progress=False)
    assert r.matrix.shape == (5, 5)
    assert (r.condensed > 0).all()
    s = emd_matrix(to_distributions(receptive_fields(G, 1), "signed"), n_jobs=1, progress=False)
    assert s.signed
    assert (s.condensed > 0).all()


def test_single_layer_and_tiny_graph():
    G = LayeredGraph((4,), (), meta={"image_shape": [2, 2]})
    with pytest.raises(ValueError, match="single layer"):
        receptive_fields(G, 1)
