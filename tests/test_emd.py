"""Pairwise EMD engine: oracles are POT ``ot.emd2`` and ``scipy.stats.wasserstein_distance``."""

from __future__ import annotations

import json
import time

import numpy as np
import ot
import pylmcf  # noqa: F401
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist, squareform

from netsci_dl.analysis.fields._emd_grid import direction_bound, directions, round_to_units
from netsci_dl.analysis.fields._emd_workers import _auto_size, pair_index, tiles
from netsci_dl.analysis.fields.emd import (
    EMDOptions,
    EMDResult,
    SignedFields,
    emd_matrix,
    grid_error_bound,
)


def _coords(h: int, w: int) -> np.ndarray:
    ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return np.stack([ii.ravel(), jj.ravel()], 1).astype(float)


def _pot_matrix(F: np.ndarray, metric: str) -> np.ndarray:
    n, h, w = F.shape
    P = F.reshape(n, -1) / F.reshape(n, -1).sum(1, keepdims=True)
    X = _coords(h, w)
    M = cdist(X, X, metric=metric)
    D = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            D[i, j] = D[j, i] = ot.emd2(P[i], P[j], M, numItermax=10**7)
    return D


def _blobs(n: int, h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    F = np.zeros((n, h, w))
    for k in range(n):
        for _ in range(rng.integers(1, 4)):
            ci, cj, s = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.7, 2.0)
            F[k] += np.exp(-((ii - ci) ** 2 + (jj - cj) ** 2) / (2 * s * s))
        F[k][F[k] < 0.05 * F[k].max()] = 0  # truncated: many empty pixels
    return F


def _run(F, **kw):
    """emd_matrix with the fine settings (neighbourhood=, seed=, ...) as an EMDOptions."""
    fine = {
        k: kw.pop(k) for k in ("neighbourhood", "sinkhorn_reg", "error_sample", "seed") if k in kw
    }
    kw.setdefault("n_jobs", 1)
    kw.setdefault("progress", False)
    return emd_matrix(F, options=EMDOptions(**fine), **kw)


def test_old_keywords_are_gone():
    F = _blobs(5, 6, 6, 3)
    for kw in ("neighbourhood", "sinkhorn_reg", "error_sample", "seed", "neighborhood"):
        with pytest.raises(TypeError, match=kw):  # the 0.1 keywords: options=EMDOptions(...)
            emd_matrix(F, **{kw: 16}, n_jobs=1, progress=False)
    assert _run(F, neighbourhood=16).neighbourhood == 16
    with pytest.raises(ValueError, match="EMDOptions"):
        emd_matrix(F, options={"neighbourhood": 16}, n_jobs=1, progress=False)


# ---- exactness against POT ------------------------------------------------------------------
def test_manhattan_grid_equals_pot_cityblock():
    F = np.abs(np.random.default_rng(0).normal(size=(6, 7, 9)))
    ref = _pot_matrix(F, "cityblock")
    for method in ("grid", "exact"):
        r = _run(F, ground="manhattan", method=method)
        np.testing.assert_allclose(r.matrix, ref, rtol=1e-9, atol=0)
        assert r.error_bound == 0.0
        assert r.method == "exact"
        assert r.neighbourhood == 4


def test_euclidean_exact_equals_pot_dense():
    F = np.vstack([np.abs(np.random.default_rng(1).normal(size=(4, 6, 5))), _blobs(3, 6, 5, 2)])
    r = _run(F, method="exact")
    np.testing.assert_allclose(r.matrix, _pot_matrix(F, "euclidean"), rtol=1e-9, atol=1e-15)
    assert r.error_bound == 0.0
    assert r.neighbourhood is None


@pytest.mark.parametrize("nb", [8, 16, 32, 48, 80])
def test_euclidean_grid_upper_bound_within_stated_bound(nb):
    F = np.vstack([_blobs(5, 9, 9, nb), np.abs(np.random.default_rng(nb).normal(size=(2, 9, 9)))])
    exact = squareform(_pot_matrix(F, "euclidean"), checks=False)
    r = _run(F, neighbourhood=nb)
    assert r.error_bound == pytest.approx(grid_error_bound(nb))
    rel = r.condensed / exact - 1
    assert (rel >= -1e-9).all(), rel.min()
    assert (rel <= r.error_bound + 1e-9).all(), rel.max()


def test_error_bounds_match_published_values():
    # Bassetti, Gualandi & Veneroni: 8.24%, 2.75%, 1.31%, 0.755%, 0.49% for L = 1..5
    got = [100 * direction_bound(L) for L in range(1, 6)]
    np.testing.assert_allclose(got, [8.24, 2.75, 1.31, 0.755, 0.49], atol=0.006)
    assert [len(directions(L)) for L in range(6)] == [4, 8, 16, 32, 48, 80]


# ---- 1-D -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{"ground": "manhattan"}, {}, {"method": "exact"}])
def test_one_dimensional_against_scipy(kw):
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(3)
    w = 17
    F = rng.random((5, w)) * (rng.random((5, w)) < 0.6)
    F[:, 0] += 0.1
    r = _run(F, grid_shape=(1, w), **kw)
    x = np.arange(w, dtype=float)
    ref = [wasserstein_distance(x, x, F[i], F[j]) for i in range(5) for j in range(i + 1, 5)]
    np.testing.assert_allclose(r.condensed, ref, rtol=1e-9)


# ---- metric properties (hypothesis) ---------------------------------------------------------
fields_3 = st.integers(4, 5).flatmap(
    lambda s: st.lists(
        st.lists(st.integers(0, 5), min_size=s * s, max_size=s * s).filter(lambda v: sum(v) > 0),
        min_size=3,
        max_size=3,
    ).map(lambda L: np.array(L, dtype=float).reshape(3, s, s))
)


@settings(max_examples=20, deadline=None)
@given(F=fields_3, kw=st.sampled_from([{"ground": "manhattan"}, {"method": "exact"}, {}]))
def test_metric_properties(F, kw):
    F = np.concatenate([F, F[:1]])  # field 3 == field 0
    D = _run(F, **kw).matrix
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0)
    assert D[0, 3] == 0.0
    assert (D >= 0).all()
    if kw:  # exact modes are metrics: triangle inequality
        for i, j, k in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
            assert D[i, j] <= D[i, k] + D[k, j] + 1e-9


# ---- engine: workers, resume, pairs -----------------------------------------------------------
def test_pair_index_is_pdist_order():
    for n in (2, 3, 7, 40):
        i, j = np.triu_indices(n, 1)
        gi, gj = pair_index(n, np.arange(n * (n - 1) // 2))
        np.testing.assert_array_equal(gi, i)
        np.testing.assert_array_equal(gj, j)


def test_round_to_units_exact_sum():
    rng = np.random.default_rng(4)
    F = rng.random((20, 50)) * (rng.random((20, 50)) < 0.5) + 1e-300
    for S in (10**10, 10**15):
        U = round_to_units(F, S)
        assert (U.sum(1) == S).all()
        assert (U >= 0).all()
        assert np.abs(U - S * F / F.sum(1, keepdims=True)).max() <= 1 + 1e-6 * S / 1e9


@pytest.mark.parametrize("kw", [{"ground": "manhattan"}, {"neighbourhood": 16}])
def test_same_numbers_for_any_worker_count(kw):
    F = _blobs(12, 8, 8, 5)
    r1 = _run(F, n_jobs=1, chunk_size=7, **kw)
    r2 = _run(F, n_jobs=2, chunk_size=7, **kw)
    np.testing.assert_array_equal(r1.condensed, r2.condensed)
    assert r2.timings["n_jobs"] == 2


def _on_disk(ck) -> np.ndarray:
    """Pairs a restart will not compute: done flags plus tile files not yet merged."""
    done = np.load(ck / "done.npy").copy()
    for f in (ck / "tiles").glob("*.npz"):
        done[np.load(f)["idx"]] = True
    return done


def _quiescent(folder, *, quiet_s=1.0, timeout_s=60.0):
    """Wait until ``folder`` holds no partial tile and its listing stays the same for quiet_s."""
    t0, last, since = time.monotonic(), None, time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        now = sorted(p.name for p in folder.iterdir())
        if now != last or any(n.endswith(".part") for n in now):
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.05)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_interrupt_and_resume(tmp_path, n_jobs):
    F = _blobs(10, 7, 7, 6)  # 45 pairs
    full = _run(F, ground="manhattan")
    ck = tmp_path / "ck"
    calls = []

    def stop(done, total):
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(F, ground="manhattan", checkpoint=str(ck), chunk_size=5, n_jobs=n_jobs, callback=stop)
    done = np.load(ck / "done.npy")
    assert 0 < done.sum() < 45
    vals = np.load(ck / "values.npy")
    np.testing.assert_array_equal(vals[done], full.condensed[done])
    _quiescent(ck / "tiles")  # loky workers may still finish the tiles they had started
    kept = _on_disk(ck)
    r = _run(F, ground="manhattan", checkpoint=str(ck), chunk_size=4, n_jobs=n_jobs)
    assert r.timings["pairs_computed"] == 45 - kept.sum()
    np.testing.assert_array_equal(r.condensed, full.condensed)
    assert np.load(ck / "done.npy").all()
    assert not list((ck / "tiles").iterdir())
    r = _run(F, ground="manhattan", checkpoint=str(ck))  # complete: nothing to do
    assert r.timings["pairs_computed"] == 0
    np.testing.assert_array_equal(r.condensed, full.condensed)


def test_tile_files_left_by_a_stopped_run_are_merged(tmp_path):
    F = _blobs(9, 6, 6, 12)  # 36 pairs
    full = _run(F, ground="manhattan")
    ck = tmp_path / "ck"
    _run(F[:2], ground="manhattan")  # warm-up, unrelated
    with pytest.raises(KeyboardInterrupt):
        _run(F, ground="manhattan", checkpoint=str(ck), chunk_size=2, callback=_raise)
    # pairs 0, 1 are done; a worker of the stopped run finished pairs 3..19 after the stop
    idx = np.arange(3, 20)
    np.savez(ck / "tiles" / "oldrun-0000001.npz", idx=idx, values=full.condensed[idx])
    (ck / "tiles" / "oldrun-0000002.npz.123.part").write_bytes(b"half written")
    r = _run(F, ground="manhattan", checkpoint=str(ck), chunk_size=5)
    assert r.timings["pairs_computed"] == 36 - 2 - 17
    np.testing.assert_array_equal(r.condensed, full.condensed)


def test_old_checkpoint_without_tiles_folder_resumes(tmp_path):
    F = _blobs(6, 5, 5, 13)  # 15 pairs
    full = _run(F, ground="manhattan")
    ck = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        _run(F, ground="manhattan", checkpoint=str(ck), chunk_size=5, callback=_raise)
    (ck / "tiles").rmdir()
    r = _run(F, ground="manhattan", checkpoint=str(ck), chunk_size=4)
    assert r.timings["pairs_computed"] == 10
    np.testing.assert_array_equal(r.condensed, full.condensed)


def _raise(done, total):
    raise KeyboardInterrupt


# ---- tilings: every pending pair in exactly one tile, results independent of them ------------
@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 30), size=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_tiles_partition_the_pending_pairs(n, size, seed):
    n_pairs = n * (n - 1) // 2
    done = np.random.default_rng(seed).random(n_pairs) < 0.3
    pending = np.flatnonzero(~done)
    ts = tiles(pending, size)
    assert all(1 <= len(t) <= size for t in ts)
    got = np.concatenate(ts) if ts else np.array([], np.int64)
    np.testing.assert_array_equal(got, pending)  # in order, each once, no done pair


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.one_of(st.none(), st.integers(1, 40)), min_size=1, max_size=3),
    stop_after=st.integers(1, 4),
)
def test_every_pair_computed_exactly_once_over_tilings(sizes, stop_after):
    """Runs stopped after ``stop_after`` tiles and resumed with other tilings (None = automatic):
    each pair is solved exactly once in all, and the matrix is the uninterrupted one."""
    import tempfile
    from pathlib import Path
    from unittest import mock

    from netsci_dl.analysis.fields import _emd_grid

    F = _EXACT_ONCE_F
    ref = _run(F, ground="manhattan", chunk_size=78).condensed  # one tile, no checkpoint
    solved: list[tuple[int, int]] = []
    spec = _emd_grid.Spec("grid", (5, 5), L=0, ground="manhattan")
    cls = type(_emd_grid.make_solver(spec, (np.full((2, 25), 0.04),)))  # the engine in use
    call = cls.__call__  # the compiled engine solves a tile's pairs in one call, not by one()

    def counting(self, rows, cols):
        solved.extend(zip(np.asarray(rows).tolist(), np.asarray(cols).tolist(), strict=True))
        return call(self, rows, cols)

    with (
        tempfile.TemporaryDirectory() as d,
        mock.patch.object(cls, "__call__", counting),
    ):
        ck = str(Path(d) / "ck")
        for k, size in enumerate(sizes):
            calls = []

            def stop(done, total, calls=calls):
                calls.append(done)
                if len(calls) == stop_after:
                    raise KeyboardInterrupt

            last = k == len(sizes) - 1
            try:
                r = _run(
                    F,
                    ground="manhattan",
                    checkpoint=ck,
                    chunk_size=size,
                    callback=None if last else stop,
                )
            except KeyboardInterrupt:
                pass
    assert sorted(solved) == list(zip(*(a.tolist() for a in np.triu_indices(len(F), 1))))
    np.testing.assert_array_equal(r.condensed, ref)


_EXACT_ONCE_F = _blobs(13, 5, 5, 14)  # 78 pairs


def test_automatic_tiles_are_sized_to_the_work():
    # 5 ms a pair, 124,750 pairs on 2 workers: 2 s tiles (the upper limit), 312 of them
    assert _auto_size(0.005, 124_750, 2) == 400
    # short jobs: tiles of at least 0.1 s, even if that leaves fewer than 16 per worker
    assert _auto_size(0.001, 1000, 2) == 100
    assert _auto_size(0.001, 30, 2) == 30  # never more than the pending pairs
    assert _auto_size(0.5, 10, 2) == 1  # slow pairs: one a tile
    # in between: 16 tiles per worker
    assert _auto_size(0.001, 64_000, 2) == 2000
    r = _run(_blobs(30, 8, 8, 15), neighbourhood=16)  # 435 pairs: a few timed, then tiles
    t = r.timings
    assert t["pairs_computed"] == 435
    cut = (
        435 - t["n_tiles"] * t["tile_pairs"]
    )  # pairs timed before the cut (<= 32), or a last short tile
    assert -t["tile_pairs"] < cut <= 32


def test_checkpoint_refuses_other_fields_or_settings(tmp_path):
    F = _blobs(4, 5, 5, 7)
    ck = str(tmp_path / "ck")
    _run(F, ground="manhattan", checkpoint=ck)
    with pytest.raises(ValueError, match="other fields or settings"):
        _run(F[::-1].copy(), ground="manhattan", checkpoint=ck)
    with pytest.raises(ValueError, match="other fields or settings"):
        _run(F, neighbourhood=8, checkpoint=ck)
    with pytest.raises(FileNotFoundError):
        _run(F, checkpoint=str(tmp_path / "missing" / "ck"))


# ---- signed, sinkhorn, results, errors ------------------------------------------------------
def test_signed_path_is_emd_of_crossed_sums():
    rng = np.random.default_rng(8)
    R = rng.normal(size=(4, 5, 5))
    tot = np.abs(R).reshape(4, -1).sum(1)[:, None, None]
    S = SignedFields(np.maximum(R, 0) / tot, np.maximum(-R, 0) / tot)
    r = _run(S, method="exact")
    assert r.signed
    X = _coords(5, 5)
    M = cdist(X, X)
    for k, (i, j) in enumerate(zip(*np.triu_indices(4, 1), strict=True)):
        u = (S.pos[i] + S.neg[j]).ravel()
        v = (S.pos[j] + S.neg[i]).ravel()
        ref = ot.emd2(u / u.sum(), v / v.sum(), M)
        assert r.condensed[k] == pytest.approx(ref, rel=1e-9)
    g = _run(S, ground="manhattan", n_jobs=2, chunk_size=2)
    assert (g.condensed > 0).all()
    with pytest.raises(ValueError, match="no positive part"):
        _run(SignedFields(np.stack([0 * S.pos[0], S.pos[1]]), np.stack([S.neg[0], 0 * S.neg[1]])))


def test_sinkhorn_is_explicit_and_unbounded():
    F = _blobs(4, 6, 6, 9)
    r = _run(F, method="sinkhorn", sinkhorn_reg=0.1)
    exact = _run(F, method="exact")
    assert r.error_bound is None
    assert r.method == "sinkhorn"
    np.testing.assert_allclose(r.condensed, exact.condensed, rtol=0.3)
    with pytest.raises(ValueError, match="sinkhorn_reg"):
        _run(F, method="sinkhorn", sinkhorn_reg=0)


def test_result_object_and_error_sample():
    F = _blobs(8, 8, 8, 10)
    r = _run(F, neighbourhood=8, error_sample=10, seed=1)
    assert isinstance(r, EMDResult)
    assert r.n_pairs == 28
    assert r.condensed.shape == (28,)
    assert r.matrix.shape == (8, 8)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["neighbourhood"] == 8
    assert d["n_pairs"] == 28
    se = r.sample_error
    assert se["pairs"] == 10
    assert 0 <= se["mean_rel_error"] <= r.error_bound + 1e-9
    assert se["max_abs_rel_error"] <= r.error_bound + 1e-9
    one = _run(F[:1])
    assert one.condensed.shape == (0,)
    assert one.matrix.shape == (1, 1)


def test_flat_fields_and_errors():
    F = _blobs(3, 4, 5, 11)
    a = _run(F, ground="manhattan").condensed
    b = _run(F.reshape(3, 20), grid_shape=(4, 5), ground="manhattan").condensed
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="grid_shape"):
        _run(F.reshape(3, 20))
    with pytest.raises(ValueError, match="grid_shape"):
        _run(F.reshape(3, 20), grid_shape=(3, 5))
    bad = F.copy()
    bad[1, 0, 0] = -1
    with pytest.raises(ValueError, match=r"fields\[1\].*negative"):
        _run(bad)
    bad = F.copy()
    bad[2] = 0
    with pytest.raises(ValueError, match="field 2 has no mass"):
        _run(bad)
    with pytest.raises(ValueError, match="neighbourhood=12"):
        _run(F, neighbourhood=12)
    with pytest.raises(ValueError, match="ground="):
        _run(F, ground="chebyshev")
    with pytest.raises(ValueError, match="method="):
        _run(F, method="fast")
