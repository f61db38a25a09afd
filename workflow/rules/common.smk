# Helpers and validation in one place: the config is checked (schema, then cross-key rules, then the
# derived cell table) before any job is scheduled; an error names the key and the problem.
import math
import os
import sys

sys.path.insert(0, str(Path(workflow.current_basedir).parent / "scripts"))  # also under -s workflow/Snakefile

from grokedge.config import ConfigError, cell_params, cells, validate_config

try:
    validate_config(config)
    CELLS = cells(config)
except ConfigError as err:
    raise WorkflowError(str(err)) from None


# Jobs inherit this: matplotlib's font cache goes to the working directory instead of $HOME.
os.environ.setdefault("MPLCONFIGDIR", os.path.abspath(os.path.join(".snakemake", "matplotlib")))

CELL_BY_ID = {(c["experiment"], c["cell"]): c for c in CELLS}
RESULTS = "results"
TABLES = [f"{RESULTS}/tables/runs.parquet", f"{RESULTS}/tables/curves.parquet"]


wildcard_constraints:
    experiment=r"[a-z][a-z0-9_]*",
    cell=r"N\d+_d\d+_sigma[^_/]+_lr[^_/]+(_eps[^_/]+)?",
    block=r"\d+",


def block_files(stage, trained_only=False):
    """Every block's output of a stage, over all cells of all experiments."""
    return [
        f"{RESULTS}/cells/{c['experiment']}/{c['cell']}/block{b}/{stage}.parquet"
        for c in CELLS
        if config["experiments"][c["experiment"]]["train"] or not trained_only
        for b in range(c["n_blocks"])
    ]


def experiment_block_files(experiment, stage):
    """One experiment's block outputs of a stage."""
    return [f for f in block_files(stage) if f"/cells/{experiment}/" in f]


def params_of(wildcards):
    """A cell's full parameter dict (Snakemake tracks it: changing it reruns that cell only)."""
    return cell_params(config, wildcards.experiment, CELL_BY_ID[(wildcards.experiment, wildcards.cell)])


def block_work(wildcards):
    """Realisations x N x d of one block: the unit that sizes memory and runtime."""
    c = CELL_BY_ID[(wildcards.experiment, wildcards.cell)]
    return min(config["block_size"], c["realisations"]) * c["N"] * c["d"]


def train_mem_mb(wildcards):
    """The block's X, the solvers' working copy of it (GD: X with the bias column), the checkpoint states, and
    headroom for Python and numpy."""
    exp = config["experiments"][wildcards.experiment]
    extra = (
        exp["n_test"] * CELL_BY_ID[(wildcards.experiment, wildcards.cell)]["d"] if exp["test_set"] == "sampled" else 0
    )
    return 500 + int(3 * 8 * (block_work(wildcards) + extra) / 2**20)


def train_runtime(wildcards):
    """Minutes, from the measured cost model: a pass over X is memory-bound at ~1 ns per float64 element; GD
    makes 2 passes per epoch, the flow solver ~700 right-hand sides per decade of epochs at up to 4 passes each.
    Three times that, plus ten minutes, leaves room for a slower node."""
    exp = config["experiments"][wildcards.experiment]
    if exp["solver"] == "flow":
        passes = 4 * 700 * max(1.0, math.log10(exp["horizon"]))
    else:
        passes = 2 * exp["horizon"]
    return 10 + int(3 * passes * block_work(wildcards) * 1e-9 / 60)
