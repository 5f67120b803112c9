# patchdesk — the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo run test check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/patchdesk demo

run: $(STAMP)
	$(BIN)/patchdesk

# Two worker processes (pytest-xdist), one per core; each migrates one template database and
# copies it for every test (tests/databases.py). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/mypy benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q tests/test_boundaries.py

bench: $(STAMP)
	@if ls benchmarks/*.py >/dev/null 2>&1; then \
		for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done; \
	else echo "no benchmarks yet"; fi

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
