"""Part 5: the cost model of a train job (grokedge.resources) against measured jobs.

Each job runs in its own process as the pipeline's train stage does (realisations drawn, stacked, trained by
the flow solver with the streamed operator where it applies) and reports its wall time and peak RSS; the model's
prediction is printed beside it; the flow's right-hand sides, against sigma, are counted in this process (5c).
The model is for idle cores: other load inflates the measured times (the load average is printed), not the
memory.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time

from grokedge import resources

from . import SCRIPTS
from ._util import Report, load_average

# the jobs' interpreters import grokedge from this checkout, as the pipeline's jobs do
_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SCRIPTS), os.environ.get("PYTHONPATH")]))}

# Peak RSS of the job process itself: Linux keeps ru_maxrss across exec, so a job started from a large benchmark
# process would report the parent's size; VmHWM belongs to the new address space.
_PEAK_RSS = """
def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_JOB = """
import json, resource, sys, time
import numpy as np, pandas, pyarrow  # loaded by every pipeline job (its base memory)
from threadpoolctl import threadpool_limits
from grokedge.data import realisation
from grokedge.train import Problem, Schedule, checkpoint_epochs, train
""" + _PEAK_RSS + """
N, d, R, horizon, threads = {N}, {d}, {R}, {horizon}, {threads}
t0 = time.perf_counter()
reals = [realisation(N, d, {sigma}, 100 + r) for r in range(R)]
X = reals[0].X[None] if R == 1 else np.stack([r.X for r in reals])  # as grokedge.stages.train_block
S0 = np.stack([r.S0 for r in reals])
with threadpool_limits(1):
    train(Problem(X, S0, threads=threads), Schedule(0.01, checkpoint_epochs(horizon, 20)), "flow")
print(json.dumps({{"wall": time.perf_counter() - t0,
                   "rss_mb": peak_rss_mb()}}))
"""

SIGMA = 5.0
JOBS = ((400, 192, 40, 1e9, 1), (2000, 960, 1, 1e6, 2), (4000, 1920, 1, 1e6, 2))


def measure(N, d, R, horizon, threads) -> dict:
    code = _JOB.format(N=N, d=d, R=R, horizon=horizon, threads=threads, sigma=SIGMA)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=_ENV)
    return json.loads(out.stdout.strip().splitlines()[-1])


_SEP_JOB = """
import json, resource, time
import pandas, pyarrow  # loaded by every pipeline job (its base memory)
from threadpoolctl import threadpool_limits
from grokedge import separability
from grokedge.data import checksum, realisation
""" + _PEAK_RSS + """
N, d, sets = {N}, {d}, {sets}
t0, c0 = time.perf_counter(), time.process_time()
routes = []
with threadpool_limits(1):
    for seed in range(sets):
        X = realisation(N, d, 1.0, 7 + seed).X  # as the separability stage: drawn once, hashed for the manifest
        checksum(X)
        routes.append(separability.classify(X).route)
print(json.dumps({{"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "routes": routes,
                   "rss_mb": peak_rss_mb()}}))
"""

# (N, d, sets): inseparable and separable sides at three sizes, sigma = 1 as the paper's N = 2400 panels
SEPARABILITY_SETS = ((1200, 585, 3), (1200, 630, 3), (2400, 1170, 3), (2400, 1260, 2), (4000, 1950, 1))


def run_separability(rep: Report, sets=SEPARABILITY_SETS) -> list[dict]:
    """A few sets per size through the separability stage's work (two draws, ``classify``), in their own process,
    against the cost model (whose per-set time mixes the routes by Wendel's odds, so a few sets are a rough check
    per size; CPU time is the fairer measure on a loaded machine)."""
    rep.section("5b. Cost model of a separability job against measurement")
    rep.note(f"{load_average()} before the sets")
    rows = []
    for N, d, k in sets:
        out = subprocess.run([sys.executable, "-c", _SEP_JOB.format(N=N, d=d, sets=k)], check=True,
                             capture_output=True, text=True, env=_ENV)
        m = json.loads(out.stdout.strip().splitlines()[-1])
        job = resources.SeparabilityJob(N, d, k)
        mem, wall = resources.separability_mem_mb(job), resources.separability_runtime_s(job)
        rep.row(f"N={N} d={d}, {k} set(s) ({', '.join(m['routes'])}): RSS measured / model (MB)",
                f"{m['rss_mb']:7.0f} / {mem:7.0f}  ({m['rss_mb'] / mem:4.2f})")
        rep.row("   CPU, wall measured / model (s)",
                f"{m['cpu']:7.1f}, {m['wall']:7.1f} / {wall:7.1f}  ({m['cpu'] / wall:4.2f})")
        rep.key("resources", f"separability, {k} set(s) N = {N}, d = {d}: measured / model",
                f"{m['rss_mb']:.0f} / {mem:.0f} MB, CPU {m['cpu']:.1f} s (wall {m['wall']:.1f}) / {wall:.1f} s")
        rows.append({"N": N, "d": d, "sets": k, **m, "model_mb": mem, "model_s": wall})
    rep.note(f"{load_average()} after the sets")
    return rows


# (N, lambda, sigma, horizon, seeds): the flow's right-hand sides against sigma (grokedge.solvers.flow.rhs_count)
FLOW_SIGMA = tuple((N, 0.48, sigma, 1e9, (1, 2, 3)) for N in (400, 1000, 2000) for sigma in (1.0, 5.0, 10.0))


class _Counts(logging.Handler):
    """The right-hand sides the flow reports per stretch (its debug log): [(first epoch, count)]."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.stretches = []

    def emit(self, record):
        m = re.search(r"(\d+) right-hand sides for epochs (\S+)-", record.getMessage())
        if m:
            self.stretches.append((float(m.group(2)), int(m.group(1))))


def run_flow_sigma(rep: Report, cells=FLOW_SIGMA) -> list[dict]:
    """The flow's right-hand sides on the corrected stretch (epochs 1e2 to 1e4, Hessian-vector products included)
    and after it, and the job's wall time, against the cost model, in this process (one realisation, one thread,
    eta = 0.01): the count grows as sigma^2 once the stiffness, not the accuracy, sets the step."""
    from threadpoolctl import threadpool_limits

    from grokedge.data import realisation
    from grokedge.solvers.flow import HV_PER_RHS, rhs_count
    from grokedge.train import Problem, Schedule, checkpoint_epochs, train

    rep.section("5c. The flow's right-hand sides against sigma (grokedge.solvers.flow.rhs_count)")
    rep.note(f"{load_average()} before the runs")
    log = logging.getLogger("grokedge.train")
    counts, level = _Counts(), log.level
    log.addHandler(counts)
    log.setLevel(logging.DEBUG)
    rows = []
    try:
        for N, lam, sigma, horizon, seeds in cells:
            d = round(lam * N)
            total, corrected = rhs_count(horizon, sigma)
            train_s = resources.train_s(resources.TrainJob(N, d, 1, "flow", horizon, sigma))
            for seed in seeds:
                counts.stretches.clear()
                r = realisation(N, d, sigma, seed)
                t0 = time.perf_counter()
                with threadpool_limits(1):
                    train(Problem(r.X[None], r.S0[None]), Schedule(0.01, checkpoint_epochs(horizon, 20)), "flow")
                wall = time.perf_counter() - t0
                early = sum(n for e, n in counts.stretches if e < 1e4)
                late = sum(n for e, n in counts.stretches if e >= 1e4)
                rows.append({"N": N, "d": d, "sigma": sigma, "seed": seed, "corrected": early, "plain": late,
                             "wall": wall, "model_corrected": corrected * (1 + HV_PER_RHS),
                             "model_plain": total - corrected, "model_s": train_s})
                m = rows[-1]
                rep.row(f"N={N} d={d} sigma={sigma:g} seed {seed}: RHS to 1e4 / after, measured / model",
                        f"{early:5d} / {late:5d}  vs  {m['model_corrected']:5.0f} / {m['model_plain']:5.0f}")
                rep.row("   training measured / model (s)",
                        f"{wall:7.2f} / {m['model_s']:7.2f}  ({wall / m['model_s']:4.2f})")
    finally:
        log.removeHandler(counts)
        log.setLevel(level)
    for sigma in sorted({r["sigma"] for r in rows}):
        sel = [r for r in rows if r["sigma"] == sigma]
        mean = {k: sum(r[k] for r in sel) / len(sel) for k in ("corrected", "plain", "model_corrected", "model_plain")}
        rep.key("resources", f"flow right-hand sides at sigma = {sigma:g}, lambda = 0.48, to 1e9 epochs (mean of "
                f"{len(sel)} runs): to 1e4 / after, measured / model",
                f"{mean['corrected']:.0f} / {mean['plain']:.0f} vs {mean['model_corrected']:.0f} / "
                f"{mean['model_plain']:.0f}")
    rep.note(f"{load_average()} after the runs")
    return rows


def run(rep: Report, jobs=JOBS) -> list[dict]:
    rep.section("5. Cost model (grokedge.resources) against measured train jobs")
    rep.note(f"{load_average()} before the jobs; times are for idle cores in the model")
    rows = []
    for N, d, R, horizon, threads in jobs:
        t0 = time.perf_counter()
        m = measure(N, d, R, horizon, threads)
        job = resources.TrainJob(N, d, R, "flow", horizon, SIGMA)
        mem, wall = resources.mem_mb(job), resources.runtime_s(job, threads=threads)
        rep.row(f"N={N} d={d} R={R} to {horizon:.0e}: RSS measured / model (MB)",
                f"{m['rss_mb']:7.0f} / {mem:7.0f}  ({m['rss_mb'] / mem:4.2f})")
        rep.row("   wall measured / model (s)", f"{m['wall']:7.1f} / {wall:7.1f}  ({m['wall'] / wall:4.2f})")
        rep.key("resources", f"train job N = {N}, d = {d}, {R} realisation(s) to {horizon:.0e} epochs: "
                "measured / model",
                f"{m['rss_mb']:.0f} / {mem:.0f} MB, {m['wall']:.1f} / {wall:.1f} s")
        rows.append({"N": N, "d": d, "R": R, "horizon": horizon, **m, "model_mb": mem, "model_s": wall,
                     "elapsed": time.perf_counter() - t0})
    rep.note(f"{load_average()} after the jobs")
    return rows + run_flow_sigma(rep) + run_separability(rep)


if __name__ == "__main__":  # python -m benchmarks.resources [--separability]: this part alone
    import argparse

    ap = argparse.ArgumentParser(prog="python -m benchmarks.resources")
    ap.add_argument("--separability", action="store_true", help="only the separability jobs")
    ap.add_argument("--sigma", action="store_true", help="only the flow's right-hand sides against sigma")
    args, rep = ap.parse_args(), Report()
    if args.separability:
        run_separability(rep)
    elif args.sigma:
        run_flow_sigma(rep)
    else:
        run(rep)
