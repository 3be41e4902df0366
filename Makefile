# Two commands do all the set-up: `make demo` (launchbay alone) and `make test` (also the dev tools and the first-party plugins).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := $(wildcard plugins/*/pyproject.toml)
DEMO_STAMP := $(VENV)/.installed-demo
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test test-slow lint bench bench-check install install-dev clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "launchbay needs Python 3.11+ (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# launchbay and what the demo needs; then its numba kernels compiled into their on-disk cache, so that the first run compiles nothing.
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/launchbay warmup
	@touch $@

# The dev tools and every first-party plugin, on top of the demo's set.
$(DEV_STAMP): $(DEMO_STAMP) $(PLUGINS)
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(foreach p,$(PLUGINS),-e $(dir $(p)))
	@touch $@

install: $(DEMO_STAMP)

install-dev: $(DEV_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/launchbay run job=pipeline

# Two workers, a test file each at a time (module fixtures built once), each with its own embedded Ray:
# the tests mostly wait on processes and files, so two of them share the cores well (5 min 47 s in one, 3 min 46 s in two).
test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# The slow tests that run whole jobs in processes of their own share the cores two at a time; those that start
# clusters or Ray's autoscaler then run one at a time.
test-slow: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -m 'slow and not cluster' -n 2 --dist loadfile
	$(BIN)/python -m pytest -q -m 'slow and cluster'

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/drift.py

# The speed gate: ratios to baselines run side by side, medians of 3 rounds; fails only below a floor (benchmarks/README.md).
bench-check: $(DEV_STAMP)
	$(BIN)/python benchmarks/check.py

clean:
	rm -rf $(VENV) runs .launchbay
