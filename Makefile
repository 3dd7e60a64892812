# django-notify-kit: `make demo` serves the chatter demo, `make test` runs everything.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PY312 ?= $(shell for p in python3.12 $(wildcard /root/.pyenv/versions/3.12*/bin/python3.12); do $$p -c 'import sys' >/dev/null 2>&1 && command -v $$p && break; done)

.DEFAULT_GOAL := help
.PHONY: help venv prep demo test test-sqlite test-pg test-django6 docs lint bench clean print-py312

help:  ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]' 'Django>=5.2,<5.3'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)  ## Create .venv with the project and its development tools (Django 5.2, Python 3.11)

prep: $(STAMP)  ## Build the chatter demo database (demo/chatter/chatter.sqlite3) from scratch
	rm -f demo/chatter/chatter.sqlite3 demo/chatter/chatter.sqlite3-wal demo/chatter/chatter.sqlite3-shm
	$(PY) -c "import notify.lino; notify.lino.startup('demo.chatter.settings')"

demo: prep  ## Build the demo database and serve the chatter demo at http://127.0.0.1:8000/ with its jobs
	@echo "Chatter demo: http://127.0.0.1:8000/  users andy, bert, chloe, robin; password 1234. Ctrl+C stops."
	$(PY) -m demo notify_scheduler & jobs=$$!; trap 'kill $$jobs 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/uvicorn demo.chatter.asgi:application --host 127.0.0.1 --port 8000 --timeout-graceful-shutdown 2

test: $(STAMP)  ## Run the whole suite (tests and doc pages) on SQLite, or on DATABASE_URL when set
	$(PY) -m pytest -q

test-sqlite: test  ## Same as `make test` (Django 5.2 on Python 3.11, the tox env py311-django52)

test-pg: $(STAMP)  ## Run the whole suite on the local PostgreSQL
	DATABASE_URL=$(PG_URL) $(PY) -m pytest -q

test-django6: $(STAMP)  ## Run the suite with Django 6.x on Python 3.12 (the tox env py312-django6)
	$(VENV)/bin/tox -e py312-django6 --discover $(PY312)

docs: $(STAMP)  ## Build the Sphinx site with warnings as errors (the tox env docs)
	$(VENV)/bin/sphinx-build -q -W --keep-going -b html docs docs/_build/html

lint: $(STAMP)  ## Check the code: ruff, mypy, and that the models need no new migration
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	DJANGO_SETTINGS_MODULE=demo.chatter.settings $(PY) -m django makemigrations --check --dry-run

bench: $(STAMP)  ## Print times and SQL query counts of the operations the issues name
	$(PY) -m bench

print-py312:
	@echo $(PY312)

clean:  ## Remove the virtualenv, the demo database and build output
	rm -rf $(VENV) docs/_build .pytest_cache demo/chatter/chatter.sqlite3 demo/chatter/chatter.sqlite3-wal demo/chatter/chatter.sqlite3-shm
