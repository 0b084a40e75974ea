"""The compiled EMD-L1 engine (``_emd_l1``): oracles are POT ``ot.emd2`` with the explicit
Manhattan cost, networkx's network simplex, and the round-2 engine (LEMON through pylmcf)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import ot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from netsci_dl.analysis.fields._emd_grid import Spec, make_solver, round_to_units
from netsci_dl.analysis.fields._emd_l1 import GridTree, L1Solver, available, l1_units
from netsci_dl.analysis.fields.emd import SignedFields, emd_matrix
from netsci_dl.errors import InputError

pytestmark = pytest.mark.skipif(not available(), reason="numba is not installed")


def _pot_cityblock(P: np.ndarray, h: int, w: int, rows, cols) -> np.ndarray:
    ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    X = np.stack([ii.ravel(), jj.ravel()], 1).astype(float)
    M = cdist(X, X, metric="cityblock")
    return np.array([ot.emd2(P[i], P[j], M, numItermax=10**7) for i, j in zip(rows, cols)])


def _fields(rng, n: int, h: int, w: int, kind: str) -> np.ndarray:
    if kind == "ties":  # small integers: many equal values and zeros
        F = rng.integers(0, 4, size=(n, h, w)).astype(float)
    elif kind == "sparse":  # mostly zeros
        F = rng.random((n, h, w)) * (rng.random((n, h, w)) < 0.2)
    else:
        F = np.abs(rng.normal(size=(n, h, w)))
    F[F.reshape(n, -1).sum(1) == 0, 0, 0] = 1.0
    return F


@pytest.mark.parametrize(
    ("h", "w", "kind"),
    [(5, 5, "ties"), (7, 6, "sparse"), (8, 8, "dense"), (12, 9, "ties"), (12, 12, "sparse")],
)
def test_equals_pot_with_the_manhattan_cost(h, w, kind):
    rng = np.random.default_rng(h * 100 + w)
    F = _fields(rng, 6, h, w, kind)
    P = F.reshape(6, -1) / F.reshape(6, -1).sum(1, keepdims=True)
    rows, cols = np.triu_indices(6, 1)
    ours = L1Solver(Spec("grid", (h, w), L=0, ground="manhattan"), (P,))(rows, cols)
    ref = _pot_cityblock(P, h, w, rows, cols)
    # masses are rounded once to S = 1e15 units: 1e-9 relative is far above that error
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-15)


def test_emd_matrix_uses_it_and_equals_the_round2_engine():
    rng = np.random.default_rng(3)
    F = _fields(rng, 8, 28, 28, "dense")
    F[4:] = _fields(rng, 4, 28, 28, "sparse")
    P = F.reshape(8, -1) / F.reshape(8, -1).sum(1, keepdims=True)
    spec = Spec("grid", (28, 28), L=0, ground="manhattan")
    assert isinstance(make_solver(spec, (P,)), L1Solver)
    rows, cols = np.triu_indices(8, 1)
    lemon = make_solver(spec, (P,), engine="lemon")(rows, cols)
    r = emd_matrix(F, ground="manhattan", n_jobs=1, progress=False)
    # the same integer optimum; LEMON's total_cost() is summed in floating point
    np.testing.assert_allclose(r.condensed, lemon, rtol=1e-12, atol=0)
    r2 = emd_matrix(F, ground="manhattan", n_jobs=2, progress=False, chunk_size=5)
    np.testing.assert_array_equal(r2.condensed, r.condensed)


def test_signed_fields_equal_the_round2_engine():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(5, 9, 7))
    sf = SignedFields(np.clip(A, 0, None), np.clip(-A, 0, None))
    ours = emd_matrix(sf, ground="manhattan", n_jobs=1, progress=False).condensed
    tot = (sf.pos + sf.neg).reshape(5, -1).sum(1)[:, None]
    data = (sf.pos.reshape(5, -1) / tot, sf.neg.reshape(5, -1) / tot)
    rows, cols = np.triu_indices(5, 1)
    spec = Spec("grid", (9, 7), L=0, ground="manhattan", signed=True)
    np.testing.assert_allclose(
        ours, make_solver(spec, data, engine="lemon")(rows, cols), rtol=1e-12, atol=0
    )


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    block=st.integers(1, 7),
    levels=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_integer_optimum_equals_networkx(h, w, block, levels, seed):
    """Any first tree (tiles of ``block`` pixels on artificial arcs, on the coarsest of
    ``levels`` coarsenings, then lifted) gives networkx's optimum."""
    rng = np.random.default_rng(seed)
    sup = rng.integers(-5, 6, size=h * w)
    sup[-1] -= sup.sum()
    G = nx.DiGraph()
    for u in range(h * w):
        G.add_node(u, demand=-int(sup[u]))
        r, c = divmod(u, w)
        for v, ok in ((u + 1, c < w - 1), (u + w, r < h - 1)):
            if ok:
                G.add_edge(u, v, weight=1)
                G.add_edge(v, u, weight=1)
    ref = nx.min_cost_flow_cost(G) if h * w > 1 else 0
    assert l1_units(sup, GridTree(h, w, block, levels)) == ref
    assert l1_units(sup, GridTree(h, w)) == ref


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    levels=st.integers(1, 4),
    kind=st.sampled_from(["ties", "sparse", "dense"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_coarse_to_fine_equals_pot(h, w, levels, kind, seed):
    """The coarse-to-fine start (forced on small grids, odd sides included: blocks of 1 or 2
    pixels) reaches POT's optimum with the explicit cityblock cost, batched or one pair."""
    rng = np.random.default_rng(seed)
    F = _fields(rng, 4, h, w, kind)
    P = F.reshape(4, -1) / F.reshape(4, -1).sum(1, keepdims=True)
    rows, cols = np.triu_indices(4, 1)
    solver = L1Solver(Spec("grid", (h, w), L=0, ground="manhattan"), (P,))
    solver.grid = GridTree(h, w, levels=levels)
    assert len(solver.grid.dims) == 1 + min(levels, int(np.ceil(np.log2(max(h, w)))))
    ours = solver(rows, cols)
    # masses are rounded once to S = 1e15 units: 1e-9 relative is far above that error
    np.testing.assert_allclose(ours, _pot_cityblock(P, h, w, rows, cols), rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(ours, [solver.one(i, j) for i, j in zip(rows, cols)])


@pytest.mark.parametrize(("h", "w"), [(2, 2), (3, 5), (6, 7), (9, 4), (28, 28)])
def test_lift_gives_a_spanning_tree_of_grid_arcs(h, w):
    """Every coarse tree (here random ones) lifts to a spanning tree of the fine grid whose
    edges are grid moves (or artificial arcs to the root for the children of the root)."""
    from netsci_dl.analysis.fields._emd_l1_kernel import lift

    g = GridTree(h, w, levels=1)
    (hc, wc) = g.dims[1]
    coarse = g.tgts[g.offs[1] : g.offs[2]]
    rng = np.random.default_rng(h * w)
    for _ in range(5):  # random spanning trees of the coarse grid, rooted at random blocks
        T = nx.random_spanning_tree(nx.grid_2d_graph(hc, wc), seed=int(rng.integers(1 << 30)))
        top = tuple(rng.integers((hc, wc)))
        cpar = np.full(hc * wc + 1, -1, dtype=np.int32)
        cpar[top[0] * wc + top[1]] = hc * wc
        for a, b in nx.bfs_edges(T, top):
            cpar[b[0] * wc + b[1]] = a[0] * wc + a[1]
        fpar = np.empty(h * w + 1, dtype=np.int32)
        lift(cpar, coarse, h, w, fpar)
        edges = [(u, int(fpar[u])) for u in range(h * w)]
        tree = nx.Graph(edges)
        assert tree.number_of_nodes() == h * w + 1 and nx.is_tree(tree)
        for u, p in edges:
            if p != h * w:
                assert abs(p - u) in (1, w) and (abs(p - u) == w or p // w == u // w)
        # the root's child is in the coarse root's block
        (child,) = [u for u, p in edges if p == h * w]
        assert (child // w // 2, child % w // 2) == top


def test_batched_pairs_equal_one_pair_at_a_time():
    """The compiled loop over a tile's pairs gives each pair's value, 0 on the diagonal."""
    rng = np.random.default_rng(11)
    F = _fields(rng, 5, 28, 28, "sparse")
    P = F.reshape(5, -1) / F.reshape(5, -1).sum(1, keepdims=True)
    solver = L1Solver(Spec("grid", (28, 28), L=0, ground="manhattan"), (P,))
    rows, cols = np.array([0, 1, 3, 2, 4, 4]), np.array([1, 0, 3, 4, 2, 0])
    got = solver(rows, cols)
    assert got[2] == 0.0
    np.testing.assert_array_equal(
        got, [0.0 if i == j else solver.one(i, j) for i, j in zip(rows, cols)]
    )
    np.testing.assert_array_equal(got[[0, 3]], got[[1, 4]])  # symmetric


def test_bad_supplies_and_engine_names():
    g = GridTree(3, 3)
    with pytest.raises(ValueError, match="sum to 0"):
        l1_units(np.r_[1, np.zeros(8, int)], g)
    with pytest.raises(ValueError, match="shape"):
        l1_units(np.zeros(4, int), g)
    with pytest.raises(ValueError, match="sum to 0"):
        l1_units(np.r_[1, np.zeros(8, int)], GridTree(3, 3, levels=1))
    P = np.full((2, 9), 1 / 9)
    with pytest.raises(InputError, match="engine"):
        make_solver(Spec("grid", (3, 3)), (P,), engine="fast")
    with pytest.raises(ValueError, match="4-neighbour"):
        L1Solver(Spec("grid", (3, 3), L=1), (P,))


def test_rounding_is_shared_with_the_round2_engine():
    """Both engines solve the same integer problem: the units of each field are the same."""
    P = np.random.default_rng(0).random((3, 16))
    P /= P.sum(1, keepdims=True)
    spec = Spec("grid", (4, 4), L=0, ground="manhattan")
    np.testing.assert_array_equal(L1Solver(spec, (P,)).units, round_to_units(P, spec.S))
