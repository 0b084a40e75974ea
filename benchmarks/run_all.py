"""Run every ``benchmarks/bench_*.py`` in its own process (``make bench``).

Each benchmark prints netsci_dl's time and the peer's time measured in the same run, and their
ratio. Workload W comes from ``shared/bench/workload.py`` (the team's shared folder beside the
project), or from the identical copy in ``benchmarks/workload.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent


def main() -> int:
    only = sys.argv[1:]
    rc = 0
    for path in sorted(here.glob("bench_*.py")):
        if only and not any(o in path.stem for o in only):
            continue
        print(f"\n=== {path.name}", flush=True)
        rc |= subprocess.call([sys.executable, str(path)])
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
