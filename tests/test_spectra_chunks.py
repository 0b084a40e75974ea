"""The chunked eigenvalues of a large matrix (analysis.spectra._esd): the Gram matrix summed
from chunks of rows in float64, or the R factor of a QR updated chunk by chunk, never the whole
matrix in float64; equal to scipy's singular values squared, the same for a lazy tensor read by
rows as for the array, and the choice Gram vs SVD the same as the whole-matrix rule."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

import netsci_dl.analysis.spectra._esd as E
from netsci_dl.analysis import layer_spectra
from netsci_dl.analysis.spectra import esd
from netsci_dl.errors import InputError


def _svd_eigs(W: np.ndarray) -> np.ndarray:
    return np.sort(scipy.linalg.svdvals(np.asarray(W, dtype=np.float64)) ** 2)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks of 64 KB: a 300 x 40 float64 matrix (96 KB) takes two."""
    monkeypatch.setattr(E, "CHUNK_BYTES", 64 << 10)
    return 64 << 10


def _well_conditioned(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    return rng.normal(size=(n, m)).astype(np.float32)  # q = n / m >= 4: lambda_min >> 0


def _ill_conditioned(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    u, _ = np.linalg.qr(rng.normal(size=(n, m)))
    v, _ = np.linalg.qr(rng.normal(size=(m, m)))
    return (u * np.logspace(0, -6, m)) @ v.T  # lambda_max / lambda_min = 1e12


@pytest.mark.parametrize("orient", ["tall", "wide"])
@pytest.mark.parametrize("kind", ["well", "ill"])
def test_chunked_eigenvalues_equal_scipys_svd_squared(small_chunks, orient, kind) -> None:
    rng = np.random.default_rng(0)
    W = (_well_conditioned if kind == "well" else _ill_conditioned)(rng, 700, 40)
    W = W if orient == "tall" else W.T.copy()
    ref = _svd_eigs(W)
    for method in ("auto", "svd"):
        e = esd(W, method=method)
        # every eigenvalue to 1e-10 of itself (what "auto" promises; the QR-updated SVD is
        # backward stable like the SVD of the whole)
        np.testing.assert_allclose(e.eigenvalues, ref, rtol=1e-10, atol=0)
        assert (e.n, e.m, e.n_slices) == (700, 40, 1)
    assert esd(W).method == ("gram" if kind == "well" else "svd")
    # forced Gram: the absolute error of a Gram route, ~ n eps lambda_max
    np.testing.assert_allclose(esd(W, method="gram").eigenvalues, ref, atol=1e-12 * ref[-1])
    assert 8 * W.size > 3 * E.CHUNK_BYTES  # several chunks were summed


def test_chunks_equal_the_whole_matrix_route(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same matrix in one chunk (the whole) and in many: equal to 1e-10 relative."""
    rng = np.random.default_rng(1)
    for W in (_well_conditioned(rng, 500, 30), _ill_conditioned(rng, 500, 30)):
        whole = esd(W)
        monkeypatch.setattr(E, "CHUNK_BYTES", 8 << 10)
        parts = esd(W)
        monkeypatch.undo()
        assert parts.method == whole.method
        np.testing.assert_allclose(parts.eigenvalues, whole.eigenvalues, rtol=1e-10, atol=0)


def test_the_order_of_the_routes_never_changes_the_choice(monkeypatch) -> None:
    """Below n / m = 2 the tridiagonal route runs first, above it the plain eigensolve: over
    matrices whose condition numbers straddle the Gram's limit, both orders choose the same
    method (the Gram where its eigenvalues are accurate, else the refinement, else the SVD)
    and give eigenvalues equal to 1e-12."""
    rng = np.random.default_rng(2)
    n, m = 400, 50
    u, _ = np.linalg.qr(rng.normal(size=(n, m)))
    v, _ = np.linalg.qr(rng.normal(size=(m, m)))
    methods = set()
    for cond in np.geomspace(1.0, 1e9, 40):
        W = (u * np.sqrt(np.geomspace(1.0, 1.0 / cond, m))) @ v.T
        plain = esd(W)  # n / m = 8: the plain eigensolve first
        with monkeypatch.context() as mp:
            mp.setattr(E, "_RITZ_FIRST_Q", 10.0)
            tri = esd(W)
        assert plain.method == tri.method, cond
        np.testing.assert_allclose(plain.eigenvalues, tri.eigenvalues, rtol=1e-12, atol=0)
        accurate = E._gram_is_accurate(np.linalg.eigvalsh(W.T @ W), n)
        assert (plain.method == "gram") == accurate, cond
        methods.add(plain.method)
    assert methods == {"gram", "gram+ritz", "svd"}  # the range reaches all three routes
    assert esd(np.zeros((30, 20))).method == "gram"  # all zero: the Gram is exact
    assert esd(np.zeros((30, 20)), method="svd").method == "svd"


def test_lazy_rows_give_the_same_eigenvalues_as_the_array(small_chunks, tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    from netsci_dl.export import open_lazy

    rng = np.random.default_rng(3)
    arrs = {"sq": rng.normal(size=(90, 90)).astype(np.float32),  # in open_lazy's order
            "tall": rng.normal(size=(300, 40)).astype(np.float16),
            "wide": rng.normal(size=(40, 300)).astype(np.float32)}  # fmt: skip
    save_file(arrs, str(tmp_path / "m.safetensors"))
    lazy, _, _ = open_lazy(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(lazy["wide"].read_rows(5, 9), arrs["wide"][5:9])
    for k, v in arrs.items():
        a, b = esd(lazy[k]), esd(v)
        np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)  # the same chunks
        np.testing.assert_allclose(a.eigenvalues, _svd_eigs(v), rtol=1e-10)
    # Delta W read by rows, and the shuffled matrix (traps), equal to the arrays' results
    ref = {k: np.asarray(v) * 0.5 for k, v in arrs.items()}
    S_l = layer_spectra(lazy, reference=ref, seed=1)
    S_a = layer_spectra(arrs, reference=ref, seed=1)
    for x, y in zip(S_l, S_a, strict=True):
        np.testing.assert_array_equal(x.esd.eigenvalues, y.esd.eigenvalues)
        assert x.n_traps == y.n_traps and x.traps.sigma == y.traps.sigma
        np.testing.assert_allclose(
            x.esd.eigenvalues, _svd_eigs(arrs[x.name].astype(np.float64) * 0.5), rtol=1e-10
        )


def test_non_finite_entries_in_a_later_chunk_are_named(small_chunks) -> None:
    W = np.ones((700, 40))
    W[650, 3] = np.nan
    with pytest.raises(InputError, match="NaN or infinite"):
        esd(W)
    with pytest.raises(InputError, match="NaN or infinite"):
        esd(W.T)


def test_peak_memory_is_a_chunk_and_the_gram_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 40000 x 100 float32 matrix (32 MB as float64) with 1 MB chunks: the allocations of the
    eigenvalues (Gram and QR routes) stay near two chunks, far below its float64 copy."""
    monkeypatch.setattr(E, "CHUNK_BYTES", 1 << 20)
    W = np.random.default_rng(4).normal(size=(40000, 100)).astype(np.float32)
    whole_f64 = W.size * 8
    for method in ("gram", "svd"):
        tracemalloc.start()
        e = esd(W, method=method)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert e.method == method
        # a chunk, its temporaries (B^T B, the stacked [R; B]) and the m x m matrices
        assert peak < 4 * (1 << 20) + 10 * 100 * 100 * 8, (method, peak)
        assert peak < whole_f64 / 4


def test_the_peers_xmin_scan_equals_its_formula_candidate_by_candidate() -> None:
    """compat="weightwatcher", xmin=None: the vectorised scan against a loop over candidates
    written from the formula (alpha_i = 1 + n_i / sum log(x_j / x_i); the one-sided KS
    distance over the tail; the first minimum)."""
    from netsci_dl.analysis.spectra._layer_spectra import _ww_scan

    rng = np.random.default_rng(5)
    for N in (20, 57, 300):
        x = np.sort(rng.pareto(1.5, size=N) + 0.1)
        best = (np.inf, -1, np.nan)
        for i in range(N - 1):
            tail = x[i:]
            n = len(tail)
            a = 1 + n / np.sum(np.log(tail / x[i]))
            if not a > 1:
                continue
            cdf = 1 - (tail / x[i]) ** (1 - a)
            d = float(np.max(np.abs(cdf - np.arange(n) / n)))
            if d < best[0]:
                best = (d, i, a)
        got = _ww_scan(x)
        assert got["xmin"] == x[best[1]] and got["n_tail"] == N - best[1]
        np.testing.assert_allclose([got["ks"], got["alpha"]], [best[0], best[2]], rtol=1e-12)
