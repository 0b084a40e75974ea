# The README's commands. Setup is idempotent: it reruns only when the dependencies change.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.netsci_dl-installed
PYTEST_ARGS ?=
DEMO_OUT ?= demo_out

.PHONY: setup test test-all demo bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/setup_env.sh
	VENV=$(VENV) bash scripts/setup_env.sh
	@touch $(STAMP)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-all: setup
	$(PY) -m pytest --runslow $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/netsci-dl demo -o $(DEMO_OUT) --force

bench: setup
	$(PY) benchmarks/run_all.py

lint: setup
	$(PY) -m ruff check netsci_dl tests benchmarks examples scripts
	$(PY) -m ruff format --check netsci_dl tests benchmarks examples scripts
	$(PY) scripts/check_imports.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache build *.egg-info
