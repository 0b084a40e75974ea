"""Benchmark: all-pairs EMD of 500 fields on a 28x28 grid (124,750 pairs), both cores.

    .venv/bin/python benchmarks/bench_emd.py            # 500 fields, 2 datasets (~15 min)
    .venv/bin/python benchmarks/bench_emd.py --quick    # 50 fields, best of 3 (~1 min)

Datasets (shared/bench/EMD.md): ``absnormal`` = |N(0,1)| fields drawn with default_rng(1);
``blobs`` = 1-3 Gaussian blobs of sigma 1.5-4 px cut at 3.5 sigma (about half the pixels zero).
For each: netsci_dl's full matrix with ``ground="manhattan"`` (exact, 4-neighbour grid) and the
default ``ground="euclidean"`` (48-neighbour grid, upper bound <= 0.755%), over all cores; then
on a random sample of pairs POT ``ot.emd2`` with the dense Euclidean cost (the peer), our exact
Euclidean mode (POT on the reduced support) and POT with a cityblock cost. Printed: our matrix
time, POT's time per pair on the sample and its extrapolated matrix time on 2 cores
(per pair x pairs / 2: a 2-process pool scales 2.0x, EMD.md), the ratio, and the errors of our
values against POT on the sample. Full runs are timed once (minutes each); --quick takes the
best of 3. With the Manhattan ground, also a per-pair table on the sampled pairs, one
process, best of 3 with the engines interleaved: the compiled EMD-L1 simplex (this round's
engine), LEMON through pylmcf (the round-2 engine) and POT ``ot.emd2`` with the cityblock cost
(on every sampled pair: a pair's cost varies a lot with its fields, and 20 pairs moved the
blobs ratio from 56x to 86x between runs), each projected to the full matrix on 2 cores, and
the ratios.

Measured 2026-12-06 (issue 27, a26ea48 engine, ``--quick --grounds manhattan --sample 100`` on
the 2-core machine shared with five other jobs, load average 4-9): POT / new 48.7x on |N(0,1)|
fields (1.54 ms/pair), 60.3x on blobs (0.60 ms/pair); goal 60x on both. Tried and not kept
(timed per pair, best of 9, the engines alternating pair by pair): a first tree chosen per pair
among the shortest-path trees to the centre, each pixel hung from the closer neighbour whose
subtree sum it cancels most: 18% fewer pivots on |N(0,1)| fields (916 -> 754) and 23% on blobs,
but only 1.06-1.08x faster on |N(0,1)| and 0.97-1.00x on blobs; static trees (combs, corner
breadth-first) and other block sizes of the pricing (0.5-4 sqrt(m)) were slower.

Quiet rerun by the lead (2026-12-07, load average ~0.2, same command): POT / new 47.6x on
|N(0,1)| fields (0.95 ms/pair; round 2 on par), 51.1x on blobs (0.31 ms/pair; 2.42x faster than
round 2); exact (new vs POT 1.4e-13). The goal, 60x, is not met.

Coarse to fine (2026-12-07, same command, 2-core machine shared with three other jobs, load
average 3-4): each pair is solved first on the 7x7 and 14x14 grids of 2x2 block sums, each
level's optimal tree lifted to the first basis of the next finer grid, and the entering arc is
the first eligible one (blocks of one arc); a tile's pairs run in one compiled call. Two runs:
POT / new 130x and 86x on |N(0,1)| fields (0.50 and 0.55 ms/pair; 1.91x and 1.80x faster than
round 2's LEMON in the same run), 127x and 90x on blobs (0.20 and 0.18 ms/pair; 4.66x and
4.02x faster than LEMON); exact (new vs POT 1.4e-13 and 1.0e-14, vs round 2 0 and 2e-16).
POT's own time swings with the load (48-74 ms/pair on |N(0,1)| fields today), so read the
speedup against the previous engine: per pair, CPU time, best of 9, the variants interleaved
on the 100 sampled pairs, |N(0,1)| / blobs:

- one coarse level (14x14) with LEMON's sqrt(m) blocks: 1.50x / 1.43x the previous engine;
  pivots (fine + coarse) 920 -> 557 + 164 and 344 -> 223 + 71;
- then the first eligible arc instead of blocks of 56 arcs: 1.26x / 1.27x (blocks of 2, 4, 6,
  8, 10, 14, 20 arcs: 1.10-1.17x / 0.97-1.14x); without the coarse start it is 2x slower (1383
  pivots on |N(0,1)| fields), the start and the pricing work together;
- then a second coarse level (7x7): 1.07x / 1.00x (a third, 4x4: 1.05x / 0.94x). Pivots of
  the final engine, fine + 14x14 + 7x7: 548 + 110 + 27 on |N(0,1)| fields, 246 + 56 + 15 on
  blobs.

Tried this round and not kept: the previous pair's optimal tree as the first basis (pairs of
the same row, in matrix order): 7% more pivots on |N(0,1)| fields, 58% more on blobs. The
parent of a 2x2 block's far corner (hung from its vertical or horizontal neighbour, or by the
cycle order) made no difference beyond the noise (0.64-0.66 ms / 0.205-0.214 ms). Where the
time goes now (each phase done twice, the extra time): shifting the potentials of the smaller
side after a pivot (a pointer chase along the thread, 87 nodes a fine pivot on |N(0,1)|
fields) is about 47% of a pair on |N(0,1)| fields and 17% on blobs, the cycle search 12%, the
pricing 12% / 20%. Walking the shift as two runs of the thread side by side (first child's
subtree and the rest) gave 1.01x / 0.99x: a contiguous preorder array (subtrees as index
ranges) would be the next step.

The lead's quiet runs after the merge (2026-12-07, load average 1.2-1.6, nothing else running):
``--quick --grounds manhattan --sample 100``: POT (cityblock) / new 87.1x on |N(0,1)| fields
(0.49 ms/pair), 86.2x on blobs (0.17 ms/pair). The full 500 fields, ``--grounds manhattan
--sample 100``, POT on the same 100 pairs: the matrix 33.0 s on |N(0,1)| fields and 10.6 s on
blobs (was 101 s in the issue; goal 60 s); POT's dense Euclidean (the baseline of
shared/bench/EMD.md) / ours 86.4x and 87.8x; POT cityblock / new per pair 83.4x and 66.4x;
round 2 / new 1.73x and 4.15x; new vs POT 1.6e-13. With POT on only the first 20 pairs the
blobs ratio read 53-57x (those pairs cost POT 8.2-8.9 ms, the 100 pairs 10.7 ms): hence every
sampled pair now.

2000 fields (1,999,000 pairs): a resumable run, not part of the default benchmark. Measured on
2026-11-23 (|N(0,1)| fields, 2 cores): Manhattan 14.1 min in all, interrupted with SIGINT after
3.0 min (431,104 pairs on disk) and resumed for the other 1,567,896 pairs in 11.1 min; the
Euclidean default (48-neighbour grid) 47.2 min in one go (POT dense: ~584 min extrapolated,
12.4x; sampled error vs exact mean 0.042%, max 0.133%)::

    .venv/bin/python benchmarks/bench_emd.py --n 2000 --datasets absnormal \\
        --grounds euclidean --sample 50 --checkpoint /tmp/emd2000

Interrupt it at any time (Ctrl-C): every finished tile is already on disk in
``/tmp/emd2000/absnormal_euclidean/`` (values.npy, done.npy, meta.json, tiles/). Running the same
command again resumes the missing pairs; the printed time is that of the last session
(``pairs_computed`` says how many pairs it did). From Python the same is
``emd_matrix(F, checkpoint="/tmp/emd2000/absnormal_euclidean")``. Serial vs loky vs a Dask
cluster on the same workload: benchmarks/bench_scale.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _record import quick, record  # noqa: E402

from netsci_dl.analysis.fields.emd import emd_matrix  # noqa: E402

H = W = 28


def absnormal(n: int) -> np.ndarray:
    return np.abs(np.random.default_rng(1).normal(size=(n, H, W)))


def blobs(n: int, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    F = np.zeros((n, H, W))
    for k in range(n):
        for _ in range(int(rng.integers(1, 4))):
            ci, cj = rng.uniform(0, H), rng.uniform(0, W)
            s, amp = rng.uniform(1.5, 4.0), rng.uniform(0.5, 1.0)
            d2 = (ii - ci) ** 2 + (jj - cj) ** 2
            F[k] += np.where(d2 <= 12.25 * s * s, amp * np.exp(-d2 / (2 * s * s)), 0.0)
    empty = F.reshape(n, -1).sum(1) == 0
    F[empty, H // 2, W // 2] = 1.0
    return F


DATASETS = {"absnormal": absnormal, "blobs": blobs}


def best_of(repeats: int, fn):
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def pot_sample(
    F: np.ndarray, rows: np.ndarray, cols: np.ndarray, metric: str
) -> tuple[float, np.ndarray]:
    """POT ot.emd2 on the dense cost for the sample pairs: (seconds per pair, values)."""
    import ot
    from scipy.spatial.distance import cdist

    P = F.reshape(len(F), -1)
    P = P / P.sum(1, keepdims=True)
    ii, jj = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    X = np.stack([ii.ravel(), jj.ravel()], 1).astype(float)
    M = cdist(X, X, metric=metric)
    vals = np.empty(len(rows))
    t = time.perf_counter()
    for k, (i, j) in enumerate(zip(rows, cols, strict=True)):
        vals[k] = ot.emd2(P[i], P[j], M, numItermax=10**7)
    return (time.perf_counter() - t) / len(rows), vals


def engines_sample(F: np.ndarray, rows: np.ndarray, cols: np.ndarray, repeats: int = 3) -> dict:
    """Per-pair seconds (one process, best of ``repeats``, the engines interleaved) and values
    of the Manhattan EMD on the sample pairs: the compiled EMD-L1 simplex and the round-2
    engine (LEMON through pylmcf)."""
    from netsci_dl.analysis.fields._emd_grid import Spec, make_solver

    n = len(F)
    P = F.reshape(n, -1) / F.reshape(n, -1).sum(1, keepdims=True)
    spec = Spec("grid", (H, W), L=0, ground="manhattan")
    solvers = {e: make_solver(spec, (P,), engine=e) for e in ("simplex-l1", "lemon")}
    out = dict.fromkeys(solvers, (np.inf, None))
    solvers["simplex-l1"](rows[:1], cols[:1])  # compiles (or loads) the kernel
    for _ in range(repeats):
        for e, solver in solvers.items():
            t = time.perf_counter()
            v = solver(rows, cols)
            out[e] = (min(out[e][0], (time.perf_counter() - t) / len(rows)), v)
    return out


def print_engines(F: np.ndarray, rows: np.ndarray, cols: np.ndarray, n_pairs: int, pot: tuple):
    """The per-pair table: new engine, round-2 engine and POT (cityblock, ``pot``: its seconds
    per pair and values on the first pairs of the sample), same run."""
    eng = engines_sample(F, rows, cols)
    t_new, v_new = eng["simplex-l1"]
    t_old, v_old = eng["lemon"]
    t_pot, v_pot = pot
    m = len(v_pot)
    # the ratio to POT on the same pairs (a pair's cost varies with its fields' supports)
    t_new_m = t_new if m == len(rows) else engines_sample(F, rows[:m], cols[:m])["simplex-l1"][0]
    print(
        f"  manhattan per pair, 1 process ({len(rows)} sampled pairs, best of 3; POT once on "
        f"the first {m}):"
    )
    for name, t in (
        ("simplex-l1 (this round)", t_new),
        ("LEMON/pylmcf (round 2)", t_old),
        ("POT emd2 cityblock", t_pot),
    ):
        print(
            f"    {name:24s} {1e3 * t:8.3f} ms/pair -> {n_pairs} pairs on 2 cores "
            f"~{fmt_t(t * n_pairs / 2)} (projected)"
        )
    print(
        f"    RATIO round-2 / new {t_old / t_new:.2f}x; POT / new on the same {m} pairs "
        f"{t_pot / t_new_m:.1f}x (new {1e3 * t_new_m:.3f} ms/pair there)"
    )
    print(
        f"    max rel diff new vs round-2 {np.abs(v_new / v_old - 1).max():.1e}, "
        f"new vs POT {np.abs(v_new[:m] / v_pot - 1).max():.1e}"
    )
    record("manhattan EMD per pair", t_new_m, "POT emd2 cityblock", t_pot, round2_s=t_old)


def fmt_t(s: float) -> str:
    return f"{s:8.1f} s" if s < 600 else f"{s / 60:8.1f} min"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="50 fields, best of 3")
    ap.add_argument("--n", type=int, default=None, help="number of fields (default 500)")
    ap.add_argument("--sample", type=int, default=100, help="pairs for POT and the error check")
    ap.add_argument("--datasets", default="absnormal,blobs")
    ap.add_argument("--grounds", default="manhattan,euclidean")
    ap.add_argument("--jobs", type=int, default=-1)
    ap.add_argument("--checkpoint", default=None, help="folder for resumable checkpoints")
    args = ap.parse_args(argv)
    args.quick = args.quick or quick()  # run_all.py --quick
    n = args.n or (50 if args.quick else 500)
    repeats = 3 if args.quick and args.checkpoint is None else 1
    n_pairs = n * (n - 1) // 2
    print(
        f"EMD benchmark: {n} fields of {H}x{W}, {n_pairs} pairs, n_jobs={args.jobs}, "
        f"{os.cpu_count()} cpus, {'best of 3' if repeats == 3 else 'one run'}"
    )
    rng = np.random.default_rng(0)
    for name in args.datasets.split(","):
        F = DATASETS[name](n)
        zeros = float((F == 0).mean())
        print(f"\n== {name}: {zeros:.0%} zero pixels ==")
        k = np.sort(rng.choice(n_pairs, size=min(args.sample, n_pairs), replace=False))
        from netsci_dl.analysis.fields._emd_workers import pair_index

        rows, cols = pair_index(n, k)
        ours = {}
        for ground in args.grounds.split(","):
            ck = None
            if args.checkpoint:
                os.makedirs(args.checkpoint, exist_ok=True)
                ck = os.path.join(args.checkpoint, f"{name}_{ground}")
            t, r = best_of(
                repeats,
                lambda F=F, ground=ground, ck=ck: emd_matrix(
                    F, ground=ground, n_jobs=args.jobs, progress=ck is not None, checkpoint=ck
                ),
            )
            ours[ground] = (t, r)
            print(
                f"netsci_dl {ground:9s} ({r.method}, nb={r.neighbourhood}, bound "
                f"{100 * r.error_bound:.3f}%): {fmt_t(t)} for the matrix "
                f"({1e3 * t / n_pairs:.3f} ms/pair wall; {r.timings['pairs_computed']} "
                f"pairs computed)"
            )
        # the peer and the references on the sample
        t_pot, v_pot = pot_sample(F, rows, cols, "euclidean")
        pot_matrix = t_pot * n_pairs / 2
        print(
            f"POT ot.emd2 dense Euclidean: {1e3 * t_pot:.2f} ms/pair (1 core, {len(k)} pairs)"
            f" -> matrix on 2 cores ~{fmt_t(pot_matrix)} (extrapolated)"
        )
        # our exact Euclidean mode on the same pairs, one process (the per-pair solver)
        from netsci_dl.analysis.fields._emd_grid import Spec, make_solver

        P = F.reshape(n, -1) / F.reshape(n, -1).sum(1, keepdims=True)
        solver = make_solver(Spec("exact", (H, W)), (P,))
        t0 = time.perf_counter()
        v_ex = solver(rows, cols)
        t_ex = (time.perf_counter() - t0) / len(k)
        print(
            f"netsci_dl euclidean exact (POT on reduced support): {1e3 * t_ex:.2f} ms/pair "
            f"(1 core) -> matrix on 2 cores ~{fmt_t(t_ex * n_pairs / 2)}; max rel diff to "
            f"POT dense {np.abs(v_ex / v_pot - 1).max():.1e}"
        )
        if "euclidean" in ours:
            t, r = ours["euclidean"]
            rel = r.condensed[k] / v_pot - 1
            print(
                f"  euclidean 48-nb vs POT exact on {len(k)} pairs: mean {100 * rel.mean():.3f}%"
                f", max {100 * rel.max():.3f}%, min {100 * rel.min():.2e}% (bound "
                f"{100 * r.error_bound:.3f}%)"
            )
            print(f"  RATIO POT / netsci_dl euclidean: {pot_matrix / t:.1f}x")
            record(
                f"{name} euclidean matrix, {n} fields",
                t,
                "POT ot.emd2 (extrapolated)",
                pot_matrix,
                ms_per_pair=1e3 * t / n_pairs,
                max_rel_err=rel.max(),
            )
        if "manhattan" in ours:
            t, r = ours["manhattan"]
            m = len(k)  # every sampled pair (a pair's cost varies a lot with its fields)
            t_cb, v_cb = pot_sample(F, rows[:m], cols[:m], "cityblock")
            rel = np.abs(r.condensed[k[:m]] / v_cb - 1)
            print(
                f"  manhattan vs POT cityblock on {m} pairs: max rel diff {rel.max():.1e}; "
                f"POT cityblock {1e3 * t_cb:.1f} ms/pair"
            )
            print(f"  RATIO POT (Euclidean) / netsci_dl manhattan: {pot_matrix / t:.1f}x")
            record(
                f"{name} manhattan matrix, {n} fields",
                t,
                "POT ot.emd2 Euclidean (extrapolated)",
                pot_matrix,
                ms_per_pair=1e3 * t / n_pairs,
                pot_cityblock_ms_per_pair=1e3 * t_cb,
            )
            print_engines(F, rows, cols, n_pairs, (t_cb, v_cb))
            if "euclidean" in ours:
                from scipy.stats import spearmanr

                rho = spearmanr(r.condensed, ours["euclidean"][1].condensed).statistic
                print(f"  Spearman(manhattan, euclidean) over the matrix: {rho:.4f}")


if __name__ == "__main__":
    main()
