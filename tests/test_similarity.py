"""Representation similarity measures: CKA, CCA, SVCCA, PWCCA, maps, streamed statistics."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group

from netsci_dl.analysis.similarity import (
    LinearCKAStats,
    SimilarityOptions,
    SimilarityWarning,
    TrainingSimilarity,
    cca,
    center_gram,
    cka,
    minibatch_cka,
    pwcca,
    similarity_matrix,
    similarity_over_training,
    snapshot_similarity,
    svcca,
)
from netsci_dl.errors import InputError


def _data(n=60, p=5, q=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    Y = X @ rng.normal(size=(p, q)) + rng.normal(size=(n, q))
    return X, Y


def _hsic_u(K, L):
    """Unbiased HSIC as the U-statistic over ordered distinct quadruples (Song et al. 2012)."""
    n = len(K)
    s = 0.0
    for i, j, q, r in itertools.permutations(range(n), 4):
        s += K[i, j] * L[i, j] + K[i, j] * L[q, r] - 2 * K[i, j] * L[i, q]
    return s / (n * (n - 1) * (n - 2) * (n - 3))


def _hkh_cka(X, Y):
    """Linear CKA through explicit centring matrices (the textbook Gram-space formula)."""
    n = len(X)
    H = np.eye(n) - np.ones((n, n)) / n
    K, L = H @ X @ X.T @ H, H @ Y @ Y.T @ H
    return np.sum(K * L) / (np.linalg.norm(K) * np.linalg.norm(L))


# ---------------------------------------------------------------------- CKA
@pytest.mark.parametrize(
    ("kernel", "debiased"), [("linear", False), ("linear", True), ("rbf", False), ("rbf", True)]
)
def test_cka_self_is_one(kernel, debiased):
    X, _ = _data()
    assert cka(X, X, kernel=kernel, debiased=debiased) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("kernel", "debiased"), [("linear", False), ("linear", True), ("rbf", False), ("rbf", True)]
)
def test_cka_invariances(kernel, debiased):
    X, Y = _data(seed=1)
    base = cka(X, Y, kernel=kernel, debiased=debiased)
    Q = ortho_group.rvs(Y.shape[1], random_state=3)
    for Z in (Y @ Q, 7.5 * Y, Y + np.arange(Y.shape[1]) * 10.0):
        np.testing.assert_allclose(cka(X, Z, kernel=kernel, debiased=debiased), base, atol=1e-10)


def test_cka_not_invariant_to_invertible_map_but_cca_is():
    X, Y = _data(n=200, seed=2)
    A = np.diag([1.0, 10.0, 0.1, 3.0, 1.0, 1.0, 20.0]) + np.triu(np.ones((7, 7)), 1)
    assert abs(np.linalg.det(A)) > 1e-6
    assert abs(cka(X, Y @ A) - cka(X, Y)) > 0.01
    np.testing.assert_allclose(cca(X, Y @ A).coefficients, cca(X, Y).coefficients, atol=1e-10)


@pytest.mark.parametrize("debiased", [False, True])
def test_feature_and_gram_space_agree(debiased):
    X, Y = _data(n=40, p=6, q=9, seed=4)
    f = cka(X, Y, debiased=debiased, space="feature")
    g = cka(X, Y, debiased=debiased, space="gram")
    assert abs(f - g) < 1e-12
    if not debiased:
        assert abs(f - _hkh_cka(X, Y)) < 1e-12


def test_wide_layers_use_gram_and_agree():
    X, Y = _data(n=20, p=50, q=30, seed=5)
    a = cka(X, Y, space="auto")
    assert abs(a - cka(X, Y, space="feature")) < 1e-12
    assert abs(a - _hkh_cka(X, Y)) < 1e-12


def test_debiased_equals_u_statistic():
    X, Y = _data(n=8, p=3, q=4, seed=6)
    K, L = X @ X.T, Y @ Y.T
    want = _hsic_u(K, L) / math.sqrt(_hsic_u(K, K) * _hsic_u(L, L))
    for space in ("feature", "gram"):
        assert abs(cka(X, Y, debiased=True, space=space) - want) < 1e-12


def test_cka_sqrt_k_over_p():
    rng = np.random.default_rng(7)
    n, p = 100, 9
    Q, _ = np.linalg.qr(rng.normal(size=(n, p)) - rng.normal(size=(n, p)).mean(0))
    Xc = Q - Q.mean(0)
    X, _ = np.linalg.qr(Xc)  # centred orthonormal, equal-norm columns
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-12)
    for k in (1, 3, 5, 9):
        assert abs(cka(X, X[:, :k]) - math.sqrt(k / p)) < 1e-12


@pytest.mark.parametrize("device", ["numpy", "cpu"])
def test_rbf_bandwidth_is_numpy_median_of_all_squared_distances(device):
    if device == "cpu":
        import torch  # noqa: F401
    from netsci_dl.analysis.similarity import rbf_gram
    from netsci_dl.analysis.similarity._sim_common import as_matrix

    # points 0, 1, 2, 4: the 16 squared distances (zeros included) sort to
    # 0 0 0 0 1 1 1 1 | 4 4 4 4 9 9 16 16, median (1 + 4) / 2 = 2.5 (not torch's lower median 1)
    x = as_matrix(
        np.array([[0.0], [1.0], [2.0], [4.0]]), "x", device=None if device == "numpy" else "cpu"
    )
    K = np.asarray(rbf_gram(x, 0.5))
    assert abs(K[0, 1] - math.exp(-1 / (2 * 0.25 * 2.5))) < 1e-15
    assert abs(K[0, 3] - math.exp(-16 / (2 * 0.25 * 2.5))) < 1e-15


def test_rbf_large_scale_tends_to_linear():
    X, Y = _data(n=50, seed=8)
    np.testing.assert_allclose(cka(X, Y, kernel="rbf", rbf_scale=1e4), cka(X, Y), atol=1e-6)
    assert abs(cka(X, Y, kernel="rbf") - cka(X, Y)) > 1e-3  # K19's 0.5 is really different


def test_independent_activations():
    rng = np.random.default_rng(9)
    biased, debiased = [], []
    for n in (50, 200, 800):
        pairs = ((rng.normal(size=(n, 10)), rng.normal(size=(n, 10))) for _ in range(10))
        vals = np.array([(cka(A, B), cka(A, B, debiased=True)) for A, B in pairs])
        biased.append(vals[:, 0].mean())
        debiased.append(vals[:, 1].mean())
    # biased CKA of independent data is large at few samples and falls ~ 1/n ...
    assert biased[0] > 0.1 and biased[0] > biased[1] > biased[2] and biased[0] / biased[2] > 8
    # ... the debiased estimator is centred on 0 at every n
    for b, d in zip(biased, debiased):
        assert abs(d) < 0.2 * b


def test_minibatch_one_batch_is_debiased():
    X, Y = _data(n=64, seed=10)
    assert abs(minibatch_cka(X, Y, batch_size=64) - cka(X, Y, debiased=True)) < 1e-12


def test_minibatch_is_ratio_of_averaged_hsic_not_mean_of_ckas():
    X, Y = _data(n=64, seed=11)
    Y[:32] *= 5.0  # the two halves weigh differently in the HSIC sums
    halves = [slice(0, 32), slice(32, 64)]
    mean_of_ckas = float(np.mean([cka(X[s], Y[s], debiased=True) for s in halves]))
    got = minibatch_cka(X, Y, batch_size=32)
    # per-batch unbiased HSIC through U-centred Gram matrices (a different route from the
    # feature-space formula minibatch_cka uses; checked against the U-statistic above)
    num = den_x = den_y = 0.0
    for s in halves:
        K = center_gram(X[s] @ X[s].T, unbiased=True)
        L = center_gram(Y[s] @ Y[s].T, unbiased=True)
        num, den_x, den_y = num + np.sum(K * L), den_x + np.sum(K * K), den_y + np.sum(L * L)
    assert abs(got - num / math.sqrt(den_x * den_y)) < 1e-12
    assert abs(got - mean_of_ckas) > 1e-4


def test_cka_constant_layer_is_nan_with_warning():
    X, _ = _data()
    with pytest.warns(SimilarityWarning, match="constant"):
        assert math.isnan(cka(X, np.ones((60, 3))))


def test_cka_bad_input():
    X, Y = _data()
    with pytest.raises(InputError, match="same examples"):
        cka(X, Y[:10])
    with pytest.raises(InputError, match="kernel"):
        cka(X, Y, kernel="poly")
    with pytest.raises(InputError, match="NaN"):
        cka(X, np.full_like(Y, np.nan))


# ---------------------------------------------------------------------- CCA family
def _views(rho, n=400, seed=12):
    rng = np.random.default_rng(seed)
    k = len(rho)
    Z = rng.normal(size=(n, 2 * k))
    Q, _ = np.linalg.qr(Z - Z.mean(0))
    rho = np.asarray(rho)
    A = Q[:, :k]
    B = A * rho + Q[:, k:] * np.sqrt(1 - rho**2)
    return A @ rng.normal(size=(k, k)), B @ rng.normal(size=(k, k)) + 3.0


def test_cca_known_correlations():
    X, Y = _views([0.9, 0.5, 0.1])
    r = cca(X, Y)
    np.testing.assert_allclose(r.coefficients, [0.9, 0.5, 0.1], atol=1e-12)
    assert abs(r.mean - 0.5) < 1e-12
    assert r.dims == (3, 3)


def test_cca_rank_deficient_view():
    X, Y = _views([0.8, 0.3])
    Xd = np.c_[X, X[:, 0] + X[:, 1], np.zeros(len(X))]  # two redundant columns
    r = cca(Xd, Y)
    assert r.dims == (2, 2)
    np.testing.assert_allclose(r.coefficients, [0.8, 0.3], atol=1e-10)


def test_cca_few_samples_warns_and_says_how_many():
    rng = np.random.default_rng(13)
    with pytest.warns(SimilarityWarning, match=r"at least 17 samples"):
        r = cca(rng.normal(size=(10, 8)), rng.normal(size=(10, 8)))
    np.testing.assert_allclose(r.coefficients[:7], 1.0, atol=1e-10)
    assert r.settings["trivial"] == 7


def test_svcca_variance_cut_and_fixed_k():
    rng = np.random.default_rng(14)
    n = 300
    Z = rng.normal(size=(n, 3))
    X = np.c_[Z * [10.0, 5.0, 2.0], 0.3 * rng.normal(size=(n, 6))]
    Y = Z @ ortho_group.rvs(3, random_state=1)
    r = svcca(X, Y)
    assert r.dims == (3, 3) and r.mean > 0.99
    s = r.spectra[0]
    frac = np.cumsum(s**2) / np.sum(s**2)
    assert frac[2] >= 0.99 > frac[1]
    r2 = svcca(X, Y, keep=2)
    assert r2.dims == (2, 2) and r2.coefficients.shape == (2,)
    r3 = svcca(X, Y, keep=0.99, criterion="mass")
    m = np.cumsum(s) / s.sum()
    assert r3.dims[0] == int(np.searchsorted(m, 0.99) + 1)
    assert r3.dims[0] > r.dims[0]  # the tiny noise directions carry mass, hardly variance


def test_pwcca_weights():
    X, Y = _views([0.9, 0.5, 0.1], seed=15)
    r = pwcca(X, Y)
    assert r.weights.shape == (3,) and abs(r.weights.sum() - 1) < 1e-12
    # hand computation: canonical variates of X, projections of the centred units on them
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Ux = np.linalg.svd(Xc, full_matrices=False)[0]
    Uy = np.linalg.svd(Yc, full_matrices=False)[0]
    P, rho, _ = np.linalg.svd(Ux.T @ Uy)
    H = Ux @ P
    w = np.abs(H.T @ Xc).sum(1)
    w /= w.sum()
    np.testing.assert_allclose(r.weights, w, atol=1e-10)
    assert abs(r.value - w @ rho) < 1e-12
    assert abs(r.mean - 0.5) < 1e-12
    ry = pwcca(X, Y, view="y")
    assert abs(ry.value - r.value) > 1e-6  # not symmetric


def test_cca_invalid_keep():
    X, Y = _data()
    with pytest.raises(InputError, match="keep"):
        svcca(X, Y, keep=1.5)
    with pytest.raises(InputError, match="criterion"):
        svcca(X, Y, criterion="energy")


# ---------------------------------------------------------------------- maps
def test_similarity_matrix_matches_pairs():
    X, Y = _data(n=80, seed=16)
    Z = np.tanh(X @ np.ones((5, 3)))
    A = {"x": X, "y": Y, "z": Z}
    for measure, f in (
        ("cka", lambda a, b: cka(a, b)),
        ("cka_debiased", lambda a, b: cka(a, b, debiased=True)),
        ("cka_rbf", lambda a, b: cka(a, b, kernel="rbf")),
        ("cca", lambda a, b: cca(a, b).mean),
        ("svcca", lambda a, b: svcca(a, b).mean),
        ("pwcca", lambda a, b: pwcca(a, b).value),
    ):
        M = similarity_matrix(A, measure=measure)
        want = np.array([[f(A[r], A[c]) for c in A] for r in A])
        np.testing.assert_allclose(M.values, want, atol=1e-12, err_msg=measure)
    df = similarity_matrix(A, {"x2": 2 * X}).to_frame()
    assert list(df.columns) == ["layer", "other_layer", "measure", "value"]
    assert df.shape == (3, 4) and df["value"].iloc[0] == pytest.approx(1.0)


def test_similarity_matrix_minibatch_and_warnings_once():
    rng = np.random.default_rng(17)
    A = [rng.normal(size=(12, 10)) for _ in range(3)]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        similarity_matrix(A, measure="svcca")
    msgs = [str(x.message) for x in w if issubclass(x.category, SimilarityWarning)]
    assert msgs and len(msgs) == len(set(msgs))
    M = similarity_matrix(A[:2], measure="cka_minibatch", options=SimilarityOptions(batch_size=12))
    assert abs(M.values[0, 1] - cka(A[0], A[1], debiased=True)) < 1e-12


# ---------------------------------------------------------------------- streaming
@settings(max_examples=15, deadline=None)
@given(
    batch=st.integers(4, 40),
    shift=st.floats(-1e3, 1e3),
    seed=st.integers(0, 1000),
)
def test_streamed_stats_equal_in_memory(batch, shift, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(90, 4)) + shift
    Y = np.c_[X[:, :2] ** 2, rng.normal(size=(90, 3))]
    stt = LinearCKAStats([4, 5], [(0, 1)])
    for i in range(0, 90, batch):
        stt.update([X[i : i + batch], Y[i : i + batch]])
    assert abs(stt.cka(0, 1) - cka(X, Y)) < 1e-9
    assert abs(stt.cka(0, 1, debiased=True) - cka(X, Y, debiased=True)) < 1e-9
    if 90 % batch == 0:
        assert abs(stt.minibatch_cka(0, 1) - minibatch_cka(X, Y, batch_size=batch)) < 1e-9


def test_streamed_minibatch_equals_minibatch_cka():
    X, Y = _data(n=90, seed=22)
    X += 50.0
    stt = LinearCKAStats([5, 7], [(0, 1)])
    for i in range(0, 90, 30):
        stt.update([X[i : i + 30], Y[i : i + 30]])
    assert abs(stt.minibatch_cka(0, 1) - minibatch_cka(X, Y, batch_size=30)) < 1e-10
    assert stt.n_batches == 3


# ---------------------------------------------------------------------- over training
def _run(seed=18, S=5):
    rng = np.random.default_rng(seed)
    final = {"h1": rng.normal(size=(70, 6)), "h2": rng.normal(size=(70, 4))}
    snaps = []
    for s in range(S):
        noise = (S - 1 - s) / (S - 1)
        # h1 settles early (noise gone by step 2), h2 late
        a = {
            "h1": final["h1"] + 3 * max(noise - 0.5, 0) * rng.normal(size=(70, 6)),
            "h2": final["h2"] + 3 * noise * rng.normal(size=(70, 4)),
        }
        snaps.append((a if s < S - 1 else final, {"step": 10 * s, "epoch": s, "label": f"s{s}"}))
    return snaps


def test_similarity_over_training():
    snaps = _run()
    T = similarity_over_training(snaps)
    assert isinstance(T, TrainingSimilarity)
    assert T.layers == ("h1", "h2") and T.reference == "s4"
    np.testing.assert_allclose(T.to_reference[-1], 1.0, atol=1e-12)
    np.testing.assert_allclose(T.to_reference[2, 0], 1.0, atol=1e-12)  # h1 at its final value
    assert T.to_reference[2, 1] < 0.9
    c = T.converged_at(0.99)
    assert c.tolist() == [20.0, 40.0] and T.bottom_up(0.99)
    want = snapshot_similarity(snaps[1][0], snaps[-1][0], info=snaps[1][1])
    np.testing.assert_allclose(T.cross[1], want.to_reference, atol=1e-12)
    np.testing.assert_allclose(T.within[1], want.within, atol=1e-12)
    df = T.to_frame()
    assert list(df.columns) == [
        "snapshot",
        "step",
        "epoch",
        "layer",
        "other_layer",
        "measure",
        "value",
        "comparison",
    ]
    assert len(df) == 5 * (4 + 4)
    row = df[(df.snapshot == "s1") & (df.layer == "h2") & (df.other_layer == "h1")]
    assert set(row.comparison) == {"reference", "within"}
    d = T.to_dict()
    assert d["snapshots"][0]["to_reference"][0][0] == pytest.approx(T.cross[0, 0, 0])


def test_training_layers_must_match():
    snaps = _run()
    snaps[1] = ({"h1": snaps[1][0]["h1"]}, snaps[1][1])
    with pytest.raises(InputError, match="same layers"):
        similarity_over_training(snaps)


# ---------------------------------------------------------------------- backends
def _all_measures(A, device):
    opts = SimilarityOptions(device=device, batch_size=20, keep=0.99)
    return {
        m: similarity_matrix(A, measure=m, options=opts).values
        for m in (
            "cka",
            "cka_debiased",
            "cka_rbf",
            "cka_rbf_debiased",
            "cka_minibatch",
            "cca",
            "svcca",
            "pwcca",
        )
    }


def _layers(seed=19):
    X, Y = _data(n=60, p=5, q=8, seed=seed)
    return {"x": X, "y": Y, "z": np.tanh(Y[:, :3] @ np.ones((3, 4)))}


def test_torch_backend_equals_numpy():
    import torch  # noqa: F401

    A = _layers()
    ref, got = _all_measures(A, "numpy"), _all_measures(A, "cpu")
    for m in ref:
        np.testing.assert_allclose(got[m], ref[m], atol=1e-10, err_msg=m)
    X, Y = A["x"], A["y"]
    assert abs(cka(X, Y, device="cpu", space="gram") - cka(X, Y, device="numpy")) < 1e-12
    np.testing.assert_allclose(
        pwcca(X, Y, device="cpu").weights, pwcca(X, Y, device="numpy").weights, atol=1e-10
    )


def test_auto_backend_large_inputs_use_torch(monkeypatch):
    import torch  # noqa: F401

    from netsci_dl.analysis.similarity import _sim_common

    A = _layers(seed=20)
    ref = _all_measures(A, "numpy")
    monkeypatch.setattr(_sim_common, "TORCH_AUTO_MIN", 10)  # these small layers count as large
    assert _sim_common.backend_for(None, A["x"]).type == "cpu"
    got = _all_measures(A, None)
    for m in ref:
        np.testing.assert_allclose(got[m], ref[m], atol=1e-10, err_msg=m)


@pytest.mark.gpu
def test_cuda_backend_equals_numpy():
    A = _layers(seed=21)
    ref, got = _all_measures(A, "numpy"), _all_measures(A, "cuda")
    for m in ref:
        np.testing.assert_allclose(got[m], ref[m], atol=1e-9, err_msg=m)
    stt = LinearCKAStats([5, 8], [(0, 1)], device="cuda")
    for i in range(0, 60, 16):
        stt.update([A["x"][i : i + 16], A["y"][i : i + 16]])
    assert abs(stt.cka(0, 1, debiased=True) - cka(A["x"], A["y"], debiased=True)) < 1e-9


@pytest.mark.parametrize("device", ["numpy", "cpu"])
def test_inputs_are_never_modified(device):
    import torch

    X, Y = _data(n=40, seed=23)
    X0, Y0 = X.copy(), Y.copy()
    T = torch.from_numpy(Y.copy())
    cka(X, T, device=device)
    svcca(X, T, device=device)
    pwcca(X, Y, device=device)
    similarity_matrix({"x": X, "y": T}, measure="cca", options=SimilarityOptions(device=device))
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)
    np.testing.assert_array_equal(T.numpy(), Y0)


def test_read_only_arrays_on_the_torch_backend():
    # activations come read-only; the torch backend copies them (torch would warn, and the
    # arrays must not change) and gives the numpy backend's value
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(40, 6)), rng.normal(size=(40, 5)).astype(np.float32)
    X0, Y0 = X.copy(), Y.copy()
    X.setflags(write=False)
    Y.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = cka(X, Y, device="cpu")
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)
    np.testing.assert_allclose(v, cka(X0, Y0), rtol=1e-12)
