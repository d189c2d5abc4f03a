# Assenso — the two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat requirements.txt | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run run-production test lint format bench bench-quick browser-deps migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	rm -f $(VENV)/.runtime-* && touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.dev-* && touch $@

## run: install, migrate, seed the demo when empty, start everything at http://127.0.0.1:5000
run: $(RUNTIME_STAMP)
	$(FLASK) db upgrade
	$(FLASK) demo seed --if-empty
	$(FLASK) serve

## run-production: on PostgreSQL, migrate and grant as the schema's owner (OWNER_DATABASE_URL),
## then start the Procfile's processes with honcho as the application's own role (DATABASE_URL),
## which may only read and insert on the ledger: the web app (gunicorn, WEB_WORKERS processes
## on WEB_BIND), one scheduler and WORKERS delivery workers. Ctrl-C or SIGTERM stops them all
## (each finishes what it has in hand); so does any of them stopping. Settings and secrets come
## from the environment, each also as NAME_FILE (README, "Running on PostgreSQL").
WEB_BIND ?= 127.0.0.1:8000
WEB_WORKERS ?= 4
WORKERS ?= 2
AS_OWNER = DATABASE_URL="$$OWNER_DATABASE_URL" DATABASE_URL_FILE="$$OWNER_DATABASE_URL_FILE"
run-production: SHELL := /bin/bash
run-production: export ASSENSO_ENV ?= production
run-production: $(RUNTIME_STAMP)
	@test -n "$$OWNER_DATABASE_URL$$OWNER_DATABASE_URL_FILE" \
	  -a -n "$$DATABASE_URL$$DATABASE_URL_FILE" || { echo "run-production needs \
	OWNER_DATABASE_URL (the schema's owner) and DATABASE_URL (the application's own role), \
	or their _FILE variants"; exit 2; }
	$(AS_OWNER) $(FLASK) db upgrade
	$(AS_OWNER) ASSENSO_APP_DATABASE_URL="$$DATABASE_URL" \
	  ASSENSO_APP_DATABASE_URL_FILE="$$DATABASE_URL_FILE" $(FLASK) db grant-app-role
	PATH="$(CURDIR)/$(BIN):$$PATH" ASSENSO_WEB_BIND=$(WEB_BIND) WEB_CONCURRENCY=$(WEB_WORKERS) \
	  $(BIN)/honcho start --procfile Procfile --concurrency worker=$(WORKERS)

## test: install dev requirements and browser, lint, run the whole suite
test: $(DEV_STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## browser-deps: Debian's Chromium for the Playwright browser tests (installed when missing)
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null; then \
	    sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: install Debian's chromium package for browser tests"; fi; \
	fi

bench: $(DEV_STAMP)
	@for script in $(filter-out bench/policy_audience.py bench/population_pg.py,$(wildcard bench/*.py)); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

bench-quick: $(DEV_STAMP)
	@for script in $(filter-out bench/policy_audience.py bench/population_pg.py,$(wildcard bench/*.py)); do echo "== $$script"; $(BIN)/python $$script --quick || exit 1; done

migrate: $(RUNTIME_STAMP)
	$(FLASK) db upgrade

seed: $(RUNTIME_STAMP)
	$(FLASK) demo seed

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .mypy_cache .import_linter_cache
