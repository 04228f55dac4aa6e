# Two commands for a fresh machine:  make run  (the app on a built-in dataset)  and  make test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every package and its hashes, for Python 3.11 and up on any platform: what CI and the README
# install. Regenerated from pyproject.toml by `make lock`.
LOCK := requirements.lock
# uv, which writes the lock, lives apart from the project's environment.
TOOLS := .venv-tools
# One uv version, so a regenerated lock differs from the last only by what PyPI serves.
UV_VERSION := 0.13.9
UV := $(TOOLS)/bin/uv
# The lowest versions pyproject.toml allows, to test its floors.
LOWEST := .venv-lowest
# Extra pytest arguments for the test targets, e.g. PYTEST_ARGS='--deselect tests/x.py::y'.
PYTEST_ARGS ?=

.PHONY: setup run test test-fast test-lowest lock bench browser clean

$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)  ## .venv with exactly the locked packages

run: setup  ## the Streamlit app on a built-in dataset, at http://localhost:8501
	$(BIN)/explorer app

browser:  ## Debian's Chromium for the end-to-end test (Playwright cannot download one here)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Install Chromium for the browser test: sudo apt-get install chromium chromium-driver"; fi; }

test: setup browser  ## every test, the browser one included
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: setup  ## unit tests only
	$(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)

lock: $(UV)  ## requirements.lock anew from pyproject.toml, each package at its newest allowed version
	$(UV) pip compile pyproject.toml --extra dev --upgrade --generate-hashes --universal \
	  --fork-strategy fewest --python-version 3.11 --quiet -o $(LOCK)

$(LOWEST)/.installed: pyproject.toml | $(UV)
	$(PYTHON) -m venv --clear $(LOWEST)
	$(UV) pip compile pyproject.toml --extra dev --resolution lowest-direct --python-version 3.11 \
	  --quiet -o $(LOWEST)/requirements.txt
	$(LOWEST)/bin/python -m pip install --quiet -r $(LOWEST)/requirements.txt
	$(LOWEST)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

test-lowest: $(LOWEST)/.installed  ## unit tests on the lowest versions pyproject.toml allows
	$(LOWEST)/bin/python -m pytest -m "not browser" $(PYTEST_ARGS)

bench: setup  ## the benchmarks; figures are printed
	$(BIN)/python -m benchmarks

clean:  ## remove the environments and build leftovers
	rm -rf $(VENV) $(LOWEST) $(TOOLS) .pytest_cache build *.egg-info
