"""The joblib front end (netsci_dl.parallel): serial, loky and a Dask LocalCluster give the same
numbers for the EMD matrix, an EI trajectory and a causal plane; distributed EMD jobs resume."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from uuid import uuid4

import joblib
import numpy as np
import pytest

from netsci_dl.analysis.fields.emd import EMDOptions, emd_matrix
from netsci_dl.errors import InputError
from netsci_dl.parallel import effective_n_jobs, imap_tasks, map_tasks, use_scheduler

# one xdist worker runs this module (make test-fast: --dist loadgroup): one LocalCluster, and the
# loky/Dask process pools do not compete with a second worker's
pytestmark = pytest.mark.xdist_group("dask")


# ---- task functions (top level: the workers import them) -------------------------------------
def _square_pid(t):
    return t * t, os.getpid()


def _power(t, p):
    return t**p


def _fail(t):
    if t == 3:
        raise InputError("task 3 is bad")
    return t


def _threads(t):
    from threadpoolctl import threadpool_info

    blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return os.environ.get("OMP_NUM_THREADS"), blas


def _nested(t):
    return effective_n_jobs(-1), map_tasks(abs, [-1, -2], n_jobs=-1)


_LOADS: dict[str, int] = {}


class Counted:
    """Counts how often each instance is unpickled in a process."""

    def __init__(self, nbytes):
        self.token, self.a = uuid4().hex, np.ones(nbytes // 8)

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)
        _LOADS[self.token] = _LOADS.get(self.token, 0) + 1


def _loads(t, shared):
    return os.getpid(), _LOADS.get(shared.token, 0)


def _cache_kinds():
    from netsci_dl.parallel import _CACHE

    return sorted({k[0] for k in _CACHE if isinstance(k, tuple)})


# ---- one cluster for the module ---------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    ) as c:
        yield c


@pytest.fixture
def client(cluster):
    from distributed import Client

    with Client(cluster) as c:
        c.wait_for_workers(2, timeout=60)
        yield c


def _fields(n, h, seed):
    return np.abs(np.random.default_rng(seed).normal(size=(n, h, h)))


# ---- the front end ------------------------------------------------------------------------------
def test_map_tasks_in_order_here_and_on_loky():
    serial = map_tasks(_square_pid, range(7))
    assert [r for r, _ in serial] == [t * t for t in range(7)]
    assert {p for _, p in serial} == {os.getpid()}
    loky = map_tasks(_square_pid, range(7), n_jobs=2)
    assert [r for r, _ in loky] == [t * t for t in range(7)]
    assert os.getpid() not in {p for _, p in loky}
    got = sorted(imap_tasks(_power, [3, 1, 2], shared=3, n_jobs=2))
    assert got == [(0, 27), (1, 1), (2, 8)]
    assert map_tasks(_power, [], shared=2, n_jobs=2) == []


def test_n_jobs_none_follows_parallel_config():
    assert effective_n_jobs(None) == 1
    with joblib.parallel_config(n_jobs=2):
        assert effective_n_jobs(None) == 2
        assert effective_n_jobs(1) == 1
        pids = {p for _, p in map_tasks(_square_pid, range(4))}
        assert os.getpid() not in pids
        assert {p for _, p in map_tasks(_square_pid, range(4), n_jobs=1)} == {os.getpid()}


@pytest.mark.parametrize("bad", [0, 1.5, True, "2"])
def test_bad_n_jobs(bad):
    with pytest.raises(InputError, match="n_jobs"):
        map_tasks(abs, [1, 2], n_jobs=bad)


def test_task_errors_reach_the_caller():
    with pytest.raises(InputError, match="task 3 is bad"):
        map_tasks(_fail, range(6), n_jobs=2)
    with pytest.raises(InputError, match="task 3 is bad"):
        map_tasks(_fail, range(6))


def test_one_thread_per_worker_and_nested_calls_serial():
    out = map_tasks(_threads, range(2), n_jobs=2)
    for omp, blas in out:
        assert omp == "1"
        assert all(n == 1 for n in blas)
    for n, r in map_tasks(_nested, range(2), n_jobs=2):
        assert n == 1 and r == [1, 2]


def test_shared_inputs_are_loaded_once_per_worker_with_loky():
    big = Counted(2 << 20)  # over 1 MB: one memory-mapped file
    out = map_tasks(_loads, range(12), shared=big, n_jobs=2)
    assert {c for _, c in out} == {1}


def test_no_progress_bar_when_not_a_terminal(capsys):
    map_tasks(abs, [1, 2], desc="x", progress=True)
    assert capsys.readouterr().err == ""


# ---- Dask: the same tasks on a cluster ----------------------------------------------------------
def test_dask_block_sends_tasks_to_the_cluster(client, cluster):
    worker_pids = set(client.run(os.getpid).values())
    with joblib.parallel_config(backend="dask"):
        assert effective_n_jobs(None) == 2
        out = map_tasks(_square_pid, range(8))
        assert map_tasks(_square_pid, range(3), n_jobs=1)[0][1] == os.getpid()
    assert [r for r, _ in out] == [t * t for t in range(8)]
    assert {p for _, p in out} <= worker_pids
    with use_scheduler(cluster.scheduler_address):
        assert {p for _, p in map_tasks(_square_pid, range(4))} <= worker_pids
    with use_scheduler(client=client):
        big = Counted(64 << 10)
        out = map_tasks(_loads, range(12), shared=big)
        assert {c for _, c in out} == {1}  # scattered once, not sent with every task
    with pytest.raises(InputError, match="one of them"):
        with use_scheduler():
            pass


def test_emd_matrix_same_serial_loky_dask(client):
    F = _fields(16, 8, 1)  # 120 pairs
    kw = {"options": EMDOptions(neighbourhood=16), "chunk_size": 9, "progress": False}
    serial = emd_matrix(F, n_jobs=1, **kw)
    loky = emd_matrix(F, n_jobs=2, **kw)
    with joblib.parallel_config(backend="dask"):
        dask = emd_matrix(F, **kw)
    np.testing.assert_array_equal(loky.condensed, serial.condensed)
    np.testing.assert_array_equal(dask.condensed, serial.condensed)
    assert dask.timings["n_jobs"] == 2
    assert any("emd" in kinds for kinds in client.run(_cache_kinds).values())  # ran there
    auto = emd_matrix(F, n_jobs=2, progress=False, options=EMDOptions(neighbourhood=16))
    np.testing.assert_array_equal(auto.condensed, serial.condensed)


def test_trajectory_table_same_serial_loky_dask(client):
    import pandas as pd

    import netsci_dl as nd
    from netsci_dl.runs.trajectory import ei_trajectory

    rng = np.random.default_rng(2)
    Gs = [
        nd.from_matrices([rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(4, 3))])
        for _ in range(3)
    ]
    from netsci_dl.analysis import LayerEIOptions

    kw = {
        "options": LayerEIOptions(bins=4, n_samples=2000, sensitivity_samples=200, device="cpu"),
        "activations": "sigmoid",
    }
    serial = ei_trajectory(Gs, **kw).to_frame()
    loky = ei_trajectory(Gs, n_jobs=2, **kw).to_frame()
    with joblib.parallel_config(backend="dask"):
        dask = ei_trajectory(Gs, **kw).to_frame()
    pd.testing.assert_frame_equal(loky, serial, check_exact=True)
    pd.testing.assert_frame_equal(dask, serial, check_exact=True)
    assert serial["sensitivity"].nunique() > 1


def test_sweep_same_serial_loky_dask(client):
    import pandas as pd

    import netsci_dl as nd
    from netsci_dl.analysis.structure.sweep import threshold_sweep

    rng = np.random.default_rng(4)
    G = nd.from_matrices([rng.normal(size=(12, 10)), rng.normal(size=(10, 8))])
    kw = {"cuts": [0.5, 1.0, 1.5], "n_null": 2, "seed": 5}
    serial = threshold_sweep(G, **kw)
    loky = threshold_sweep(G, n_jobs=2, **kw)
    with joblib.parallel_config(backend="dask"):
        dask = threshold_sweep(G, **kw)
    pd.testing.assert_frame_equal(loky, serial, check_exact=True)
    pd.testing.assert_frame_equal(dask, serial, check_exact=True)
    assert serial[serial.model == "replica"]["n_edges"].nunique() > 1


def test_layer_causal_plane_same_serial_loky_dask(client):
    from netsci_dl.analysis.information.causal_plane import layer_causal_plane

    rng = np.random.default_rng(3)
    layers = [(rng.normal(size=(4, 3)), None, "tanh"), rng.normal(size=(3, 3)), (np.eye(3), None)]
    from netsci_dl.analysis import LayerEIOptions

    opts = LayerEIOptions(bins=4, n_samples=3000, sensitivity_samples=300, device="cpu")
    kw = {"options": opts}
    acts = ["sigmoid", "identity", "relu"]
    serial = layer_causal_plane(layers, activations=acts, **kw)
    loky = layer_causal_plane(layers, activations=acts, n_jobs=2, **kw)
    with joblib.parallel_config(backend="dask"):
        dask = layer_causal_plane(layers, activations=acts, **kw)
    assert [p.in_range for p in serial] == [(0.0, 1.0), (-1.0, 1.0), serial[1].out_range]
    for other in (loky, dask):
        assert [p.to_dict() for p in other] == [p.to_dict() for p in serial]
        for a, b in zip(other, serial):
            np.testing.assert_array_equal(a.pairs, b.pairs)


# ---- distributed jobs killed halfway resume from the tiles on disk ------------------------------
_KW = {"options": EMDOptions(neighbourhood=80), "chunk_size": 20, "progress": False}  # 780 pairs


def _settled(ck: Path, timeout: float = 20.0) -> np.ndarray:
    """Once tiles still running from the stopped job have landed: the pairs kept on disk."""
    seen, since, t0 = None, time.monotonic(), time.monotonic()
    while time.monotonic() - t0 < timeout:
        now = sorted(p.name for p in (ck / "tiles").iterdir())
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since > 1.0:
            break
        time.sleep(0.1)
    done = np.load(ck / "done.npy").copy()
    for f in (ck / "tiles").glob("*.npz"):
        done[np.load(f)["idx"]] = True
    return done


def test_emd_resumes_after_the_client_is_killed(client, cluster, tmp_path):
    F = _fields(40, 12, 4)
    ref = emd_matrix(F, n_jobs=1, **_KW).condensed
    np.save(tmp_path / "F.npy", F)
    ck = tmp_path / "ck"
    child = textwrap.dedent(
        f"""
        import os, signal, joblib, numpy as np
        from distributed import Client
        from netsci_dl.analysis.fields.emd import EMDOptions, emd_matrix
        calls = []
        def die(done, total):  # the client process dies after two stored tiles
            calls.append(done)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        with Client({cluster.scheduler_address!r}), joblib.parallel_config(backend="dask"):
            emd_matrix(np.load({str(tmp_path / "F.npy")!r}), checkpoint={str(ck)!r},
                       callback=die, **{_KW!r})
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, timeout=120)
    assert p.returncode == -signal.SIGKILL, p.stderr.decode()[-2000:]
    kept = _settled(ck)
    assert 40 <= kept.sum() < 780
    with joblib.parallel_config(backend="dask"):
        r = emd_matrix(F, checkpoint=str(ck), **_KW)
    assert r.timings["pairs_computed"] == 780 - kept.sum()
    np.testing.assert_array_equal(r.condensed, ref)


def test_emd_survives_a_killed_worker_and_resumes(client, tmp_path):
    F = _fields(40, 12, 5)
    ref = emd_matrix(F, n_jobs=1, **_KW).condensed
    victim = next(iter(client.run(os.getpid).values()))
    calls = []

    def kill(done, total):
        calls.append(done)
        if len(calls) == 2:
            os.kill(victim, signal.SIGKILL)

    ck = tmp_path / "ck"
    first = None
    with joblib.parallel_config(backend="dask"):
        try:
            first = emd_matrix(F, checkpoint=str(ck), callback=kill, **_KW)
        except Exception:  # the job may also fail with its worker: then the restart finishes it
            pass
    assert len(calls) >= 2
    if first is not None:  # Dask re-ran the lost tiles elsewhere
        np.testing.assert_array_equal(first.condensed, ref)
    kept = _settled(ck)
    with joblib.parallel_config(backend="dask"):
        r = emd_matrix(F, checkpoint=str(ck), **_KW)
    assert r.timings["pairs_computed"] == 780 - kept.sum()
    np.testing.assert_array_equal(r.condensed, ref)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker


def test_cli_jobs_and_scheduler_options(cluster, tmp_path):
    from click.testing import CliRunner

    import netsci_dl as nd
    from netsci_dl.cli import cli

    rng = np.random.default_rng(6)
    cks = []
    for s in range(2):
        p = tmp_path / f"g{s}.npz"
        nd.save(nd.from_matrices([rng.normal(size=(4, 3)).astype(np.float32)]), p)
        cks.append(str(p))
    fast = ["--bins", "4", "--ei-samples", "500", "--sensitivity-samples", "50", "--device", "cpu",
            "--activation", "sigmoid"]  # fmt: skip
    args = ["causal-plane", *cks, *fast]
    here = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "a"), "--jobs", "1"])
    assert here.exit_code == 0, here.output
    there = CliRunner().invoke(
        cli, [*args, "-o", str(tmp_path / "b"), "--scheduler", cluster.scheduler_address]
    )
    assert there.exit_code == 0, there.output
    a, b = ((tmp_path / d / "trajectory.csv").read_text() for d in "ab")
    assert a == b
    bad = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "c"), "--jobs", "0"])
    assert bad.exit_code == 2 and "--jobs 0" in bad.output
