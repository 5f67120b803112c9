# patchdesk — the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

# One stamp per set of requirements, each redone when the project's metadata changes:
# the demo needs only the runtime dependencies; the tests add pytest & co. and psycopg;
# `make check` adds the linters. .installed is all of them.
RUNTIME := $(VENV)/.runtime
TESTING := $(VENV)/.testing
DEV     := $(VENV)/.dev
STAMP   := $(VENV)/.installed

.PHONY: demo run test check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TESTING): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $@

$(DEV): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(STAMP): $(TESTING) $(DEV)
	touch $@

demo: $(RUNTIME)
	$(BIN)/patchdesk demo

run: $(RUNTIME)
	$(BIN)/patchdesk

# Two worker processes (pytest-xdist), one per core; each migrates one template database and
# copies it for every test (tests/databases.py). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 2
test: $(TESTING)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

check: $(TESTING) $(DEV)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/mypy benchmarks
	$(BIN)/lint-imports

bench: $(STAMP)
	@if ls benchmarks/*.py >/dev/null 2>&1; then \
		for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done; \
	else echo "no benchmarks yet"; fi

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
