# etl-toolkit. `make help` lists the targets; plain `make` runs lint and tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# pytest workers (pytest-xdist; each starts its own embedded PostgreSQL; a test file
# stays on one worker, so module fixtures run once; files with slow tests are handed
# out first, see tests/conftest.py) and the coverage floor `make pytest` enforces
# (the whole suite's integer figure when it was set). PYTEST_WORKERS=0: serial.
PYTEST_WORKERS ?= 2
XDIST          := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder
COV_FLOOR      ?= 92

.DEFAULT_GOAL := check
.PHONY: help install dev demo samples serve test test-fast lint typecheck pytest pytest-fast browser tmux check bench lock erd clean dashboard-shot

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(BIN)/pip install -q -r requirements-dev.lock
	@touch $@

install: $(VENV)/.runtime ## Create the virtualenv and install the toolkit (runtime deps, locked)

dev: $(VENV)/.dev ## Install the development dependencies too

demo: install ## Start the database, migrate, load every sample, serve the API until Ctrl-C
	$(BIN)/etl db migrate
	$(MAKE) --no-print-directory samples
	@echo "Serving on http://$(HOST):$(PORT) (docs: /docs, OpenAPI: /openapi.json, GraphQL: /graphql). Ctrl-C stops."
	$(BIN)/etl serve --no-auth --host $(HOST) --port $(PORT)

samples: install ## Load every sample under samples/ and print each run's report
	@set -e; \
	if [ -d samples/pdf ]; then $(BIN)/etl load-pdf samples/pdf; fi; \
	if [ -d samples/medly ]; then $(BIN)/etl medly --data-dir samples/medly --report; fi; \
	if [ -d samples/sales ]; then $(BIN)/etl sales --data-dir samples/sales --report; fi; \
	$(BIN)/etl runs --limit 10

serve: install ## Serve the API (auth from the environment)
	$(BIN)/etl serve --host $(HOST) --port $(PORT)

lint: dev ## ruff (lint and format check)
	$(BIN)/ruff check src tests bench workflows
	$(BIN)/ruff format --check src tests bench workflows

typecheck: dev ## mypy --strict
	$(BIN)/mypy --strict

pytest: dev browser tmux ## The whole suite in parallel, with coverage and its floor (real PostgreSQL: embedded, or TEST_DATABASE_URL)
	$(BIN)/pytest $(XDIST) --cov --cov-report=term --cov-fail-under=$(COV_FLOOR) $(PYTEST_ARGS)

pytest-fast: dev ## The suite without the tests marked slow, in parallel, no coverage
	$(BIN)/pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

browser: ## Install chromium for the browser tests when missing (as root with apt; else they skip, which CI=true fails)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (apt) for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	      || echo "chromium could not be installed: the browser tests will skip (a failure under CI=true)"; \
	  else echo "chromium missing and not root with apt: the browser tests will skip (a failure under CI=true)"; fi; }

tmux: ## Install tmux for the terminal progress test when missing (as root with apt; else it skips, which CI=true fails)
	@command -v tmux >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing tmux (apt) for the terminal progress test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null \
	      || echo "tmux could not be installed: the terminal progress test will skip (a failure under CI=true)"; \
	  else echo "tmux missing and not root with apt: the terminal progress test will skip (a failure under CI=true)"; fi; }

test: lint typecheck pytest ## Install dev dependencies, then ruff, mypy --strict and the whole suite with coverage (what CI runs)

test-fast: lint typecheck pytest-fast ## ruff, mypy --strict and the suite less its slow tests (no coverage floor)

check: test

bench: dev ## Run the benchmarks in bench/ (not in CI)
	@for b in bench/*/run.py; do [ -f "$$b" ] && $(BIN)/python "$$b" || exit 1; done

dashboard-shot: install browser ## Screenshot of /dashboard (samples loaded) into docs/dashboard.png
	@set -e; $(BIN)/etl db migrate >/dev/null; \
	[ -d samples/sales ] && $(BIN)/etl sales --data-dir samples/sales --incremental; \
	$(BIN)/etl serve --no-auth --host 127.0.0.1 --port 8765 >/dev/null 2>&1 & pid=$$!; \
	trap "kill $$pid" EXIT; sleep 4; \
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1100 \
	  --screenshot=docs/dashboard.png http://127.0.0.1:8765/dashboard; echo "wrote docs/dashboard.png"

erd: install ## Regenerate docs/erd.md from sql/migrations
	$(BIN)/etl db erd --out docs/erd.md

lock: $(BIN)/python ## Re-resolve the lockfiles from pyproject.toml
	$(BIN)/pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 -q -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 -q -o requirements-dev.lock

clean: ## Remove the virtualenv and caches (the embedded database is kept: `etl db stop` first)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
