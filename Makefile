# Two commands on a fresh machine with Python 3.11: `make run` and `make test`. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run serve test bench load attack setup data lint clean-data screenshots

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Secrets (made once, git-ignored) and the synthetic datasets (built when missing).
data: $(VENV)/.runtime
	$(PY) -m scripts.init_secrets
	$(PY) -m scripts.build_data

setup: data

run: data
	$(PY) -m scripts.serve

# N portal processes behind HAProxy on one port (scripts/replicas.py; README "Serving many visitors"):
# `make serve REPLICAS=4 PORT=8080`. Needs Debian's haproxy.
REPLICAS ?= 2
PORT ?= 8501
serve: data
	$(PY) -m scripts.replicas --replicas $(REPLICAS) --port $(PORT)

# Tests run in parallel processes (pytest-xdist); each has its own browser-test server. Two suit a 2-core
# machine (four took longer: the suite is bound by the processor, Chromium's included); `make test
# PYTEST_WORKERS=0` runs them in one process. Work stealing: pytest-xdist's default hands out runs of
# consecutive tests, and once gave one worker every browser test while the other sat idle.
PYTEST_WORKERS ?= 2
test: $(VENV)/.dev data
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(if $(filter 0,$(PYTEST_WORKERS)),,--dist worksteal)

bench: $(VENV)/.dev data
	$(PY) -m scripts.bench
	$(PY) -m scripts.bench_app
	$(PY) -m scripts.bench_browser
	$(PY) -m scripts.bench_ingest
	$(PY) -m scripts.bench_ingest --rows 30000 --format csv
	$(PY) -m scripts.bench_ingest --rows 30000 --format xlsx

# Simulated visitors on Streamlit's websocket protocol (scripts/load: the recorded messages of a Chromium
# session, replayed by locust): CPU-seconds per rerun and p50/p95 under a rising number of visitors, this
# checkout behind HAProxy with 1, 2 and 4 processes (their shared state in a throwaway PostgreSQL) beside one
# process of LOAD_BASE (a temporary git worktree of it; LOAD_BASE=none for this checkout alone). The default
# is the portal before issue 21's cheaper reruns (its recorded visit: scripts/load/fixtures/7d36872.json).
# About 17 minutes; LOAD_ARGS="--base none --replicas 1,2 --users 25,50 --seconds 20" about 7.
LOAD_BASE ?= 7d36872
load: $(VENV)/.dev data
	$(PY) -m scripts.load --base $(LOAD_BASE) $(LOAD_ARGS)

# The public tier's attack suite (scripts/attack.py, docs/disclosure.md): each attack's recovery rate beside
# its naive baseline, at a larger budget than tests/privacy; with the tests' fixed secret, so that the figures
# are those of docs/disclosure.md. ATTACK_ARGS="--noise 5" also compares a wider perturbation table.
attack: $(VENV)/.dev data
	PORTAL_CKM_SECRET=test-only-ckm-secret-0123456789-abcdefghijklmnop $(PY) -m scripts.attack $(ATTACK_ARGS)

# Every page at 1366x768 and 390x844, full page, into docs/screenshots/ (scripts/screenshots.py; its own server).
screenshots: $(VENV)/.dev data
	$(PY) -m scripts.screenshots $(SCREENSHOT_ARGS)

lint: $(VENV)/.dev
	$(PY) -m ruff check .

clean-data:
	rm -rf data/generated data/bench
