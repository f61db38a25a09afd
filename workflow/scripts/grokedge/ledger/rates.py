"""Claims on the late-time rates of Table 1 and App. J: b ~ -log t and |S| -> |S_inf| below 1/2; the
max-margin rates b ~ -log t/(1+M^2), |S| ~ M log t/(1+M^2) above."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .core import NotRun, Tables, abs_verdict, claim, late_slope, main, need, row, single_N
from .generalisation import predicted_within


def _curve_slopes(t: Tables, name: str, runs: pd.DataFrame, col: str) -> pd.Series:
    cur = need(t.curves, "curves")
    cur = cur[(cur.experiment == name) & (cur.epoch > 0)]
    keys = set(zip(runs.cell, runs.realisation, strict=True))
    out = {}
    for (cell, real), g in cur.groupby(["cell", "realisation"]):
        if (cell, real) in keys:
            out[(cell, real)] = late_slope(np.log(g.epoch.to_numpy(float)), g[col].to_numpy(float))
    return pd.Series(out, dtype=float)


@claim("rate_b_inseparable", "Table 1, App. J (lambda < 1/2)", "Below 1/2, b ~ -log t: db/dlog t -> -1")
def _rate_b_insep(t: Tables) -> dict:
    name, r = main(t, trained=True)
    r = r[r.separable.eq(False) & r.s_inf_norm.notna()]
    r = r[(r.final_s_norm - r.s_inf_norm).abs() < 1e-2 * r.s_inf_norm]  # S has settled at S_inf
    if r.empty:
        raise NotRun("no inseparable set whose S has settled at S_inf by the horizon")
    s = _curve_slopes(t, name, r, "b")
    m = float(s.median())
    return row(m, -1.0, 0.05, "last 2 decades of the curves; corrections O(1/(eta t m)) and from |S| - |S_inf| < 1%",
                name, single_N(r), abs_verdict(m, -1.0, 0.05), f"{len(s)} sets with |S| within 1% of |S_inf|")


@claim("rate_s_inseparable", "Table 1, App. J (lambda < 1/2)", "Below 1/2, |S| -> |S_inf| (finite)")
def _rate_s_insep(t: Tables) -> dict:
    name, r = main(t, trained=True)
    r = r[r.separable.eq(False) & r.s_inf_norm.notna()]
    r = predicted_within(r)
    if r.empty:
        raise NotRun("no inseparable set that has grokked well inside the horizon")
    rel = float(((r.final_s_norm - r.s_inf_norm).abs() / r.s_inf_norm).median())
    return row(rel, 0.0, 1e-2, "relative; the flow's rtol is 1e-8, the residual is the 1/t approach of S to S_inf",
                name, single_N(r), "holds" if rel <= 1e-2 else "differs",
                "median |(|S| - |S_inf|)|/|S_inf| at the horizon over sets with predicted grokking < horizon/100")


@claim("rate_separable", "Table 1, App. J (lambda > 1/2)",
       "Above 1/2, b ~ -log t/(1+M^2) and |S| ~ M log t/(1+M^2) (M = margin)")
def _rate_sep(t: Tables) -> dict:
    name, r = main(t, trained=True)
    r = r[r.separable.eq(True) & r.margin.notna() & (r.lam >= 0.6)]
    if r.empty:
        raise NotRun("no separable set at lambda >= 0.6")
    sb = _curve_slopes(t, name, r, "b")
    ss = _curve_slopes(t, name, r, "s_norm")
    M = r.set_index(["cell", "realisation"]).margin
    rb = (sb / (-1 / (1 + M**2))).median()
    rs = (ss / (M / (1 + M**2))).median()
    tol = 0.1
    ok = abs(rb - 1) <= tol and abs(rs - 1) <= tol
    return row(f"slope/theory: b {rb:.3f}, |S| {rs:.3f}", "1, 1", tol,
                "last 2 decades; the approach to the max-margin direction carries O(log log t/log t) corrections",
                name, single_N(r), "holds" if ok else "differs", measured_value=float(rb), reference_value=1.0,
                note=f"{len(r)} sets at lambda >= 0.6")
