"""Functional modules: hierarchical clustering of EMD matrices and per-module statistics."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.cluster.hierarchy import cophenet, fcluster, linkage
from scipy.spatial.distance import pdist, squareform
from sklearn.metrics import adjusted_rand_score

from netsci_dl.analysis.fields.modules import functional_modules, module_statistics
from netsci_dl.graph import LayeredGraph
from tests.conftest import random_layered


def _random_condensed(n, seed=0):
    rng = np.random.default_rng(seed)
    return pdist(rng.normal(size=(n, 3)), "cityblock")


@pytest.mark.parametrize("method", ["average", "complete", "single", "weighted"])
def test_against_scipy(method):
    c = _random_condensed(40, seed=1)
    m = functional_modules(c, k=6, method=method)
    Z = linkage(c, method=method)
    np.testing.assert_allclose(m.linkage, Z)
    ref = fcluster(Z, t=6, criterion="maxclust")
    assert adjusted_rand_score(ref, m.labels) == 1.0
    assert m.k == np.unique(ref).size and m.labels.max() == m.k - 1
    np.testing.assert_allclose(m.cophenetic, cophenet(Z, c)[0])
    # largest module first
    assert (np.diff(m.sizes) <= 0).all()
    # the cut height separates kept and undone merges
    assert Z[40 - m.k - 1, 2] <= m.cut_height <= Z[40 - m.k, 2]


def test_square_condensed_emdresult_and_distance_cut():
    c = _random_condensed(25, seed=2)
    a = functional_modules(c, k=4)
    b = functional_modules(squareform(c), k=4)
    np.testing.assert_array_equal(a.labels, b.labels)

    class R:  # anything with .condensed (EMDResult)
        condensed = c

    np.testing.assert_array_equal(functional_modules(R(), k=4).labels, a.labels)
    d = functional_modules(c, distance=a.cut_height)
    assert adjusted_rand_score(a.labels, d.labels) == 1.0 and d.k_requested is None
    dd = functional_modules(c, k=4, order="dendrogram")
    assert adjusted_rand_score(a.labels, dd.labels) == 1.0
    first = [np.flatnonzero(dd.labels[dd.leaves] == j)[0] for j in range(dd.k)]
    assert first == sorted(first)
    assert a.to_dict()["k"] == 4 and len(a.to_frame()) == 25


def test_euclidean_only_methods_warn_and_errors():
    c = _random_condensed(10)
    with pytest.warns(UserWarning, match="Euclidean"):
        functional_modules(c, k=2, method="ward")
    with pytest.raises(ValueError, match="k="):
        functional_modules(c, k=11)
    with pytest.raises(ValueError, match="method"):
        functional_modules(c, method="nope")
    with pytest.raises(ValueError, match="condensed"):
        functional_modules(c[:-1])
    D = squareform(c)
    D[0, 1] += 1
    with pytest.raises(ValueError, match="symmetric"):
        functional_modules(D)


def _blob_fields(n_per=5, centers=((1.5, 1.5), (1.5, 6.0), (6.0, 3.5)), seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:8, 0:8]
    fields, truth = [], []
    for j, (cy, cx) in enumerate(centers):
        for _ in range(n_per):
            oy, ox = rng.normal(0, 0.3, 2)
            f = np.exp(-((yy - cy - oy) ** 2 + (xx - cx - ox) ** 2) / 2.0)
            fields.append(f + 0.02 * rng.random((8, 8)))
            truth.append(j)
    F = np.array(fields)
    return F / F.sum(axis=(1, 2), keepdims=True), np.array(truth)


def test_planted_modules_recovered_through_emd():
    from netsci_dl.analysis.fields.emd import emd_matrix

    F, truth = _blob_fields()
    res = emd_matrix(F, ground="manhattan", n_jobs=1, progress=False)
    m = functional_modules(res, k=3)
    assert adjusted_rand_score(truth, m.labels) == 1.0
    assert m.cophenetic > 0.9


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")
def test_module_statistics_against_loops():
    G = random_layered((6, 12, 5), seed=3)
    rng = np.random.default_rng(0)
    keep = [rng.random(b.shape) < 0.4 for b in G.blocks]
    H = LayeredGraph(G.layer_sizes, tuple(sp.csr_array(k.astype(np.float32)) for k in keep))
    lab = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 1, 3])
    D = squareform(_random_condensed(12, seed=5))
    rfs = rng.normal(size=(12, 2, 3))
    s = module_statistics(G, H, 1, lab, emd=D, rfs=rfs)

    A = np.zeros((G.n_nodes, G.n_nodes))
    o = G.offsets
    for l, k in enumerate(keep):
        A[o[l] : o[l + 1], o[l + 1] : o[l + 2]] = k
    k_up = A.sum(1)  # edges to the next layer (T18's direction, the default)
    A = A + A.T
    deg = A.sum(1)
    sl = slice(o[1], o[2])
    st = G.dense_block(1).astype(np.float64).sum(1)  # T18's up strength, signed, layer 1
    P = A[sl] @ A[:, sl]
    np.fill_diagonal(P, 0)
    for j in range(4):
        idx = np.flatnonzero(lab == j)
        g = idx + o[1]
        assert s.size[j] == idx.size
        np.testing.assert_allclose(s.degree_mean[j], k_up[g].mean())  # same direction as s
        np.testing.assert_allclose(s.strength_mean[j], st[idx].mean())
        np.testing.assert_allclose(s.strength_sd[j], st[idx].std(ddof=1))
        knn = np.array([A[i] @ deg / deg[i] for i in g if deg[i] > 0])
        np.testing.assert_allclose(s.knn_mean[j], knn.mean())
        np.testing.assert_allclose(s.links_inside[j], P[np.ix_(idx, idx)].sum() / P[idx].sum())
        within = D[np.ix_(idx, idx)][~np.eye(idx.size, dtype=bool)].mean()
        np.testing.assert_allclose(s.emd_within[j], within)
        other = np.flatnonzero(lab != j)
        np.testing.assert_allclose(s.emd_between[j], D[np.ix_(idx, other)].mean())
        tot = D[np.ix_(idx, idx)].sum(1)
        assert s.medoid[j] == idx[np.argmin(tot)]
        np.testing.assert_allclose(s.mean_rf[j], rfs[idx].mean(0))
        np.testing.assert_allclose(s.medoid_rf[j], rfs[s.medoid[j]])
    np.testing.assert_allclose(s.links_inside_expected, (s.size - 1) / 11)
    t = module_statistics(G, H, 1, lab, direction="total")
    st_tot = G.dense_block(1).astype(np.float64).sum(1) + G.dense_block(0).astype(np.float64).sum(0)
    for j in range(4):
        idx = np.flatnonzero(lab == j)
        np.testing.assert_allclose(t.degree_mean[j], deg[idx + o[1]].mean())
        np.testing.assert_allclose(t.strength_mean[j], st_tot[idx].mean(), rtol=1e-6)
    assert t.params["direction"] == "total"
    assert len(s.to_frame()) == 4 and s.to_dict()["k"] == 4


def test_module_statistics_errors():
    G = random_layered((4, 5, 3), seed=1)
    H = LayeredGraph(
        G.layer_sizes, tuple(sp.csr_array(np.abs(b) > 0.5, dtype=np.float32) for b in G.blocks)
    )
    with pytest.raises(ValueError, match="shape"):
        module_statistics(G, H, 1, np.zeros(4, int))
    with pytest.raises(ValueError, match="units"):
        module_statistics(G, H, 1, np.zeros(5, int), emd=_random_condensed(4))
    for kw in ({"strength_direction": "up"}, {"strength_kind": "abs"}):
        with pytest.raises(TypeError):  # the 0.2 keywords: direction=, weights=
            module_statistics(G, H, 1, np.zeros(5, int), **kw)


def test_analyze_modules_takes_emd_options_as_options():
    from netsci_dl.analysis.fields.emd import EMDOptions
    from netsci_dl.analysis.fields.modules import analyze_modules

    W = np.eye(4, dtype=np.float32) + 0.1
    G = LayeredGraph((4, 4), (W,), meta={"image_shape": [2, 2]})
    kw = {"k": 2, "n_jobs": 1, "progress": False, "threshold": "quantile:0.5"}
    a = analyze_modules(G, 1, options=EMDOptions(neighbourhood=8), **kw)
    assert a.emd.neighbourhood == 8
    assert analyze_modules(G, 1, **kw).emd.neighbourhood == 48
    for old in ({"emd_options": EMDOptions()}, {"emd_kwargs": {"neighbourhood": 8}}):
        with pytest.raises(TypeError):  # 0.2 keywords
            analyze_modules(G, 1, **old, **kw)
