# Both targets set themselves up: on a fresh machine with python3, pip and make,
# `make demo` or `make test` is the first command you need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench bench-dask setup clean images

setup: $(STAMP)

# Reinstall when the project metadata changes; editable, so code edits need nothing.
# --no-compile: byte-compiling every installed file (dask, matplotlib, ipykernel, ...) is
# half of a fresh install; Python compiles the few modules the tests import, once, on import.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e '.[test,plot,dask]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gatekit tour --pictures tour-pictures

# The README's pictures (committed): the neuron drawn, and the four strategies compared.
images: $(STAMP)
	$(BIN)/gatekit tour --pictures docs/images > /dev/null

# Two worker processes (pytest-xdist) on CI's two cores; a module stays on one worker, so its
# module-scoped fixtures (the template's venv, the built wheel) are made once. `make test
# WORKERS=0` runs in one process.
WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m mypy gatekit plugins
	$(BIN)/python -m pytest -q -n $(WORKERS) --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py
	$(BIN)/python bench/training.py
	$(BIN)/python bench/parse_sum.py

# The neuron over 1e8 points with gatekit.dask (about a minute; recorded by hand in bench/RESULTS.md).
bench-dask: $(STAMP)
	$(BIN)/python bench/dask_run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis
