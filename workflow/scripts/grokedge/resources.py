"""Cost model of a train job (one block of realisations of one cell): peak memory and wall time.

A job is what the model reads of a block: ``TrainJob.of_block(cell, block)`` (grokedge.solvers.base) of a cell's
specification (grokedge.spec.CellSpec: its size, input scale sigma, solver, horizon, checkpoints and test set),
and ``SeparabilityJob.of_block(spec, block)`` for its separability stage (below).

Memory (MiB) is the sum of what the job holds at its peak, in float64 unless said otherwise:

    base                          interpreter, numpy, scipy, pandas, pyarrow           BASE_MB
    data                          the block's X as loaded by the train stage: the list   2 R N d
                                  of realisations and the stacked (R, N, d) array        (R = 1: R N d)
    the solver's own              its ``copy_elements``: GD / Adam's working copy        R N (d + 1)
                                  U = [X, c] for data below STREAM_MIN_BYTES per
                                  realisation (larger are streamed); the flow none
    checkpoint states             the states, their copy and the metrics'                R K (d + 1) (x 3)
    metrics                       the margins at every checkpoint, a few temporaries     4 R N K
    sampled test set              R n_test d, plus the draw's temporary                  (R + 1) n_test d

with K the number of checkpoints. Runtime (seconds) counts passes over the data, each costing PASS_NS per
element (memory-bound; float32 storage F32_FACTOR of it) or, for data that stay in the cache (the GD kernel's
resident mode, the flow's batched groups), RESIDENT_NS per element and product, plus the data's generation
(DRAW_NS per element) and a fixed start-up. A gradient is one fused pass over streamed data, two products
(X w and p^T X) over batched data; how many the training takes is the solver's ``train_seconds``
(grokedge.solvers):

    GD / Adam   one gradient per step (grokedge.solvers.descent)
    flow        warm-up (100 GD steps) + the right-hand sides of ``rhs_count``, each one gradient, and on the
                corrected stretch one Hessian-vector product per RKS3 step, plus Python per right-hand side and
                group (grokedge.solvers.flow). The count grows as sigma^2 once the flow's stiffness, not the
                accuracy, sets the step: rho(H) ~ 5 sigma^2 / t late in training, so ~7.6 sigma^2 right-hand
                sides per decade of epochs, against an accuracy floor of ~180 (sigma = 1 and 5 cost about the
                same, sigma = 10 four times as much). Measured at lambda = 0.48, eta = 0.01, to 1e9 epochs, N =
                400, 1000 and 2000, three seeds each, load 3.8 on 2 cores (``python -m benchmarks.resources
                --sigma``), measured / model right-hand sides to 10^4 epochs and after: sigma = 1: 236 / 324 and
                886 / 900; sigma = 5: 314 / 324 and 1002 / 950; sigma = 10: 1022 / 1032 and 3800 / 3800. At
                N = 4e4, d = 19200 (one gradient ~0.6 s) that is ~8 min per decade at sigma = 10, as the
                paper-scale run's Fig. 10 cell took (~9 min per decade under load), where the model had given the
                whole job to 1e8 epochs 12 min (now 43 min).

The constants are measured (``python -m benchmarks.resources`` prints model against measurement for jobs of
several sizes); ``mem_mb`` and ``runtime_min`` of the Snakemake rule add a safety factor on top.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from . import solvers
from .solvers.base import TrainJob

BASE_MB = 200.0  # measured: a train job with numpy, scipy, pandas and pyarrow loaded, ~0.2 GB
DRAW_NS = 15.0  # per element: a standard normal, scaled (numpy's ziggurat)
PASS_NS = 0.8  # per float64 element of one streamed (fused) pass over X, one thread
F32_FACTOR = 0.9  # float32 storage: half the memory, but the conversion to float64 costs compute (measured
# at N = 4e4, d = 19200: 0.55 CPU-s per pass, 0.72 ns per element)
RESIDENT_NS = 0.12  # per element of one pass over a block that stays in cache


def checkpoints(horizon: float, per_decade: int) -> int:
    return int(per_decade * math.log10(max(horizon, 10.0))) + 10


def mem_mb(job: TrainJob) -> float:
    """Peak resident memory of a train job in MiB (see the module docstring); the solver's own share is its
    ``copy_elements`` (grokedge.solvers). The data are held twice for a block of several realisations (the list
    and their stacked array, as the pipeline's train stage does), once for one (a view)."""
    R, N, d, K = job.realisations, job.N, job.d, checkpoints(job.horizon, job.checkpoints_per_decade)
    data_copies = 1 if R == 1 else 2
    elems = data_copies * R * N * d * (0.5 if job.float32 else 1.0) + 4.0 * R * N * K + 3.0 * R * K * (d + 1)
    elems += solvers.get(job.solver).copy_elements(job)
    if job.n_test:
        elems += (R + 1) * job.n_test * d
    return BASE_MB + 8.0 * elems / 2**20


def train_s(job: TrainJob) -> float:
    """Seconds of one core the training itself takes: the solver's ``train_seconds`` (grokedge.solvers) given the
    seconds of one gradient."""
    work = job.realisations * job.N * job.d
    # seconds of one gradient: one fused pass over the data (streamed) or two products over cached data
    pass_ns = PASS_NS * (F32_FACTOR if job.float32 else 1.0) if job.streamed else 2.0 * RESIDENT_NS
    return solvers.get(job.solver).train_seconds(job, pass_ns * 1e-9 * work)


def runtime_s(job: TrainJob, threads: int = 1) -> float:
    """Wall time of a train job in seconds on idle cores (see the module docstring): start-up, the data's draw
    and the training (``train_s``); ``threads`` (GD's split of the realisations, the streamed solvers' split of
    the rows) is counted at 1.7x for two, as measured."""
    R = job.realisations
    draw = DRAW_NS * 1e-9 * (R * job.N * job.d + R * job.n_test * job.d)
    return 1.5 + draw + train_s(job) / (1.0 if threads < 2 else 1.7)


# Separability jobs (one per experiment or chunk; grokedge.stages.separability_block). Per set, the certified decision
# of grokedge.separability.classify: an inseparable set is one Newton solve of S_inf (two float32 Hessians of N d^2
# and CG steps), ~NEWTON_NS N d^2; a separable one an interior point for its margin (~8-15 normal matrices
# X^T D X, float32 while far from the optimum, and the snap's Gram of the support), ~IPM_NS N d^2; the verdict that
# Wendel's odds make the less likely one pays a failed attempt at the other route first, ~FAILED_NS N d^2 (Newton
# hands a separable set over after 4-6 steps, when its gradient grows again). Each set also costs ~SET_PASS_NS
# N d of passes over X (its scaled and float32 copies, gradients, CG products), its draw (DRAW_NS) and the hash of
# its manifest (HASH_NS): a block without a cache is drawn once (grokedge.stages.dataset_and_separability).
# Measured as CPU time of one core, at load 9-11 on 2 cores (python -m benchmarks.resources --separability; a
# loaded machine's wall time is larger, its CPU time less so), routes apart:
#   Newton, inseparable: N = 1200, d = 585-596: 0.05-0.11 s (mean 0.075); N = 2400, d = 1170-1191: 0.28-0.53 s
#     (mean 0.39; 0.37 in the resources benchmark, draw and hash included) -> 0.1 ns N d^2 + 10 ns N d (0.048 s
#     and 0.36 s: the sizes that dominate the paper preset are fitted, small sets are ~35% over the model);
#   interior point, separable: N = 1200, d = 630: 0.12-0.17 s (mean 0.14); N = 2400, d = 1260: 0.92-0.99 s
#     -> 0.25 ns N d^2 (0.13 s and 0.98 s);
#   Newton then interior point, separable: N = 1200, d = 596: 0.14-0.21 s (mean 0.19); N = 2400, d = 1170-1191:
#     1.2-2.1 s (mean 1.8) -> 0.5 ns N d^2 = FAILED_NS + IPM_NS (0.2 and 1.7 s).
# Draw 10 ns and hash 4.5 ns per element (N = 2400, d = 1170, best of 5). Memory: one set at a time: the
# realisation, X's scaled and float32 copies and the weighted rows of the Hessian or the interior point's normal
# matrix (6 N d), and the d x d matrices and factors, the snap's Gram matrix among them (4 d^2); measured peak RSS
# 231 MB (N = 1200, d = 630), 369 MB (N = 2400, d = 1260, interior point).
NEWTON_NS = 0.1
IPM_NS = 0.25
FAILED_NS = 0.25
SET_PASS_NS = 10.0
HASH_NS = 4.5
PER_SET_S = 0.005  # Python per set


@dataclass(frozen=True)
class SeparabilityJob:
    """What the cost model knows of one block's separability work: ``sets`` sets of N x d points, each with its
    certified decision (``decide``, the experiment's ``separability`` option) or only drawn and hashed."""

    N: int
    d: int
    sets: int
    decide: bool = True

    @classmethod
    def of_block(cls, spec, block: int) -> SeparabilityJob:
        """The work of one block of a cell (``grokedge.spec.SeparabilitySpec``)."""
        return cls(spec.N, spec.d, len(spec.block_realisations(block)), spec.separability)


def separability_runtime_s(job: SeparabilityJob) -> float:
    """Seconds of one core for the job's sets (start-up not included); the routes mixed by Wendel's probability
    p of a separable set."""
    from .separability import wendel_probability

    N, d = job.N, job.d
    per_set = (DRAW_NS + HASH_NS) * 1e-9 * N * d
    if job.decide:
        p = wendel_probability(N, d)
        per_set += PER_SET_S + 1e-9 * N * d * (
            SET_PASS_NS + d * (NEWTON_NS * (1 - p) + IPM_NS * p + FAILED_NS * min(p, 1 - p)))
    return job.sets * per_set


def separability_mem_mb(job: SeparabilityJob) -> float:
    """Peak resident MiB of a separability job of N x d sets (handled one at a time); without the decision only
    the set itself (its checksum is hashed in place)."""
    N, d = job.N, job.d
    elems = (6.0 * N * d + 4.0 * d * d) if job.decide else 1.0 * N * d
    return BASE_MB + 8.0 * elems / 2**20


def machine_mb() -> float:
    """Memory a job may use on this machine: $GROKEDGE_MEM_MB if set (e.g. a cluster node's size), else
    MemTotal from /proc/meminfo; inf where neither is known."""
    env = os.environ.get("GROKEDGE_MEM_MB")
    if env:
        return float(env)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return math.inf


class ResourceError(ValueError):
    """A job that cannot fit the machine."""


def check_fits(cell: str, mem_mb: float, available_mb: float | None = None, job: str = "a train job") -> None:
    """Refuse, before it starts, a job whose modelled peak memory exceeds ``available_mb`` (default:
    ``machine_mb()``), with a message naming the cell, the size and the ways out."""
    available = machine_mb() if available_mb is None else available_mb
    if mem_mb > available:
        way_out = ("set separability: false for this experiment (sets beyond the LP's reach)"
                   if "separability" in job else "use the sampled test set only where needed")
        raise ResourceError(
            f"cell {cell}: {job} needs about {mem_mb / 1024:.1f} GB of memory (cost model, "
            f"grokedge.resources) but this machine has {available / 1024:.1f} GB: lower N, d or block_size for this "
            f"experiment, {way_out}, or run it on a larger node "
            f"(profiles/slurm; GROKEDGE_MEM_MB sets the memory a job may use)")
