"""One machine-readable line per benchmark figure, appended to ``benchmarks/results.jsonl``.

Every ``bench_*.py`` imports this module first (so the load average "at start" is taken before
the work) and calls :func:`record` once per figure it prints::

    from _record import record
    record("CD-1 epoch", ours_s=t_ours, peer="sklearn BernoulliRBM", peer_s=t_peer, batch=100)

A line holds: benchmark, figure, ours_s, peer, peer_s, ratio (peer_s / ours_s: above 1 means
netsci_dl is faster), the extra numbers given as keywords (under ``extra``), the git commit (with
``+dirty`` when the tree has changes), the UTC date and the machine: CPU model, cores (all and
usable by this process), ``os.getloadavg()`` at start and at the time of the line, and the
python/torch/numpy versions (torch's read from its metadata: recording never imports torch).

``NETSCI_DL_BENCH_RESULTS`` names another file (``-`` or an empty value: write nothing).
``run_all.py --quick`` sets ``NETSCI_DL_BENCH_QUICK=1``; :func:`quick` reads it, and the
benchmarks that have a smaller workload use it (the line then says ``"quick": true``).
results.jsonl is ignored by git: numbers from a loaded machine are not committed.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.jsonl"
LOAD_AT_START = os.getloadavg()


def quick() -> bool:
    """Whether ``run_all.py --quick`` (or ``NETSCI_DL_BENCH_QUICK=1``) asked for small workloads."""
    return os.environ.get("NETSCI_DL_BENCH_QUICK", "") not in ("", "0")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str:
    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", *args], cwd=HERE, capture_output=True, text=True, timeout=10, check=False
        )
        return out.stdout.strip() if out.returncode == 0 else ""

    try:
        head = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def _version(dist: str) -> str | None:
    mod = sys.modules.get(dist)
    if mod is not None and hasattr(mod, "__version__"):
        return str(mod.__version__)
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version(dist)
    except PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """The machine a figure was measured on (load average at start and now)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "load_start": [round(x, 2) for x in LOAD_AT_START],
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "platform": platform.platform(),
    }


def _number(x: Any) -> Any:
    """Plain JSON numbers (numpy scalars unwrapped; NaN/inf as None)."""
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def record(
    figure: str,
    ours_s: float | None,
    peer: str | None = None,
    peer_s: float | None = None,
    *,
    benchmark: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Append one line for ``figure`` (ours and the peer from the same run) and return it.

    ``ratio`` is ``peer_s / ours_s`` (None when either is missing). ``extra`` holds any other
    numbers of the figure (sizes, values, differences, memory), JSON-able.
    """
    ours = _number(ours_s)
    theirs = _number(peer_s)
    ratio = (
        theirs / ours if isinstance(ours, (int, float)) and ours and theirs is not None else None
    )
    line = {
        "benchmark": benchmark or Path(sys.argv[0]).stem,
        "figure": figure,
        "ours_s": ours,
        "peer": peer,
        "peer_s": theirs,
        "ratio": ratio,
        "extra": {k: _number(v) for k, v in extra.items()},
        "quick": quick(),
        "commit": _git_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
    }
    target = os.environ.get("NETSCI_DL_BENCH_RESULTS", str(RESULTS))
    if target not in ("", "-"):
        with open(target, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, default=str) + "\n")
    return line
