"""Run every ``benchmarks/bench_*.py`` in its own process (``make bench``).

    python benchmarks/run_all.py [--quick] [NAME ...]

Each benchmark prints netsci_dl's time and the peer's time measured in the same run, and their
ratio, and appends one JSON line per figure to ``benchmarks/results.jsonl`` (``_record.py``);
at the end this prints the figures of this run as one table. ``--quick`` sets
``NETSCI_DL_BENCH_QUICK=1``: the benchmarks with a smaller workload use it. ``NAME``s select the
benchmarks whose file name contains one of them. Workload W comes from ``shared/bench/workload.py``
(the team's shared folder beside the project), or from the identical copy in
``benchmarks/workload.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent


def _summary(path: Path, start: int) -> None:
    """The lines appended to ``path`` since byte ``start``, as a table."""
    if not path.exists():
        return
    with open(path, encoding="utf-8") as f:
        f.seek(start)
        rows = [json.loads(line) for line in f if line.strip()]
    if not rows:
        return
    print(f"\n=== {len(rows)} figures (ratio = peer / ours: above 1, netsci_dl is faster)")
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:9.2f}x"
        ours = "" if r["ours_s"] is None else f"{r['ours_s']:10.4f} s"
        peer = "" if r["peer_s"] is None else f"{r['peer_s']:10.4f} s"
        print(
            f"{r['benchmark']:<18} {r['figure'][:44]:<44} {ours:>12} {peer:>12} {ratio:>10}"
            f"  {r['peer'] or ''}"
        )
    load = rows[-1]["machine"]["load_end"]
    print(f"load average at the end: {load}  ({rows[-1]['machine']['cpu']})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="the benchmarks' smaller workloads")
    ap.add_argument("only", nargs="*", help="run the benchmarks whose name contains one of these")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    if args.quick:
        env["NETSCI_DL_BENCH_QUICK"] = "1"
    results = Path(env.get("NETSCI_DL_BENCH_RESULTS") or here / "results.jsonl")
    start = results.stat().st_size if results.exists() else 0
    rc = 0
    for path in sorted(here.glob("bench_*.py")):
        if args.only and not any(o in path.stem for o in args.only):
            continue
        print(f"\n=== {path.name}", flush=True)
        rc |= subprocess.call([sys.executable, str(path)], env=env)
    _summary(results, start)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
