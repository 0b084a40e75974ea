"""Fits of heavy-tailed candidates (netsci_dl.analysis.structure.fits).

Oracles: hand-computed KS distances, scipy (``kstest``, ``zipf``, ``geom``, ``truncnorm``), the
Clauset-Shalizi-Newman reference values on the shipped digits DBN, and, when installed, the
``powerlaw`` package (Alstott et al.) for the continuous MLEs and Vuong's test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats as st

from netsci_dl.analysis.structure._fit_candidates import _ks_discrete
from netsci_dl.analysis.structure.fits import (
    DistributionFit,
    FitResult,
    VuongTest,
    fit_distributions,
)

#: total degree (quantile:0.95) of the shipped digits DBN, data/dbn_digits.safetensors
DBN_DEGREES = {
    0: 78, 1: 37, 2: 33, 3: 39, 4: 23, 5: 29, 6: 26, 7: 13, 8: 18, 9: 25, 10: 18, 11: 14,
    12: 17, 13: 7, 14: 8, 15: 7, 16: 11, 17: 3, 18: 8, 19: 9, 20: 5, 21: 2, 22: 2, 23: 2,
    24: 6, 25: 3, 26: 4, 28: 4, 29: 1, 31: 1, 32: 2, 33: 1, 36: 2, 38: 1, 39: 1, 40: 1,
    44: 1, 49: 1, 73: 1,
}  # fmt: skip


def _degrees() -> np.ndarray:
    return np.repeat(list(DBN_DEGREES), list(DBN_DEGREES.values())).astype(np.int64)


def _zipf_tail_cdf(alpha: float, xmin: int):
    """CDF of the discrete power law on k >= xmin, from scipy's zipf (an independent code)."""
    z = st.zipf(alpha)
    return lambda k: (z.cdf(k) - z.cdf(xmin - 1)) / z.sf(xmin - 1)


# ---- the discrete KS distance: every integer from xmin to the maximum (plfit) ----------------
def test_discrete_ks_counts_every_integer_hand_computed():
    # F_n: 1/4 on 1..4, 1 at 5; uniform model F(k) = k/5. Largest gap at k = 4: |1/4 - 4/5|.
    # At the observed values only (1 and 5) the distance would be 0.05.
    x = np.array([1.0, 5, 5, 5])
    d = _ks_discrete(x, 1.0, lambda k: np.asarray(k, float) / 5)
    np.testing.assert_allclose(d, 0.55)
    # a tail starting above xmin: F_n = 0 on 1..2, F(2) = 2/5
    d = _ks_discrete(np.array([3.0, 3, 3]), 1.0, lambda k: np.asarray(k, float) / 5)
    np.testing.assert_allclose(d, 0.4)


def test_discrete_ks_equals_brute_force_over_integers():
    k = np.array([2, 2, 3, 3, 3, 4, 7, 9, 15, 40, 41, 90])  # gapped
    r = fit_distributions(k, xmin=2)
    a = r.fit("power_law").params["alpha"]
    grid = np.arange(2, 91)
    emp = np.searchsorted(np.sort(k), grid, side="right") / len(k)
    brute = np.max(np.abs(emp - _zipf_tail_cdf(a, 2)(grid)))
    np.testing.assert_allclose(r.fit("power_law").ks, brute, rtol=1e-9)
    lam = r.fit("exponential").params["lambda"]
    geo = st.geom(-np.expm1(-lam), loc=1)  # P(k) on 2, 3, ...
    brute = np.max(np.abs(emp - geo.cdf(grid)))
    np.testing.assert_allclose(r.fit("exponential").ks, brute, rtol=1e-9)


def test_discrete_xmin_scan_matches_brute_force_and_reference():
    # the CSN reference code on this degree sequence: xmin 24, alpha 4.89 (observed-values-only
    # KS gave 25, 4.64)
    k = _degrees()
    r = fit_distributions(k)
    assert r.xmin == 24
    np.testing.assert_allclose(r.fit("power_law").params["alpha"], 4.8915, atol=5e-4)
    assert r.xmin_scanned == r.xmin_distinct == 30 and "all 30" in r.method
    # brute force: CSN approximate alpha per candidate, KS over every integer with scipy's zipf
    v = np.sort(k[k > 0]).astype(float)
    ds = {}
    for c in np.unique(v[: len(v) - 10 + 1]):
        t = v[v >= c]
        a = 1 + len(t) / np.sum(np.log(t / (c - 0.5)))
        grid = np.arange(c, t.max() + 1)
        emp = np.searchsorted(t, grid, side="right") / len(t)
        ds[c] = np.max(np.abs(emp - _zipf_tail_cdf(a, int(c))(grid)))
    assert min(ds, key=ds.get) == r.xmin


def test_discrete_exact_mle_matches_scipy_zipf():
    from scipy.optimize import minimize_scalar

    k = st.zipf.rvs(2.3, size=3000, random_state=4)
    r = fit_distributions(k, xmin=1)
    ref = minimize_scalar(
        lambda a: -st.zipf.logpmf(k, a).sum(), bounds=(1.01, 6.0), method="bounded",
        options={"xatol": 1e-10},
    )  # fmt: skip
    np.testing.assert_allclose(r.fit("power_law").params["alpha"], ref.x, rtol=1e-6)
    np.testing.assert_allclose(r.fit("power_law").loglik, -ref.fun, rtol=1e-9)


# ---- the continuous scan: every distinct value, KS as scipy's kstest ---------------------------
def test_continuous_scan_all_values_and_ks_as_scipy():
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.exponential(1.0, 150) + 0.05, 1.5 * (1 - rng.random(250)) ** -0.6])
    r = fit_distributions(x)
    v = np.sort(x)
    cands = np.unique(v[: len(v) - 9])
    assert r.xmin_scanned == r.xmin_distinct == len(cands) > 200  # no silent cap
    ds = []
    for c in cands:
        t = v[v >= c]
        a = 1 + len(t) / np.sum(np.log(t / c))
        ds.append(st.kstest(t, lambda s, a=a, c=c: 1 - (s / c) ** (1 - a)).statistic)
    assert r.xmin == cands[int(np.argmin(ds))]
    # every candidate's D at the chosen xmin is scipy's
    t = v[v >= r.xmin]
    f = r.fit("lognormal").params
    ln = st.truncnorm((np.log(r.xmin) - f["mu"]) / f["sigma"], np.inf, f["mu"], f["sigma"])
    np.testing.assert_allclose(
        r.fit("lognormal").ks, st.kstest(np.log(t), ln.cdf).statistic, rtol=1e-9
    )
    lam = r.fit("exponential").params["lambda"]
    np.testing.assert_allclose(
        r.fit("exponential").ks, st.kstest(t, st.expon(r.xmin, 1 / lam).cdf).statistic, rtol=1e-9
    )


def test_capped_scan_is_stated():
    x = 1.0 + np.random.default_rng(6).pareto(1.5, 600)
    r = fit_distributions(x, max_xmin_candidates=50)
    assert r.xmin_scanned == 50 and r.xmin_distinct == 591
    assert "50 of 591" in r.method and "max_xmin_candidates=50" in r.method
    assert r.to_dict()["xmin_scanned"] == 50
    with pytest.raises(ValueError, match="max_xmin_candidates"):
        fit_distributions(x, max_xmin_candidates=0)


def test_xmin_range_scans_only_the_window():
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.exponential(1.0, 150) + 0.05, 1.5 * (1 - rng.random(250)) ** -0.6])
    lo, hi = 0.8, 3.0
    r = fit_distributions(x, xmin_range=(lo, hi), candidates=("power_law",))
    v = np.sort(x)
    cands = np.unique(v[: len(v) - 9])
    cands = cands[(cands >= lo) & (cands <= hi)]
    assert r.xmin_scanned == r.xmin_distinct == len(cands) > 20
    ds = []
    for c in cands:  # the brute force, with scipy's KS statistic
        t = v[v >= c]
        a = 1 + len(t) / np.sum(np.log(t / c))
        ds.append(st.kstest(t, lambda s, a=a, c=c: 1 - (s / c) ** (1 - a)).statistic)
    assert r.xmin == cands[int(np.argmin(ds))]
    assert "xmin in [0.8, 3]" in r.method
    empty = fit_distributions(x, xmin_range=(1e6, 2e6))
    assert np.isnan(empty.xmin) and not empty.fits and "xmin_range" in empty.note
    with pytest.raises(ValueError, match="not both"):
        fit_distributions(x, xmin=1.0, xmin_range=(0.5, 2.0))
    with pytest.raises(ValueError, match="lo <= hi"):
        fit_distributions(x, xmin_range=(2.0, 0.5))


def test_continuous_fits_match_powerlaw_package():
    import powerlaw

    rng = np.random.default_rng(0)
    x = 2.0 * (1 - rng.random(3000)) ** (-1 / 1.5)
    y = rng.lognormal(1.0, 0.7, 3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = powerlaw.Fit(x, xmin=3.0, verbose=0)
        g = powerlaw.Fit(y, xmin=3.0, verbose=0)
        rz, pz = f.distribution_compare("power_law", "exponential", normalized_ratio=True)
        rl, pl = g.distribution_compare("power_law", "lognormal", normalized_ratio=True)
    r, q = fit_distributions(x, xmin=3.0), fit_distributions(y, xmin=3.0)
    np.testing.assert_allclose(r.fit("power_law").params["alpha"], f.power_law.alpha, rtol=1e-9)
    np.testing.assert_allclose(r.fit("exponential").params["lambda"], f.exponential.Lambda, 1e-3)
    np.testing.assert_allclose(q.fit("lognormal").params["mu"], g.lognormal.mu, rtol=1e-4)
    np.testing.assert_allclose(q.fit("lognormal").params["sigma"], g.lognormal.sigma, rtol=1e-4)
    t = q.tests[[(t.a, t.b) for t in q.tests].index(("power_law", "lognormal"))]
    np.testing.assert_allclose([t.z, t.p], [rl, pl], rtol=1e-3)
    t = r.tests[[(t.a, t.b) for t in r.tests].index(("power_law", "exponential"))]
    np.testing.assert_allclose([t.z, t.p], [rz, pz], rtol=1e-2)


# ---- flags, best and the verdict ----------------------------------------------------------------
def test_degenerate_lognormal_is_flagged_and_never_best():
    x = (1 - np.random.default_rng(0).random(2000)) ** (-1 / 1.5)  # Pareto: lognormal -> -inf
    r = fit_distributions(x, xmin=1.0)
    ln = r.fit("lognormal")
    assert ln.params["mu"] < -10 and not ln.ok and "degenerate" in ln.flag
    assert r.best == "power_law"
    assert r.verdict.startswith("power_law is favoured: it beats exponential")
    assert "lognormal is left out (degenerate" in r.verdict
    assert r.to_frame().loc["lognormal", "flag"] == ln.flag
    # a genuine lognormal is not flagged
    q = fit_distributions(np.random.default_rng(1).lognormal(0, 1, 2000), xmin=1.0)
    assert q.fit("lognormal").ok and q.best == "lognormal"


def _result(fits, tests):
    return FitResult(1.0, 100, 100, False, tuple(fits), tuple(tests))


_A, _B, _C = (DistributionFit(n, {}, 0.0, 0.1) for n in ("power_law", "exponential", "lognormal"))


def test_flagged_fit_wins_nothing():
    bad = DistributionFit("lognormal", {"mu": -66.0}, 0.0, 0.1, flag="degenerate: mu = -66")
    # lognormal "beats" both, but is flagged: power_law beats exponential and is best
    r = _result(
        [_A, _B, bad],
        [
            VuongTest("power_law", "exponential", 5.0, 3.0, 0.003),
            VuongTest("power_law", "lognormal", -5.0, -3.0, 0.003),
            VuongTest("exponential", "lognormal", -5.0, -3.0, 0.003),
        ],
    )
    assert r.best == "power_law"
    assert r.verdict == (
        "power_law is favoured: it beats exponential (p = 0.003); no candidate beats it. "
        "lognormal is left out (degenerate: mu = -66)."
    )


def test_verdict_states_the_case_that_holds():
    ns = VuongTest("power_law", "lognormal", 1.0, 0.5, 0.6)
    r = _result([_A, _B, _C], [VuongTest("power_law", "exponential", 1.0, 0.5, 0.6), ns])
    assert r.best is None and r.verdict.startswith("no candidate is favoured: no likelihood-ratio")
    # power_law and lognormal both beat exponential and are not distinguished: no best
    r = _result(
        [_A, _B, _C],
        [
            VuongTest("power_law", "exponential", 5.0, 3.0, 0.01),
            ns,
            VuongTest("exponential", "lognormal", -5.0, -3.0, 0.02),
        ],
    )
    assert r.best is None
    assert "power_law and lognormal are not distinguished (power_law vs lognormal p = 0.6)" in (
        r.verdict
    )
    # power_law beats exponential but not lognormal, which nothing beats either: no best
    r = _result([_A, _B, _C], [VuongTest("power_law", "exponential", 5.0, 3.0, 0.01), ns])
    assert r.best is None and "power_law and lognormal are not distinguished" in r.verdict
    r = _result(
        [_A, _B, _C],
        [
            VuongTest("power_law", "exponential", 5.0, 3.0, 0.01),
            VuongTest("power_law", "lognormal", 5.0, 3.0, 0.02),
            VuongTest("exponential", "lognormal", 1.0, 0.1, 0.9),
        ],
    )
    assert r.best == "power_law"
    assert r.verdict == (
        "power_law is favoured: it beats exponential (p = 0.01), lognormal (p = 0.02); "
        "no candidate beats it."
    )
    r = _result([_A], [])
    assert r.best is None and "only power_law gives a usable fit" in r.verdict
    empty = fit_distributions(np.array([0, 0, 1, 2]))
    assert empty.verdict == empty.note and "too few" in empty.note
