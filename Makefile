# The two commands of the README: `make run` (laptop default) and `make test`. Both create the virtual
# environment from the pinned lock on first use.
SHELL := /bin/bash

ifeq ($(wildcard requirements.lock workflow/presets),)
# `make -f path/to/Makefile ...` from another folder: run the same goals in the checkout (variables such as
# PRESET=smoke travel along in MAKEFLAGS).
_ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
_forward:
	@$(MAKE) --no-print-directory -C "$(_ROOT)" $(MAKECMDGOALS)
%:: _forward ;
else

PYTHON ?= python3
PYTHON_MIN := 3.11
# Snakemake starts jobs with the venv's interpreter path unquoted: in a checkout whose path has a space, the
# default venv goes to ~/.venvs instead (one per checkout).
ifneq ($(word 2,$(CURDIR)),)
VENV ?= $(HOME)/.venvs/grokedge-$(shell printf '%s' "$(CURDIR)" | sha256sum | cut -c1-8)
else
VENV ?= .venv
endif
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.lock | cut -c1-12)
CORES ?= all
PRESET ?=
PRESET_FILE := workflow/presets/$(PRESET).yaml
SNAKEMAKE_ARGS ?=

REPORT ?= results/report.html
.PHONY: run test bench lint dry-run plan report lock slurm-test clean-venv provenance check-preset check-cores

# Python >= 3.11 (the lock is resolved on 3.11) is checked before anything is built; a venv left broken or too old
# by an earlier attempt is rebuilt, and a failed install removes the half-built venv.
py-ok = "$(1)" -c 'import sys; sys.exit(sys.version_info < tuple(map(int, "$(PYTHON_MIN)".split("."))))' 2>/dev/null
$(STAMP): requirements.lock
	@$(call py-ok,$$(command -v $(PYTHON))) || { found=$$($(PYTHON) -V 2>/dev/null || echo "not found"); \
	  echo "error: grokedge needs Python >= $(PYTHON_MIN); PYTHON=$(PYTHON) is $$found." \
	  "Name a newer one, e.g. make run PYTHON=python3.11" >&2; exit 2; }
	@if [ -e "$(BIN)/python" ] && ! $(call py-ok,$(BIN)/python); then \
	  echo "$(VENV) is broken or older than Python $(PYTHON_MIN): rebuilding it" >&2; rm -rf "$(VENV)"; fi
	@test -x "$(BIN)/python" || { echo "building $(VENV) from requirements.lock (a few minutes, once)"; \
	  $(PYTHON) -m venv "$(VENV)"; }
	"$(BIN)/python" -m pip install --quiet --upgrade pip
	"$(BIN)/python" -m pip install --quiet -r requirements.lock || { rm -rf "$(VENV)"; \
	  echo "error: installing requirements.lock failed (above); removed $(VENV), the next make starts afresh" >&2; exit 1; }
	rm -f "$(VENV)"/.installed-* && touch "$@"

# The preset and the config files of SNAKEMAKE_ARGS go after one --configfile: Snakemake keeps only the last of
# several --configfile options, which would drop the preset without a word.
preset-args = $(if $(PRESET),--configfile $(PRESET_FILE))
with-preset = $(subst --configfile=,--configfile $(PRESET_FILE) ,$(subst --configfile ,--configfile $(PRESET_FILE) ,$(1)))
snakemake-args = $(if $(and $(PRESET),$(findstring --configfile,$(SNAKEMAKE_ARGS))),$(call with-preset,$(SNAKEMAKE_ARGS)),$(preset-args) $(SNAKEMAKE_ARGS))

check-preset: $(STAMP)
	@if [ -n "$(PRESET)" ] && [ ! -f "$(PRESET_FILE)" ]; then \
	  echo "error: no preset '$(PRESET)' (expected $(PRESET_FILE)); presets: $$(ls workflow/presets | sed 's/.yaml//' | tr '\n' ' ')" >&2; exit 2; fi
	@PYTHONPATH=workflow/scripts $(BIN)/python -m grokedge.config $(snakemake-args)

check-cores:
	@[[ "$(CORES)" == all || "$(CORES)" =~ ^[1-9][0-9]*$$ ]] || { \
	  echo "error: CORES=$(CORES): give a positive whole number of cores, or all (e.g. make run CORES=2)" >&2; exit 2; }

## make run [PRESET=smoke|paper] [CORES=n] [SNAKEMAKE_ARGS="--config key=value"]: run the workflow
run: $(STAMP) check-preset check-cores
	$(BIN)/snakemake --cores $(CORES) $(snakemake-args)

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

## make dry-run / make report [PRESET=...] [SNAKEMAKE_ARGS=...]: what a run with the same arguments would do / the
## HTML report of the run made with the same arguments (REPORT=path; refused for results of another config)
dry-run: $(STAMP) check-preset
	$(BIN)/snakemake --dry-run --quiet rules $(snakemake-args)

## make plan [PRESET=...] [SNAKEMAKE_ARGS=...]: what a cold run of that configuration costs, per experiment: jobs,
## core-hours (cost model and requested), peak memory, the largest job; read from the dry run's resource requests
plan: $(STAMP) check-preset
	@PYTHONPATH=workflow/scripts $(BIN)/python -m grokedge.plan $(preset-args) $(SNAKEMAKE_ARGS)

report: $(STAMP) check-preset check-cores
	$(BIN)/snakemake --cores $(CORES) $(snakemake-args) --report $(REPORT)

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

endif
