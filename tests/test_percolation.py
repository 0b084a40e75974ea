"""Pruning percolation: the masks, the giant component (networkx oracle), the pruned model."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from netsci_dl import LayeredGraph, from_matrices
from netsci_dl.analysis import prune_masks, pruning_percolation
from netsci_dl.errors import InputError


def _mats(seed=0, sizes=(9, 7, 5)):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(a, b)) for a, b in zip(sizes, sizes[1:])]


def test_magnitude_masks_remove_the_smallest_weights():
    mats = _mats()
    w = np.abs(np.concatenate([m.ravel() for m in mats]))
    for f in (0.0, 0.3, 0.55, 1.0):
        keep = np.concatenate([k.ravel() for k in prune_masks(mats, f)])
        k = int(np.floor(f * w.size))
        assert (~keep).sum() == k
        if 0 < k < w.size:
            assert w[~keep].max() <= w[keep].min()
    per = prune_masks(mats, 0.4, scope="block")
    for m, k in zip(mats, per):
        assert k.shape == m.shape and (~k).sum() == int(np.floor(0.4 * m.size))
        assert np.abs(m[~k]).max() <= np.abs(m[k]).min()


def test_random_masks_are_seeded_and_nested():
    mats = _mats(1)
    a = prune_masks(mats, 0.5, order="random", seed=3)
    assert_allclose(np.concatenate([x.ravel() for x in a]),
                    np.concatenate([x.ravel() for x in prune_masks(mats, 0.5, order="random", seed=3)]))  # fmt: skip
    b = prune_masks(mats, 0.7, order="random", seed=3)
    for x, y in zip(a, b):
        assert not (y & ~x).any()  # a larger fraction removes a superset
    c = prune_masks(mats, 0.5, order="random", seed=4)
    assert any((x != z).any() for x, z in zip(a, c))
    S = sp.csr_array(np.where(np.abs(mats[0]) > 0.5, mats[0], 0.0))
    m = prune_masks([S], 0.5)[0]
    assert m.shape == (S.nnz,) and (~m).sum() == S.nnz // 2
    with pytest.raises(InputError, match="order"):
        prune_masks(mats, 0.5, order="largest")
    with pytest.raises(InputError, match="fraction"):
        prune_masks(mats, 1.5)


@pytest.mark.parametrize(("order", "scope"), [("magnitude", "global"), ("random", "block")])
def test_giant_component_is_networkx(order, scope):
    mats = _mats(2)
    G = from_matrices(mats)
    fr = np.linspace(0, 1, 11)
    p = pruning_percolation(G, fr, order=order, scope=scope, seed=5)
    s, d, _ = G.edges()
    for f, g, nc in zip(fr, p.giant, p.n_components):
        keep = np.concatenate(
            [k.ravel() for k in prune_masks(mats, f, order=order, scope=scope, seed=5)]
        )
        X = nx.Graph()
        X.add_nodes_from(range(G.n_nodes))
        X.add_edges_from(zip(s[keep].tolist(), d[keep].tolist()))
        comps = list(nx.connected_components(X))
        assert_allclose(g, max(map(len, comps)) / G.n_nodes)
        assert nc == len(comps)
    j = int(np.flatnonzero(p.giant < 0.5 * p.giant[0])[0])  # first grid point below half
    assert fr[j - 1] <= p.critical_fraction < fr[j]
    y0, y1 = p.giant[j - 1], p.giant[j]
    assert_allclose(np.interp(p.critical_fraction, fr[j - 1 : j + 1], [y0, y1]), 0.5 * p.giant[0])
    assert list(p.to_frame().columns) == ["fraction", "giant", "n_components"]
    assert p.to_dict()["params"]["order"] == order and "f_c" in repr(p)


def test_identity_blocks_are_never_pruned():
    W = np.ones((3, 3))
    I = sp.csr_array(np.eye(3))  # an identity block as the exporters store it
    G = LayeredGraph((3, 3, 3), (W, W, I), block_src=(0, 1, 0), block_dst=(1, 2, 2),
                     block_kinds=("weight", "weight", "identity"))  # fmt: skip
    p = pruning_percolation(G, [0.0, 1.0], include_identity=True)
    assert_allclose(p.giant, [1.0, 2 / 9])  # at f = 1 only the identity pairs stay joined
    assert_allclose(pruning_percolation(G, [0.0, 1.0]).giant, [1.0, 1 / 9])
    with pytest.raises(InputError, match="increasing"):
        pruning_percolation(G, [0.5, 0.2])


def test_pruned_model_matches_the_pruned_graph():
    torch = pytest.importorskip("torch")
    from netsci_dl.activations import pruning_accuracy

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    X = torch.randn(200, 6)
    y = net(X).argmax(1)  # the net is right on every example before pruning
    y[:20] = (y[:20] + 1) % 3
    before = [p.detach().clone() for p in net.parameters()]
    fr = [0.0, 0.3, 0.6, 1.0]
    r = pruning_accuracy(net, X, y, fr, scope="block")
    for p, q in zip(net.parameters(), before):
        assert torch.equal(p, q)  # the caller's model is untouched
    mats = [net[0].weight.detach().numpy().T, net[2].weight.detach().numpy().T]
    want = []
    for f in fr:
        k0, k1 = prune_masks(mats, f, scope="block")
        h = np.maximum(X.numpy() @ (mats[0] * k0) + net[0].bias.detach().numpy(), 0)
        out = h @ (mats[1] * k1) + net[2].bias.detach().numpy()
        want.append(float((out.argmax(1) == y.numpy()).mean()))
    assert_allclose(r.accuracy, want)
    assert r.accuracy[0] == 0.9 and r.layers == ("0", "2")
    with pytest.raises(InputError, match="nn.Linear"):
        pruning_accuracy(torch.nn.ReLU(), X, y, fr)
