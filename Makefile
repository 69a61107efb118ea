# gongzhi — the two commands of the quickstart are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint format env assets migrate seed serve e2e messages clean

## Create the environment and install the locked dependencies.
env: .venv/.synced
.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
.venv/.synced: .tools/bin/uv pyproject.toml uv.lock
	UV_PYTHON=$(PYTHON) $(UV) sync --frozen --quiet
	@touch $@

## Front-end assets from the npm lock file, copied into static files (served locally, no CDN).
assets: gongzhi/web/static/vendor/.built
gongzhi/web/static/vendor/.built: frontend/package.json frontend/package-lock.json frontend/build.mjs
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	@touch $@

migrate: env
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## One command: environment, assets, database, demo data, server.
demo: env assets seed
	$(PY) manage.py runserver $(HOST):$(PORT)

## The test suite: SQLite by default, PostgreSQL when DATABASE_URL is set.
test: env assets
	$(PY) -m pytest $(PYTEST_ARGS)

lint: env
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy gongzhi config

format: env
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

## Chinese UI strings: extract and compile the message catalogues.
messages: env
	$(PY) manage.py makemessages -l en --ignore=.venv --ignore=.tools --ignore=frontend --ignore=tests
	$(PY) manage.py compilemessages --ignore=.venv --ignore=.tools

clean:
	rm -rf .venv .tools frontend/node_modules gongzhi/web/static/vendor var
