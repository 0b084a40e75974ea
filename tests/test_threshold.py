"""Thresholds: rules against direct numpy masks, monotonicity, idempotence, meta records."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import netsci_dl as nd
from netsci_dl import threshold as th
from tests.conftest import random_layered


def kept_pairs(H):
    s, d, _ = H.edges()
    return set(zip(s.tolist(), d.tolist()))


def mask_pairs(G, mask_fn):
    s, d, w = G.edges()
    m = mask_fn(w)
    return set(zip(s[m].tolist(), d[m].tolist()))


@pytest.mark.parametrize(
    ("on", "fn"),
    [("abs", lambda w: np.abs(w) > 0.5), ("pos", lambda w: w > 0.5), ("neg", lambda w: w < -0.5)],
)
def test_by_value_matches_mask(on, fn):
    G = random_layered((6, 5, 4), seed=1)
    H = th.by_value(G, 0.5, weights=on)
    assert kept_pairs(H) == mask_pairs(G, fn)
    assert not H.weighted and H.is_sparse
    np.testing.assert_array_equal(H.edge_values(), 1.0)
    w = H.edge_values("weight")
    np.testing.assert_array_equal(H.edge_values("sign"), np.sign(w))
    assert H.meta["thresholds"][-1] == {
        "rule": "value",
        "weights": on,
        "t": 0.5,
        "keep_weights": False,
        "kept": H.n_edges,
        "of": G.n_edges,
    }
    K = th.by_value(G, 0.5, weights=on, keep_weights=True)
    np.testing.assert_array_equal(K.edge_values(), w)
    assert K.weighted


def test_quantile_global_and_per_layer():
    G = random_layered((20, 15, 10), seed=2)
    _, _, w = G.edges()
    t = np.quantile(np.abs(w), 0.9)
    H = th.by_quantile(G, 0.9)
    assert H.n_edges == int((np.abs(w) > t).sum())
    np.testing.assert_allclose(H.meta["thresholds"][-1]["t"], t)
    P = th.by_quantile(G, 0.9, per_block=True)
    for l in range(2):
        b = np.abs(G.blocks[l])
        assert P.block_n_edges[l] == int((b > np.quantile(b, 0.9)).sum())


def test_top_k_dense_and_sparse_agree_with_sort():
    G = random_layered((7, 6, 5), seed=3)
    for direction, axis in [("out", 1), ("in", 0)]:
        H = th.top_k(G, 2, direction=direction)
        for l in range(2):
            A = np.abs(G.blocks[l])
            kept = H.blocks[l].toarray() > 0
            np.testing.assert_array_equal(kept.sum(axis=axis), 2)
            # every kept edge is at least as strong as every dropped one, per node
            kmin = np.where(kept, A, np.inf).min(axis=axis)
            dmax = np.where(kept, -np.inf, A).max(axis=axis)
            assert (kmin >= dmax).all()
    S = random_layered((7, 6, 5), seed=3, sparse_p=0.6)
    Hs = th.top_k(S, 2)
    Hd = th.top_k(S.replace(blocks=tuple(b.toarray() for b in S.blocks)), 2)
    # on the dense copy the zero entries are edges too; a node with >= 2 nonzero edges agrees
    for l in range(2):
        nz = (S.blocks[l].toarray() != 0).sum(axis=1) >= 2
        np.testing.assert_array_equal(
            Hs.blocks[l].toarray()[nz] > 0, Hd.blocks[l].toarray()[nz] > 0
        )
    with pytest.raises(ValueError, match="positive integer"):
        th.top_k(G, 0)


def test_to_density_exact_count():
    G = random_layered((10, 10, 10), seed=4)
    H = th.to_density(G, 0.13)
    assert H.n_edges == 26
    _, _, w = G.edges()
    assert np.abs(H.edge_values("weight")).min() >= np.sort(np.abs(w))[-26]
    P = th.to_density(G, 0.2, per_block=True)
    assert P.block_n_edges == (20, 20)


def test_errors():
    G = random_layered((3, 3), seed=0)
    with pytest.raises(ValueError, match="leaves no edge"):
        th.by_value(G, 1e9)
    with pytest.raises(ValueError, match="weights must be"):
        th.by_value(G, 0.1, weights="both")
    for bad in ("topk:inf", "topk:1e400", "abs:nan", "quantile:inf", "topk:0", "topk:-2"):
        with pytest.raises(ValueError, match="threshold"):
            th.apply_spec(G, bad)
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\)"):
        th.by_quantile(G, 1.0)
    with pytest.raises(ValueError, match="density"):
        th.to_density(G, 0)
    with pytest.raises(ValueError, match="not understood"):
        th.apply_spec(G, "median:3")
    with pytest.raises(ValueError, match="not a number"):
        th.apply_spec(G, "abs:x")


def test_apply_spec_and_sweep():
    G = random_layered((8, 8, 8), seed=5)
    assert kept_pairs(th.apply_spec(G, "quantile:0.8")) == kept_pairs(th.by_quantile(G, 0.8))
    assert kept_pairs(th.apply_spec(G, "topk-in:3")) == kept_pairs(th.top_k(G, 3, direction="in"))
    out = th.sweep(G, [0.1, 0.5, 1.0, 100.0])
    assert np.all(np.diff(out["n_edges"][:3]) <= 0)
    assert np.isnan(out["n_edges"][3])


def test_workload_shape_count():
    """The peers' 95% |w| threshold keeps exactly 5% (PEERS.md: 82,100 of 1,642,000 at full size)."""
    rng = np.random.default_rng(0)
    Ws = [rng.normal(0, 0.01, s).astype(np.float32) for s in [(78, 50), (50, 50), (50, 200)]]
    G = nd.from_matrices(Ws)
    t = float(np.quantile(np.concatenate([np.abs(W).ravel() for W in Ws]), 0.95))
    H = th.by_quantile(G, 0.95, weights="abs")
    with pytest.raises(TypeError, match="on"):
        th.by_quantile(G, 0.95, on="abs")  # the 0.2 keyword is gone
    with pytest.raises(TypeError, match="per_layer"):
        th.to_density(G, 0.05, per_layer=True)
    assert H.n_edges == sum(int((np.abs(W) > t).sum()) for W in Ws)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    q1=st.floats(0.0, 0.9),
    dq=st.floats(0.0, 0.05),
    on=st.sampled_from(["abs", "pos", "neg"]),
    sparse=st.booleans(),
)
def test_monotone_and_idempotent(seed, q1, dq, on, sparse):
    """Monotone in q; the cut re-applied by value keeps the same edges; the same rule again is
    a no-op. Only a cut that leaves no edge may raise, and it must say so."""
    G = random_layered((6, 5, 4), seed=seed, sparse_p=0.9 if sparse else None)
    q2 = q1 + dq
    try:
        H1 = th.by_quantile(G, q1, weights=on)
        H2 = th.by_quantile(G, q2, weights=on)
    except ValueError as e:
        assert "leaves no edge" in str(e)  # noqa: PT017 (the only error a valid q may give)
        return
    assert kept_pairs(H2) <= kept_pairs(H1)
    t = H1.meta["thresholds"][-1]["t"]
    again = th.by_value(H1, t, weights=on)
    assert kept_pairs(again) == kept_pairs(H1)
    np.testing.assert_array_equal(again.edge_values("weight"), H1.edge_values("weight"))
    assert len(again.meta["thresholds"]) == 2
    same = th.by_quantile(H1, q1, weights=on)
    assert kept_pairs(same) == kept_pairs(H1) and same.meta["thresholds"][-1]["noop"] is True


def test_reapplying_the_same_rule_is_a_noop_for_every_rule():
    G = random_layered((6, 5, 4), seed=7)
    for spec in (
        "quantile:0.5",
        "quantile-block:0.5",
        "topk:2",
        "topk-in:2",
        "density:0.3",
        "abs:0.4",
        "auto",
    ):
        H = th.apply_spec(G, spec)
        again = th.apply_spec(H, spec)
        assert kept_pairs(again) == kept_pairs(H), spec
    H = th.by_quantile(G, 0.5)
    assert H.n_edges == int(
        (np.abs(G.edge_values()) > np.quantile(np.abs(G.edge_values()), 0.5)).sum()
    )
    assert th.by_quantile(H, 0.5).n_edges == H.n_edges  # not halved again
    # another rule is taken on the edges of the graph it is applied to
    assert th.by_quantile(H, 0.5, weights="pos").n_edges < H.n_edges


def test_ties_broken_the_same_for_dense_and_sparse():
    W = np.array([[1, 1, 1, 2], [1, 1, 2, 1], [2, 1, 1, 1]], dtype=np.float32)
    D = nd.LayeredGraph((3, 4), (W,))
    S = nd.LayeredGraph((3, 4), (sp.csr_array(W),))
    for spec in ("topk:2", "topk-in:1", "density:0.5", "density:0.25"):
        assert kept_pairs(th.apply_spec(D, spec)) == kept_pairs(th.apply_spec(S, spec)), spec
    # the first edges in edge order win a tie
    assert kept_pairs(th.top_k(D, 2)) == {(0, 6), (0, 3), (1, 5), (1, 3), (2, 3), (2, 4)}


def test_identity_blocks_are_kept_whole_and_auto_goes_per_block():
    rng = np.random.default_rng(0)
    W0 = rng.normal(0, 0.1, (4, 4)).astype(np.float32)
    K = np.abs(rng.normal(2, 1, (4, 4))).astype(np.float32)  # kernel norms: large, >= 0
    G = nd.LayeredGraph(
        (4, 4, 4),
        (W0, sp.csr_array(np.eye(4, dtype=np.float32)), K),
        block_src=(0, 0, 1),
        block_dst=(1, 2, 2),
        block_kinds=("weight", "identity", "weight"),
        meta={"edge_weight": ["weight", "identity", "l2 of each 3x3 kernel"]},
    )
    assert th.block_value_kinds(G) == ("signed weight", "identity", "kernel l2")
    assert th.default_rule(G) == "quantile-block:0.95"
    H = th.apply_spec(G, "auto:0.5")
    assert H.block_n_edges == (8, 4, 8)  # half of each weight block; the identity untouched
    assert H.meta["thresholds"][-1]["per_block"] is True
    Q = th.by_quantile(G, 0.5)  # one global cut: the kernel norms take everything
    assert Q.block_n_edges[2] == 16 and Q.block_n_edges[0] == 0
    assert th.default_rule(random_layered((3, 3, 3))) == "quantile:0.95"
    assert th.apply_spec(G, "none") is G
