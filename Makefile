# cordon — the two commands a new user needs: `make demo` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CORDON := $(VENV)/bin/cordon
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-out
SEED ?= 7

.PHONY: demo test lint typecheck check sysdeps bench-ingest bench-hash bench-match bench-colink bench-entities bench-detect bench-serve eval clean

# System packages that wheels or tests need (compilers, FFmpeg headers for vpdq/PyAV). Installed once, as root.
SYSDEPS := g++ pkg-config libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavdevice-dev libavfilter-dev chromium
sysdeps:
	@missing=""; for p in $(SYSDEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml | sysdeps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,x,video,serve,postgres,hashsharing,index]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(CORDON) simulate $(DEMO_DIR)/world --seed $(SEED) --scale 0.1
	$(CORDON) analyze $(DEMO_DIR)/world --bank $(DEMO_DIR)/world/bank.csv --out $(DEMO_DIR) || [ $$? = 3 ]
	$(CORDON) doctor
	@echo
	@echo "demo results:"
	@echo "  synthetic world (Mastodon export, bank.csv, truth.json): $(DEMO_DIR)/world"
	@echo "  cases:   $(DEMO_DIR)/cases.json   (schema: docs/cases-json.md)"
	@echo "  report:  $(DEMO_DIR)/report.html  (open it in a browser)"
	@echo "  corpus:  $(DEMO_DIR)/corpus.duckdb (cordon stats --db $(DEMO_DIR)/corpus.duckdb)"

test: $(STAMP)
	CORDON_TEST_PG_URL=$$(scripts/ensure-postgres) $(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict

check: lint typecheck test

bench-ingest: $(STAMP)
	$(PY) benchmarks/bench_ingest.py

bench-match: $(STAMP)
	$(PY) benchmarks/bench_match.py

bench-hash: $(STAMP)
	$(PY) benchmarks/bench_hash.py

bench-colink: $(STAMP)
	$(PY) benchmarks/bench_colink.py

bench-entities: $(STAMP)
	$(PY) benchmarks/bench_entities.py

bench-detect: $(STAMP)
	$(PY) benchmarks/bench_detect.py

bench-serve: $(STAMP)
	$(PY) benchmarks/bench_serve.py

eval: $(STAMP)
	$(PY) benchmarks/eval_quality.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
