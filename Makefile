# The README's commands. Setup is idempotent: it reruns only when the dependencies change.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.netsci_dl-installed
BENCH_STAMP := $(VENV)/.netsci_dl-bench-installed
PYTEST_ARGS ?=
# make test-fast: the suite on 2 workers (pytest-xdist); XDIST=auto for one per core
XDIST ?= 2
# make bench BENCH_ARGS=--quick (smaller workloads), BENCH_ARGS=graph (only bench_graph.py)
BENCH_ARGS ?=
DEMO_OUT ?= demo_out

.PHONY: setup test test-fast test-all demo bench bench-setup lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/setup_env.sh
	VENV=$(VENV) bash scripts/setup_env.sh
	@touch $(STAMP)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -n $(XDIST) --dist loadgroup $(PYTEST_ARGS)

test-all: setup
	$(PY) -m pytest --runslow $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/netsci-dl demo -o $(DEMO_OUT) --force

# the peers the benchmarks compare against (scripts/setup_bench.sh; torch is never replaced)
bench-setup: $(BENCH_STAMP)

$(BENCH_STAMP): $(STAMP) pyproject.toml constraints.txt scripts/setup_bench.sh
	VENV=$(VENV) bash scripts/setup_bench.sh
	@touch $(BENCH_STAMP)

# each benchmark prints ours, the peer's and the ratio; one JSON line per figure goes to
# benchmarks/results.jsonl (appended; not committed)
bench: bench-setup
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

lint: setup
	$(PY) -m ruff check netsci_dl tests benchmarks examples scripts
	$(PY) -m ruff format --check netsci_dl tests benchmarks examples scripts
	$(PY) scripts/check_imports.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache build *.egg-info
