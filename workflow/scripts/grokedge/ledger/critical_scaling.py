"""The project's claims on the critical behaviour at lambda = 1/2 (beyond the paper; docs/critical.md): the
finite-size scaling of sigma|S_inf| and of the margin against x = (1 - 2 lambda) N^(1/2), judged on the
``critical_scaling`` experiment with grokedge.critical, and the growth of the grokking time toward 1/2, judged on
the trained ``critical_grokking`` experiment (figures.critical_scaling names the two: [scaling, grokking]).

A free power law fitted to the run's scaled medians is compared with the same fit of the N -> infinity solution
at the same cells (its effective exponent, corrections to scaling included; the asymptotic exponents -1/2 and 1
are reached only as x -> infinity); the tolerance is the fits' own standard errors (sampling error of the medians
through the fit), family-wise over the two quantities. The collapse quality S of Houdayer & Hartmann is about 1
(or less) when the sizes agree within their errors; it is judged against 1 plus N_SIGMA of its own sampling
spread sqrt(2/n) for n compared points.

The grokking time: the median log t_grok of each cell (censored runs as +inf) against the theory's
log t_a = z_a r - log(eta m) at the cell's lambda, over the cells with x >= 1 (outside the finite-size window):
the slope beta of a least-squares line is 1 for the theory's essential singularity and about 0.65 on the default
grid for the 1-D toy model's log^2(eps)/2; its tolerance is Student's t (two-sided 1%) times the slope's standard
error from the residuals, i.e. the medians' sampling error through the fit."""

from __future__ import annotations

import math

from scipy.special import stdtrit

from .. import critical
from .core import N_SIGMA, NotRun, Tables, claim, experiments, grok_column, need_columns, row, trained_rows

SOURCE = "beyond the paper (critical scaling, docs/critical.md)"
NAMES = {"r": "sigma|S_inf| N^(-1/4)", "kappa": "margin N^(1/2)"}


def _summary(t: Tables, quantity: str):
    name, r = experiments(t, "critical_scaling", ("critical_scaling",))[0]
    need_columns(r, ["s_inf_norm", "margin"], f"experiment {name}")
    if r.N.nunique() < 2:
        raise NotRun(f"{name} has one N; finite-size scaling needs several")
    table = critical.scaling_table(r)
    return name, r, table, critical.scaling_summary(table, quantity)


def _exponent(t: Tables, quantity: str) -> dict:
    name, r, table, s = _summary(t, quantity)
    if s.fit is None or s.limit_fit is None:
        side = "inseparable" if quantity == "r" else "separable"
        raise NotRun(f"{name}: fewer than 3 cells with |x| >= 1 on the {side} side for a fit")
    # the exponent in |1 - 2 lambda| of the run's medians over the theory's at the same cells: 0 when the run follows
    # the law (corrections to scaling cancel in the ratio); its standard error is the medians' sampling error
    _, side, _ = critical.SCALED[quantity]
    cells = table[(side * table.x >= 1) & (table[f"{quantity}_median"] > 0)]
    ratio = critical.fit_power_law(cells.eps.abs(), cells[f"{quantity}_median"]
                                   / critical.limit_value(quantity, cells.lam.to_numpy()))
    # Student's t for the fit's n - 2 degrees of freedom (its standard error is estimated from the residuals),
    # two-sided and family-wise 1% over the two exponents
    z = float(stdtrit(ratio.n - 2, 1 - 0.01 / 4))
    tol = z * ratio.exponent_se
    return row(f"{s.fit.exponent:.3f} +- {s.fit.exponent_se:.3f} ({s.fit.n} cells); over the theory's: "
               f"{ratio.exponent:+.3f} +- {ratio.exponent_se:.3f}", s.limit_fit.exponent, tol,
               f"{z:.2f} standard errors (Student's t, {ratio.n - 2} dof, family-wise 1% over the two exponents) of "
               "the exponent of the run's medians over the theory's at the same cells", name, int(r.N.max()),
               "holds" if abs(ratio.exponent) <= tol else "differs", measured_value=s.fit.exponent,
               reference_value=s.limit_fit.exponent,
               note=f"free fit of {NAMES[quantity]} against |x| pooled over N = "
                    f"{', '.join(str(int(n)) for n in sorted(r.N.unique()))}; the reference is the N -> infinity "
                    f"solution's effective exponent at the same cells (asymptotically {s.theory_exponent:g})")


def _collapse(t: Tables, quantity: str) -> dict:
    name, r, _, s = _summary(t, quantity)
    if not s.collapse_points:
        raise NotRun(f"{name}: no overlapping points between sizes for {NAMES[quantity]}")
    bound = 1 + N_SIGMA * math.sqrt(2 / s.collapse_points)
    return row(s.collapse, 1.0, f"<= {bound:.2f}", f"S ~ 1 for a collapse within errors; {N_SIGMA:g} x its spread "
               f"sqrt(2/n) over n = {s.collapse_points} compared points", name, int(r.N.max()),
               "holds" if s.collapse <= bound else "differs", reference_value=bound,
               note=f"Houdayer-Hartmann S of {NAMES[quantity]} against (1 - 2 lambda) N^(1/2)")


@claim("critical_exponent_s_inf", SOURCE, "sigma|S_inf| N^(-1/4) against x = (1 - 2 lambda) N^(1/2) follows the "
       "N -> infinity law r ~ C eps^(-1/2): the fitted exponent equals the theory's at the same cells")
def _exp_r(t: Tables) -> dict:
    return _exponent(t, "r")


@claim("critical_exponent_margin", SOURCE, "The margin N^(1/2) against x = (1 - 2 lambda) N^(1/2) follows Gardner's "
       "kappa ~ sqrt(pi/8)|eps|: the fitted exponent equals the theory's at the same cells")
def _exp_k(t: Tables) -> dict:
    return _exponent(t, "kappa")


@claim("critical_collapse_s_inf", SOURCE, "sigma|S_inf| N^(-1/4) of all sizes collapses onto one curve of "
       "(1 - 2 lambda) N^(1/2)")
def _col_r(t: Tables) -> dict:
    return _collapse(t, "r")


@claim("critical_collapse_margin", SOURCE, "The margin N^(1/2) of all sizes collapses onto one curve of "
       "(1 - 2 lambda) N^(1/2)")
def _col_k(t: Tables) -> dict:
    return _collapse(t, "kappa")


@claim("critical_log_tgrok", SOURCE, "The grokking time grows toward lambda = 1/2 as the N -> infinity theory's "
       "essential singularity, log t = z_a r - log(eta m) ~ z_a C eps^(-1/2), not as the 1-D toy model's "
       "log^2(eps)/2: the slope of the median log t_grok against the theory's, over the cells with "
       "(1 - 2 lambda) N^(1/2) >= 1, is 1")
def _log_tgrok(t: Tables) -> dict:
    name, r = experiments(t, "critical_scaling", ("critical_grokking",))[-1]
    r = trained_rows(r)
    col = grok_column(t, "gen_accuracy", "gen95")
    need_columns(r, [col, f"{col}_censored", "lr", "horizon"], f"experiment {name}")
    level = float(((t.spec.get("grokking") or {}).get(col.removeprefix("grok_")) or {}).get("threshold", 0.95))
    fit = critical.log_time_growth(critical.grokking_table(r, col, level))
    if fit is None:
        raise NotRun(f"{name}: fewer than 3 cells with (1 - 2 lambda) N^(1/2) >= 1 and an uncensored median, at 2 "
                     "or more lambdas")
    z = float(stdtrit(fit.n - 2, 1 - 0.01 / 2))
    tol = z * fit.beta_se
    apart = abs(fit.toy_slope - 1) > tol
    return row(f"{fit.beta:.3f} +- {fit.beta_se:.3f} ({fit.n} cells)", 1.0, tol,
               f"{z:.2f} standard errors (Student's t, {fit.n - 2} dof, two-sided 1%) of the slope, from the "
               "scatter of the cells' medians about the line", name, int(r.N.max()),
               "holds" if abs(fit.beta - 1) <= tol else "differs", measured_value=fit.beta, reference_value=1.0,
               note=f"ln t_grok ({col}, A_gen >= {level:g}) medians = a + beta (z_a r - log(eta m)) over N = "
                    f"{', '.join(str(int(n)) for n in sorted(r.N.unique()))}; the toy model's log^2(eps)/2 would give "
                    f"beta = {fit.toy_slope:.2f} on these cells, "
                    + ("outside the tolerance: the row tells the two forms apart" if apart else
                       "also within the tolerance: this grid cannot tell the two forms apart")
                    + f"; {fit.censored} runs of these cells censored (counted as +inf)")
