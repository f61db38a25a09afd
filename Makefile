# The two commands of the README: `make run` (laptop default) and `make test`. Both create the virtual
# environment from the pinned lock on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.lock | cut -c1-12)
CORES ?= all
PRESET ?=
PRESET_FILE := workflow/presets/$(PRESET).yaml
SNAKEMAKE_ARGS ?=

.PHONY: run test bench lint dry-run report lock slurm-test clean-venv provenance check-preset

$(STAMP): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	rm -f $(VENV)/.installed-* && touch $@

preset-args = $(if $(PRESET),--configfile $(PRESET_FILE))

check-preset:
	@if [ -n "$(PRESET)" ] && [ ! -f "$(PRESET_FILE)" ]; then \
	  echo "error: no preset '$(PRESET)' (expected $(PRESET_FILE)); presets: $$(ls workflow/presets | sed 's/.yaml//' | tr '\n' ' ')" >&2; exit 2; fi

## make run [PRESET=smoke|paper] [CORES=n]: run the workflow (the laptop default without PRESET)
run: $(STAMP) check-preset
	$(BIN)/snakemake --cores $(CORES) $(preset-args) $(SNAKEMAKE_ARGS)

## make test: the test suite (fast; unit tests and a smoke-grid workflow run)
test: $(STAMP)
	$(BIN)/python -m pytest -q tests

## make bench: the benchmark suite (slow, on purpose; prints ratios against same-run baselines)
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

## make provenance TABLE=results/tables/runs.parquet: print a table's provenance (commit, versions, host, ...)
TABLE ?= results/tables/runs.parquet
provenance: $(STAMP)
	PYTHONPATH=workflow/scripts $(BIN)/python -m grokedge.provenance $(TABLE)

lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/ruff check workflow tests benchmarks

dry-run: $(STAMP) check-preset
	$(BIN)/snakemake --dry-run --quiet rules $(preset-args)

report: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(preset-args) --report results/report.html

## make slurm-test: the SLURM profile end to end on a throw-away one-node cluster (root; Debian; a few minutes)
slurm-test: $(STAMP)
	VENV=$(VENV) bash tools/slurm/test_slurm.sh

## make lock: re-resolve requirements.in into requirements.lock
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install --quiet -r requirements.in
	(echo "# Generated from requirements.in by 'make lock' (pip freeze of a fresh venv on Python 3.11). Do not edit by hand."; \
	  .venv-lock/bin/pip freeze) > requirements.lock && rm -rf .venv-lock

clean-venv:
	rm -rf $(VENV)
