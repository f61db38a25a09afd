"""Parts 5 and 6: the separability stage per set, the earlier cold LP against the certified warm one; at the paper's
N = 2400 the LP route (decide + dense Newton) against ``classify``; the number of jobs (Python processes) of a cold
default run.

Run alone: ``python -m benchmarks.separability [--repeat 2] [--sets 6] [--paper-only]`` (about 5 minutes on 2 idle
cores).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg  # noqa: F401  (load scipy's BLAS now, so that the thread limit below reaches it)
from scipy.optimize import linprog
from threadpoolctl import threadpool_limits

from grokedge import separability as sep

from ._util import Report, fmt_time, load_average, min_times

ROOT = Path(__file__).resolve().parents[1]
N, SIGMA = 400, 5.0


def _sets(d: int, count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng([seed, d])
    return [SIGMA * rng.standard_normal((N, d)) for _ in range(count)]


def _today(X):
    """The stage before this change: the cold box LP (HiGHS defaults) decides, NNLS gives the margin."""
    t = sep.lp_margin(X)
    sep.max_margin(X)
    return t > sep.LP_TOLERANCE * float(np.abs(X).max())


def _box_lp(X, method, presolve):
    n, d = X.shape
    c = np.zeros(d + 1)
    c[-1] = -1.0
    res = linprog(c, A_ub=np.hstack([-X, np.ones((n, 1))]), b_ub=np.zeros(n), bounds=[(-1, 1)] * d + [(None, 1)],
                  method=method, options={"presolve": presolve})
    return -res.fun > sep.LP_TOLERANCE * float(np.abs(X).max())


def _dual_lp(X):
    """min t s.t. -t <= X^T a <= t, a in the simplex: optimum 0 iff inseparable (HiGHS, cold)."""
    n, d = X.shape
    c = np.zeros(n + 1)
    c[-1] = 1.0
    A = np.block([[X.T, -np.ones((d, 1))], [-X.T, -np.ones((d, 1))]])
    res = linprog(c, A_ub=A, b_ub=np.zeros(2 * d), A_eq=np.r_[np.ones(n), 0.0][None], b_eq=[1.0],
                  bounds=(0, None), method="highs")
    return res.fun > sep.LP_TOLERANCE * float(np.abs(X).max())


def _normalised_full(X):
    """The LP of ``decide`` (c = p* from NNLS), solved whole and cold: what the working set saves."""
    e = sep._power_of_two_scale(X)
    Xn = np.ldexp(X, -e)
    p = Xn.T @ sep._hull_weights(Xn)
    return sep._full_lp(Xn, p)[0] > sep.LP_TOLERANCE


def _stage(decide_fn):
    """A whole stage per set: the decision, then S_inf (Newton) for an inseparable set, as the pipeline does."""
    def run(X):
        separable = decide_fn(X)
        if not separable:
            sep.inseparable_limit(X)
        return separable
    return run


VARIANTS = {
    "today: cold box LP (HiGHS defaults) + NNLS": _today,
    "cold box LP, dual simplex, presolve off": lambda X: _box_lp(X, "highs-ds", False),
    "cold box LP, interior point (IPM)": lambda X: _box_lp(X, "highs-ipm", True),
    "cold dual LP min |X^T a|_inf over the simplex": _dual_lp,
    "NNLS + normalised LP (c = p*), whole, cold": _normalised_full,
    "new: decide (NNLS + warm working-set LP + certificate)": lambda X: sep.decide(X).separable,
}


def run_lp(rep: Report, repeat: int = 2, sets: int = 6, dims=(180, 200, 220)) -> dict:
    rep.section(f"5. Separability per set (N={N}, sigma={SIGMA}, {sets} sets per d, best of {repeat} rounds)")
    out = {}
    with threadpool_limits(limits=1):
        for d in dims:
            Xs = _sets(d, sets)
            verdicts = {name: [f(X) for X in Xs] for name, f in VARIANTS.items()}
            agree = all(v == verdicts[next(iter(VARIANTS))] for v in verdicts.values())
            fns = {name: (lambda f=f, Xs=Xs: [f(X) for X in Xs]) for name, f in VARIANTS.items()}
            fns["stage today (+ S_inf of inseparable sets)"] = lambda Xs=Xs: [_stage(_today)(X) for X in Xs]
            fns["stage new (+ S_inf of inseparable sets)"] = lambda Xs=Xs: [
                _stage(lambda X: sep.decide(X).separable)(X) for X in Xs]
            t = {k: v / sets for k, v in min_times(fns, repeat).items()}
            n_sep = sum(verdicts[next(iter(VARIANTS))])
            rep.note(f"d = {d} (lambda = {d / N:.2f}): {n_sep} of {sets} separable; all variants agree: "
                     f"{'yes' if agree else 'NO'}")
            for name, secs in t.items():
                rep.row("  " + name, fmt_time(secs))
            base, new = t[next(iter(VARIANTS))], t[list(VARIANTS)[-1]]
            rep.ratio(f"  decision: today / new (d = {d})", base / new)
            stage = t["stage today (+ S_inf of inseparable sets)"] / t["stage new (+ S_inf of inseparable sets)"]
            rep.ratio(f"  stage: today / new (d = {d})", stage)
            out[d] = {"times": t, "ratio": base / new, "stage_ratio": stage, "agree": agree}
            if d == 200:
                rep.key("separability",
                        f"per set, N = {N}, d = 200: earlier cold LP + NNLS / certified decide; goal 5x",
                        f"{base / new:.1f}x for the decision, {stage:.1f}x for the stage with S_inf "
                        f"({n_sep} of {sets} separable; verdicts agree: {'yes' if agree else 'NO'})")
    return out


PAPER_N = 2400  # the paper's |S_inf| (Fig. 1 right, top) and margin (Fig. 7) panels: sigma = 1


def _old_path(X):
    """The stage before ``classify``: the LP decision (NNLS, warm working-set LP, certificate), then the dense
    Newton for S_inf of an inseparable set."""
    res = sep.decide(X)
    return res, (None if res.separable else sep.inseparable_limit(X))


def run_paper_sets(rep: Report, dims=(1170, 1191, 1260), sets: int = 3) -> dict:
    """Per set at the paper's N = 2400: the old path against ``classify``, each set through both in turn (one
    round: the old path takes seconds per set), verdicts and values compared; the ratio for the separable and the
    inseparable sets apart (their routes differ: Newton for S_inf, the interior point for the margin). d = 1191
    (Wendel's P(separable) = 0.36) gives separable sets that Newton tries first and hands over."""
    from grokedge.data import realisation

    rep.section(f"5c. Per set at the paper's N = {PAPER_N}, sigma = 1: decide + Newton against classify "
                f"({sets} sets per d, one thread, CPU time)")
    rep.note(f"{load_average()} before the sets")
    out, by_kind = {}, {True: [0, 0.0, 0.0, 0.0], False: [0, 0.0, 0.0, 0.0]}  # sets, old s, new s, worst
    with threadpool_limits(limits=1):
        for d in dims:
            t_old = t_new = 0.0
            agree, routes = True, []
            for seed in range(sets):
                X = realisation(PAPER_N, d, 1.0, 1000 + seed).X
                t0 = time.process_time()
                ref, lim = _old_path(X)
                t1 = time.process_time()
                got = sep.classify(X)
                t2 = time.process_time()
                t_old, t_new = t_old + t1 - t0, t_new + t2 - t1
                routes.append(got.route)
                agree &= got.decision.separable == ref.separable
                if ref.separable:
                    worst = abs(got.decision.margin / ref.margin - 1)
                else:
                    worst = max(abs(got.limit.m / lim.m - 1),
                                float(np.linalg.norm(got.limit.s_inf - lim.s_inf) / np.linalg.norm(lim.s_inf)))
                k = by_kind[bool(ref.separable)]
                k[0], k[1], k[2], k[3] = k[0] + 1, k[1] + t1 - t0, k[2] + t2 - t1, max(k[3], worst)
            rep.note(f"d = {d} (lambda = {d / PAPER_N:.3f}): routes {', '.join(routes)}; verdicts agree: "
                     f"{'yes' if agree else 'NO'}")
            rep.row("  old: decide (NNLS + LP) + dense Newton, per set", fmt_time(t_old / sets))
            rep.row("  new: classify (Newton-CG / interior point), per set", fmt_time(t_new / sets))
            rep.ratio(f"  old / new (d = {d})", t_old / t_new)
            out[d] = {"old_s": t_old / sets, "new_s": t_new / sets, "ratio": t_old / t_new, "agree": agree,
                      "routes": routes}
    for separable, (count, t_old, t_new, worst) in by_kind.items():
        kind = "separable" if separable else "inseparable"
        if not count:
            rep.note(f"no {kind} set among these")
            continue
        what = "the margin" if separable else "S_inf and m"
        rep.ratio(f"{kind} sets ({count}): old / new", t_old / t_new)
        rep.key("separability", f"per {kind} set, N = {PAPER_N}, d = {', '.join(map(str, dims))}, sigma = 1 "
                f"(decision, certificate, {what}): old path / classify, CPU; goal 10x",
                f"{t_old / count:.2f} s / {t_new / count:.2f} s = {t_old / t_new:.1f}x ({count} sets; values within "
                f"{worst:.0e})")
        out[kind] = {"sets": count, "old_s": t_old / count, "new_s": t_new / count, "ratio": t_old / t_new,
                     "worst": worst}
    rep.note(f"{load_average()} after the sets")
    return out


def count_jobs(configfile: str = "config.yaml") -> dict:
    """Jobs of a cold run of ``configfile`` (dry run in a scratch folder: no results, so every job is planned)
    and what the earlier layout (a dataset and a separability job per cell x block) would have had."""
    import tempfile

    import yaml

    from grokedge import registry
    from grokedge.config import cells, validate_config

    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "-s",
                               str(ROOT / "Snakefile"), "-d", tmp, "--configfile", str(ROOT / configfile)],
                              capture_output=True, text=True, cwd=ROOT)
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", proc.stdout, re.M)}
    total = counts.pop("total", None)
    if total is None:
        raise RuntimeError(f"snakemake dry run gave no job table:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    cfg = yaml.safe_load((ROOT / configfile).read_text())
    validate_config(cfg)
    blocks = sum(c["n_blocks"] for c in cells(cfg))
    trained = sum(c["n_blocks"] for c in cells(cfg) if cfg["experiments"][c["experiment"]]["train"])
    grouped = sum(v for k, v in counts.items() if k.startswith("separability"))
    trains = sum(v for k, v in counts.items() if k.startswith("train_"))
    plots = sum(v for k, v in counts.items() if k.startswith("plot_"))
    figures = len(registry.active(cfg))
    local = counts.get("all", 0)
    return {"jobs": total, "processes": total - local, "separability_jobs": grouped, "blocks": blocks,
            "plot_jobs": plots, "figures": figures, "train_jobs": trains,
            "earlier_processes": total - local - grouped + 2 * blocks - trains + trained - plots + figures}


def run_jobs(rep: Report) -> dict:
    rep.section("6. Jobs of a cold default run (snakemake -n on config.yaml; nothing is run)")
    c = count_jobs()
    rep.row("cell x block units", f"{c['blocks']:8d}")
    rep.row("separability jobs (per experiment chunk, with the manifests)", f"{c['separability_jobs']:8d}")
    rep.row("Python processes now (jobs minus the local 'all')", f"{c['processes']:8d}")
    rep.row("  of which train jobs (chunks of blocks)", f"{c['train_jobs']:8d}")
    rep.row(f"  of which plot jobs ({c['figures']} figures)", f"{c['plot_jobs']:8d}")
    rep.row("earlier layout: a dataset, an LP and a train job per block, a job per figure",
            f"{c['earlier_processes']:8d}")
    rep.ratio("processes: earlier / now", c["earlier_processes"] / c["processes"])
    rep.key("separability", "Python processes of a cold default run: earlier layout (a dataset, an LP and a "
            "train job per block, a job per figure) / now",
            f"{c['earlier_processes']} / {c['processes']} ({c['train_jobs']} of them train jobs, "
            f"{c['separability_jobs']} separability, {c['plot_jobs']} plot)")
    return c


def run(rep: Report, repeat: int = 2) -> dict:
    return {"lp": run_lp(rep, repeat=repeat), "paper": run_paper_sets(rep), "jobs": run_jobs(rep)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.separability", description=__doc__)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--sets", type=int, default=6)
    ap.add_argument("--paper-only", action="store_true", help="only the per-set comparison at N = 2400")
    args = ap.parse_args(argv)
    rep = Report()
    rep.note(f"{load_average()} at start")
    t0 = time.perf_counter()
    if args.paper_only:
        run_paper_sets(rep)
    else:
        run_lp(rep, repeat=args.repeat, sets=args.sets)
        run_paper_sets(rep)
        run_jobs(rep)
    rep.note(f"total {fmt_time(time.perf_counter() - t0).strip()}; {load_average()} at end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
