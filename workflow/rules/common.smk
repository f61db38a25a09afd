# Helpers and validation in one place: the config is checked (schema, then cross-key rules, then the
# derived cell table) before any job is scheduled; an error names the key and the problem.
import math
import os
import sys

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from grokedge.config import ConfigError, cell_params, cells, validate_config
from grokedge import resources as resources_model

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
# figure -> the experiments it draws; a figure is made only when all its experiments are active
_FIGS = config["figures"]
_main = _FIGS["main_experiment"]
FIGURE_EXPERIMENTS = {name: [_main] for name in
                      ("grokking_time", "loss_nonmonotone", "separable_fraction", "final_accuracy", "asymptotic")}
for _key, _names in (("training_curves", ["training_curves", "projections_paths"]), ("s_inf", ["s_inf"]),
                     ("two_gaussian", ["two_gaussian"]), ("adam", ["adam"]), ("finite_size", ["finite_size"])):
    if _key in _FIGS:
        for _name in _names:
            FIGURE_EXPERIMENTS[_name] = [_FIGS[_key]] if isinstance(_FIGS[_key], str) else list(_FIGS[_key])
FIGURE_EXPERIMENTS = {k: v for k, v in FIGURE_EXPERIMENTS.items() if set(v) <= set(config["active"])}
TABLE_FIGURES = [name for name in FIGURE_EXPERIMENTS if name != "projections_paths"]
FIGURES = [f"{RESULTS}/figures/{name}.png" for name in FIGURE_EXPERIMENTS]
FIGURES += [f"{RESULTS}/figures/toy_{name}.png" for name in ("fig8", "fig9", "fig3")]
FIGURES += [f"{RESULTS}/figures/blog_{name}.png" for name in ("data", "curves", "angle")]


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


def _train_job(wildcards):
    """The cost model's arguments for one train job (grokedge.resources)."""
    exp = config["experiments"][wildcards.experiment]
    c = CELL_BY_ID[(wildcards.experiment, wildcards.cell)]
    return dict(N=c["N"], d=c["d"], realisations=min(config["block_size"], c["realisations"]), solver=exp["solver"],
                horizon=exp["horizon"], n_test=exp["n_test"] if exp["test_set"] == "sampled" else 0)


def train_threads(wildcards):
    """GD and Adam split a block's realisations over 2 threads (bitwise identical for any count); the flow
    solver runs on one (a streamed realisation is memory-bound: N = 4000, d = 1920 to 1e9 epochs took 11.3 s
    on one thread and on two, idle machine)."""
    return 1 if _train_job(wildcards)["solver"] == "flow" else 2


def train_mem_mb(wildcards):
    """MiB: the cost model's peak (grokedge.resources.mem_mb) plus 25%. A job that cannot fit this machine
    (or $GROKEDGE_MEM_MB) is refused here, before anything runs, naming the cell and its size."""
    mem = 1.25 * resources_model.mem_mb(**_train_job(wildcards))
    resources_model.check_fits(f"{wildcards.experiment}/{wildcards.cell}", mem)
    return int(mem)


def train_runtime(wildcards):
    """Minutes: three times the cost model's wall time (grokedge.resources.runtime_s) plus ten minutes, which
    leaves room for a slower or busier node."""
    return 10 + int(3 * resources_model.runtime_s(**_train_job(wildcards), threads=train_threads(wildcards)) / 60)
