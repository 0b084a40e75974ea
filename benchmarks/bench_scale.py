"""Benchmark: the 500-field Euclidean EMD matrix serial, on loky and on a Dask LocalCluster.

    .venv/bin/python benchmarks/bench_scale.py                 # 500 fields, 3 modes (~20 min)
    .venv/bin/python benchmarks/bench_scale.py --quick         # 60 fields (~15 s)
    .venv/bin/python benchmarks/bench_scale.py --n 2000 --modes dask   # the 2,000-field run

The workload of bench_emd.py: ``absnormal`` fields (|N(0,1)|, ``default_rng(1)``) of 28x28,
``emd_matrix(F)`` with its defaults (Euclidean, 48-neighbour grid, automatic tiles). Modes, in
this order, in one run: ``loky`` (``n_jobs=2``: two loky processes), ``dask``
(``LocalCluster(n_workers=2, threads_per_worker=1)`` inside ``joblib.parallel_config(
backend="dask")``; the cluster's start-up is timed apart), ``serial`` (``n_jobs=1``). The three
matrices must be bit-identical. Printed: the wall time of each ``emd_matrix`` call, the
overhead of Dask over loky (target: under 10%), loky's speed-up over serial, the CPU time of
all our processes in each mode (this process, the loky workers, the Dask workers and
scheduler; it includes start-up and import costs, and it moves far less than wall time when
other users load the machine), and how loaded the machine was: the 1-minute load average
sampled every 5 s during each mode, and for the serial mode its CPU time over its wall time
(below 1 when other processes took the core).

Measured 2026-12-02, 500 fields, on a quiet machine (load average at start 0.01; ours the only
job): loky 346.1 s (2.774 ms/pair wall, 370 tiles of 338 pairs), Dask 361.6 s (cluster
start-up 0.6 s), serial 11.4 min (CPU/wall 1.00); matrices bit-identical; Dask / loky 1.045
in wall time and in CPU time (overhead +4.5%: target < 10%, met); serial / loky 1.98x. (This
machine ran the EMD kernel about 1.7x slower per pair on that day than on 2026-11-23, for the
round-1 engine as well: compare ratios within a run.)

2,000 fields on the LocalCluster the same day (``--n 2000 --modes dask --checkpoint DIR``;
1,999,000 pairs, 6512 tiles of 307 pairs): 103.1 min (3.094 ms/pair wall, CPU 11,443 s in all
processes, cluster start-up 0.9 s); for its first 25 min our test suite and two benchmarks
shared the cores (load average mean 2.61, max 3.63).

Measured earlier, 500 fields, on the shared 2-core machine under heavy load from other users
(1-minute load average 4-15 on 2 cores, varying between modes; before the CPU column existed):
loky 43.3 min (load 11.5), Dask 22.3 min (load 8.5, cluster start-up 2.5 s), serial 18.3 min
(load 5.2, CPU/wall 0.63); matrices bit-identical. The wall-time ratios (Dask / loky 0.52)
measure the load, not the engines: redo on a quiet machine (on a quiet machine loky takes about
5 min, bench_emd.py). 150 fields in one run (load 3-5): loky 112 s, Dask 68 s, serial 83 s;
CPU time of all processes Dask / loky 1.058 (mostly the Dask scheduler's and workers' start-up).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _record import quick, record  # noqa: E402

from netsci_dl.analysis.fields.emd import emd_matrix  # noqa: E402

H = W = 28


def absnormal(n: int) -> np.ndarray:
    return np.abs(np.random.default_rng(1).normal(size=(n, H, W)))


class LoadSampler:
    """The 1-minute load average every ``every`` seconds while running."""

    def __init__(self, every: float = 5.0) -> None:
        self.every, self.samples = every, [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.samples.append(os.getloadavg()[0])

    def summary(self) -> str:
        s = np.array(self.samples)
        return f"load avg mean {s.mean():.2f} (min {s.min():.2f}, max {s.max():.2f})"


def cpu_seconds() -> dict[int, float]:
    """CPU seconds (user + system) of this process and of each of its descendants, by pid."""
    import psutil  # a dependency of distributed

    me = psutil.Process()
    out = {}
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.Error:
            pass
    return out


def cpu_since(start: dict[int, float]) -> float:
    return sum(v - start.get(pid, 0.0) for pid, v in cpu_seconds().items())


def run_mode(mode: str, F: np.ndarray, jobs: int, checkpoint: str | None) -> dict:
    import joblib

    out: dict = {"mode": mode}
    cpu0 = cpu_seconds()
    with LoadSampler() as load:
        if mode == "dask":
            from dask.distributed import Client, LocalCluster

            t0 = time.perf_counter()
            with (
                LocalCluster(
                    n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
                Client(cluster),
            ):
                out["startup_s"] = time.perf_counter() - t0
                with joblib.parallel_config(backend="dask"):
                    t = time.perf_counter()
                    r = emd_matrix(F, progress=checkpoint is not None, checkpoint=checkpoint)
                    out["wall_s"] = time.perf_counter() - t
                out["cpu_s"] = cpu_since(cpu0)  # before the workers exit
        else:
            n_jobs = 1 if mode == "serial" else jobs
            t, c = time.perf_counter(), time.process_time()
            r = emd_matrix(F, n_jobs=n_jobs, progress=checkpoint is not None, checkpoint=checkpoint)
            out["wall_s"] = time.perf_counter() - t
            out["cpu_over_wall"] = (time.process_time() - c) / out["wall_s"]
            out["cpu_s"] = cpu_since(cpu0)
    out.update(result=r, load=load.summary())
    return out


def fmt_t(s: float) -> str:
    return f"{s:7.1f} s" if s < 600 else f"{s / 60:7.1f} min"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="60 fields")
    ap.add_argument("--n", type=int, default=None, help="number of fields (default 500)")
    ap.add_argument("--modes", default="loky,dask,serial", help="comma-separated, run in order")
    ap.add_argument("--jobs", type=int, default=2, help="loky processes = Dask workers")
    ap.add_argument(
        "--checkpoint", default=None, help="folder for resumable runs (one sub-folder per mode)"
    )
    args = ap.parse_args(argv)
    args.quick = args.quick or quick()  # run_all.py --quick
    n = args.n or (60 if args.quick else 500)
    F = absnormal(n)
    n_pairs = n * (n - 1) // 2
    print(
        f"EMD scale-out benchmark: {n} fields of {H}x{W}, {n_pairs} pairs, Euclidean 48-nb "
        f"grid, {args.jobs} processes/workers, {os.cpu_count()} cpus, one run; "
        f"load avg at start {os.getloadavg()[0]:.2f}"
    )
    res = {}
    for mode in args.modes.split(","):
        ck = None
        if args.checkpoint:
            os.makedirs(args.checkpoint, exist_ok=True)
            ck = os.path.join(args.checkpoint, f"n{n}_{mode}")
        o = run_mode(mode, F, args.jobs, ck)
        res[mode] = o
        t = o["result"].timings
        extra = f", cluster start-up {o['startup_s']:.1f} s" if "startup_s" in o else ""
        if "cpu_over_wall" in o and mode == "serial":
            extra += f", CPU/wall {o['cpu_over_wall']:.2f}"
        print(
            f"{mode:6s}: {fmt_t(o['wall_s'])} ({1e3 * o['wall_s'] / n_pairs:.3f} ms/pair wall; "
            f"{t['n_tiles']} tiles of {t['tile_pairs']} pairs, {t['n_jobs']} at once{extra}; "
            f"CPU {o['cpu_s']:.0f} s in all processes; {o['load']})",
            flush=True,
        )
    modes = list(res)
    for m in modes[1:]:
        np.testing.assert_array_equal(res[m]["result"].condensed, res[modes[0]]["result"].condensed)
    if len(modes) > 1:
        print(f"matrices bit-identical across {', '.join(modes)}")
    if "loky" in res and "dask" in res:
        over = res["dask"]["wall_s"] / res["loky"]["wall_s"] - 1
        print(f"RATIO dask / loky: {1 + over:.3f} (Dask overhead {100 * over:+.1f}%; target < 10%)")
        cpu = res["dask"]["cpu_s"] / res["loky"]["cpu_s"]
        print(f"RATIO dask / loky CPU time (less sensitive to a busy machine): {cpu:.3f}")
        record(
            f"EMD matrix {n} fields: loky vs Dask",
            res["loky"]["wall_s"],
            "Dask LocalCluster",
            res["dask"]["wall_s"],
            cpu_ratio=cpu,
            dask_startup_s=res["dask"].get("startup_s"),
        )
    if "loky" in res and "serial" in res:
        print(f"RATIO serial / loky: {res['serial']['wall_s'] / res['loky']['wall_s']:.2f}x")
        record(
            f"EMD matrix {n} fields: loky vs serial",
            res["loky"]["wall_s"],
            "serial",
            res["serial"]["wall_s"],
            jobs=args.jobs,
        )


if __name__ == "__main__":
    main()
