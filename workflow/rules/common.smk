# Helpers and validation in one place: the config is checked (schema, then cross-key rules, then the
# derived cell table) before any job is scheduled; an error names the key and the problem.
import sys

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from grokedge.config import ConfigError, cell_params, cells, validate_config

try:
    validate_config(config)
    CELLS = cells(config)
except ConfigError as err:
    raise WorkflowError(str(err)) from None

CELL_BY_ID = {(c["experiment"], c["cell"]): c for c in CELLS}
RESULTS = "results"
TABLES = [f"{RESULTS}/tables/runs.parquet", f"{RESULTS}/tables/curves.parquet"]
MAIN_FIGURES = ["grokking_time", "loss_nonmonotone", "separable_fraction", "final_accuracy"]
FIGURES = [f"{RESULTS}/figures/{name}.png" for name in MAIN_FIGURES]
FIGURES += [f"{RESULTS}/figures/toy_{name}.png" for name in ("fig8", "fig9", "fig3")]
FIGURES += [f"{RESULTS}/figures/blog_{name}.png" for name in ("data", "curves", "angle")]


wildcard_constraints:
    experiment=r"[a-z][a-z0-9_]*",
    cell=r"N\d+_d\d+_sigma[^_/]+_lr[^_/]+",
    block=r"\d+",


def block_files(stage, trained_only=False):
    """Every block's output of a stage, over all cells of all experiments."""
    return [
        f"{RESULTS}/cells/{c['experiment']}/{c['cell']}/block{b}/{stage}.parquet"
        for c in CELLS
        if config["experiments"][c["experiment"]]["train"] or not trained_only
        for b in range(c["n_blocks"])
    ]


def params_of(wildcards):
    """A cell's full parameter dict (Snakemake tracks it: changing it reruns that cell only)."""
    return cell_params(config, wildcards.experiment, CELL_BY_ID[(wildcards.experiment, wildcards.cell)])


def block_work(wildcards):
    """Realisations x N x d of one block: the unit that sizes memory and runtime."""
    c = CELL_BY_ID[(wildcards.experiment, wildcards.cell)]
    return min(config["block_size"], c["realisations"]) * c["N"] * c["d"]


def train_mem_mb(wildcards):
    """X and its transpose for the block, the checkpoint states, and headroom for Python and numpy."""
    exp = config["experiments"][wildcards.experiment]
    extra = exp["n_test"] * CELL_BY_ID[(wildcards.experiment, wildcards.cell)]["d"] if exp["test_set"] == "sampled" else 0
    return 500 + int(3 * 8 * (block_work(wildcards) + extra) / 2**20)


def train_runtime(wildcards):
    """Minutes: generous in the work per step and in log(horizon) for the flow solver, linear for GD."""
    exp = config["experiments"][wildcards.experiment]
    steps = exp["horizon"] if exp["solver"] != "flow" else 2000 * max(1.0, __import__("math").log10(exp["horizon"]))
    return 10 + int(block_work(wildcards) * steps * 4e-9 / 60 * 10)
