#!/usr/bin/env bash
# Create the project's environment (.venv) on a fresh machine; safe to run again.
#  1. Debian's graph-tool (apt, when missing and when we can use apt);
#  2. a venv from Debian's python3 with --system-site-packages, so graph_tool is visible;
#     where that python or graph-tool cannot be had, a plain venv (graph-tool features then
#     raise ImportError and their tests skip);
#  3. pip: numpy<2 and torch==2.13.0 as constraints (constraints.txt), then -e .[dev].
set -euo pipefail
VENV=${VENV:-.venv}
DEBPY=/usr/bin/python3

log() { printf '[setup] %s\n' "$*"; }

have_gt() { [ -x "$DEBPY" ] && "$DEBPY" -c "import graph_tool" >/dev/null 2>&1; }
have_venv() { [ -x "$DEBPY" ] && "$DEBPY" -c "import ensurepip" >/dev/null 2>&1; }

can_apt() { command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; }

if ! have_gt || ! have_venv; then
  if can_apt; then
    log "installing Debian's python3-graph-tool and python3-venv (a few minutes, once)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q python3-graph-tool python3-venv >/dev/null || log "apt-get failed; continuing without graph-tool"
  else
    log "apt-get unavailable (not root?): graph-tool features will be unavailable"
  fi
fi

# Headless Chromium: the report test opens index.html in it (skipped when it cannot be had).
if [ ! -x /usr/bin/chromium ] && can_apt; then
  log "installing Debian's chromium (report test; once)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; } \
    || log "chromium unavailable; the report's browser test will skip"
fi

if [ ! -x "$VENV/bin/python" ]; then
  if have_gt && have_venv; then
    log "creating $VENV from $DEBPY with --system-site-packages (graph-tool visible)"
    "$DEBPY" -m venv --system-site-packages "$VENV"
  else
    log "creating a plain $VENV from $(command -v python3) (no graph-tool)"
    python3 -m venv "$VENV"
  fi
fi

PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt)
log "pip: torch==2.13.0, numpy<2, then -e .[dev]"
"${PIP[@]}" "numpy<2" "torch==2.13.0"
"${PIP[@]}" -e ".[dev]"
"$VENV/bin/python" - <<'PY'
import numpy, torch
try:
    import graph_tool
    gt = graph_tool.__version__.split()[0]
except ImportError:
    gt = "missing"
print(f"[setup] ok: numpy {numpy.__version__}, torch {torch.__version__}, graph-tool {gt}")
PY
