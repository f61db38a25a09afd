# Helpers and validation in one place: the config is checked (schema, then cross-key rules, then the
# derived cell table) before any job is scheduled; an error names the key and the problem.
import json
import math
import os
import sys

sys.path.insert(0, str(Path(workflow.current_basedir).parent / "scripts"))  # also under -s workflow/Snakefile

from grokedge.config import (
    ConfigError,
    cells,
    check_config_files,
    config_hash,
    recorded_hash,
    results_dir,
    validate_config,
)
from grokedge import resources as resources_model
from grokedge import solvers
from grokedge.spec import cell_spec

if " " in sys.executable:
    # Snakemake starts each job as `<python> -m snakemake ...` through the shell without quoting the interpreter
    raise WorkflowError(
        f"the Python interpreter's path contains a space ({sys.executable}): Snakemake cannot start "
        "jobs with it. Put the virtual environment in a path without spaces, e.g. "
        "make run VENV=~/.venvs/grokedge (the checkout itself may contain spaces)"
    )
# Snakemake has read the config files already, silently keeping the last of a duplicated key and YAML 1.1's
# readings of 050, 0x10 or 1_000: refuse those, naming the file and line.
_problems = check_config_files(workflow.configfiles)
if _problems:
    raise WorkflowError("\n".join(f"config error: {p}" for p in _problems))
# `snakemake` started in workflow/ (where it finds workflow/Snakefile) works in the checkout's root, as from
# there: otherwise it would plan a second results tree under workflow/ (an explicit --directory still wins).
_ROOT = Path(workflow.current_basedir).parents[1]
if Path.cwd().resolve() == (_ROOT / "workflow").resolve():
    workflow.workdir(str(_ROOT))
try:
    validate_config(config)
    CELLS = cells(config)
except ConfigError as err:
    raise WorkflowError(str(err)) from None
# Each cell's specification (grokedge.spec.CellSpec): what its jobs' params and the cost model read.
_SPECS = {(c["experiment"], c["cell"]): cell_spec(config, c) for c in CELLS}


def _spec(c):
    return _SPECS[c["experiment"], c["cell"]]


CONFIG_HASH = config_hash(config)
# Jobs inherit this: grokedge.provenance stamps it into every table (never a param, as that would force reruns).
os.environ.update(GROKEDGE_CONFIG_HASH=CONFIG_HASH)


# Jobs inherit this: matplotlib's font cache goes to the working directory instead of $HOME.
os.environ.setdefault("MPLCONFIGDIR", os.path.abspath(os.path.join(".snakemake", "matplotlib")))

RESULTS = results_dir(config)
RUN_CONFIG = f"{RESULTS}/config.json"
TABLES = [f"{RESULTS}/tables/runs.parquet", f"{RESULTS}/tables/curves.parquet"]


def block_files(stage, trained_only=False):
    """Every block's output of a stage, over all cells of all experiments."""
    return [
        f"{RESULTS}/cells/{c['experiment']}/{c['cell']}/block{b}/{stage}.parquet"
        for c in CELLS
        if config["experiments"][c["experiment"]]["train"] or not trained_only
        for b in range(c["n_blocks"])
    ]


def figure_files(fig):
    """A registered figure's table files under this run's results folder (grokedge.registry.input_files)."""
    from grokedge import registry

    return registry.input_files(fig, config, RESULTS, lambda e: experiment_block_files(e, "state"))


def experiment_block_files(experiment, stage):
    """One experiment's block outputs of a stage."""
    return [f for f in block_files(stage) if f"/cells/{experiment}/" in f]


# -- grouped train jobs (workflow/rules/train.smk) ------------------------------------------------------------------
# A train job covers a run of one experiment's blocks (grid order) of about TRAIN_CHUNK_S modelled seconds (or a
# 1/TRAIN_MAX_JOBS share of an experiment of hours, for a cluster): the few seconds of a process's start-up are
# paid once per job, not per block. Each block's curves and state are cached (results/cache/train/), keyed on
# the cell's parameters and the code, so changing one cell retrains that cell only.
TRAIN_CHUNK_S = 20.0
TRAIN_MAX_JOBS = 100


def _train_job(c, b):
    """What the cost model knows of one block's training (grokedge.resources)."""
    return resources_model.TrainJob.of_block(_spec(c), b)


def _train_threads(c):
    """The threads the cell's solver asks for (grokedge.solvers: GD and Adam 2, the flow 1)."""
    return solvers.get(_spec(c).solver).threads


def train_threads(chunk):
    """Threads of a train job: one experiment per chunk, so one solver."""
    return _train_threads(chunk[0][0])


def _train_seconds(c, b, threads):
    return resources_model.runtime_s(_train_job(c, b), threads=threads)


def _train_chunks():
    """[(name suffix, [(cell, block)])] of the train jobs (``_chunks``)."""
    trained = sorted({c["experiment"] for c in CELLS if config["experiments"][c["experiment"]]["train"]})
    return _chunks(trained, lambda c, b: _train_seconds(c, b, _train_threads(c)), TRAIN_CHUNK_S, TRAIN_MAX_JOBS)


def train_mem_mb(name, chunk):
    """MiB: the cost model's peak over the chunk's blocks (grokedge.resources.mem_mb) plus 25%. A job that cannot
    fit this machine (or $GROKEDGE_MEM_MB) is refused here, before anything runs, naming the cell and its size."""
    c, b = max(chunk, key=lambda cb: resources_model.mem_mb(_train_job(*cb)))
    mem = 1.25 * resources_model.mem_mb(_train_job(c, b))
    resources_model.check_fits(f"{c['experiment']}/{c['cell']}", mem, job=f"the train job {name}")
    return int(mem)


def train_model_core_s(chunk):
    """Core-seconds of a train job by the cost model (wall time on idle cores times threads): the `model_core_s`
    resource, which `make plan` (grokedge.plan) adds up; Snakemake and SLURM ignore it."""
    threads = train_threads(chunk)
    return int(round(threads * sum(_train_seconds(c, b, threads) for c, b in chunk)))


def train_runtime(chunk):
    """Minutes: three times the cost model's wall time (grokedge.resources.runtime_s) plus ten minutes, which
    leaves room for a slower or busier node."""
    threads = train_threads(chunk)
    return 10 + int(3 * sum(_train_seconds(c, b, threads) for c, b in chunk) / 60)


# -- one folder per configuration ---------------------------------------------------------------------------------
# <results>/config.json records the configuration (and its hash) of the last complete run in the folder: it is
# written after every table and figure, and again whenever the configuration changes (its hash is a param).
# Figures that the new configuration no longer draws are moved aside, and a report is only built for the
# configuration that made the results.


if any(a == "--report" or a.startswith("--report=") for a in sys.argv):
    _recorded = recorded_hash(RUN_CONFIG)
    _how = (
        "run `make run` with the same PRESET and SNAKEMAKE_ARGS first, or build the report with the PRESET "
        "and SNAKEMAKE_ARGS of the run that made it"
    )
    if _recorded is None:
        raise WorkflowError(f"no complete run of this configuration in {RESULTS}/ (no {RUN_CONFIG}): {_how}")
    if _recorded != CONFIG_HASH:
        raise WorkflowError(
            f"{RESULTS}/ holds a run of another configuration (config hash {_recorded}; this "
            f"command's is {CONFIG_HASH}), so the report would describe the wrong run: {_how}"
        )


# -- grouped separability jobs (workflow/rules/separability.smk) ---------------------------------------------------
# Modelled seconds of work per job (grokedge.resources.separability_runtime_s): ~15 s, so that jobs finish early
# and run side by side, or a 1/SEPARABILITY_MAX_JOBS share of an experiment whose LPs take hours (the paper's
# 15,000 sets per d). Chunks are runs of blocks in grid order (``_chunks``).
SEPARABILITY_CHUNK_S = 15.0
SEPARABILITY_MAX_JOBS = 100


def _separability_cost(c, b):
    """(modelled seconds, MiB) of one block's separability work."""
    job = resources_model.SeparabilityJob.of_block(_spec(c), b)
    return resources_model.separability_runtime_s(job), resources_model.separability_mem_mb(job)


def _chunks(experiments, seconds, chunk_s, max_jobs):
    """[(name suffix, [(cell, block)])]: each experiment's blocks in grid order, cut into runs of about
    ``chunk_s`` modelled seconds (``seconds(cell, block)``), or of a 1/``max_jobs`` share of an experiment
    whose work takes hours (a bounded number of cluster jobs). Adding a cell may move the boundaries after it:
    those jobs rerun, but their blocks come from the cache."""
    out = []
    for exp in experiments:
        blocks = [(c, b) for c in CELLS if c["experiment"] == exp for b in range(c["n_blocks"])]
        target = max(chunk_s, sum(seconds(c, b) for c, b in blocks) / max_jobs)
        chunks, work = [[]], 0.0
        for c, b in blocks:
            w = seconds(c, b)
            if chunks[-1] and work + w > target:
                chunks.append([])
                work = 0.0
            chunks[-1].append((c, b))
            work += w
        out += [(f"{exp}_{k}", chunk) for k, chunk in enumerate(chunks)]
    return out


def _separability_chunks():
    """[(name suffix, [(cell, block)])] of the separability jobs (``_chunks``)."""
    experiments = sorted({c["experiment"] for c in CELLS})
    return _chunks(experiments, lambda c, b: _separability_cost(c, b)[0], SEPARABILITY_CHUNK_S, SEPARABILITY_MAX_JOBS)


def separability_mem_mb(name, chunk):
    """MiB: the cost model's peak over the chunk's blocks plus 25%; refused before anything runs if the machine
    (or $GROKEDGE_MEM_MB) is smaller, naming the largest cell."""
    c, b = max(chunk, key=lambda cb: _separability_cost(*cb)[1])
    mem = 1.25 * _separability_cost(c, b)[1]
    resources_model.check_fits(f"{c['experiment']}/{c['cell']}", mem, job=f"the separability job {name}")
    return int(mem)


def separability_model_core_s(chunk):
    """Core-seconds of a separability job by the cost model (one thread): its `model_core_s` resource."""
    return int(round(sum(_separability_cost(c, b)[0] for c, b in chunk)))


def separability_runtime(chunk):
    """Minutes: three times the modelled work plus ten minutes (as train_runtime)."""
    return 10 + int(3 * sum(_separability_cost(c, b)[0] for c, b in chunk) / 60)


def _block_path(c, b, name):
    return f"{RESULTS}/cells/{c['experiment']}/{c['cell']}/block{b}/{name}"
