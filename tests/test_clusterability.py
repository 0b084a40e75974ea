"""Clusterability (Filan et al. 2021): spectral clustering, n-cut, the within-block shuffle null."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.metrics import adjusted_rand_score

from netsci_dl import LayeredGraph, from_matrices
from netsci_dl.analysis import clusterability, n_cut, shuffle_weights, spectral_clustering
from netsci_dl.errors import InputError


def _planted(m=3, per=8, layers=3, noise=0.005, seed=0):
    """``layers`` groups of ``m * per`` units; unit ``i`` of a group belongs to module ``i // per``;
    strong weights within a module, weak noise across."""
    rng = np.random.default_rng(seed)
    n = m * per
    mask = np.kron(np.eye(m), np.ones((per, per)))
    mats = [
        mask * rng.normal(1.0, 0.2, (n, n)) * rng.choice([-1, 1], (n, n))
        + noise * rng.normal(size=(n, n))
        for _ in range(layers - 1)
    ]
    modules = np.tile(np.repeat(np.arange(m), per), layers)
    return from_matrices(mats), modules


def test_shuffles_keep_each_block_multiset():
    rng = np.random.default_rng(0)
    S = sp.random(5, 4, density=0.5, random_state=1, format="csr", dtype=np.float64)
    S.data -= 0.5
    G = LayeredGraph(
        (3, 5, 4, 4),
        (rng.normal(size=(3, 5)), sp.csr_array(S), np.eye(4)),
        block_kinds=("weight", "weight", "identity"),
    )
    H = shuffle_weights(G, seed=3)
    for a, b in zip(G.blocks[:2], H.blocks[:2]):
        va = a.data if sp.issparse(a) else a.ravel()
        vb = b.data if sp.issparse(b) else b.ravel()
        assert_allclose(np.sort(vb), np.sort(va))
        assert not np.array_equal(va, vb)
    assert_allclose(H.blocks[1].indices, G.blocks[1].indices)  # the sparse pattern stays
    assert_allclose(H.blocks[2], np.eye(4))  # identity untouched
    assert_allclose(shuffle_weights(G, seed=3).blocks[0], H.blocks[0])
    assert H.meta["null_model"]["model"] == "shuffle_weights"


def test_n_cut_against_networkx_and_by_hand():
    rng = np.random.default_rng(2)
    G = from_matrices([rng.normal(size=(5, 4)), rng.normal(size=(4, 3))])
    A = nx.Graph()
    s, d, w = G.edges()
    A.add_weighted_edges_from(zip(s.tolist(), d.tolist(), np.abs(w).astype(float).tolist()))
    part = rng.integers(0, 2, G.n_nodes)
    S = set(np.flatnonzero(part == 0).tolist())
    assert_allclose(n_cut(G, part), nx.normalized_cut_size(A, S, weight="weight"), rtol=1e-12)
    lab = rng.integers(0, 4, G.n_nodes)
    M = nx.to_numpy_array(A, nodelist=range(G.n_nodes))
    deg = M.sum(1)
    ref = sum(M[lab == c][:, lab != c].sum() / deg[lab == c].sum() for c in range(4))
    assert_allclose(n_cut(G, lab), ref, rtol=1e-12)
    lab[0] = -1  # a node left out
    keep = lab >= 0
    M2, lab2 = M[keep][:, keep], lab[keep]
    ref = sum(M2[lab2 == c][:, lab2 != c].sum() / M2[lab2 == c].sum() for c in range(4))
    assert_allclose(n_cut(G, lab), ref, rtol=1e-12)
    with pytest.raises(InputError, match="shape"):
        n_cut(G, lab[:-1])


def test_spectral_clustering_finds_planted_modules_and_skips_dead_units():
    G, modules = _planted()
    lab = spectral_clustering(G, k=3, seed=0)
    assert adjusted_rand_score(modules, lab) == 1.0
    W = np.array(G.blocks[0])
    W[:, 0] = 0.0
    W2 = np.array(G.blocks[1])
    W2[0, :] = 0.0  # unit 0 of the middle group is dead
    lab = spectral_clustering(from_matrices([W, W2]), k=3)
    dead = G.offsets[1]
    assert lab[dead] == -1 and (np.delete(lab, dead) >= 0).all()
    with pytest.raises(InputError, match="k must be"):
        spectral_clustering(G, k=G.n_nodes + 1)


def test_planted_net_is_clusterable():
    G, _ = _planted()
    r = clusterability(G, k=3, n_shuffles=12, seed=0)
    assert r.ncut < 0.05
    assert r.z < -10
    assert r.percentile == 0.0
    assert r.null.shape == (12,) and (r.null > 0.5).all()
    d = r.to_dict()
    assert d["params"]["k"] == 3 and len(d["null"]) == 12
    assert "ncut=" in repr(r) and len(repr(r)) < 300


def test_random_net_is_not_clusterable_and_seeds_fix_the_result():
    rng = np.random.default_rng(5)
    G = from_matrices([rng.normal(size=(12, 10)), rng.normal(size=(10, 8))])
    r = clusterability(G, k=3, n_shuffles=12, seed=4)
    assert abs(r.z) < 4 and 0 < r.percentile < 100
    again = clusterability(G, k=3, n_shuffles=12, seed=4, n_jobs=2)
    assert_allclose(again.null, r.null)
    assert_allclose(again.labels, r.labels)


def test_a_graph_pickles():
    """Worker processes receive large shared inputs pickled (joblib's memory-mapped file)."""
    import pickle

    rng = np.random.default_rng(5)
    G = from_matrices([rng.normal(size=(5, 4)), np.eye(4)[:, :3]])
    G = G.replace(blocks=(G.blocks[0], sp.csr_array(G.blocks[1])))
    G = G.with_meta(note={"nested": [1, 2]}).replace(node_attrs={"x": np.arange(12.0)})
    H = pickle.loads(pickle.dumps(G))
    assert H.equals(G) and dict(H.meta) == dict(G.meta)
    assert_allclose(H.node_attrs["x"], G.node_attrs["x"])


@pytest.mark.slow
def test_shuffles_in_worker_processes_equal_the_serial_run():
    """A graph above joblib's memory-mapping size reaches the workers pickled (a LayeredGraph
    pickles by its constructor's arguments); the null is the same as in this process."""
    import pickle

    from netsci_dl.parallel import _MEMMAP_BYTES

    rng = np.random.default_rng(5)
    G = from_matrices([rng.normal(size=(700, 400)), rng.normal(size=(400, 10))])
    G = G.with_meta(note={"nested": [1, 2]})
    assert sum(b.nbytes for b in G.blocks) > _MEMMAP_BYTES
    assert pickle.loads(pickle.dumps(G)).equals(G)
    a = clusterability(G, k=3, n_shuffles=2, seed=2)
    b = clusterability(G, k=3, n_shuffles=2, seed=2, n_jobs=2)
    assert_allclose(b.null, a.null, rtol=0, atol=0)
    assert b.ncut == a.ncut
