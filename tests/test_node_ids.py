"""Narrow node ids from ``LayeredGraph.edges()`` (int16 up to 32,767 nodes, int32 up to
2**31 - 1, int64 beyond) and every consumer of them inside the package, on graphs where int16
ids are used and a pair key ``src * n + dst`` passes 32,767 (and on one past int16).

The oracle ids come from each block's own (row, col) plus the offsets in int64, never from
``edges()``; the consumers are checked against networkx, igraph, graph-tool or a brute force
on those ids."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

import netsci_dl as nd
from netsci_dl import LayeredGraph, to_igraph, to_networkx, to_scipy_sparse
from netsci_dl._graph_checks import _node_id_dtype
from netsci_dl.analysis import count_motifs, prune_masks, pruning_percolation, rich_club_coefficient
from netsci_dl.report.network import report_clusters

I16 = np.iinfo(np.int16).max  # 32,767


def _block(rng: np.random.Generator, a: int, b: int, m: int) -> sp.csr_array:
    """A canonical float32 CSR block with about ``m`` random edges, both corners included."""
    r = np.concatenate([rng.integers(0, a, m), [0, a - 1]])
    c = np.concatenate([rng.integers(0, b, m), [0, b - 1]])
    M = sp.coo_array((rng.normal(size=r.size).astype(np.float32), (r, c)), shape=(a, b))
    M.sum_duplicates()
    return sp.csr_array(M.tocsr())


def _graph(sizes: tuple[int, int, int], m: int, seed: int = 0) -> LayeredGraph:
    """A thresholded 3-group graph: the chain and a skip block 0 -> 2 (not a chain)."""
    rng = np.random.default_rng(seed)
    a, b, c = sizes
    blocks = (_block(rng, a, b, m), _block(rng, b, c, m), _block(rng, a, c, m // 2))
    return LayeredGraph(sizes, blocks, block_src=(0, 1, 0), block_dst=(1, 2, 2))


def _oracle(G: LayeredGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int64 (src, dst) and float64 weights from the blocks themselves, in edges()'s order."""
    off = [int(x) for x in G.offsets]
    s, d, w = [], [], []
    for b, blk in enumerate(G.blocks):
        coo = sp.coo_array(blk)  # a canonical CSR block: row-major, as edges() lists it
        s.append(coo.row.astype(np.int64) + off[G.block_src[b]])
        d.append(coo.col.astype(np.int64) + off[G.block_dst[b]])
        w.append(coo.data.astype(np.float64))
    return np.concatenate(s), np.concatenate(d), np.concatenate(w)


# ~1,000 nodes, int16 ids, pair keys up to ~700,000 (past 32,767); > 32,767 edges for the files
SMALL = _graph((300, 400, 300), 20_000)
# 33,500 nodes: past int16, so int32 ids
BIG = _graph((20_000, 12_000, 1_500), 3_000, seed=1)


def test_workload_graphs_use_the_ids_they_are_meant_to():
    assert SMALL.edges()[0].dtype == np.int16
    assert SMALL.n_edges > I16 and int(SMALL.offsets[-2]) * SMALL.n_nodes > I16
    assert BIG.edges()[0].dtype == np.int32 and BIG.n_nodes > I16 + 1


# ---- the dtype rule --------------------------------------------------------------------------
def test_node_id_dtype_rule_at_the_boundaries():
    assert _node_id_dtype(0) is np.int16
    assert _node_id_dtype(I16) is np.int16  # ids 0..32,766, and the count itself, fit int16
    assert _node_id_dtype(I16 + 1) is np.int32
    assert _node_id_dtype(2**31 - 1) is np.int32
    assert _node_id_dtype(2**31) is np.int64
    for n, dtype in ((I16, np.int16), (I16 + 1, np.int32)):
        rng = np.random.default_rng(n)
        G = LayeredGraph((n - 2, 2), (_block(rng, n - 2, 2, 40),))
        src, dst, _ = G.edges()
        assert src.dtype == dst.dtype == dtype
        os_, od, _ = _oracle(G)
        assert_array_equal(src.astype(np.int64), os_)
        assert_array_equal(dst.astype(np.int64), od)
        assert int(dst.max()) == n - 1


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 25_000),
    st.integers(1, 25_000),
    st.integers(1, 25_000),
    st.integers(0, 2**16),
)
@example(I16 - 2, 1, 1, 0)  # 32,767 nodes
@example(I16 - 1, 1, 1, 0)  # 32,768 nodes
def test_edge_ids_are_exact_in_the_narrowest_type(a, b, c, seed):
    """For any node count the ids equal the int64 oracle, in the narrowest signed type that holds
    every id and the count itself."""
    G = _graph((a, b, c), 30, seed)
    n = G.n_nodes
    src, dst, _ = G.edges()
    want = next(t for t in (np.int16, np.int32, np.int64) if n <= np.iinfo(t).max)
    assert src.dtype == dst.dtype == want
    os_, od, _ = _oracle(G)
    assert_array_equal(src.astype(np.int64), os_)
    assert_array_equal(dst.astype(np.int64), od)


# ---- conversions: scipy, networkx, igraph, graph-tool ---------------------------------------
def _nx_oracle(G: LayeredGraph, directed: bool) -> nx.Graph:
    s, d, w = _oracle(G)
    X = nx.DiGraph() if directed else nx.Graph()
    X.add_nodes_from(range(G.n_nodes))
    X.add_weighted_edges_from(zip(s.tolist(), d.tolist(), w.tolist()))
    return X


def _assert_same_sparse(A: sp.sparray, B: sp.sparray) -> None:
    """Equal pattern and values: float32 weights, no overlapping blocks, so no sums to round."""
    A, B = sp.csr_array(A, dtype=np.float64), sp.csr_array(B, dtype=np.float64)
    assert A.shape == B.shape and A.nnz == B.nnz
    assert abs(A - B).max() == 0


@pytest.mark.parametrize("G", [SMALL, BIG], ids=["int16", "int32"])
@pytest.mark.parametrize("directed", [False, True])
def test_adjacency_and_scipy_are_networkx(G, directed):
    ref = nx.to_scipy_sparse_array(_nx_oracle(G, directed), nodelist=range(G.n_nodes))
    _assert_same_sparse(G.adjacency(directed=directed), ref)
    A = to_scipy_sparse(G, directed=directed, fmt="coo")
    assert A.row.dtype.itemsize >= 4  # scipy's own index type, never the int16 ids
    _assert_same_sparse(A, ref)


@pytest.mark.parametrize("G", [SMALL, BIG], ids=["int16", "int32"])
def test_networkx_igraph_graph_tool_hold_the_oracle_edges(G):
    s, d, w = _oracle(G)
    H = to_networkx(G, directed=True)
    got = sorted((u, v, x) for u, v, x in H.edges(data="weight"))
    assert got == sorted(zip(s.tolist(), d.tolist(), w.tolist()))
    g = to_igraph(G, directed=True)
    assert g.get_edgelist() == list(zip(s.tolist(), d.tolist()))
    assert_array_equal(g.es["weight"], w)
    gt = pytest.importorskip("graph_tool")
    t = nd.to_graph_tool(G, directed=True)
    assert isinstance(t, gt.Graph) and t.num_vertices() == G.n_nodes
    e = t.get_edges([t.ep["weight"]])
    order = np.lexsort((e[:, 1], e[:, 0]))
    want = np.lexsort((d, s))
    assert_array_equal(e[order, :2].astype(np.int64), np.column_stack([s, d])[want])
    assert_array_equal(e[order, 2], w[want])


# ---- analyses ----------------------------------------------------------------------------------
def test_motif_counts_are_the_brute_force_on_int64_ids():
    s, d, _ = _oracle(SMALL)
    n = SMALL.n_nodes
    A = np.zeros((n, n))
    A[s, d] = 1.0
    out, inn = A.sum(axis=1), A.sum(axis=0)
    A2 = A @ A  # float64: exact for these counts (far below 2**53)
    P = np.triu(A @ A.T, k=1)

    def pairs(x):
        return float(np.sum(x * (x - 1) / 2))

    want = {
        "chain": float(np.sum(inn * out)),
        "fan_in": pairs(inn),
        "fan_out": pairs(out),
        "ffl": float(np.sum(A2 * A)),
        "chain4": float(np.sum(A2 @ A)),
        "bi_fan": pairs(P),
        "diamond": pairs(A2),
    }
    got = count_motifs(SMALL)
    assert got == pytest.approx(want, rel=0)  # integers held exactly in float64


def test_unweighted_rich_club_is_networkx_past_int16_pair_keys():
    r, phi = rich_club_coefficient(SMALL)
    ref = nx.rich_club_coefficient(_nx_oracle(SMALL, directed=False), normalized=False)
    assert_allclose(r, sorted(ref))
    assert_allclose(phi, [ref[k] for k in sorted(ref)], rtol=1e-12)  # float64 ratios


def test_weighted_rich_club_is_opsahl_on_int64_ids():
    s, d, w = _oracle(SMALL)
    w = np.abs(w)
    n = SMALL.n_nodes
    rich = np.bincount(np.concatenate([s, d]), minlength=n).astype(np.float64)
    ranked = np.sort(w)[::-1]
    want = {}
    for x in np.unique(rich):
        club = rich > x
        if club.sum() < 2:
            continue
        inside = club[s] & club[d]
        e = int(inside.sum())
        want[x] = w[inside].sum() / ranked[:e].sum() if e else np.nan
    r, phi = rich_club_coefficient(SMALL, weights="abs")
    assert_allclose(r, sorted(want))
    assert_allclose(phi, [want[k] for k in sorted(want)], rtol=1e-10)  # float64 sum order


def test_percolation_giant_component_is_networkx():
    fr = np.array([0.0, 0.5, 0.9, 0.97, 0.995])
    p = pruning_percolation(SMALL, fr)
    s, d, _ = _oracle(SMALL)
    for f, g, nc in zip(fr, p.giant, p.n_components):
        keep = np.concatenate(prune_masks(list(SMALL.blocks), f))
        X = nx.Graph()
        X.add_nodes_from(range(SMALL.n_nodes))
        X.add_edges_from(zip(s[keep].tolist(), d[keep].tolist()))
        comps = list(nx.connected_components(X))
        assert g == max(map(len, comps)) / SMALL.n_nodes
        assert nc == len(comps)


def test_report_clusters_counts_the_live_nodes():
    G = _graph((300, 400, 300), 8, seed=2)  # few edges: the count is below the cap of 12
    s, d, w = _oracle(G)
    live = np.unique(np.concatenate([s[w != 0], d[w != 0]])).size
    assert 8 <= live // 4 < 12
    assert report_clusters(G) == live // 4


# ---- files: ids written as text and read back ---------------------------------------------------
@pytest.mark.parametrize("fmt", ["graphml", "graphml.gz", "gexf", "gexf.gz", "npz"])
def test_files_round_trip_past_int16_edges(fmt, tmp_path):
    p = nd.write(SMALL, tmp_path / f"g.{fmt}")
    assert nd.read(p).equals(SMALL)
    if fmt in ("graphml", "gexf"):  # a third-party reader sees the oracle's ids
        s, d, _ = _oracle(SMALL)
        H = nx.read_graphml(p) if fmt == "graphml" else nx.read_gexf(p)
        pre = "n" if fmt == "graphml" else ""
        got = {
            tuple(sorted((int(u.removeprefix(pre)), int(v.removeprefix(pre)))))
            for u, v in H.edges()
        }
        assert got == {tuple(sorted(e)) for e in zip(s.tolist(), d.tolist())}


def test_csv_edge_list_round_trip(tmp_path):
    src, dst, w = SMALL.edges()
    p = tmp_path / "edges.csv"
    pd.DataFrame({"source": src, "target": dst, "weight": w}).to_csv(p, index=False)
    back = pd.read_csv(p)
    s, d, ow = _oracle(SMALL)
    assert_array_equal(back["source"].to_numpy(np.int64), s)
    assert_array_equal(back["target"].to_numpy(np.int64), d)
    assert_array_equal(back["weight"].to_numpy().astype(np.float32), ow.astype(np.float32))
