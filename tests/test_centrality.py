"""Neuron-level measures (analysis/structure/centrality.py) against networkx and igraph."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from netsci_dl import LayeredGraph, from_matrices
from netsci_dl.analysis import (
    NEURON_MEASURES,
    average_neighbor_strength,
    betweenness_centrality,
    bipartite_clustering,
    current_flow_closeness_centrality,
    eigenvector_centrality,
    harmonic_centrality,
    katz_centrality,
    neuron_measures,
    neuron_types,
    number_of_maximal_cliques,
    second_order_centrality,
    signed_strength,
    subgraph_centrality,
)
from netsci_dl.errors import InputError

RTOL = 1e-9


def _random(sizes, seed, p=None):
    rng = np.random.default_rng(seed)
    mats = []
    for a, b in zip(sizes, sizes[1:]):
        W = rng.normal(0.1, 1.0, (a, b))
        if p is not None:
            W[rng.random((a, b)) > p] = 0.0  # dense zeros stay edges of weight 0
        mats.append(W)
    return from_matrices(mats)


def _trained_mlp():
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((16, 8), max_iter=40, random_state=0).fit(X / 16, y)
    return from_matrices(clf.coefs_)


GRAPHS = {
    "5-4-3-2": lambda: _random((5, 4, 3, 2), 1),
    "6-5-4": lambda: _random((6, 5, 4), 2),
    "4-6-5-3": lambda: _random((4, 6, 5, 3), 3),
    "mlp": _trained_mlp,
}


@pytest.fixture(params=sorted(GRAPHS), scope="module")
def graph(request):
    return GRAPHS[request.param]()


def _nx(G, how="signed"):
    s, d, w = G.edges()
    H = nx.Graph()
    H.add_nodes_from(range(G.n_nodes))
    for a, b, x in zip(s.tolist(), d.tolist(), w.tolist()):
        if how == "pos" and x <= 0:
            continue
        H.add_edge(a, b, weight=abs(x) if how == "abs" else x)
    return H


def _arr(d, n):
    return np.array([d[i] for i in range(n)], dtype=np.float64)


def _ig(H):
    import igraph as ig

    g = ig.Graph(n=H.number_of_nodes(), edges=list(H.edges()))
    g.es["weight"] = [d["weight"] for _, _, d in H.edges(data=True)]
    return g


# ---- the eight measures, networkx as the oracle ----------------------------------------------
def test_signed_graph_measures(graph):
    n, S = graph.n_nodes, _nx(graph)
    assert_allclose(signed_strength(graph), _arr(dict(S.degree(weight="weight")), n), rtol=RTOL)
    assert_allclose(
        average_neighbor_strength(graph),
        _arr(nx.average_neighbor_degree(S, weight="weight"), n),
        rtol=RTOL,
    )
    assert_allclose(
        current_flow_closeness_centrality(graph),
        _arr(nx.current_flow_closeness_centrality(S, weight="weight"), n),
        rtol=RTOL,
    )
    assert_allclose(signed_strength(graph), _ig(S).strength(weights="weight"), rtol=RTOL)


def test_positive_graph_measures(graph):
    n, P = graph.n_nodes, _nx(graph, "pos")
    assert_allclose(
        bipartite_clustering(graph), _arr(nx.bipartite.clustering(P, mode="max"), n), rtol=RTOL
    )
    assert_allclose(
        subgraph_centrality(graph, log=False), _arr(nx.subgraph_centrality(P), n), rtol=RTOL
    )
    assert_allclose(
        np.exp(subgraph_centrality(graph)), _arr(nx.subgraph_centrality(P), n), rtol=RTOL
    )
    harm = _arr(nx.harmonic_centrality(P, distance="weight"), n)
    assert_allclose(harmonic_centrality(graph), harm, rtol=RTOL)
    ig_harm = np.array(_ig(P).harmonic_centrality(weights="weight", normalized=False))
    assert_allclose(harmonic_centrality(graph), ig_harm, rtol=RTOL)
    cliques = np.zeros(n)
    for c in nx.find_cliques(P):
        cliques[c] += 1
    assert_allclose(number_of_maximal_cliques(graph), cliques, rtol=0)


def test_second_order_centrality(graph):
    n, P = graph.n_nodes, _nx(graph, "pos")
    ours = second_order_centrality(graph)
    comps = sorted(nx.connected_components(P), key=len)
    giant = sorted(comps[-1])
    ref = nx.second_order_centrality(P.subgraph(giant), weight="weight")
    assert_allclose(ours[giant], [ref[i] for i in giant], rtol=RTOL)
    assert np.isnan(ours[np.setdiff1d(np.arange(n), giant)]).all()


def test_second_order_on_a_disconnected_positive_graph():
    W = np.array([[1.0, 2.0, -1.0], [0.5, 1.0, -1.0]])
    G = from_matrices([W])  # node 4 has only negative edges
    P = _nx(G, "pos")
    ref = nx.second_order_centrality(P.subgraph(range(4)), weight="weight")
    out = second_order_centrality(G)
    assert np.isnan(out[4])
    assert_allclose(out[:4], _arr(ref, 4), rtol=RTOL)
    cliques = [sum(v in c for c in nx.find_cliques(P)) for v in range(5)]
    assert_allclose(number_of_maximal_cliques(G), cliques)  # the isolated node: a clique of one
    assert cliques[4] == 1


def test_betweenness_exact(graph):
    n = graph.n_nodes
    for weights, how in (("pos", "pos"), (None, "signed")):
        H = _nx(graph, how)
        b = betweenness_centrality(graph, weights=weights)
        assert b.exact and not b.se.any()
        assert_allclose(b.values, _arr(nx.betweenness_centrality(H), n), rtol=RTOL, atol=1e-14)
        raw = betweenness_centrality(graph, weights=weights, normalized=False).values
        assert_allclose(raw, _ig(H).betweenness(directed=False), rtol=RTOL, atol=1e-12)


def test_betweenness_sampled_matches_the_same_sources():
    G = _random((6, 5, 4, 3), 4)
    P, n = _nx(G, "pos"), G.n_nodes
    b = betweenness_centrality(G, k=7, seed=3)
    assert not b.exact and len(b.sources) == 7
    # networkx's sampled scaling, on our sources: sum of dependencies over them
    raw = nx.betweenness_centrality_subset(P, b.sources.tolist(), list(P), normalized=False)
    dep = 2 * _arr(raw, n)  # undirected: networkx halves
    scale = np.where(np.isin(np.arange(n), b.sources), 1 / (6 * (n - 2)), 1 / (7 * (n - 2)))
    assert_allclose(b.values, dep * scale, rtol=RTOL, atol=1e-14)


def test_betweenness_standard_error_is_the_spread():
    G = _random((6, 6, 6), 5)
    exact = betweenness_centrality(G).values
    runs = [betweenness_centrality(G, k=12, seed=s) for s in range(300)]
    est = np.array([r.values for r in runs])
    se = np.array([r.se for r in runs]).mean(axis=0)
    busy = exact > 0.02
    assert busy.sum() >= 3
    assert_allclose(est.mean(axis=0)[busy], exact[busy], rtol=0.1)
    assert_allclose(est.std(axis=0)[busy], se[busy], rtol=0.25)


def test_eigenvector_and_katz(graph):
    n, A = graph.n_nodes, _nx(graph, "abs")
    ref = _arr(nx.eigenvector_centrality_numpy(A, weight="weight"), n)
    assert_allclose(eigenvector_centrality(graph), ref, rtol=RTOL)
    ig_ev = np.array(_ig(A).eigenvector_centrality(weights="weight", scale=False))
    assert_allclose(eigenvector_centrality(graph), ig_ev / np.linalg.norm(ig_ev), rtol=RTOL)
    lam = np.linalg.eigvalsh(nx.to_numpy_array(A)).max()
    alpha = 0.5 / lam
    ref = _arr(nx.katz_centrality_numpy(A, alpha=alpha, weight="weight"), n)
    assert_allclose(katz_centrality(graph, alpha=alpha), ref, rtol=RTOL)
    with pytest.raises(InputError, match="diverges"):
        katz_centrality(graph, alpha=1.01 / lam)
    D = nx.DiGraph()
    D.add_nodes_from(range(n))
    D.add_weighted_edges_from((u, v, d["weight"]) for u, v, d in A.edges(data=True))
    ref = _arr(nx.katz_centrality_numpy(D, alpha=2.0, weight="weight"), n)
    assert_allclose(katz_centrality(graph, alpha=2.0, directed=True), ref, rtol=RTOL)


# ---- edge cases, overflow, refusals ----------------------------------------------------------
def test_subgraph_centrality_in_log_space_past_overflow():
    m = 720  # K_{m,m}: SC_i = cosh(m)/m + 1 - 1/m, beyond exp(709)
    G = from_matrices([np.ones((m, m))])
    log_sc = subgraph_centrality(G)
    assert np.isfinite(log_sc).all()
    expected = m - np.log(2 * m) + np.log1p(np.exp(-2 * m) + 2 * m * (1 - 1 / m) * np.exp(-m))
    assert_allclose(log_sc, expected, rtol=1e-12)
    with np.errstate(over="ignore"):
        assert np.isinf(subgraph_centrality(G, log=False)).all()


def _skip_graph(seed=0):
    rng = np.random.default_rng(seed)
    W01, W12, W02 = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    W01[0, 0] = W12[0, 0] = W02[0, 0] = 1.0  # a positive triangle 0 - 3 - 7 - 0
    return LayeredGraph((3, 4, 2), (W01, W12, W02), block_src=(0, 1, 0), block_dst=(1, 2, 2))


def test_maximal_cliques_refuse_triangles():
    G = _skip_graph()
    with pytest.raises(InputError, match="triangles"):
        number_of_maximal_cliques(G)
    with pytest.raises(InputError, match="maximal_cliques"):
        neuron_measures(G)


def test_skip_graph_measures_against_networkx():
    G = _skip_graph(1)
    S, P, n = _nx(G), _nx(G, "pos"), G.n_nodes
    assert_allclose(
        current_flow_closeness_centrality(G),
        _arr(nx.current_flow_closeness_centrality(S, weight="weight"), n),
        rtol=RTOL,
    )
    assert not nx.is_bipartite(P)  # networkx refuses: Latapy's formula, written out
    latapy = np.zeros(n)
    for v in P:
        n2 = {u for w in P[v] for u in P[w]} - {v}
        vals = [len(set(P[u]) & set(P[v])) / max(P.degree(u), P.degree(v)) for u in n2]
        latapy[v] = np.mean(vals) if vals else 0.0
    assert_allclose(bipartite_clustering(G), latapy, rtol=RTOL)
    assert_allclose(
        harmonic_centrality(G), _arr(nx.harmonic_centrality(P, distance="weight"), n), rtol=RTOL
    )
    # a skip over an odd number of layers keeps the graph bipartite: networkx itself
    rng = np.random.default_rng(2)
    B = LayeredGraph(
        (3, 4, 3, 2),
        tuple(rng.normal(size=s) for s in [(3, 4), (4, 3), (3, 2), (3, 2)]),
        block_src=(0, 1, 2, 0),
        block_dst=(1, 2, 3, 3),
    )
    Pb = _nx(B, "pos")
    assert_allclose(
        bipartite_clustering(B),
        _arr(nx.bipartite.clustering(Pb, mode="max"), B.n_nodes),
        rtol=RTOL,
    )
    assert_allclose(number_of_maximal_cliques(B), [len([c for c in nx.find_cliques(Pb) if v in c])
                                                   for v in range(B.n_nodes)])  # fmt: skip
    ref = _arr(nx.betweenness_centrality(P), n)
    assert_allclose(betweenness_centrality(G).values, ref, rtol=RTOL, atol=1e-14)


def test_identity_blocks_are_left_out_unless_asked():
    W = np.array([[1.0, -2.0], [0.5, 3.0]])
    I = np.eye(2)
    G = LayeredGraph(
        (2, 2, 2), (W, W, I), block_src=(0, 1, 0), block_dst=(1, 2, 2),
        block_kinds=("weight", "weight", "identity"),
    )  # fmt: skip
    assert_allclose(signed_strength(G), [-1.0, 3.5, 0.5, 4.5, 1.5, 1.0])
    assert_allclose(signed_strength(G, include_identity=True), [0.0, 4.5, 0.5, 4.5, 2.5, 2.0])


def test_current_flow_needs_a_connected_graph():
    import scipy.sparse as sp

    G = LayeredGraph((2, 2), (sp.csr_array(np.eye(2)),))  # two separate edges
    with pytest.raises(InputError, match="2 connected components"):
        current_flow_closeness_centrality(G)


# ---- invariance, the table, the types --------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.integers(2, 5), min_size=3, max_size=4),
    seed=st.integers(0, 10_000),
)
def test_permuting_a_layer_permutes_every_measure(sizes, seed):
    rng = np.random.default_rng(seed)
    mats = [rng.normal(0.2, 1, (a, b)) for a, b in zip(sizes, sizes[1:])]
    perms = [rng.permutation(n) for n in sizes]
    shuffled = [W[perms[i]][:, perms[i + 1]] for i, W in enumerate(mats)]
    G, H = from_matrices(mats), from_matrices(shuffled)
    order = np.concatenate([G.offsets[i] + p for i, p in enumerate(perms)])
    a = neuron_measures(G, nodes="all")
    b = neuron_measures(H, nodes="all")
    for name in NEURON_MEASURES:
        assert_allclose(b.values[name], a.values[name][order], rtol=1e-9, atol=1e-12)
    assert_allclose(
        betweenness_centrality(H).values, betweenness_centrality(G).values[order], atol=1e-12
    )


def test_neuron_measures_table(graph):
    m = neuron_measures(graph)
    hidden = np.concatenate([np.arange(graph.n_nodes)[graph.layer_slice(g)] for g in
                             range(1, graph.n_layers - 1)])  # fmt: skip
    assert_allclose(m.node, hidden)
    assert_allclose(m.values["harmonic"], harmonic_centrality(graph)[hidden])
    df = m.to_frame()
    assert list(df.columns) == ["node", "layer", "index", *NEURON_MEASURES]
    assert len(df) == len(hidden) and set(df["layer"]) == set(graph.layer_names[1:-1])
    d = m.to_dict()
    assert d["node"] == hidden.tolist() and set(d["values"]) == set(NEURON_MEASURES)
    assert len(repr(m)) < 300 and "neurons" in repr(m)
    with pytest.raises(InputError, match="unknown measures"):
        neuron_measures(graph, measures=("pagerank",))


def test_neuron_types_seeded_and_planted():
    rng = np.random.default_rng(0)
    # two planted kinds of hidden neuron: strongly excitatory fan-out vs inhibitory
    W1 = rng.normal(0, 0.1, (8, 20))
    W2 = rng.normal(0, 0.1, (20, 6))
    W2[:10] += 2.0
    W2[10:] -= 2.0
    G = from_matrices([W1, W2])
    m = neuron_measures(G, measures=("strength", "harmonic", "bipartite_clustering"))
    t = neuron_types(m, k=2, seed=1)
    assert len(set(t.labels[:10])) == 1 and len(set(t.labels[10:])) == 1
    assert t.labels[0] != t.labels[10]
    assert_allclose(neuron_types(m, k=2, seed=1).labels, t.labels)
    assert t.centers.shape == (2, 3) and t.dropped == ()
    with pytest.raises(InputError, match="k must be"):
        neuron_types(m, k=0)


def test_dense_measures_refuse_graphs_past_the_limit(monkeypatch):
    from netsci_dl.analysis.structure import centrality

    monkeypatch.setattr(centrality, "DENSE_LIMIT", 8)
    G = from_matrices([np.ones((5, 4))])  # 9 nodes, the positive graph connected
    for f in (current_flow_closeness_centrality, subgraph_centrality, second_order_centrality):
        with pytest.raises(InputError, match="DENSE_LIMIT = 8"):
            f(G)
    assert harmonic_centrality(G).shape == (9,)  # sparse: no limit
