"""Harsanyi AND / OR interactions: transforms, Shapley values, the AND-OR split, salient sets."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsci_dl.analysis.interactions import (
    BIT_ORDER,
    and_interactions,
    and_or_split,
    compare_salient,
    count_by_order,
    or_interactions,
    salient_mask,
    set_label,
    set_orders,
    shapley_values,
    strength_by_order,
    zeta_transform,
)
from netsci_dl.errors import InputError


def _bits(m: int) -> frozenset[int]:
    return frozenset(i for i in range(m.bit_length()) if (m >> i) & 1)


def _naive_and(v: np.ndarray) -> np.ndarray:
    """O(3^n): enumerate the submasks L of every S."""
    N = v.size
    out = np.zeros(N)
    for S in range(N):
        L = S
        while True:
            out[S] += (-1) ** (bin(S).count("1") - bin(L).count("1")) * v[L]
            if L == 0:
                break
            L = (L - 1) & S
    return out


def _naive_or(v: np.ndarray) -> np.ndarray:
    N = v.size
    full = N - 1
    out = np.zeros(N)
    out[0] = v[0]
    for S in range(1, N):
        L = S
        while True:
            out[S] -= (-1) ** (bin(S).count("1") - bin(L).count("1")) * v[full ^ L]
            if L == 0:
                break
            L = (L - 1) & S
    return out


def _shapley_by_permutations(v: np.ndarray, n: int) -> np.ndarray:
    """Mean marginal contribution over all n! orders of arrival."""
    phi = np.zeros(n)
    perms = list(itertools.permutations(range(n)))
    for order in perms:
        m = 0
        for i in order:
            phi[i] += v[m | (1 << i)] - v[m]
            m |= 1 << i
    return phi / len(perms)


# ---------------------------------------------------------------- closed forms


@pytest.mark.parametrize("n", [1, 3, 5])
def test_unanimity_games_give_deltas(n):
    N = 1 << n
    S = np.arange(N)
    # u_T(S) = 1[T subset S], every T at once (batch axis = T)
    U = ((S[None, :] & S[:, None]) == S[:, None]).astype(float)
    np.testing.assert_array_equal(and_interactions(U), np.eye(N))
    # w_T(S) = 1[S meets T] for T non-empty: I_or = delta_T
    W = ((S[None, :] & S[1:, None]) != 0).astype(float)
    np.testing.assert_array_equal(or_interactions(W), np.eye(N)[1:])


def test_multilinear_polynomial():
    # f(x) = 2 + 3 x0 - x0 x1 + 0.5 x0 x1 x2, x = 1 for present players, baseline 0
    v = np.array([2 + 3 * x[0] - x[0] * x[1] + 0.5 * x[0] * x[1] * x[2] for x in _subsets_as_x(3)])
    expected = np.zeros(8)
    expected[[0, 1, 3, 7]] = [2.0, 3.0, -1.0, 0.5]  # {}, {0}, {0,1}, {0,1,2}
    np.testing.assert_allclose(and_interactions(v), expected, atol=1e-15)


def _subsets_as_x(n):
    return [[(m >> i) & 1 for i in range(n)] for m in range(1 << n)]


def test_bit_order_is_stated():
    assert "bit i" in BIT_ORDER and "least significant first" in BIT_ORDER
    assert [set_label(m) for m in (0, 1, 2, 3, 6)] == ["{}", "0", "1", "0+1", "1+2"]
    assert set_orders(3).tolist() == [0, 1, 1, 2, 1, 2, 2, 3]


# ---------------------------------------------------------------- fast = naive, inverses


@pytest.mark.parametrize("n", [0, 1, 2, 4, 6, 8])
def test_fast_equals_naive(n):
    v = np.random.default_rng(n).normal(size=1 << n)
    np.testing.assert_allclose(and_interactions(v), _naive_and(v), atol=1e-10)
    np.testing.assert_allclose(or_interactions(v), _naive_or(v), atol=1e-10)


@pytest.mark.parametrize("n", [1, 5, 10])
def test_zeta_inverts_moebius(n):
    v = np.random.default_rng(1).normal(size=(3, 1 << n))
    np.testing.assert_allclose(zeta_transform(and_interactions(v)), v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(and_interactions(zeta_transform(v)), v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(zeta_transform(or_interactions(v), kind="or"), v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(or_interactions(zeta_transform(v, kind="or")), v, rtol=0, atol=1e-12)


def test_or_inverse_is_the_or_game():
    # v(S) = I(empty) + sum_{T meets S} I(T), checked by enumeration
    n = 4
    I = np.random.default_rng(2).normal(size=1 << n)
    v = zeta_transform(I, kind="or")
    for S in range(1 << n):
        want = I[0] + sum(I[T] for T in range(1, 1 << n) if T & S)
        assert v[S] == pytest.approx(want, abs=1e-12)


def test_efficiency():
    v = np.random.default_rng(3).normal(size=(2, 5, 1 << 6))
    np.testing.assert_allclose(and_interactions(v).sum(-1), v[..., -1], atol=1e-12)
    np.testing.assert_allclose(or_interactions(v).sum(-1), v[..., -1], atol=1e-12)


def test_batch_axes_are_independent():
    v = np.random.default_rng(4).normal(size=(3, 4, 32))
    I = and_interactions(v)
    for a in range(3):
        for b in range(4):
            np.testing.assert_array_equal(I[a, b], and_interactions(v[a, b]))
    assert and_interactions(v[0, 0].tolist()).shape == (32,)


def test_input_is_not_modified_and_bad_lengths_raise():
    v = np.arange(8.0)
    and_interactions(v)
    or_interactions(v)
    np.testing.assert_array_equal(v, np.arange(8.0))
    with pytest.raises(InputError, match="2\\*\\*n"):
        and_interactions(np.ones(6))
    with pytest.raises(InputError, match="NaN"):
        and_interactions([0.0, np.nan])
    with pytest.raises(InputError, match="kind"):
        zeta_transform(np.ones(4), kind="xor")


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1 << n, max_size=1 << n)
    )
)
def test_transforms_are_linear_and_invertible(vals):
    v = np.asarray(vals)
    w = np.roll(v, 1)
    np.testing.assert_allclose(
        and_interactions(2 * v - w), 2 * and_interactions(v) - and_interactions(w), atol=1e-7
    )
    np.testing.assert_allclose(zeta_transform(and_interactions(v)), v, atol=1e-8)


# ---------------------------------------------------------------- Shapley values


@pytest.mark.parametrize("n", [1, 3, 5])
def test_shapley_from_dividends_matches_permutations(n):
    v = np.random.default_rng(5).normal(size=1 << n)
    want = _shapley_by_permutations(v, n)
    np.testing.assert_allclose(shapley_values(and_interactions(v)), want, atol=1e-12)
    # OR interactions are the dividends of the dual game: same Shapley value
    np.testing.assert_allclose(shapley_values(or_interactions(v)), want, atol=1e-12)


# ---------------------------------------------------------------- shapiq (optional peer)


@pytest.mark.parametrize("n", [3, 6])
def test_against_shapiq_exact_moebius_and_shapley(n):
    import shapiq

    rng = np.random.default_rng(n)
    v = rng.normal(size=1 << n)

    def game(coalitions):
        idx = (np.asarray(coalitions, dtype=np.int64) << np.arange(n)).sum(axis=1)
        return v[idx]

    ec = shapiq.ExactComputer(game, n_players=n)
    mob = ec("Moebius")
    I = and_interactions(v)
    for S in range(1 << n):
        key = tuple(sorted(_bits(S)))
        assert mob[key] == pytest.approx(I[S], abs=1e-10), key
    sv = ec("SV")
    phi = shapley_values(I)
    for i in range(n):
        assert sv[(i,)] == pytest.approx(phi[i], abs=1e-10)


# ---------------------------------------------------------------- the AND-OR split


def _planted(n, seed, noise=0.0):
    rng = np.random.default_rng(seed)
    N = 1 << n
    Ia = np.zeros(N)
    Io = np.zeros(N)
    Ia[rng.choice(np.arange(1, N), 3, replace=False)] = rng.normal(0, 3, 3)
    Io[rng.choice(np.arange(1, N), 3, replace=False)] = rng.normal(0, 3, 3)
    v = zeta_transform(Ia) + zeta_transform(Io, kind="or") + rng.normal(0, noise, N)
    return v - v[0], Ia, Io


@pytest.mark.parametrize("method", ["sgd", "lp"])
def test_split_efficiency_and_reconstruction(method):
    v = np.stack([_planted(5, s, noise=0.05)[0] for s in range(3)])
    r = and_or_split(v, method=method, iterations=300)
    bound = 0.02 * np.abs(v[:, -1] - v[:, 0])
    np.testing.assert_allclose(r.q_bound, bound)
    assert np.all(np.abs(r.q) <= bound[:, None] + 1e-9)
    # sum I_and + sum I_or = v(N) + q_N
    np.testing.assert_allclose(r.I_and.sum(-1) + r.I_or.sum(-1), v[:, -1] + r.q[:, -1], atol=1e-8)
    # v_and + v_or = v + q, each rebuilt from its interactions
    rebuilt = zeta_transform(r.I_and) + zeta_transform(r.I_or, kind="or")
    np.testing.assert_allclose(rebuilt, v + r.q, atol=1e-8)
    # and v_and = (v + q) / 2 + p
    np.testing.assert_allclose(zeta_transform(r.I_and), (v + r.q) / 2 + r.p, atol=1e-8)
    assert np.all(r.loss <= r.loss_start + 1e-9)
    assert r.settings["method"] == method and "bit i" in r.settings["bit_order"]


def test_split_lp_is_optimal_and_sgd_gets_close():
    v, Ia, Io = _planted(4, 7)
    planted = np.abs(Ia).sum() + np.abs(Io).sum()
    lp = and_or_split(v, method="lp")
    # the planted decomposition (q = 0) is feasible: the optimum is no worse
    assert float(lp.loss) <= planted + 1e-7
    # without q the AND-only split (p = v / 2) is feasible too
    assert float(lp.loss) <= np.abs(and_interactions(v)).sum() + 1e-7
    sgd = and_or_split(v, iterations=2000)
    assert float(lp.loss) <= float(sgd.loss) + 1e-7
    assert float(sgd.loss) <= 1.15 * float(lp.loss)  # the documented gap of the defaults
    fast = and_or_split(v, iterations=2000, lr=0.02)  # small games take a larger step
    assert float(lp.loss) - 1e-7 <= float(fast.loss) <= 1.01 * float(lp.loss)
    assert sgd.loss_history.shape[0] == 2000 // 100 + 1
    assert sgd.settings["iterations"] == 2000 and "schedule" in sgd.settings


def test_split_recovers_a_pure_or_game():
    n = 3
    I = np.zeros(1 << n)
    I[0b101] = 2.0  # v(S) = 2 when S meets {0, 2}
    v = zeta_transform(I, kind="or")
    r = and_or_split(v, qthres=0.0, method="lp")
    np.testing.assert_allclose(r.I_or, I, atol=1e-9)
    np.testing.assert_allclose(r.I_and, 0.0, atol=1e-9)
    np.testing.assert_array_equal(r.q, 0.0)
    s = and_or_split(v, qthres=0.0, iterations=3000)
    assert float(s.loss) == pytest.approx(2.0, rel=0.02)


def test_split_shapley_is_shapley_of_v_plus_q():
    v = _planted(4, 3, noise=0.1)[0]
    r = and_or_split(v, iterations=200)
    np.testing.assert_allclose(
        shapley_values(r.I_and + r.I_or), _shapley_by_permutations(v + r.q, 4), atol=1e-9
    )


def test_split_zero_iterations_and_bad_options():
    v = _planted(3, 1)[0]
    r = and_or_split(v, iterations=0)
    np.testing.assert_allclose(r.I_and, and_interactions(v / 2), atol=1e-12)
    np.testing.assert_allclose(r.I_or, or_interactions(v / 2), atol=1e-12)
    with pytest.raises(InputError, match="method"):
        and_or_split(v, method="adam")
    with pytest.raises(InputError, match="qthres"):
        and_or_split(v, qthres=-1)


# ---------------------------------------------------------------- salient sets, orders, changes


def test_salient_mask_shares_one_maximum_and_skips_the_empty_set():
    a = np.array([[100.0, 1.0, 0.04, 0.2], [0.0, 0.0, 0.0, 0.0]])
    o = np.array([[0.0, 0.0, 0.0, -0.06], [0.0, 0.0, 0.0, 0.0]])
    ma, mo = salient_mask(a, o, threshold=0.05)
    # max over non-empty sets of both arrays = 1.0; 0.2 and 0.06 pass, 0.04 does not
    assert ma.tolist() == [[False, True, False, True], [False, False, False, False]]
    assert mo.tolist() == [[False, False, False, True], [False, False, False, False]]
    with pytest.raises(InputError):
        salient_mask(a, o[:, :2])


def test_strength_and_counts_by_order():
    I = np.zeros(8)
    I[[1, 2, 3, 7]] = [1.0, -2.0, 0.5, -4.0]
    assert strength_by_order(I).tolist() == [0.0, 3.0, 0.5, 4.0]
    m = I != 0
    assert count_by_order(m).tolist() == [0, 2, 1, 1]
    assert strength_by_order(I, mask=np.arange(8) >= 3).tolist() == [0.0, 0.0, 0.5, 4.0]


def test_compare_salient_by_order():
    rng = np.random.default_rng(0)
    A = (rng.random((5, 16)) < 0.4, rng.random((5, 16)) < 0.4)
    B = (rng.random((5, 16)) < 0.4, rng.random((5, 16)) < 0.4)
    c = compare_salient(A, B, labels=("l1", "l2"))
    # by enumeration: each (sample, kind, set) once
    orders = set_orders(4)
    want = {"overlap": np.zeros(5, int), "new": np.zeros(5, int), "forgotten": np.zeros(5, int)}
    for k in range(2):
        for s in range(5):
            for m in range(16):
                a, b = A[k][s, m], B[k][s, m]
                key = "overlap" if a and b else "new" if b else "forgotten" if a else None
                if key:
                    want[key][orders[m]] += 1
    assert c.overlap.tolist() == want["overlap"].tolist()
    assert c.new.tolist() == want["new"].tolist()
    assert c.forgotten.tolist() == want["forgotten"].tolist()
    t = c.totals()
    assert c.jaccard() == pytest.approx(t["overlap"] / sum(t.values()))
    d = c.to_dict()
    assert d["before"] == "l1" and d["n_samples"] == 5
    assert list(c.to_frame().columns) == ["before", "after", "order", "overlap", "new", "forgotten"]


def test_strength_order_totals_match_closed_form():
    # a unanimity game of order k has strength 1 at order k only
    n = 5
    for k in range(n + 1):
        T = (1 << k) - 1
        v = ((np.arange(1 << n) & T) == T).astype(float)
        s = strength_by_order(and_interactions(v))
        assert s.tolist() == [1.0 if j == k else 0.0 for j in range(n + 1)]
        assert math.isclose(s.sum(), 1.0)
