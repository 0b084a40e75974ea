#!/usr/bin/env bash
# Install the benchmarks' peers into the project's environment (`make bench`); safe to run again.
#  1. pip -e .[dev,bench] with constraints.txt (torch==2.13.0, numpy<2: torch is never replaced);
#  2. BackPACK (bench_fisher's peer) and its unfoldNd with --no-deps: BackPACK's metadata asks
#     for torchvision, whose wheel pulls CUDA libraries here, and BackPACK imports without it
#     (its other dependency, einops, comes with the bench extra);
#  3. repsim (bench_similarity's SVCCA peer) when pip can build it; without it that one row of
#     bench_similarity says "not installed" and the others run.
# graph-tool, a peer of bench_graph/bench_graphml, is Debian's (scripts/setup_env.sh installs it).
set -euo pipefail
VENV=${VENV:-.venv}
log() { printf '[setup-bench] %s\n' "$*"; }

PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt)
log "pip: -e .[dev,bench] under constraints.txt (torch stays 2.13.0)"
"${PIP[@]}" -e ".[dev,bench]"
log "pip --no-deps: backpack-for-pytorch, unfoldNd (never torchvision)"
"${PIP[@]}" --no-deps "backpack-for-pytorch>=1.7,<2" "unfoldNd>=0.2,<1"
"${PIP[@]}" "repsim>=0.1" >/dev/null 2>&1 || log "repsim did not install: bench_similarity skips its row"

"$VENV/bin/python" - <<'PY'
import importlib
import torch

peers = ["weightwatcher", "cka", "ckatorch", "backpack", "unfoldNd", "shapiq", "ot", "sklearn",
         "threadpoolctl", "psutil", "networkx", "igraph", "dask.distributed", "repsim",
         "graph_tool"]
have, missing = [], []
for name in peers:
    try:
        importlib.import_module(name)
        have.append(name)
    except Exception as e:  # a peer that fails to import is reported, not fatal
        missing.append(f"{name} ({type(e).__name__})")
assert torch.__version__.startswith("2.13.0"), f"torch was replaced: {torch.__version__}"
print(f"[setup-bench] torch {torch.__version__}; peers: {', '.join(have)}")
if missing:
    print(f"[setup-bench] missing (their rows say so): {', '.join(missing)}")
PY
