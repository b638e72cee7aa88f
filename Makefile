# flowadmin — `make run` serves the dashboard, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs in three processes on two cores (a good part of it waits on servers, workers and a
# browser); a file's tests stay together, at most two of the three run browser journeys at once, and files
# are handed out in the order tests/conftest.py gives them (browser journeys, reliability tests, the rest).
PYTEST_ARGS ?= -n 3 --dist loadfile --no-loadscope-reorder

.PHONY: run test install install-dev migrate seed lint serve clean browser screenshots bench audit-deps

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# The web server and the background worker (syncs, the schedules, rollout runs, e-mails) as one;
# Ctrl-C stops both.
# The embedded emulator answers at this server's own address (FLOWADMIN_BASE_URL follows HOST and PORT
# unless set), so the web server and the worker reach it whatever port it runs on.
run: seed
	@echo ""
	@echo "flowadmin: http://$(HOST):$(PORT)/  (log in as staff, approver, approver2 or auditor with the password above)"
	@echo "           web and background worker below; Ctrl-C stops both"
	@echo ""
	FLOWADMIN_BASE_URL="$${FLOWADMIN_BASE_URL:-http://$(HOST):$(PORT)}" \
	$(PY) scripts/run.py web="$(PY) manage.py runserver $(HOST):$(PORT)" worker="$(PY) manage.py qcluster"

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Known vulnerabilities in the pinned requirements (pip-audit). Exit 1: found; 2: could not audit.
audit-deps: install-dev
	$(PY) scripts/audit_deps.py

# Debian's Chromium, axe-core and oidc-provider for the browser suite (tests/e2e); quick when all are there.
browser:
	bash scripts/install-browser.sh

# PNGs of the main screens per role at 1280 and 390 px wide, into docs/screenshots/.
screenshots: install-dev browser
	$(PY) -m tests.e2e.screenshots

test: install-dev browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Performance: builds its own data set in a throw-away database (PostgreSQL when DATABASE_URL says so),
# prints a table and writes bench/results.json. BENCH_ARGS="--scale 0.01 --quick" for a short run.
$(VENV)/.installed-bench: bench/requirements.txt $(VENV)/.installed
	$(PIP) install --quiet -r bench/requirements.txt
	touch $@

bench: $(VENV)/.installed-bench
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .test-db*
