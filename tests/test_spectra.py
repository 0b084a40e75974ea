"""Spectra of weight matrices (netsci_dl.analysis.spectra: esd, layer_spectra).

Oracles: scipy's SVD (eigenvalues), numpy's norms, matrices built with a known spectrum
(``W = U diag(sqrt(lambda)) V^T``), random-matrix theory (Marchenko-Pastur edges, the BBP
transition of a planted spike), and in-test re-implementations of the two ``xmin="peak"`` rules
with scipy's KS statistic.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.stats as st

import netsci_dl as nd
from netsci_dl.analysis import esd, layer_spectra, mp_fit
from netsci_dl.errors import InputError


def _with_spectrum(lam: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """An ``n x m`` matrix whose ``W^T W`` has exactly the eigenvalues ``lam`` (m = len(lam))."""
    m = len(lam)
    U, _ = np.linalg.qr(rng.normal(size=(n, m)))
    V, _ = np.linalg.qr(rng.normal(size=(m, m)))
    return (U * np.sqrt(lam)) @ V.T


def _svd_eigs(W: np.ndarray) -> np.ndarray:
    """The oracle: scipy's singular values squared, every kernel slice pooled."""
    a = W if W.ndim == 2 else W.reshape(W.shape[0], W.shape[1], -1)
    mats = [a] if W.ndim == 2 else [a[:, :, k] for k in range(a.shape[2])]
    return np.sort(np.concatenate([sla.svdvals(x) ** 2 for x in mats]))


# ---- eigenvalues -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "expect"),
    [
        ((400, 100), "gram"),
        ((100, 400), "gram"),
        ((150, 150), "gram+ritz"),
        ((16, 8, 3, 3), "gram"),
    ],
)
def test_eigenvalues_are_the_squared_singular_values(shape, expect):
    W = np.random.default_rng(0).normal(size=shape)
    ref = _svd_eigs(W)
    for method in ("auto", "svd"):
        e = esd(W, method=method)
        # every eigenvalue to 1e-10 of itself: "auto" keeps the Gram eigenvalues only where its
        # error bound (n eps lambda_max) allows that; a square Gaussian matrix has eigenvalues
        # near 0 (lambda_min / lambda_max ~ 1e-7 here), so "auto" refines those by Rayleigh-Ritz
        np.testing.assert_allclose(e.eigenvalues, ref, rtol=1e-10, atol=0)
    assert esd(W).method == expect and esd(W, method="svd").method == "svd"
    e = esd(W, method="gram")  # forced: absolute error ~ n eps lambda_max
    np.testing.assert_allclose(e.eigenvalues, ref, rtol=0, atol=1e-12 * ref[-1])
    n, m = max(shape[:2]), min(shape[:2])
    slices = int(np.prod(shape[2:]))
    assert (e.n, e.m, e.n_slices, len(e.eigenvalues)) == (n, m, slices, m * slices)
    assert not e.eigenvalues.flags.writeable and len(repr(e)) < 300


def test_conv_kernel_pools_its_slices_and_orientation_does_not_matter():
    rng = np.random.default_rng(1)
    K = rng.normal(size=(12, 5, 3, 2))
    pooled = np.sort(
        np.concatenate([esd(K[:, :, i, j]).eigenvalues for i in range(3) for j in range(2)])
    )
    np.testing.assert_array_equal(esd(K).eigenvalues, pooled)
    W = rng.normal(size=(30, 70))
    np.testing.assert_allclose(esd(W).eigenvalues, esd(W.T).eigenvalues, rtol=1e-12)


# ---- Marchenko-Pastur ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(200, 100), (500, 250), (300, 300), (1000, 100), (64, 32, 3, 3)])
def test_pure_gaussian_matrix_has_no_spikes(shape):
    sigma = 0.05
    for seed in range(4):
        W = np.random.default_rng(seed).normal(0.0, sigma, size=shape)
        s = layer_spectra(W, traps=False)[0]
        n, m = s.esd.n, s.esd.m
        assert s.mp.n_spikes == 0, (shape, seed, s.esd.lambda_max, s.mp.threshold)
        # sigma^2 is the mean eigenvalue over n: relative error ~ sqrt(2 / (n m slices)); 5 sd
        np.testing.assert_allclose(s.mp.sigma, sigma, rtol=5 * np.sqrt(0.5 / W.size))
        np.testing.assert_allclose(s.mp.lambda_plus, s.mp.sigma**2 * (np.sqrt(n) + np.sqrt(m)) ** 2)
        np.testing.assert_allclose(s.mp.q, n / m)
        # the bulk reaches its edge: (lambda_max - lambda_plus) / tw_scale is Tracy-Widom
        # distributed (mean -1.2, 1st percentile about -3.9), below its 99th percentile 2.02
        z = (s.esd.lambda_max - s.mp.lambda_plus) / s.mp.tw_scale
        assert -6 < z < 2.0234


def test_planted_rank_one_spike_is_found_and_is_no_trap():
    rng = np.random.default_rng(3)
    n, m, sigma = 600, 300, 1.0
    theta2 = 4 * sigma**2 * np.sqrt(n * m)  # above the BBP threshold sigma^2 sqrt(n m)
    u, v = rng.normal(size=n), rng.normal(size=m)
    W = rng.normal(0, sigma, (n, m)) + np.sqrt(theta2) * np.outer(
        u / np.linalg.norm(u), v / np.linalg.norm(v)
    )
    s = layer_spectra({"fc": W}, seed=1)["fc"]
    assert s.mp.n_spikes == 1 and s.esd.eigenvalues[-2] < s.mp.threshold < s.lambda_max
    # BBP: the spike sits at (theta^2 + n sigma^2)(theta^2 + m sigma^2) / theta^2 on average;
    # over 20 seeds its mean was within 0.3 % of that and its sd 4.1 %: 15 % is 3.5 sd
    np.testing.assert_allclose(
        s.lambda_max, (theta2 + n * sigma**2) * (theta2 + m * sigma**2) / theta2, rtol=0.15
    )
    np.testing.assert_allclose(s.mp.sigma, sigma, rtol=0.01)  # the spike is left out of the bulk
    assert s.n_traps == 0  # shuffling destroys the rank-one structure
    # a Gaussian matrix without the spike: nothing either way
    assert layer_spectra(rng.normal(0, sigma, (n, m)))[0].mp.n_spikes == 0


def test_large_entries_make_a_correlation_trap():
    rng = np.random.default_rng(4)
    W = rng.normal(0, 1.0, (400, 200))
    W[7, 3] = W[100, 50] = 40.0  # two huge entries survive any shuffle
    a = layer_spectra(W, seed=5)[0]
    assert a.n_traps == 2 and a.traps.threshold < a.lambda_max
    b = layer_spectra(W, seed=5)[0]
    assert b.traps.to_dict() == a.traps.to_dict()  # seeded
    assert layer_spectra(W, traps=False)[0].traps is None


def test_mp_fit_refits_until_the_bulk_is_stable():
    lam = np.concatenate([np.full(99, 1.0), [1e6]])
    r = mp_fit(lam, 400, 100)
    np.testing.assert_allclose(r.sigma, np.sqrt(1.0 / 400))  # the bulk mean, without the spike
    assert r.n_spikes == 1 and r.n_iter == 2


# ---- the power-law tail ----------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [2.0, 2.5, 3.5])
def test_alpha_of_a_known_power_law_spectrum(alpha):
    hits = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        lam = (1 - rng.random(600)) ** (-1 / (alpha - 1))  # Pareto, p(lambda) ~ lambda^-alpha
        W = _with_spectrum(lam, 700, rng)
        np.testing.assert_allclose(esd(W).eigenvalues, np.sort(lam), rtol=1e-9)
        s = layer_spectra(W, xmin=1.0, traps=False)[0]
        # the exact MLE on the whole sample: within 3 standard errors
        assert abs(s.alpha - alpha) < 3 * s.alpha_stderr
        np.testing.assert_allclose(s.alpha_stderr, (s.alpha - 1) / np.sqrt(600))
        k = layer_spectra(W, traps=False)[0]  # xmin by KS: a smaller tail, a larger error
        assert k.xmin_rule == "ks" and abs(k.alpha - alpha) < 3 * k.alpha_stderr
        hits += abs(k.alpha - alpha) < k.alpha_stderr
    assert hits >= 2  # about 68 % of fits within one standard error


def test_norms_and_stable_rank_against_numpy():
    W = np.random.default_rng(6).standard_t(3, size=(120, 80))
    s = layer_spectra(W, traps=False)[0]
    fro2, spec2 = np.linalg.norm(W, "fro") ** 2, np.linalg.norm(W, 2) ** 2
    np.testing.assert_allclose(s.log_frobenius_norm, np.log10(fro2), rtol=1e-12)
    np.testing.assert_allclose(s.log_spectral_norm, np.log10(spec2), rtol=1e-12)
    np.testing.assert_allclose(s.stable_rank, fro2 / spec2, rtol=1e-12)
    np.testing.assert_allclose(s.alpha_weighted, s.alpha * np.log10(spec2), rtol=1e-12)


def _peak_rule_in_test(lam: np.ndarray, weightwatcher: bool) -> tuple[float, float, float]:
    """Both peak rules from their definitions: (peak, xmin, alpha), KS by scipy."""
    lam = np.sort(lam[lam > 1e-5]) if weightwatcher else np.sort(lam[lam > 0])
    counts, edges = np.histogram(np.log10(lam), bins=100)
    peak = 10 ** edges[np.argmax(counts)]
    lo = np.log10(0.95 * peak) if weightwatcher else 0.95 * peak
    cands = np.unique(lam[: len(lam) - 9])
    cands = cands[(cands >= lo) & (cands <= 1.5 * peak)]
    best = (np.inf, np.nan, np.nan)
    for c in cands:
        t = lam[lam >= c]
        a = 1 + len(t) / np.sum(np.log(t / c))
        d = st.kstest(t, lambda x, a=a, c=c: 1 - (x / c) ** (1 - a)).statistic
        if d < best[0]:
            best = (d, c, a)
    return peak, best[1], best[2]


def _peak_cases() -> list[np.ndarray]:
    rng = np.random.default_rng(8)
    out = []
    for df, scale in [(3, 0.03), (3, 3.0), (5, 0.3), (5, 0.003)]:  # heavy-tailed random W
        out.append(rng.standard_t(df, size=(400, 200)) * scale)
    for shift in (3.0, 30.0, 300.0):  # a Pareto ESD from 1 with a tight cluster above: the peak
        lam = np.concatenate([(1 - rng.random(300)) ** -1.0, shift * (1 + 0.01 * rng.random(60))])
        out.append(_with_spectrum(lam, 500, rng))
    return out


def test_peak_rule_fixed_and_weightwatcher_differ_exactly_where_the_units_bite():
    bites = agree = 0
    for W in _peak_cases():
        fixed = layer_spectra(W, xmin="peak", traps=False)[0]
        ww = layer_spectra(W, xmin="peak", compat="weightwatcher", traps=False)[0]
        for s, flag in ((fixed, False), (ww, True)):
            peak, xmin, alpha = _peak_rule_in_test(s.esd.eigenvalues, flag)
            assert s.xmin_rule == "peak" and s.peak == peak and s.xmin == xmin
            np.testing.assert_allclose(s.alpha, alpha, rtol=1e-12)
        assert fixed.peak == ww.peak
        assert ww.xmin_lo == np.log10(0.95 * ww.peak) and fixed.xmin_lo == 0.95 * fixed.peak
        bite = ww.xmin < 0.95 * ww.peak  # the peer's best xmin lies where only its bound reaches
        assert (ww.xmin != fixed.xmin) == bite and (ww.alpha != fixed.alpha) == bite
        bites += bite
        agree += not bite
    assert bites >= 2 and agree >= 2  # both cases are exercised


def test_weightwatcher_fits_only_eigenvalues_above_its_floor():
    rng = np.random.default_rng(13)
    lam = np.concatenate(
        [1e-6 * (1 + 0.01 * rng.random(150)), 1e-2 * (1 - rng.random(300)) ** -0.7]
    )
    W = _with_spectrum(lam, 500, rng)
    fixed = layer_spectra(W, xmin="peak", traps=False)[0]
    ww = layer_spectra(W, xmin="peak", compat="weightwatcher", traps=False)[0]
    for s, flag in ((fixed, False), (ww, True)):
        peak, xmin, alpha = _peak_rule_in_test(s.esd.eigenvalues, flag)
        assert s.peak == peak and s.xmin == xmin
        np.testing.assert_allclose(s.alpha, alpha, rtol=1e-12)
    assert fixed.peak < 1e-5 < ww.peak  # the cluster at 1e-6 is the peak only for the fixed rule


# ---- Delta W, inputs, parallel, results ------------------------------------------------------
def test_delta_of_identical_matrices_is_all_zeros():
    rng = np.random.default_rng(9)
    W = {"fc": rng.normal(size=(30, 20)), "conv": rng.normal(size=(8, 4, 3, 3))}
    D = layer_spectra(W, reference={k: v.copy() for k, v in W.items()})
    assert D.settings["delta"] and "changes" in repr(D)
    for s in D:
        np.testing.assert_array_equal(s.esd.eigenvalues, 0.0)
        assert np.isnan(s.alpha) and s.n_tail == 0 and s.note and s.mp.n_spikes == 0
    json.dumps(D.to_dict(), allow_nan=False)
    E = rng.normal(size=(30, 20))
    d = layer_spectra({"fc": W["fc"] + E}, reference=W, traps=False)["fc"]
    np.testing.assert_allclose(d.esd.eigenvalues, esd(E).eigenvalues, rtol=1e-9)


def test_inputs_graph_pairs_and_errors():
    rng = np.random.default_rng(10)
    mats = [rng.normal(size=(6, 5)).astype(np.float32), rng.normal(size=(5, 4)).astype(np.float32)]
    G = nd.from_matrices(mats)
    S = layer_spectra(G, traps=False)
    assert S.names == G.block_names
    for s, w in zip(S, mats):
        np.testing.assert_allclose(s.esd.eigenvalues, _svd_eigs(w.astype(np.float64)), rtol=1e-6)
    assert layer_spectra([("a", mats[0])], traps=False).names == ("a",)
    assert layer_spectra(mats, traps=False).names == ("0", "1")
    with pytest.raises(InputError, match="shape"):
        layer_spectra({"x": np.ones(5)})
    with pytest.raises(InputError, match="NaN"):
        layer_spectra({"x": np.full((3, 3), np.nan)})
    with pytest.raises(InputError, match="reference has no matrix"):
        layer_spectra({"x": mats[0]}, reference={"y": mats[0]})
    with pytest.raises(InputError, match="reference's is"):
        layer_spectra({"x": mats[0]}, reference={"x": mats[1]})
    with pytest.raises(InputError, match="no matrix"):
        layer_spectra({})
    for bad in ({"xmin": "mode"}, {"xmin": -1.0}, {"compat": "ww"}, {"method": "qr"}):
        with pytest.raises(InputError):
            layer_spectra(mats, **bad)


def test_parallel_is_bit_identical_to_serial():
    rng = np.random.default_rng(11)
    W = {f"m{i}": rng.standard_t(4, size=(300, 150 + 10 * i)) for i in range(4)}
    W["k"] = rng.normal(size=(32, 16, 3, 3))
    a = layer_spectra(W, xmin="peak", n_jobs=1, seed=2)
    b = layer_spectra(W, xmin="peak", n_jobs=2, seed=2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.esd.eigenvalues, y.esd.eigenvalues)
        assert x.to_dict() == y.to_dict()


def test_results_table_dict_and_repr():
    rng = np.random.default_rng(12)
    S = layer_spectra({"a": rng.normal(size=(50, 20)), "b": rng.normal(size=(8, 4, 3, 3))})
    df = S.to_frame()
    assert list(df["name"]) == ["a", "b"] and list(df["n_slices"]) == [1, 9]
    for col in ("alpha", "alpha_stderr", "ks", "alpha_weighted", "n_spikes", "n_traps", "method"):
        assert col in df.columns
    d = S.to_dict(eigenvalues=True)
    json.dumps(d, allow_nan=False)
    assert (
        len(d["matrices"][1]["eigenvalues"]) == 36
        and "eigenvalues" not in S.to_dict()["matrices"][0]
    )
    assert len(repr(S)) < 300 and len(repr(S["a"])) < 300 and "array" not in repr(S)
    with pytest.raises(KeyError):
        S["c"]
