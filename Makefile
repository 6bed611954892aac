# The README's commands. Everything runs from the project's own virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/stratify
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=

.PHONY: run serve worker loadtest test test-sqlite test-postgres bench bench-import bench-stratify bench-pages bench-operations lint venv demo

venv: $(STAMP)
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

## make run: migrate, load a demo distributor, start the web server and a worker (Ctrl-C or SIGTERM
## stops both within 10 s; see stratify/devrun.py). PORT=8001 make run serves another port.
PORT ?= 8000
run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_demo
	@exec $(BIN)/python -m stratify.devrun --port $(PORT)

## make test: the whole suite on SQLite (embedded default), then on PostgreSQL + Redis.
test: venv lint test-sqlite test-postgres

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null

test-sqlite: venv
	@echo "=== Test pass 1/2: SQLite, filesystem broker, Celery worker process ==="
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: venv
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)'.replace('/stratify','/postgres'), connect_timeout=3).close()" 2>/dev/null; then \
	  echo "=== Test pass 2/2: PostgreSQL + Redis, Celery worker process ==="; \
	  $(BIN)/python tests/reset_pg_test_db.py $(PG_URL) && \
	  DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(BIN)/pytest -m "not browser" $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then echo "PostgreSQL is not reachable at $(PG_URL): CI needs it." >&2; exit 1; \
	else echo "!!! PostgreSQL pass NOT RUN: no server at $(PG_URL) (set PG_URL, or start PostgreSQL and Redis)."; fi

## make bench: benchmarks, each printing ratios against a baseline measured in the same run.
bench: bench-import bench-stratify bench-pages
bench-import: venv
	DATABASE_URL=$(PG_URL) $(BIN)/python -m bench.bench_import $(ARGS)
bench-stratify: venv
	DATABASE_URL=$(PG_URL) $(BIN)/python -m bench.bench_stratify $(ARGS)
bench-pages: venv
	DATABASE_URL=$(PG_URL) $(BIN)/python -m bench.bench_pages $(ARGS)

## make serve: the production server. gunicorn with WEB_WORKERS processes (default 2 x cores + 1) on
## BIND (default 127.0.0.1:8000, behind nginx: docs/OPERATIONS.md), stratify.settings.production (needs
## SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS...). Workers run separately: `make worker QUEUES=...`.
WEB_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 + 1 )))
WEB_THREADS ?= 1
BIND ?= 127.0.0.1:8000
serve: venv
	DJANGO_SETTINGS_MODULE=stratify.settings.production $(BIN)/python manage.py collectstatic --noinput -v 0
	DJANGO_SETTINGS_MODULE=stratify.settings.production exec $(BIN)/gunicorn stratify.wsgi \
	  --workers $(WEB_WORKERS) --threads $(WEB_THREADS) --bind $(BIND) --max-requests 2000 --max-requests-jitter 200 \
	  --timeout 120 --graceful-timeout 30 --access-logfile -

## make worker QUEUES=imports,runs CONCURRENCY=2: a Celery worker on some queues (default: all of them,
## with beat: what `make run` starts). See docs/OPERATIONS.md "Workers and queues".
QUEUES ?=
CONCURRENCY ?= 2
worker: venv
	exec $(BIN)/celery -A stratify worker --loglevel=INFO --concurrency=$(CONCURRENCY) \
	  $(if $(QUEUES),-Q $(QUEUES),--beat)

## make loadtest: gunicorn (2 workers, production settings) on loopback under a 60 s Locust run of the
## three roles at 50,000 customers, in its own scratch database (LOADTEST_DB, default stratify_loadtest).
loadtest: venv
	DATABASE_URL=$(PG_URL) $(BIN)/python -m bench.loadtest $(ARGS)
bench-operations: venv
	DATABASE_URL=$(PG_URL) $(BIN)/python -m bench.bench_operations $(ARGS)
