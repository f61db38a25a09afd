"""Parts 2 and 3: the gradient-flow solver against step-by-step GD, and its reach at long horizons."""

from __future__ import annotations

import time

import numpy as np

from grokedge.losses import LOSSES
from grokedge.train import Problem, Schedule, checkpoint_epochs, gradient_descent, train

from ._util import Report, fmt_time, per_step
from .kernel import LR, _data

# the flow solver before this one, timed in the same run for the ratio
PREVIOUS = {"method": "DOP853", "rtol": 1e-8, "atol": 1e-10, "norm": "abs"}


def _max_rel(a, b):
    return float(np.max(np.abs(a - b) / np.abs(a)))


def _timed(fn, repeat: int = 1):
    """(result, best wall seconds, best CPU seconds of the process) over ``repeat`` calls."""
    wall = cpu = np.inf
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return out, wall, cpu


def run_flow_vs_gd(rep: Report, R: int = 4, lam: float = 0.48, horizon: float = 1e5, repeat: int = 3) -> dict:
    X, S0 = _data(R=R, lam=lam)
    d = X.shape[2]
    rep.section(f"2. Flow solver vs GD to {horizon:.0e} epochs (N=400, d={d}, sigma=5, lr={LR}, R={R})")
    epochs = checkpoint_epochs(horizon, 10)
    # the flow (~0.1 s) is timed as the best of ``repeat`` runs, GD (~10 s) once
    problem, schedule = Problem(X, S0), Schedule(LR, epochs)
    fl, t_flow, c_flow = _timed(lambda: train(problem, schedule, "flow"), repeat)
    old, t_old, _ = _timed(lambda: train(problem, schedule, "flow", **PREVIOUS))
    gd, t_gd1, c_gd1 = _timed(lambda: train(problem, schedule, "gd"))
    t0 = time.perf_counter()
    gd2 = train(Problem(X, S0, threads=2), schedule, "gd")
    t_gd2 = time.perf_counter() - t0
    same = np.array_equal(gd.S, gd2.S) and np.array_equal(gd.b, gd2.b)
    nz = epochs > 0  # b0 = 0
    db = _max_rel(gd.b[:, nz], fl.b[:, nz])
    ds = _max_rel(np.linalg.norm(gd.S, axis=-1), np.linalg.norm(fl.S, axis=-1))
    rep.row("flow solver (100 GD warm-up steps + RKS3)", fmt_time(t_flow))
    rep.row("previous flow solver (DOP853, rtol 1e-8, componentwise norm)", fmt_time(t_old))
    rep.row("baseline: GD, threads=1", fmt_time(t_gd1))
    rep.row(f"GD, threads=2 (bitwise equal to threads=1: {'yes' if same else 'NO'})", fmt_time(t_gd2))
    rep.ratio("GD threads=1 time / flow time", t_gd1 / t_flow)
    rep.ratio("  the same in CPU time (comparable under other load)", c_gd1 / c_flow)
    rep.ratio("GD threads=2 time / flow time", t_gd2 / t_flow)
    rep.ratio("previous flow solver time / flow time", t_old / t_flow)
    rep.row("max rel. disagreement flow vs GD in b (all checkpoints)", f"{db:8.1e}")
    rep.row("max rel. disagreement flow vs GD in |S| (all checkpoints)", f"{ds:8.1e}")
    a, a_gd = 5.0 * np.linalg.norm(fl.S, axis=-1), 5.0 * np.linalg.norm(gd.S, axis=-1)
    gen_loss = LOSSES["logistic"].population
    dl = _max_rel(gen_loss(gd.b[:, nz], a_gd[:, nz]), gen_loss(fl.b[:, nz], a[:, nz]))
    rep.row("max rel. disagreement flow vs GD in L_gen (all checkpoints)", f"{dl:8.1e}")
    db_old = _max_rel(gd.b[:, nz], old.b[:, nz])
    rep.row("  (previous solver: in b)", f"{db_old:8.1e}")
    rep.row("within 1e-3", "yes" if max(db, ds, dl) <= 1e-3 else "NO")
    rep.key("flow", f"1-thread GD / flow solver, time to {horizon:.0e} epochs (N = 400, d = {d}, lambda = {lam}, "
            f"{R} realisations); goal 100x",
            f"{t_gd1 / t_flow:.1f}x ({fmt_time(t_gd1).strip()} vs {fmt_time(t_flow).strip()}; CPU time "
            f"{c_gd1 / c_flow:.1f}x); 2-thread GD "
            f"{t_gd2 / t_flow:.1f}x; agreement {db:.1e} in b, {ds:.1e} in |S|, {dl:.1e} in L_gen")
    return {"t_flow": t_flow, "t_old": t_old, "t_gd1": t_gd1, "t_gd2": t_gd2, "c_flow": c_flow, "c_gd1": c_gd1,
            "db": db, "ds": ds, "dl": dl}


def run_long(rep: Report, R: int = 8, lam: float = 0.48, horizon: float = 1e9, repeat: int = 3) -> dict:
    X, S0 = _data(R=R, lam=lam)
    d = X.shape[2]
    rep.section(f"3. Flow solver to {horizon:.0e} epochs (N=400, d={d}, lr={LR}, R={R}, 20 checkpoints/decade)")
    epochs = checkpoint_epochs(horizon, 20)
    t0 = time.perf_counter()
    train(Problem(X, S0), Schedule(LR, epochs), "flow")
    wall = time.perf_counter() - t0
    per_real = wall / R
    rate_flow = horizon / per_real  # epochs per second of wall time, per realisation
    # baseline, same data and run: the GD kernel's epochs per second per realisation (one thread)
    t = per_step({"gd": lambda s: gradient_descent(Problem(X, S0), Schedule(LR, np.array([0.0, float(s)])))}, 50,
                 1050, repeat)
    rate_gd = R / t["gd"]
    rep.row("wall time, all realisations", fmt_time(wall))
    rep.row("seconds per realisation", fmt_time(per_real))
    rep.row("epochs per second per realisation, flow", f"{rate_flow:10.3g}")
    rep.row("baseline: epochs per second per realisation, GD kernel", f"{rate_gd:10.3g}")
    rep.ratio("flow rate / GD rate", rate_flow / rate_gd)
    rep.row("GD to the same horizon would take, per realisation", f"{horizon / rate_gd / 86400:8.1f} days")
    rep.key("long", f"flow solver to {horizon:.0e} epochs (N = 400, d = {d}, lambda = {lam}, {R} realisations)",
            f"{fmt_time(per_real).strip()} per realisation, {rate_flow:.3g} epochs/s "
            f"({rate_flow / rate_gd:.3g}x GD's rate)")
    return {"wall": wall, "per_real": per_real, "rate_flow": rate_flow, "rate_gd": rate_gd}
