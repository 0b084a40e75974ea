"""Thresholds: rules against direct numpy masks, monotonicity, idempotence, meta records."""

from __future__ import annotations

import numpy as np
import pytest
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
    H = th.by_value(G, 0.5, on=on)
    assert kept_pairs(H) == mask_pairs(G, fn)
    assert not H.weighted and H.is_sparse
    np.testing.assert_array_equal(H.edge_values(), 1.0)
    w = H.edge_values("weight")
    np.testing.assert_array_equal(H.edge_values("sign"), np.sign(w))
    assert H.meta["thresholds"][-1] == {
        "rule": "value",
        "on": on,
        "t": 0.5,
        "kept": H.n_edges,
        "of": G.n_edges,
        "keep_weights": False,
    }
    K = th.by_value(G, 0.5, on=on, keep_weights=True)
    np.testing.assert_array_equal(K.edge_values(), w)
    assert K.weighted


def test_quantile_global_and_per_layer():
    G = random_layered((20, 15, 10), seed=2)
    _, _, w = G.edges()
    t = np.quantile(np.abs(w), 0.9)
    H = th.by_quantile(G, 0.9)
    assert H.n_edges == int((np.abs(w) > t).sum())
    np.testing.assert_allclose(H.meta["thresholds"][-1]["t"], t)
    P = th.by_quantile(G, 0.9, per_layer=True)
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
    P = th.to_density(G, 0.2, per_layer=True)
    assert P.block_n_edges == (20, 20)


def test_errors():
    G = random_layered((3, 3), seed=0)
    with pytest.raises(ValueError, match="leaves no edge"):
        th.by_value(G, 1e9)
    with pytest.raises(ValueError, match="on must be"):
        th.by_value(G, 0.1, on="both")
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
    H = th.by_quantile(G, 0.95, on="abs")
    assert H.n_edges == sum(int((np.abs(W) > t).sum()) for W in Ws)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    q1=st.floats(0.0, 0.98),
    dq=st.floats(0.0, 0.5),
    on=st.sampled_from(["abs", "pos", "neg"]),
    sparse=st.booleans(),
)
def test_monotone_and_idempotent(seed, q1, dq, on, sparse):
    G = random_layered((6, 5, 4), seed=seed, sparse_p=0.7 if sparse else None)
    q2 = min(q1 + dq, 0.99)
    try:
        H1 = th.by_quantile(G, q1, on=on)
        H2 = th.by_quantile(G, q2, on=on)
    except ValueError:  # a cut can leave no edge (e.g. 'pos' on few edges)
        return
    assert kept_pairs(H2) <= kept_pairs(H1)
    t = H1.meta["thresholds"][-1]["t"]
    again = th.by_value(H1, t, on=on)
    assert kept_pairs(again) == kept_pairs(H1)
    np.testing.assert_array_equal(again.edge_values("weight"), H1.edge_values("weight"))
    assert len(again.meta["thresholds"]) == 2
