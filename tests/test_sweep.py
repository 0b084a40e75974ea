"""Threshold sweep against null models: the layered random replica, curveball rewiring within
each block, the metrics (oracle: networkx), seeds and bad input."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

import netsci_dl as nd
from netsci_dl import LayeredGraph
from netsci_dl.analysis.structure._block_nulls import _curveball
from netsci_dl.analysis.structure.assortativity import degree_assortativity
from netsci_dl.analysis.structure.null_models import (
    allowed_patterns,
    layered_replica,
    rewire_blocks,
)
from netsci_dl.analysis.structure.sweep import (
    COLUMNS,
    SweepTask,
    default_cuts,
    run_sweep_task,
    sweep_graph,
    threshold_sweep,
)
from netsci_dl.analysis.structure.sweep_metrics import graph_metrics, mean_geodesic
from netsci_dl.errors import InputError


def _chain(sizes=(30, 40, 25), seed=0):
    rng = np.random.default_rng(seed)
    return nd.from_matrices(
        [rng.normal(size=(a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    )


def _dag(seed=0):
    """Groups 0 -> 1 -> 2 -> 3 with a weight skip 0 -> 2 and an identity skip 1 -> 3."""
    rng = np.random.default_rng(seed)
    sizes = (20, 15, 25, 15)
    W = lambda a, b: rng.normal(size=(a, b)).astype(np.float32)  # noqa: E731
    blocks = (
        W(20, 15),
        W(15, 25),
        W(25, 15),
        W(20, 25),
        sp.csr_array(np.eye(15, dtype=np.float32)),
    )
    return LayeredGraph(
        sizes,
        blocks,
        block_src=(0, 1, 2, 0, 1),
        block_dst=(1, 2, 3, 2, 3),
        block_kinds=("weight", "weight", "weight", "weight", "identity"),
    )


def _to_nx(H):
    g = nx.Graph()
    g.add_nodes_from(range(H.n_nodes))
    s, d, _ = H.edges()
    g.add_edges_from(zip(s.tolist(), d.tolist()))
    return g


def _block_degrees(blk):
    return np.diff(blk.indptr), np.bincount(blk.indices, minlength=blk.shape[1])


# ---- layered random replica -------------------------------------------------------------------
def test_replica_mean_degree_matches_density_within_3_se():
    G = _chain((60, 80, 50))
    H = nd.threshold.by_value(G, 1.2)
    p = np.array(H.block_n_edges) / np.array([b.size for b in G.blocks])
    n_rep = 200
    R = [layered_replica(H, allowed=G, seed=s) for s in range(n_rep)]
    # per block: edge count ~ Binomial(possible, p); mean within 3 standard errors of kept
    counts = np.array([r.block_n_edges for r in R], dtype=float)
    possible = np.array([b.size for b in G.blocks])
    se = np.sqrt(possible * p * (1 - p) / n_rep)
    assert np.all(np.abs(counts.mean(axis=0) - np.array(H.block_n_edges)) < 3 * se)
    # the measured mean degree (threshold_sweep's column) against the expected 2 sum_b p_b N_b / n
    df = threshold_sweep(G, [1.2], nulls=("replica",), n_null=n_rep, seed=3)
    k = df.loc[df.model == "replica", "mean_degree"].to_numpy()
    expected = 2 * float((p * possible).sum()) / G.n_nodes
    se_k = 2 * np.sqrt(float((possible * p * (1 - p)).sum())) / G.n_nodes / np.sqrt(n_rep)
    assert abs(k.mean() - expected) < 3 * se_k
    # Erdos-Renyi within a block: a source unit's degree is Binomial(n_dst, p): its variance
    k0 = np.stack([np.diff(r.blocks[0].indptr) for r in R]).ravel().astype(float)
    var = 80 * p[0] * (1 - p[0])
    np.testing.assert_allclose(k0.var(), var, rtol=0.1)


def test_replica_keeps_each_block_and_allowed_pattern():
    G = _dag()
    H = nd.threshold.by_value(G, 0.8)  # the identity block (weight 1) is kept whole
    assert H.block_n_edges[4] == 15
    for s in range(5):
        R = layered_replica(H, allowed=G, seed=s)
        assert (R.block_src, R.block_dst, R.block_kinds) == (
            H.block_src,
            H.block_dst,
            H.block_kinds,
        )
        I = R.blocks[4].tocoo()
        assert np.array_equal(I.row, I.col)  # only the identity pairs are allowed
    # without allowed, every pair of the identity block may be drawn
    R = layered_replica(H, seed=0)
    assert (R.blocks[4].tocoo().row != R.blocks[4].tocoo().col).any()
    with pytest.raises(InputError, match="does not allow"):
        layered_replica(H, allowed=[None] * 4 + [sp.csr_array((15, 15), dtype=np.float32)])


# ---- rewiring ---------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [_chain, _dag])
def test_rewire_keeps_every_degree_within_its_block(make):
    G = make()
    H = nd.threshold.by_value(G, 0.7)
    R = rewire_blocks(H, allowed=G, seed=1)  # a LayeredGraph: canonical, no duplicate edge
    moved = 0
    for b, (x, y) in enumerate(zip(H.blocks, R.blocks)):
        kx_out, kx_in = _block_degrees(x)
        ky_out, ky_in = _block_degrees(y)
        np.testing.assert_array_equal(kx_out, ky_out, err_msg=f"block {b} out-degrees")
        np.testing.assert_array_equal(kx_in, ky_in, err_msg=f"block {b} in-degrees")
        if H.block_kinds[b] == "weight":
            moved += int((x != y).nnz)
        else:  # the identity pattern allows nothing else
            assert (x != y).nnz == 0
    assert moved > H.n_edges // 2
    # every node's total degree, from networkx, too
    assert dict(_to_nx(H).degree()) == dict(_to_nx(R).degree())


def test_rewire_is_uniform_over_the_graphs_with_its_degrees():
    # 3 + 4 nodes, row degrees (2, 1, 1), column degrees 1: 12 simple graphs, equally likely
    x = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], np.float32)
    rows, cols = np.nonzero(x)
    rng = np.random.default_rng(0)
    states = sorted(set(itertools.permutations([0, 0, 1, 2])))  # the row of each column
    assert len(states) == 12
    n = 2400
    seen = []
    for _ in range(n):  # the chain of rewire_blocks, from the same start each time
        new_rows = _curveball(rows, cols, (3, 4), 6, None, rng)
        col_row = np.empty(4, int)
        col_row[cols] = new_rows
        seen.append(tuple(col_row))
    counts = np.array([seen.count(p) for p in states])
    assert counts.sum() == n
    chi2 = float(((counts - n / 12) ** 2 / (n / 12)).sum())
    assert chi2 < 31.3  # chi-square, 11 degrees of freedom, p = 0.001


def test_rewire_mixes_to_the_random_overlap():
    G = _chain((80, 100), seed=2)
    H = nd.threshold.by_value(G, 1.0)
    x = H.blocks[0]
    R = rewire_blocks(H, seed=0).blocks[0]
    overlap = (x.multiply(R)).nnz / x.nnz
    ko, ki = _block_degrees(x)
    rows = np.repeat(np.arange(80), ko)
    random_overlap = float((ko[rows] * ki[x.indices]).sum()) / x.nnz**2  # sum_e k_u k_v / m^2
    assert abs(overlap - random_overlap) < 0.05


# ---- metrics against networkx ------------------------------------------------------------------
def _sparse_graphs():
    G = _chain((25, 30, 20), seed=4)
    yield nd.threshold.by_value(G, 1.9)  # several components, isolated nodes
    yield nd.threshold.by_value(G, 1.2)
    D = _dag(seed=5)
    yield nd.threshold.by_value(D, 1.7)
    yield nd.threshold.by_value(D, 0.9)


def test_test_graphs_have_several_components():
    assert [graph_metrics(H)["n_components"] > 1 for H in _sparse_graphs()] == [1, 0, 1, 0]


@pytest.mark.parametrize("H", list(_sparse_graphs()))
def test_metrics_equal_networkx(H):
    g = _to_nx(H)
    m = graph_metrics(H)
    comps = sorted(nx.connected_components(g), key=len, reverse=True)
    assert m["n_edges"] == g.number_of_edges()
    np.testing.assert_allclose(m["mean_degree"], 2 * g.number_of_edges() / g.number_of_nodes())
    np.testing.assert_allclose(m["isolated_fraction"], nx.number_of_isolates(g) / H.n_nodes)
    assert m["n_components"] == nx.number_connected_components(g)
    np.testing.assert_allclose(m["giant_fraction"], len(comps[0]) / H.n_nodes)
    giant = g.subgraph(comps[0])
    np.testing.assert_allclose(m["mean_geodesic"], nx.average_shortest_path_length(giant))
    np.testing.assert_allclose(m["r"], nx.degree_assortativity_coefficient(g), atol=1e-12)
    if H.is_chain:
        np.testing.assert_allclose(m["r"], degree_assortativity(H), atol=1e-12)


def test_geodesic_equals_scipy_over_several_batches():
    # 700 nodes: three batches of 256 sources
    A = sp.random(700, 700, density=0.004, random_state=1, format="csr")
    A = A + sp.diags(np.ones(699), 1)  # connected (a path); read as undirected
    D = shortest_path(A, unweighted=True, directed=False)
    np.testing.assert_allclose(mean_geodesic(A), D.sum() / (700 * 699))
    # sampled sources: exact with k >= n; unbiased otherwise
    assert mean_geodesic(A, sources=700) == mean_geodesic(A)
    est = [mean_geodesic(A, sources=20, seed=s) for s in range(60)]
    per_source = D.sum(axis=1) / 699
    se = per_source.std() * np.sqrt((1 - 20 / 700) / 20) / np.sqrt(60)
    assert abs(np.mean(est) - D.sum() / (700 * 699)) < 3 * se


def test_empty_cut_gives_the_empty_graph():
    G = _chain((4, 3))
    df = threshold_sweep(G, [100.0], n_null=2)
    assert (df.n_edges == 0).all() and (df.n_components == 7).all()
    np.testing.assert_allclose(df.isolated_fraction, 1.0)
    np.testing.assert_allclose(df.giant_fraction, 1 / 7)
    assert df.mean_geodesic.isna().all() and df.r.isna().all()


# ---- the sweep ---------------------------------------------------------------------------------
def test_sweep_frame_and_rules():
    G = _dag()
    df = threshold_sweep(G, [0.5, 1.0, 1.5], n_null=3, seed=2)
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 3 * (1 + 2 * 3)
    first = df[df.cut == 0.5]
    assert first.model.tolist() == ["net"] + ["replica"] * 3 + ["rewire"] * 3
    assert first.replica.tolist() == [0, 0, 1, 2, 0, 1, 2]
    net = df[df.model == "net"].reset_index(drop=True)
    rw = df[df.model == "rewire"].groupby("cut", sort=False)
    # rewiring keeps every degree: edges, mean degree and isolated nodes equal the net's
    for col in ("n_edges", "mean_degree", "isolated_fraction"):
        np.testing.assert_array_equal(rw[col].min().to_numpy(), net[col].to_numpy())
        np.testing.assert_array_equal(rw[col].max().to_numpy(), net[col].to_numpy())
    # the net rows are the metrics of apply_spec's graph
    m = graph_metrics(nd.threshold.apply_spec(G, "abs:1.0"))
    assert net.loc[1, list(m)].to_dict() == pytest.approx(m)
    # other rules reach threshold.apply_spec
    q = threshold_sweep(G, [0.9], rule="quantile", nulls=(), n_null=0)
    assert q.n_edges.tolist() == [graph_metrics(nd.threshold.by_quantile(G, 0.9))["n_edges"]]
    assert df.attrs["rule"] == "value" and q.attrs["nulls"] == []


def test_seeded_nulls_are_reproducible_and_order_independent():
    G = _chain()
    a = threshold_sweep(G, [0.8, 1.5], n_null=3, seed=7)
    b = threshold_sweep(G, [0.8, 1.5], n_null=3, seed=7)
    pd.testing.assert_frame_equal(a, b)
    c = threshold_sweep(G, [0.8, 1.5], n_null=3, seed=8)
    assert not a[a.model != "net"].equals(c[c.model != "net"])
    # one task alone gives its row of the sweep: rows do not depend on the others
    H = nd.threshold.apply_spec(G, "abs:1.5")
    task = SweepTask(1, 1.5, "rewire", 2, H, allowed_patterns(G), 7)
    row = a[(a.cut == 1.5) & (a.model == "rewire") & (a.replica == 2)].iloc[0]
    assert run_sweep_task(task) == pytest.approx(row.to_dict())
    # sweep_graph gives that row's graph
    m = graph_metrics(sweep_graph(task))
    assert m["n_components"] == row.n_components and m["r"] == pytest.approx(row.r)
    # fewer replicas: the same first replicas
    d = threshold_sweep(G, [0.8, 1.5], n_null=1, seed=7)
    pd.testing.assert_frame_equal(
        d.reset_index(drop=True), a[a.replica == 0].reset_index(drop=True)
    )


def test_sweep_in_worker_processes_gives_the_same_rows():
    G = _chain()
    a = threshold_sweep(G, [0.8, 1.2, 1.5], n_null=2, seed=3)
    b = threshold_sweep(G, [0.8, 1.2, 1.5], n_null=2, seed=3, n_jobs=2)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cuts": []}, "empty"),
        ({"cuts": [0.5, float("nan")]}, r"cuts\[1\]"),
        ({"cuts": ["a"]}, "numbers"),
        ({"nulls": ("replica", "shuffle")}, "unknown null"),
        ({"n_null": -1}, "n_null"),
        ({"n_null": 1.5}, "n_null"),
        ({"rule": "median"}, "rule"),
        ({"rule": "topk", "cuts": [1.5]}, "integer"),
        ({"seed": -3}, "seed"),
        ({"geodesic_sources": 0}, "geodesic_sources"),
    ],
)
def test_bad_input_raises_input_error(kwargs, match):
    args = {"cuts": [0.5], **kwargs}
    with pytest.raises(InputError, match=match):
        threshold_sweep(_chain(), args.pop("cuts"), **args)


def test_default_cuts_span_the_kept_fractions():
    G = _chain()
    c = default_cuts(G, n=5)
    H0, H1 = nd.threshold.by_value(G, c[0]), nd.threshold.by_value(G, c[-1])
    assert abs(H0.n_edges / G.n_edges - 0.2) < 0.01 and H1.n_edges <= 3
    assert np.all(np.diff(c) > 0)
    ks = default_cuts(G, rule="topk", n=5)
    assert ks[0] == 1 and np.all(ks == np.round(ks))
