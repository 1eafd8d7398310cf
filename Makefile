# The habits: make install | demo | test | lint | bench
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
DEMO_DB  ?= demo-out/triage.db
RELEASES = 2.1.0 2.3.0 2.5.3 3.0.0 3.3.0 3.6.9 3.9.2 3.16.1
# Release dates (the sdists' build days), so the trend's time to fix in days is real.
DATES    = 2018-10-03 2019-10-29 2021-10-17 2022-10-12 2023-06-02 2024-06-27 2025-04-18 2026-10-11

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("triage needs Python >= 3.11" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Ingest the eight pymodbus releases in order (bandit, ruff, semgrep each), print one line
# per release, then write the trend report.
demo: install
	@mkdir -p demo-out && rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	@set -- $(DATES); for r in $(RELEASES); do \
	  $(BIN)/triage --db $(DEMO_DB) ingest sample_sarif/pymodbus/$$r/*.sarif \
	    --product pymodbus --release $$r --released $$1 \
	    --threat-model sample_sarif/pymodbus/threatmodel.yaml || exit $$?; \
	  shift; \
	done
	@for f in md html; do \
	  $(BIN)/triage -q --db $(DEMO_DB) trend --product pymodbus --format $$f \
	    --threat-model sample_sarif/pymodbus/threatmodel.yaml -o demo-out/trend.$$f \
	    $$([ $$f = html ] && echo --charts demo-out/charts) || exit $$?; \
	  $(BIN)/triage -q --db $(DEMO_DB) report --product pymodbus --format $$f \
	    -o demo-out/report-3.16.1.$$f || exit $$?; \
	done
	@echo "demo reports: $(CURDIR)/demo-out/report-3.16.1.html (.md), $(CURDIR)/demo-out/trend.html (.md) and the trend charts as PNG in $(CURDIR)/demo-out/charts/"

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check triage threatmodel tests
	$(BIN)/mypy triage threatmodel
	$(BIN)/lint-imports

# Speed and memory as ratios to floors measured in the same run (docs/benchmarks.md).
# BENCH_SIZES=100000 for the short run; synthetic logs are cached under $TMPDIR/triage-bench.
BENCH_SIZES ?= 100000,1000000
bench: install
	$(BIN)/python tests/bench.py
	$(BIN)/python tests/bench_ingest.py --sizes $(BENCH_SIZES) --profile
	$(BIN)/python tests/bench_trend.py

clean:
	rm -rf demo-out .pytest_cache build *.egg-info
