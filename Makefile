# gql-users: the two commands of the README, plus lint, bench and clean.
#
#   make run    virtualenv + install + migrate + demo data (first run) + serve on 127.0.0.1:8000
#   make test   virtualenv + install with the test extra + the whole suite on SQLite, then on
#               PostgreSQL (the suite starts its own throwaway server); fails if either fails
#   make lock   regenerate the lock files requirements/*.txt from pyproject.toml
#
# Everything installs from PyPI into .venv; nothing else is downloaded. Both installs take the
# exact versions and hashes of a lock file (requirements/run.txt, requirements/test.txt), then the
# project itself without dependencies.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_USERS ?= 500
DEMO_CUSTOMERS ?= 20
DEMO_PROJECTS ?= 60
# -n auto: one pytest worker per core (each PostgreSQL leg worker starts its own server).
PYTEST_ARGS ?= -q -n auto
# Absolute URLs in responses (Link headers, user urls) follow HOST and PORT unless set.
PUBLIC_URL ?= $(or $(GQL_USERS_PUBLIC_URL),http://$(HOST):$(PORT)/)

# Installs are redone only when pyproject.toml or a lock file changes (or the virtualenv is new).
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
RUN_LOCK := requirements/run.txt
TEST_LOCK := requirements/test.txt
TOOLS_LOCK := requirements/tools.txt
PIP := $(BIN)/python -m pip --disable-pip-version-check

# The lock tool (uv, pinned with hashes in requirements/tools.txt) lives in a virtualenv of its
# own inside $(VENV), so that it is never part of the project's environment. Locks are resolved
# for CPython 3.11 on Linux x86_64, from PyPI alone (--no-config: no uv.toml of the machine), and
# name `make lock` in their header; so `make lock` writes the same bytes on any machine.
LOCK_VENV := $(VENV)/lock-tools
UV := $(LOCK_VENV)/bin/uv
UV_COMPILE := $(UV) pip compile --no-config --quiet --generate-hashes \
	--python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	--custom-compile-command 'make lock'
# `make lock UPGRADE=1` moves every pin to the newest release its range allows;
# `make lock UPGRADE_PACKAGE=aiohttp` moves that one only. Without either, pins are kept.
UPGRADE ?=
UPGRADE_PACKAGE ?=
UV_UPGRADE := $(if $(UPGRADE),--upgrade) $(if $(UPGRADE_PACKAGE),--upgrade-package $(UPGRADE_PACKAGE))

.DEFAULT_GOAL := help
.PHONY: help run test test-sqlite test-postgresql lint bench lock outdated playground-assets clean \
	distclean

help:
	@echo "make run               install, migrate, seed demo data, serve on http://$(HOST):$(PORT)/"
	@echo "make test              the whole test suite on SQLite, then on PostgreSQL"
	@echo "make test-sqlite       the suite on SQLite only"
	@echo "make test-postgresql   the suite on PostgreSQL only"
	@echo "make lint              ruff check, ruff format --check, mypy, lint-imports (the layering)"
	@echo "make bench             benchmark vs a raw floor and the baseline (BENCH_ARGS=--quick)"
	@echo "make lock              regenerate requirements/*.txt (UPGRADE=1: newest allowed versions)"
	@echo "make outdated          list the packages that have newer releases than the lock's"
	@echo "make playground-assets fetch the playground's GraphiQL/React files from npm again"
	@echo "make clean             caches, build output, the demo database and var/"
	@echo "make distclean         clean, and remove $(VENV)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "gql-users needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1)." >&2; \
		echo "Point PYTHON at one: make $(MAKECMDGOALS) PYTHON=python3.11" >&2; exit 1; }
	@# A failed venv (Debian without python3-venv) would otherwise look finished next time.
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Could not create $(VENV). On Debian or Ubuntu: apt-get install python3-venv" >&2; exit 1; }

# Locked versions with their hashes, then the project itself (--no-deps: the lock has them all);
# then requirements/lockfile.py compares the virtualenv with the lock and removes what an older
# lock left behind. A virtualenv that holds the test set keeps it under `make run` (a superset
# at the same versions: run.txt is resolved within test.txt).
RUN_SET = $(if $(wildcard $(TEST_STAMP)),$(TEST_LOCK),$(RUN_LOCK))

$(RUN_STAMP): pyproject.toml $(RUN_LOCK) $(TEST_LOCK) | $(BIN)/python
	$(PIP) install --require-hashes -r $(RUN_SET)
	$(PIP) install --no-deps -e .
	$(BIN)/python requirements/lockfile.py --prune $(RUN_SET)
	@touch $@

$(TEST_STAMP): pyproject.toml $(TEST_LOCK) | $(BIN)/python
	$(PIP) install --require-hashes -r $(TEST_LOCK)
	$(PIP) install --no-deps -e .
	$(BIN)/python requirements/lockfile.py --prune $(TEST_LOCK)
	@touch $@ $(RUN_STAMP)

$(UV): $(TOOLS_LOCK) | $(BIN)/python
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip --disable-pip-version-check install --require-hashes \
		-r $(TOOLS_LOCK)
	@touch $@

# The test set (runtime + test extra) is resolved first; the runtime set is then resolved within
# it (-c), so both name the same versions and installing the test extra never moves a runtime
# package. A conflict stops here with the resolver's explanation.
lock: $(UV)
	$(UV_COMPILE) $(UV_UPGRADE) --extra test -o $(TEST_LOCK) pyproject.toml
	$(UV_COMPILE) -c $(TEST_LOCK) -o $(RUN_LOCK) pyproject.toml
	$(UV_COMPILE) $(UV_UPGRADE) -o $(TOOLS_LOCK) requirements/tools.in
	@git diff --stat -- requirements/ 2>/dev/null || true

# Every locked package with a newer release (some beyond pyproject.toml's caps). pip and
# setuptools come with the virtualenv and are not locked.
OUTDATED := list --outdated --exclude pip --exclude setuptools
outdated: $(TEST_STAMP) $(UV)
	@echo "== requirements/test.txt (and run.txt)"
	@$(PIP) $(OUTDATED)
	@echo "== requirements/tools.txt"
	@$(LOCK_VENV)/bin/python -m pip --disable-pip-version-check $(OUTDATED)

run: $(RUN_STAMP)
	$(BIN)/gql-users migrate
	GQL_USERS_PUBLIC_URL=$(PUBLIC_URL) $(BIN)/gql-users seed-demo --if-empty --users $(DEMO_USERS) --customers $(DEMO_CUSTOMERS) --projects $(DEMO_PROJECTS)
	@echo ""
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C stops)"
	@echo "  REST users API   http://$(HOST):$(PORT)/api/users/"
	@echo "  Log in           POST http://$(HOST):$(PORT)/api-auth/password/"
	@echo "  GraphQL          http://$(HOST):$(PORT)/graphql"
	@echo "  Playground       http://$(HOST):$(PORT)/playground/"
	@echo "  Health           http://$(HOST):$(PORT)/health"
	@echo ""
	GQL_USERS_PUBLIC_URL=$(PUBLIC_URL) $(BIN)/gql-users serve --host $(HOST) --port $(PORT)

# Both legs always run, so one report shows both; the target fails if either failed.
test: $(TEST_STAMP)
	@sqlite=0; postgresql=0; \
	echo "== test suite on SQLite =="; \
	GQL_USERS_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS) || sqlite=$$?; \
	echo "== test suite on PostgreSQL =="; \
	GQL_USERS_TEST_DB=postgresql $(BIN)/pytest $(PYTEST_ARGS) || postgresql=$$?; \
	echo "== SQLite: $$( [ $$sqlite -eq 0 ] && echo passed || echo "FAILED ($$sqlite)" )," \
		"PostgreSQL: $$( [ $$postgresql -eq 0 ] && echo passed || echo "FAILED ($$postgresql)" ) =="; \
	[ $$sqlite -eq 0 ] && [ $$postgresql -eq 0 ]

test-sqlite: $(TEST_STAMP)
	GQL_USERS_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgresql: $(TEST_STAMP)
	GQL_USERS_TEST_DB=postgresql $(BIN)/pytest $(PYTEST_ARGS)

# mypy reads its files and flags from pyproject.toml ([tool.mypy]).
lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The benchmark harness (bench/run.py): gql-users on PostgreSQL and SQLite against the raw floor
# (bench/floor.py) and against the version BENCH_BASELINE names (a git ref; default: the commit
# in bench/BASELINE), measured in interleaved rounds; writes bench/results/<date>.json, .md and
# PNG plots. BENCH_ARGS=--quick: small data and short rounds, no baseline (a few minutes).
BENCH_ARGS ?=
bench: $(TEST_STAMP)
	@command -v hey >/dev/null || echo "hey is not installed (on Debian: apt-get install hey):" \
		"bench/run.py falls back to its asyncio client, which competes with the servers for CPU"
	$(BIN)/python bench/run.py $(BENCH_ARGS)

playground-assets:
	bash playground/fetch-assets.sh

clean:
	rm -rf build dist .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .hypothesis var \
		gql_users.db gql_users.db-wal gql_users.db-shm
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 \
		| xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV)
