# Tandem: two commands do everything on a fresh machine.
#   make demo   create .venv, migrate SQLite, load sample data, train, print matches, serve on 127.0.0.1:8000
#   make test   lint, then the whole suite against the real PostgreSQL and Redis (started here when down)

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PG_VERSION := $(shell ls /etc/postgresql 2>/dev/null | head -n1)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tandem
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1

.PHONY: install services browsers demo test screenshots lint bench-quality bench-training bench-serving bench-load clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

# Start PostgreSQL and Redis when they are down (CI and fresh machines may find them stopped).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "PostgreSQL or Redis did not come up" >&2; exit 1

# Headless Chromium and its driver for the dashboard's browser tests (Debian packages; skipped when present).
browsers:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

demo: install
	mkdir -p var
	CELERY_TASK_ALWAYS_EAGER=1 $(PY) manage.py migrate --noinput
	CELERY_TASK_ALWAYS_EAGER=1 $(PY) manage.py demo
	CELERY_TASK_ALWAYS_EAGER=1 $(PY) manage.py runserver 127.0.0.1:8000 --noreload

test: lint services browsers
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

# A PNG of each main dashboard page in docs/screenshots/ (headless Chromium, a small platform, a tiny model).
screenshots: install services browsers
	TANDEM_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(PY) -m pytest tests/dashboard/test_screenshots.py -q -p no:cacheprovider

# ruff: style, imports, complexity (C90, PLR0912, PLR0915) and unused noqa (RUF100); the same hooks run
# before each commit with `pre-commit install` (.pre-commit-config.yaml).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench-quality: install
	$(PY) bench/quality.py

bench-training: install services
	$(PY) bench/training_scale.py

bench-load: install
	$(PY) bench/load.py

bench-serving: install services
	$(PY) bench/serving.py

clean:
	rm -rf var .pytest_cache
