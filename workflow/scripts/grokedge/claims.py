"""The claims ledger: every claim of the paper (Beck, Levi & Bar Sinai, ICML 2025) and of Davies' blog (2022),
evaluated on the run's tables.

``evaluate_claims(tables)`` returns one row per claim (``LEDGER_COLUMNS``):

* ``id``, ``source`` (section, proposition or figure), ``statement`` (one line);
* ``measured`` and ``reference`` as text, with ``measured_value``/``reference_value`` as numbers;
* ``tolerance`` and ``tolerance_reason`` (why that tolerance: sampling error from the realisation count, the
  precision of a read-off on a log axis, an integration tolerance, a finite-time correction);
* ``experiment``, ``N`` the run it was measured on (N = 0 when it does not apply);
* ``verdict`` in ``VERDICTS``: ``holds``, ``differs`` or ``not run`` (the tables cannot decide: the
  experiment is absent or its grid does not reach the claim), and ``note`` (the reason for ``not run``, or
  what else the evaluator saw).

Every claim always gives a row: a failing claim says ``differs``, never disappears. The evaluators are pure
functions of the tables (``Tables``) and of ``spec`` (the config's ``figures`` and ``grokking`` sections).

Tolerances used throughout (``TOL_*``): a read-off from a logarithmic axis is good to about a factor 2 (the
paper's panels span 5-20 decades in a few centimetres), from a linear accuracy axis to about +-0.03; a
fraction over n realisations has binomial error sqrt(p(1-p)/n), and a verdict allows 3 of them; ODE results
of the toy model carry the integrator's relative tolerance (1e-10 in log time) plus the asymptotic corrections
stated per claim.

``python -m grokedge.claims results/tables/claims.parquet`` prints the ledger as a Markdown table;
``python -m grokedge.claims results/tables/claims.parquet --readme README.md`` rewrites the README section
between ``README_START`` and ``README_END``. ``python -m grokedge.claims --eta-evidence`` reruns the learning-rate
measurement behind the ``paper`` preset (``eta_delay_table``).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import bdtr, chdtrc, ndtr

from . import paper_values as pv

VERDICTS = ("holds", "differs", "not run")
LEDGER_COLUMNS = ["id", "source", "statement", "measured", "reference", "tolerance", "tolerance_reason",
                  "experiment", "N", "verdict", "measured_value", "reference_value", "note"]
README_START = "<!-- claims:start -->"
README_END = "<!-- claims:end -->"

TOL_LOG_READOFF = 2.0   # factor: a value read off a log axis of the published figure
TOL_LIN_READOFF = 0.03  # absolute: a value read off a linear accuracy axis
N_SIGMA = 3.0           # binomial / sampling errors allowed


class NotRun(Exception):
    """The tables cannot decide the claim (experiment absent, grid too small); the message says why."""


@dataclass
class Tables:
    """The run's tables; any may be None (not produced by this run). ``spec`` holds the config's ``figures``
    section (experiment names per figure) and ``grokking`` (the grokking-time definitions)."""
    runs: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    toy_curves: pd.DataFrame | None = None
    toy_times: pd.DataFrame | None = None
    blog_curves: pd.DataFrame | None = None
    spec: dict = field(default_factory=dict)


@dataclass
class Claim:
    id: str
    source: str
    statement: str
    evaluate: Callable[[Tables], dict]


CLAIMS: list[Claim] = []


def claim(id: str, source: str, statement: str):
    """Register an evaluator: it returns a dict with measured(_value), reference(_value), tolerance,
    tolerance_reason, experiment, N, verdict (and optionally note), or raises NotRun."""
    def register(fn):
        CLAIMS.append(Claim(id, source, statement, fn))
        return fn
    return register


# ------------------------------------------------------------------------------------------------ helpers
def _fmt(x) -> str:
    if isinstance(x, str):
        return x
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    x = float(x)
    if x == 0 or (1e-3 <= abs(x) < 1e4):
        return f"{x:.3g}"
    return f"{x:.2e}"


def _need(df: pd.DataFrame | None, what: str) -> pd.DataFrame:
    if df is None or len(df) == 0:
        raise NotRun(f"no {what} table in this run")
    return df


def _experiment(t: Tables, key: str, candidates=(), detect: Callable[[pd.DataFrame], bool] | None = None,
                table: str = "runs") -> tuple[str, pd.DataFrame]:
    """The rows of the experiment drawn by figure ``key``: the name in spec['figures'][key] if given, else
    the first of ``candidates`` present, else the first experiment for which ``detect(rows)`` is true."""
    df = _need(getattr(t, table), table)
    names = []
    figs = t.spec.get("figures", {}) or {}
    given = figs.get(key)
    if given:
        names += [given] if isinstance(given, str) else list(given)
    names = list(dict.fromkeys(names + list(candidates)))
    present = list(dict.fromkeys(df.experiment))
    for name in names:
        if name in present:
            return name, df[df.experiment == name]
    if detect is not None:
        for name in present:
            if detect(df[df.experiment == name]):
                return name, df[df.experiment == name]
    raise NotRun(f"no experiment for {key} in this run (looked for {names or 'a matching grid'})")


def _main(t: Tables, table: str = "runs", trained: bool = False) -> tuple[str, pd.DataFrame]:
    """The main experiment's name and rows (only its trained realisations with ``trained``)."""
    name, df = _experiment(t, "main_experiment", ("lambda_sweep",), table=table)
    return name, _trained(df) if trained else df


def _grok_name(t: Tables, kind: str, default: str) -> str:
    for name, spec in (t.spec.get("grokking") or {}).items():
        if spec.get("kind") == kind:
            return name
    return default


def _censored_median(times, censored) -> float:
    """Median with censored runs counted as +inf (never reached within the horizon)."""
    x = np.where(np.asarray(censored, dtype=bool), np.inf, np.asarray(times, dtype=float))
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan
    return float(np.quantile(x, 0.5, method="lower"))


def _single_N(df: pd.DataFrame) -> int:
    Ns = sorted(set(int(n) for n in df.N))
    return Ns[0] if len(Ns) == 1 else Ns[-1]


def _trend(x, y) -> float:
    """Spearman rank correlation of y against x (1 = strictly increasing)."""
    x, y = pd.Series(np.asarray(x, float)), pd.Series(np.asarray(y, float))
    if len(x) < 2:
        return math.nan
    return float(x.rank().corr(y.rank()))


def _pooled_trend(x, y) -> tuple[float, float]:
    """Spearman rho of y against x over individual sets, and its z-score rho sqrt(n - 1) under no trend
    (a per-cell median over a few sets is noisy; the pooled rank test uses every set)."""
    rho = _trend(x, y)
    return rho, rho * math.sqrt(max(len(np.asarray(x)) - 1, 0))


def late_slope(log_t, y, decades: float = 2.0) -> float:
    """Least-squares slope dy/dlog t over the last ``decades`` decades of t (``log_t`` natural log)."""
    log_t, y = np.asarray(log_t, float), np.asarray(y, float)
    ok = np.isfinite(log_t) & np.isfinite(y)
    log_t, y = log_t[ok], y[ok]
    sel = log_t >= log_t.max() - decades * math.log(10.0)
    if sel.sum() < 3:
        return math.nan
    return float(np.polyfit(log_t[sel], y[sel], 1)[0])


def _factor_verdict(measured: float, reference: float, factor: float) -> str:
    if not (np.isfinite(measured) and measured > 0):
        return "differs"
    return "holds" if reference / factor <= measured <= reference * factor else "differs"


def _abs_verdict(measured: float, reference: float, tol: float) -> str:
    return "holds" if np.isfinite(measured) and abs(measured - reference) <= tol else "differs"


def _row(measured, reference, tolerance, reason, experiment, N, verdict, note="", measured_value=None,
         reference_value=None) -> dict:
    mv = measured if measured_value is None else measured_value
    rv = reference if reference_value is None else reference_value
    return {"measured": _fmt(measured), "reference": _fmt(reference), "tolerance": _fmt(tolerance),
            "tolerance_reason": reason, "experiment": experiment, "N": int(N), "verdict": verdict, "note": note,
            "measured_value": float(mv) if isinstance(mv, (int, float, np.number)) else math.nan,
            "reference_value": float(rv) if isinstance(rv, (int, float, np.number)) else math.nan}


def _trained(df: pd.DataFrame) -> pd.DataFrame:
    if "trained" in df:
        df = df[df.trained.astype(bool)]
    if df.empty:
        raise NotRun("the experiment is not trained in this run")
    return df


def _at_epoch(curves: pd.DataFrame, epoch: float, col: str) -> float:
    """Median over realisations of ``col`` at the checkpoint nearest (in log) to ``epoch``."""
    ep = curves.epoch.to_numpy(float)
    if ep.max() < epoch / 1.5:
        raise NotRun(f"the horizon {ep.max():.3g} is shorter than epoch {epoch:.3g}")
    k = np.unique(ep[ep > 0])[np.argmin(np.abs(np.log(np.unique(ep[ep > 0]) / epoch)))]
    return float(curves.loc[curves.epoch == k, col].median())


# ------------------------------------------------------------------------------------------ separability
@claim("wendel", "Sec. 3 (Wendel 1962)",
       "The LP separable fraction follows Wendel's law P = P(Bin(N-1, 1/2) <= d-1) in every cell")
def _wendel(t: Tables) -> dict:
    runs = _need(t.runs, "runs")
    r = runs
    if "label_fraction" in r:
        r = r[r.label_fraction.fillna(1.0) >= 1.0]
    r = r[r.separable.notna()].drop_duplicates(["N", "d", "seed"])  # experiments with separability: false
    g = r.groupby(["N", "d"]).separable.agg(["sum", "count"]).reset_index()
    # scipy's bdtr is NaN for k > n: Wendel's probability is exactly 1 when d >= N
    p = np.where(g.d >= g.N, 1.0, bdtr(np.minimum(g.d, g.N) - 1, g.N - 1, 0.5))
    var = g["count"] * p * (1 - p)
    certain = var == 0
    if (certain & (g["sum"] != g["count"] * p)).any():
        bad = g[certain & (g["sum"] != g["count"] * p)].iloc[0]
        return _row(f"{int(bad['sum'])}/{int(bad['count'])} at N={bad.N}, d={bad.d}", "certain outcome",
                    0, "Wendel's law is 0 or 1 there", "all", int(g.N.max()), "differs")
    g, p, var = g[~certain], p[~certain], var[~certain]
    if g.empty:
        raise NotRun("no cell where Wendel's law is strictly between 0 and 1")
    chi2 = float(((g["sum"] - g["count"] * p) ** 2 / var).sum())
    pval = float(chdtrc(len(g), chi2))
    z = float((g["sum"].sum() - (g["count"] * p).sum()) / math.sqrt(var.sum()))
    verdict = "holds" if pval > 1e-3 and abs(z) < N_SIGMA else "differs"
    return _row(f"chi2 = {chi2:.1f} on {len(g)} cells (p = {pval:.2g}); pooled z = {z:+.2f}",
                f"chi2 ~ {len(g)} +- {math.sqrt(2 * len(g)):.1f}, z ~ 0", "p > 1e-3 and |z| < 3",
                "binomial sampling error of the realisation count (chi-square and pooled z-score)",
                ", ".join(sorted(r.experiment.unique())), int(g.N.max()), verdict, f"{int(g['count'].sum())} sets",
                measured_value=pval, reference_value=1e-3)


@claim("fig6_kept_fraction", "Fig. 6 right",
       "At N = 2400, d = 1191 the kept (inseparable) fraction is 0.83 as plotted (Wendel: 0.64)")
def _fig6_kept(t: Tables) -> dict:
    runs = _need(t.runs, "runs")
    r = runs[(runs.N == 2400) & (runs.d == 1191)].drop_duplicates(["seed"])
    if r.empty:
        raise NotRun("no cell N = 2400, d = 1191 in this run (the paper preset's s_inf_paper has it)")
    n = len(r)
    kept = float((r.separable.eq(False)).mean())
    ref = pv.paper_value("6", "kept_fraction")
    wendel = 1 - float(bdtr(1190, 2399, 0.5))
    tol = N_SIGMA * math.sqrt(ref * (1 - ref) / n) + 0.02
    return _row(kept, ref, tol, f"3 binomial errors over {n} sets, plus 0.02 read-off",
                ", ".join(r.experiment.unique()),
                2400, _abs_verdict(kept, ref, tol), f"Wendel's law gives {wendel:.3f}")


# --------------------------------------------------------------------------------------------- Prop. 3.2
@claim("prop32_inseparable", "Prop. 3.2 (1)",
       "Inseparable sets generalise perfectly: A_gen -> 1 (b -> -inf, S -> S_inf)")
def _prop32_insep(t: Tables) -> dict:
    name, r = _main(t, trained=True)
    r = r[r.separable.eq(False)]
    pred = [c for c in r.columns if c.startswith("grok_") and c.endswith("_pred")]
    if pred:  # only sets whose predicted grokking time lies well inside the horizon
        r = r[r[pred[0]] < r.horizon / 100]
    if r.empty:
        raise NotRun("no inseparable set with a predicted grokking time inside the horizon")
    frac = float((r.final_gen_acc >= 0.95).mean())
    n = len(r)
    return _row(frac, 1.0, 0,
                "every set whose predicted grokking time exp(z sigma|S_inf|)/(eta m) is below horizon/100 "
                "(the prediction errs by far less than that factor 100, on the late side)",
                name, _single_N(r), "holds" if frac == 1.0 else "differs",
                f"fraction of {n} sets with A_gen >= 0.95 at the horizon; median final A_gen "
                f"{r.final_gen_acc.median():.5f}")


@claim("prop32_separable", "Prop. 3.2 (2)",
       "Separable sets overfit: final A_gen -> Phi(1/(sigma M)) (M = margin), below 1")
def _prop32_sep(t: Tables) -> dict:
    name, r = _main(t, trained=True)
    r = r[r.separable.eq(True) & (r.lam >= 0.6) & r.margin_acc_limit.notna()]
    if r.empty:
        raise NotRun("no separable set at lambda >= 0.6 (the limit is approached as 1/log t; closer to 1/2 "
                     "it is not reached within any horizon)")
    diff = float((r.final_gen_acc - r.margin_acc_limit).median())
    log_t = math.log(float(r.horizon.max()) * float(r.lr.max()))
    tol = 0.2 / log_t
    return _row(diff, 0.0, tol,
                f"finite-time drift ~ 1/log t: 0.2/log(eta t) at the horizon (log(eta t) = {log_t:.1f})",
                name, _single_N(r), _abs_verdict(diff, 0.0, tol),
                f"median of final A_gen - Phi(1/(sigma M)) over {len(r)} sets at lambda >= 0.6")


# --------------------------------------------------------------------------------------------- Prop. 3.4
def _s_inf_sets(t: Tables) -> tuple[str, pd.DataFrame]:
    """The |S_inf| experiment (else the main one) and its inseparable sets with a solved S_inf."""
    try:
        name, r = _experiment(t, "s_inf", ("s_inf_scaling",))
    except NotRun:
        name, r = _main(t)
    return name, r[r.separable.eq(False) & r.s_inf_norm.notna()]


@claim("prop34_s_inf", "Prop. 3.4, Fig. 1 right top",
       "|S_inf| grows without bound as lambda -> 1/2 from below (increasing trend over the inseparable sets)")
def _prop34(t: Tables) -> dict:
    name, r = _s_inf_sets(t)
    r = r[r.lam < 0.5]
    u = r.sigma * r.s_inf_norm
    med = u.groupby(r.lam).median()
    if len(med) < 3:
        raise NotRun(f"{len(med)} lambda values with inseparable sets in {name}; need 3")
    rho_med = _trend(med.index, med.values)
    rho, z = _pooled_trend(r.lam, u)
    growth = float(med.iloc[-1] / med.iloc[0])
    return _row(f"pooled Spearman {rho:.2f} (z = {z:.1f}, {len(r)} sets); medians' Spearman {rho_med:.2f}; "
                f"sigma|S_inf| x{growth:.3g} from lambda {med.index[0]:.3g} to {med.index[-1]:.3g}",
                "increasing", "z > 3 and growth > 2",
                "rank test over individual sets (per-cell medians of a few sets may swap near 1/2)",
                name, _single_N(r), "holds" if z > N_SIGMA and growth > 2 else "differs", measured_value=z,
                reference_value=N_SIGMA)


@claim("fig1_s_inf_values", "Fig. 1 right top",
       "sigma|S_inf| is ~2.5 at 1 - 2 lambda = 0.22 and ~33 at 7e-3 (N = 2400, sigma = 1)")
def _fig1_s_inf(t: Tables) -> dict:
    name, r = _s_inf_sets(t)
    med = (r.sigma * r.s_inf_norm).groupby(1 - 2 * r.lam).median()
    out = []
    for row in pv.paper_values("1 right top", "s_inf_norm").itertuples():
        near = med[(med.index > row.x / 1.3) & (med.index < row.x * 1.3)]
        if len(near):
            k = near.index[np.argmin(np.abs(np.log(near.index / row.x)))]
            out.append((row.x, k, float(near[k]), row.value))
    if not out:
        raise NotRun(f"{name} has no inseparable cell within a factor 1.3 of 1 - 2 lambda = 0.22 or 7e-3")
    ok = all(_factor_verdict(m, ref, TOL_LOG_READOFF) == "holds" for _, _, m, ref in out)
    return _row("; ".join(f"{m:.3g} at {k:.3g}" for _, k, m, _ in out),
                "; ".join(f"{ref:g} at {x:g}" for x, _, _, ref in out),
                f"factor {TOL_LOG_READOFF:g}", "read-off from a log axis; |S_inf| also depends on N near 1/2",
                name, _single_N(r), "holds" if ok else "differs", measured_value=out[0][2], reference_value=out[0][3])


# --------------------------------------------------------------------------------------------- Prop. 3.5
def _several_sigma(df: pd.DataFrame) -> bool:
    d = df[df.trained.astype(bool)] if "trained" in df else df
    return len(d) > 0 and d.groupby(["N", "d"]).sigma.nunique().max() >= 2


@claim("prop35_large_sigma", "Prop. 3.5, Fig. 10",
       "At large sigma the grokking time saturates: it stops depending on sigma at fixed data")
def _prop35(t: Tables) -> dict:
    name, r = _experiment(t, "sigma", ("fig10", "sigma_sweep", "large_sigma"), detect=_several_sigma)
    r = _trained(r)
    col = f"grok_{_grok_name(t, 'gen_accuracy', 'gen95')}"
    sig = sorted(r.sigma.unique())
    if len(sig) < 2:
        raise NotRun(f"{name} has one sigma")
    med = {s: _censored_median(r.loc[r.sigma == s, col], r.loc[r.sigma == s, f"{col}_censored"]) for s in sig}
    a, b = med[sig[-2]], med[sig[-1]]
    if not (np.isfinite(a) and np.isfinite(b)):
        raise NotRun(f"{name}: the median {col[5:]} at sigma {sig[-2]:g} or {sig[-1]:g} is censored at the horizon "
                     f"({_fmt(r.horizon.max())} epochs); a longer horizon decides")
    ratio = b / a if a > 0 else math.nan
    return _row(f"median {col[5:]}: {_fmt(a)} at sigma {sig[-2]:g}, {_fmt(b)} at sigma {sig[-1]:g} "
                f"(ratio {_fmt(ratio)})",
                "ratio 1", f"factor {TOL_LOG_READOFF:g}",
                "the asymptotic time exp(z sigma|S_inf|)/(eta m) is sigma-free; what remains is S's "
                "relaxation ~1/sigma^2",
                name, _single_N(r), _factor_verdict(ratio, 1.0, TOL_LOG_READOFF), measured_value=ratio,
                reference_value=1.0)


@claim("fig10_clearer", "Fig. 10",
       "Larger sigma makes grokking clearer: the L_gen bump above its initial value grows with sigma")
def _fig10(t: Tables) -> dict:
    name, r = _experiment(t, "sigma", ("fig10", "sigma_sweep", "large_sigma"), detect=_several_sigma)
    r = _trained(r)
    med = r.groupby("sigma").gen_loss_bump_initial.median()
    if len(med) < 2:
        raise NotRun(f"{name} has one sigma")
    rho = _trend(med.index, med.values)
    vals, sigmas = ", ".join(f"{v:.3g}" for v in med.values), ", ".join(f"{s:g}" for s in med.index)
    return _row(f"bump medians {vals} at sigma {sigmas}",
                "increasing", "Spearman = 1",
                "the same datasets at every sigma (one seed scheme): no sampling noise between cells",
                name, _single_N(r), "holds" if rho >= 0.999 else "differs", measured_value=rho, reference_value=1.0)


# ---------------------------------------------------------------------------------------------- grokking
@claim("nonmonotone_gen_loss", "Sec. 3, Fig. 1 left",
       "Just below 1/2, L_gen rises then falls while L_train falls monotonically")
def _nonmono(t: Tables) -> dict:
    name, r = _main(t, trained=True)
    r = r[r.separable.eq(False) & (r.lam >= 0.4) & (r.lam < 0.5)]
    if r.empty:
        raise NotRun("no inseparable set with 0.4 <= lambda < 1/2")
    bump = (r.gen_loss_bump_initial > 0) & (r.gen_loss_bump_final > 0)
    mono = r.train_loss_monotone.astype(bool)
    n, fb, fm = len(r), float(bump.mean()), float(mono.mean())
    tol = max(N_SIGMA * math.sqrt(0.1 * 0.9 / n), 0.1)
    ok = fb >= 1 - tol and fm == 1.0
    return _row(f"bump in {fb:.2f} of {n} sets; monotone L_train in {fm:.2f}", "1 and 1",
                f"bump fraction >= {1 - tol:.2f}; L_train always monotone",
                "a small bump can fall between checkpoints; monotone L_train is exact for the flow (GD: "
                "step-size limit)",
                name, _single_N(r), "holds" if ok else "differs", measured_value=fb, reference_value=1.0)


@claim("grok_time_growth", "Sec. 3, Fig. 1 right bottom",
       "The grokking time (accuracy-0.9 delay) grows by several decades from lambda = 0.05 to ~0.48")
def _growth(t: Tables) -> dict:
    name, r = _main(t, trained=True)
    col = f"grok_{_grok_name(t, 'accuracy_delay', 'delay90')}"
    r = r[r.separable.eq(False) & (r.lam < 0.5)]
    med = r.groupby("lam").apply(lambda g: _censored_median(g[col], g[f"{col}_censored"]), include_groups=False)
    if len(med) < 2 or med.index[0] > 0.1 or med.index[-1] < 0.47:
        raise NotRun(f"{name} does not span lambda ~0.05 to ~0.48 on the inseparable side")
    decades = float(np.log10(med.iloc[-1] / med.iloc[0])) if med.iloc[0] > 0 else math.nan
    rho, z = _pooled_trend(r.lam, np.where(r[f"{col}_censored"].astype(bool), np.inf, r[col]))
    return _row(f"{decades:.2f} decades ({_fmt(med.iloc[0])} at {med.index[0]:g} to {_fmt(med.iloc[-1])} at "
                f"{med.index[-1]:g}); pooled Spearman {rho:.2f} (z = {z:.1f})",
                ">= 2 decades, increasing (paper: ~5, from ~3 to ~3e5)", ">= 2 decades, z > 3",
                "'several decades'; medians and ranks with censored runs counted as infinite",
                name, _single_N(r), "holds" if decades >= 2 and z > N_SIGMA else "differs", measured_value=decades,
                reference_value=2.0)


@claim("fig1_delay_005", "Fig. 1 right bottom",
       "The accuracy-0.9 delay at lambda = 0.05 is ~3 epochs (N = 400)")
def _delay005(t: Tables) -> dict:
    name, r = _main(t, trained=True)
    col = f"grok_{_grok_name(t, 'accuracy_delay', 'delay90')}"
    c = r[np.isclose(r.lam, 0.05)]
    if c.empty:
        raise NotRun(f"{name} has no lambda = 0.05")
    m = _censored_median(c[col], c[f"{col}_censored"])
    ref = pv.paper_value("1 right bottom", "delay90", lam=0.05)
    return _row(m, ref, f"factor {TOL_LOG_READOFF:g}", "read-off from a log axis spanning 6 decades",
                name, _single_N(c), _factor_verdict(m, ref, TOL_LOG_READOFF),
                f"eta = {', '.join(f'{v:g}' for v in sorted(c.lr.unique()))}; all times scale as 1/eta")


@claim("fig1_delay_peak", "Fig. 1 right bottom",
       "The accuracy-0.9 delay peaks at ~3e5 epochs near lambda = 1/2 (N = 400)")
def _delaypeak(t: Tables) -> dict:
    name, r = _main(t, trained=True)
    col = f"grok_{_grok_name(t, 'accuracy_delay', 'delay90')}"
    r = r[(r.lam > 0.44) & (r.lam < 0.56)]
    if r.lam.nunique() < 3:
        raise NotRun(f"{name} has fewer than 3 lambda values in (0.44, 0.56)")
    # the peak of the median over the sets that grok (the paper's curve near 1/2 cannot include the others)
    med = r[~r[f"{col}_censored"].astype(bool)].groupby("lam")[col].median()
    m = float(med.max())
    ref = pv.paper_value("1 right bottom", "delay90", lam=0.5)
    return _row(m, ref, f"factor {TOL_LOG_READOFF:g}",
                "read-off from a log axis; the paper's statistic over 100 sets is not stated (here: median of the "
                "sets that grok)", name, _single_N(r), _factor_verdict(m, ref, TOL_LOG_READOFF),
                f"peak at lambda = {med.idxmax():g}; eta = {', '.join(f'{v:g}' for v in sorted(r.lr.unique()))}")


@claim("fig1_final_acc_090", "Fig. 1 right middle", "The final A_gen at lambda = 0.9 is ~0.55 (N = 400)")
def _acc090(t: Tables) -> dict:
    name, r = _main(t, trained=True)
    c = r[np.isclose(r.lam, 0.9)]
    if c.empty:
        raise NotRun(f"{name} has no lambda = 0.9")
    m = float(c.final_gen_acc.median())
    ref = pv.paper_value("1 right middle", "final_gen_acc", lam=0.9)
    return _row(m, ref, TOL_LIN_READOFF, "read-off from a linear axis", name, _single_N(c),
                _abs_verdict(m, ref, TOL_LIN_READOFF))


# ---------------------------------------------------------------------------- late-time rates, Table 1
def _curve_slopes(t: Tables, name: str, runs: pd.DataFrame, col: str) -> pd.Series:
    cur = _need(t.curves, "curves")
    cur = cur[(cur.experiment == name) & (cur.epoch > 0)]
    keys = set(zip(runs.cell, runs.realisation, strict=True))
    out = {}
    for (cell, real), g in cur.groupby(["cell", "realisation"]):
        if (cell, real) in keys:
            out[(cell, real)] = late_slope(np.log(g.epoch.to_numpy(float)), g[col].to_numpy(float))
    return pd.Series(out, dtype=float)


@claim("rate_b_inseparable", "Table 1, App. J (lambda < 1/2)", "Below 1/2, b ~ -log t: db/dlog t -> -1")
def _rate_b_insep(t: Tables) -> dict:
    name, r = _main(t, trained=True)
    r = r[r.separable.eq(False) & r.s_inf_norm.notna()]
    r = r[(r.final_s_norm - r.s_inf_norm).abs() < 1e-2 * r.s_inf_norm]  # S has settled at S_inf
    if r.empty:
        raise NotRun("no inseparable set whose S has settled at S_inf by the horizon")
    s = _curve_slopes(t, name, r, "b")
    m = float(s.median())
    return _row(m, -1.0, 0.05, "last 2 decades of the curves; corrections O(1/(eta t m)) and from |S| - |S_inf| < 1%",
                name, _single_N(r), _abs_verdict(m, -1.0, 0.05), f"{len(s)} sets with |S| within 1% of |S_inf|")


@claim("rate_s_inseparable", "Table 1, App. J (lambda < 1/2)", "Below 1/2, |S| -> |S_inf| (finite)")
def _rate_s_insep(t: Tables) -> dict:
    name, r = _main(t, trained=True)
    r = r[r.separable.eq(False) & r.s_inf_norm.notna()]
    pred = [c for c in r.columns if c.startswith("grok_") and c.endswith("_pred")]
    if pred:
        r = r[r[pred[0]] < r.horizon / 100]
    if r.empty:
        raise NotRun("no inseparable set that has grokked well inside the horizon")
    rel = float(((r.final_s_norm - r.s_inf_norm).abs() / r.s_inf_norm).median())
    return _row(rel, 0.0, 1e-2, "relative; the flow's rtol is 1e-8, the residual is the 1/t approach of S to S_inf",
                name, _single_N(r), "holds" if rel <= 1e-2 else "differs",
                "median |(|S| - |S_inf|)|/|S_inf| at the horizon over sets with predicted grokking < horizon/100")


@claim("rate_separable", "Table 1, App. J (lambda > 1/2)",
       "Above 1/2, b ~ -log t/(1+M^2) and |S| ~ M log t/(1+M^2) (M = margin)")
def _rate_sep(t: Tables) -> dict:
    name, r = _main(t, trained=True)
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
    return _row(f"slope/theory: b {rb:.3f}, |S| {rs:.3f}", "1, 1", tol,
                "last 2 decades; the approach to the max-margin direction carries O(log log t/log t) corrections",
                name, _single_N(r), "holds" if ok else "differs", measured_value=float(rb), reference_value=1.0,
                note=f"{len(r)} sets at lambda >= 0.6")


# ------------------------------------------------------------------------------------------- toy model
def _toy_rates(t: Tables, which: str) -> dict:
    cur = _need(t.toy_curves, "toy curves")
    rows, ok = [], True
    for (sigma, lam), g in cur.groupby(["sigma", "lam"]):
        log_t = g.log10_t.to_numpy(float) * math.log(10)
        S, b = g.S.to_numpy(float), g.b.to_numpy(float)
        M = 2 * lam - 1
        if which == "below" and lam < 0.5:
            from .toy import s_inf
            sb, rel = late_slope(log_t, b, 10), abs(S[-1] - s_inf(lam, sigma)) / s_inf(lam, sigma)
            good = abs(sb + 1) < 0.01 and rel < 1e-3
            rows.append(f"lambda {lam:g}: db/dlog t {sb:.4f}, |S|/S_inf - 1 {rel:.1e}")
        elif which == "half" and lam == 0.5:
            late = log_t > 1.0
            sb = late_slope(log_t, b, 10)
            sS = late_slope(np.log(log_t[late]), sigma * S[late], 10)
            good = abs(sb + 1) < 0.05 and abs(sS - 1) < 0.05
            rows.append(f"db/dlog t {sb:.4f}, d(sigma S)/dlog log t {sS:.3f}")
        elif which == "above" and lam > 0.5:
            k = 1 + sigma**2 * M**2
            sb, sS = late_slope(log_t, b, 10), late_slope(log_t, S, 10)
            good = abs(sb * k + 1) < 0.02 and abs(sS * k / (sigma * M) - 1) < 0.02
            rows.append(f"lambda {lam:g}: b slope x(1+sigma^2M^2) {sb * k:.4f}, "
                        f"|S| slope/theory {sS * k / (sigma * M):.4f}")
        else:
            continue
        ok &= good
    if not rows:
        raise NotRun("no toy curve on this side of 1/2")
    return {"measured": "; ".join(rows), "ok": ok, "N": 2}


@claim("toy_rates_below", "Table 1 (toy, lambda < 1/2)", "Toy model below 1/2: b ~ -log t, S -> S_inf")
def _toy_below(t: Tables) -> dict:
    o = _toy_rates(t, "below")
    return _row(o["measured"], "slope -1; S_inf = log(1/(1-2lambda))/(2 sigma (1-lambda))", "0.01 (slope), 1e-3 (S)",
                "last 10 decades of a log-time integration (rtol 1e-10)", "toy", 2, "holds" if o["ok"] else "differs")


@claim("toy_rates_half", "Table 1 (toy, lambda = 1/2)", "Toy model at 1/2: b ~ -log t, sigma S ~ log log t")
def _toy_half(t: Tables) -> dict:
    o = _toy_rates(t, "half")
    return _row(o["measured"], "-1; 1", 0.05,
                "log log t changes slowly: last 10 decades of t carry O(1/log log t) corrections",
                "toy", 2, "holds" if o["ok"] else "differs")


@claim("toy_rates_above", "Table 1 (toy, lambda > 1/2)",
       "Toy model above 1/2: b ~ -log t/(1+sigma^2 M^2), S ~ sigma M log t/(1+sigma^2 M^2)")
def _toy_above(t: Tables) -> dict:
    o = _toy_rates(t, "above")
    return _row(o["measured"], "-1; 1", 0.02, "last 10 decades; O(log log t/log t) corrections to the SVM direction",
                "toy", 2, "holds" if o["ok"] else "differs")


def _toy_converged(t: Tables) -> pd.DataFrame:
    tt = _need(t.toy_times, "toy times")
    ok = tt[tt.asymptotic_ok & ~tt.tr_censored & ~tt.gen_censored]
    if ok.empty:
        raise NotRun("no toy sweep point in the asymptotic regime (sigma^2 (1-2lambda) log(1/eps) >= 6)")
    return ok


@claim("toy_t_train", "App. E.3, Eq. 35", "Toy model: t*_tr = 1/(eta eps)")
def _toy_ttr(t: Tables) -> dict:
    ok = _toy_converged(t)
    err = float((ok.log10_epoch_tr - ok.pred_log10_epoch_tr).abs().max())
    return _row(err, 0.0, 0.01,
                "max |log10 t - log10 prediction|; L_train -> 1/t with O(delta) corrections at eps = 1e-50",
                "toy", 2, "holds" if err <= 0.01 else "differs", note=f"{len(ok)} converged sweep points")


@claim("toy_t_gen", "App. E.3, Eqs. 36-37",
       "Toy model: t*_gen = (2/(eta eps)) exp(log^2(1-2lambda)/2) for small 1 - 2 lambda")
def _toy_tgen(t: Tables) -> dict:
    ok = _toy_converged(t)
    small = ok[ok.one_minus_2lam <= 1e-2]
    if small.empty:
        raise NotRun("no converged toy sweep point with 1 - 2 lambda <= 1e-2")
    err = float((small.log10_epoch_gen - small.pred_log10_epoch_gen_small_delta).abs().max())
    exact = float((ok.log10_epoch_gen - ok.pred_log10_epoch_gen).abs().max())
    # the small-delta form drops the leading correction delta log^2(delta) (nats) of log(t*_gen/t*_tr)
    delta = small.one_minus_2lam.to_numpy(float)
    tol = float(1.5 * np.max(delta * np.log(delta) ** 2) / math.log(10) + 0.01)
    return _row(err, 0.0, tol, "log10 decades: 1.5 x the dropped leading term delta log^2(delta)/ln 10, plus 0.01",
                "toy", 2, "holds" if err <= tol else "differs",
                f"max log10 error at 1-2lambda <= 1e-2: {err:.3g}; full asymptotic form, all {len(ok)} "
                f"points: {exact:.3g}")


def _toy_slope(t: Tables, lo: float, hi: float) -> tuple[float, float, int, float]:
    """Fig. 9's fitted slope at the largest sigma over 1 - 2 lambda in [lo, hi], and the exact asymptotics'
    slope on the same points."""
    from .toy import fig9_slope
    ok = _toy_converged(t)
    sigma = float(ok.sigma.max())
    s = ok[(ok.sigma == sigma) & (ok.one_minus_2lam >= lo * 0.999) & (ok.one_minus_2lam <= hi * 1.001)]
    if len(s) < 3:
        raise NotRun(f"fewer than 3 converged toy points with 1 - 2 lambda in [{lo:g}, {hi:g}] at sigma = {sigma:g}")
    slope, _ = fig9_slope(s.one_minus_2lam, s.log10_epoch_tr, s.log10_epoch_gen)
    pred, _ = fig9_slope(s.one_minus_2lam, s.pred_log10_epoch_tr, s.pred_log10_epoch_gen)
    return slope, pred, len(s), sigma


@claim("toy_slope_sqrt2", "Fig. 9, App. E.3",
       "Toy model: sqrt(log(t*_gen/t*_tr)) against log(1-2lambda) has slope -1/sqrt 2 (fit over 1-2lambda in "
       "[1e-3, 1e-2])")
def _toy_slope_sqrt2(t: Tables) -> dict:
    slope, pred, n, sigma = _toy_slope(t, 1e-3, 1e-2)
    ref = -1 / math.sqrt(2)
    return _row(slope, ref, 0.005,
                "the local slope tends to -1/sqrt 2 from below; over [1e-3, 1e-2] the exact asymptotics give "
                f"{pred:.4f}", "toy", 2, _abs_verdict(slope, ref, 0.005), f"{n} points at sigma = {sigma:g}")


@claim("toy_slope_range", "Fig. 9",
       "Toy model: the fitted slope over 1-2lambda in [3e-4, 1e-1] equals the exact asymptotics on the same points")
def _toy_slope_range(t: Tables) -> dict:
    slope, pred, n, sigma = _toy_slope(t, 3e-4, 1e-1)
    return _row(slope, pred, 0.002, "integration tolerance of the crossing times (log time, rtol 1e-10) and finite eps",
                "toy", 2, _abs_verdict(slope, pred, 0.002),
                f"{n} points at sigma = {sigma:g}; slope -1/sqrt 2 = -0.7071 only as 1-2lambda -> 0")


@claim("fig8_delay_range", "Fig. 8 right",
       "Toy model (sigma = 20, eps = 1e-50): (t*_gen - t*_tr) eps falls from ~1e20 at 1-2lambda = 1e-4 to ~1e4 at 0.1")
def _fig8(t: Tables) -> dict:
    tt = _need(t.toy_times, "toy times")
    s = tt[(tt.sigma == 20) & ~tt.tr_censored & ~tt.gen_censored]
    out = []
    for row in pv.paper_values("8 right", "delay_times_eps").itertuples():
        c = s[np.isclose(s.one_minus_2lam, row.x)]
        if len(c):
            eps = 10 ** (-float(c.pred_log10_epoch_tr.iloc[0]))  # eta = 1 assumed by the read-off
            val = (10 ** float(c.log10_epoch_gen.iloc[0]) - 10 ** float(c.log10_epoch_tr.iloc[0])) * eps
            out.append((row.x, val, row.value))
    if not out:
        raise NotRun("no toy sweep point at sigma = 20 and 1 - 2 lambda = 1e-4 or 0.1")
    fac = 10.0
    ok = all(_factor_verdict(m, ref, fac) == "holds" for _, m, ref in out)
    return _row("; ".join(f"{m:.2g} at {x:g}" for x, m, _ in out),
                "; ".join(f"{ref:.0e} at {x:g}" for x, _, ref in out),
                f"factor {fac:g}", "read-off from a log axis spanning 16 decades; eta is not stated (eta = 1 here)",
                "toy", 2, "holds" if ok else "differs", measured_value=out[0][1], reference_value=out[0][2])


# ------------------------------------------------------------------------------------- Fig. 1 left read-offs
def _curves_of(t: Tables, key: str, candidates) -> tuple[str, pd.DataFrame]:
    return _experiment(t, key, candidates, table="curves")


@claim("fig1_left_048", "Fig. 1 left (lambda = 0.48)",
       "At lambda = 0.48 and ~5e5 epochs: A_gen ~0.95, sigma|S| ~4.5, b ~ -7.5")
def _fig1_left(t: Tables) -> dict:
    name, cur = _curves_of(t, "training_curves", ("training_curves",))
    c = cur[np.isclose(cur.lam, 0.48)]
    if c.empty:
        raise NotRun(f"{name} has no lambda = 0.48")
    vals = {q: _at_epoch(c, 5e5, q) for q in ("gen_acc", "sigma_s_norm", "b")}
    refs = {q: pv.paper_value("1 left", q, lam=0.48) for q in vals}
    tols = {"gen_acc": 0.05, "sigma_s_norm": 0.2 * 4.5, "b": 0.2 * 7.5}
    ok = all(abs(vals[q] - refs[q]) <= tols[q] for q in vals)
    return _row(", ".join(f"{q} {vals[q]:.3g}" for q in vals), ", ".join(f"{refs[q]:g}" for q in refs),
                "0.05; 20%; 20%", "read-off; sigma|S_inf| and log m vary from set to set at N below 4e4",
                name, int(c.N.iloc[0]), "holds" if ok else "differs", measured_value=vals["gen_acc"],
                reference_value=refs["gen_acc"], note=f"{c.realisation.nunique()} realisations (paper: 1 at N = 4e4)")


@claim("fig1_left_052", "Fig. 1 left (lambda = 0.52)", "At lambda = 0.52 and ~5e5 epochs, A_gen ~0.73")
def _fig1_left052(t: Tables) -> dict:
    name, cur = _curves_of(t, "training_curves", ("training_curves",))
    c = cur[np.isclose(cur.lam, 0.52)]
    if c.empty:
        raise NotRun(f"{name} has no lambda = 0.52")
    m = _at_epoch(c, 5e5, "gen_acc")
    ref = pv.paper_value("1 left", "gen_acc", lam=0.52)
    return _row(m, ref, 0.05, "read-off; the margin of a set at lambda = 0.52 varies strongly with N", name,
                int(c.N.iloc[0]), _abs_verdict(m, ref, 0.05))


# ----------------------------------------------------------------------------------- Figs. 4, 5, 10-16
@claim("fig4_two_gaussian", "Fig. 4, App. H",
       "With noise sigma_A in the informative coordinate the limit A_gen falls below 1 and decreases with sigma_A")
def _fig4(t: Tables) -> dict:
    name, r = _experiment(t, "two_gaussian", ("two_gaussian", "fig4"),
                          detect=lambda d: "bias_noise" in d and d.bias_noise.nunique() >= 2)
    r = _trained(r)
    med = r.groupby("bias_noise").final_gen_acc.median()
    if len(med) < 2:
        raise NotRun(f"{name} has one bias_noise")
    # A_gen <= Phi(mu/sigma_A) = Phi(1/bias_noise) once b < 0: the bound is 1 to 1e-80 for small sigma_A, so "below
    # 1" is decided against it, and "decreasing" allows ties at that resolution
    bound = pd.Series([ndtr(1 / e) if e > 0 else 1.0 for e in med.index], index=med.index)
    tol = 1e-3
    nonincreasing = bool((np.diff(med.values) <= tol).all()) and med.iloc[-1] < med.iloc[0] - 10 * tol
    within = bool((med <= bound + tol).all())
    return _row(", ".join(f"{a:.3g} at {e:g}" for e, a in med.items()),
                "non-increasing in sigma_A, below Phi(mu/sigma_A): " + ", ".join(f"{b:.3g}" for b in bound),
                f"{tol:g}", "medians of the final A_gen per sigma_A/mu (same datasets in every cell); 1e-3 is the "
                "spread of the final A_gen across cells at equal sigma_A", name, _single_N(r),
                "holds" if nonincreasing and within else "differs", measured_value=float(med.iloc[-1]),
                reference_value=float(bound.iloc[-1]))


@claim("fig5_adam", "Fig. 5",
       "Adam (betas 0.8, 0.9) at lambda = 0.495: A_gen leaves 0.5 late and reaches 1 by ~1e4 epochs")
def _fig5(t: Tables) -> dict:
    name, r = _experiment(t, "adam", ("adam", "fig5"))
    r = _trained(r)
    col = f"grok_{_grok_name(t, 'gen_accuracy', 'gen95')}"
    m = _censored_median(r[col], r[f"{col}_censored"])
    ref = pv.paper_value("5", "gen95_epoch")
    fac = 3.0
    return _row(m, ref, f"factor {fac:g}",
                "read-off from a log axis; the paper's learning rate and N = 4000 are not matched",
                name, _single_N(r), _factor_verdict(m, ref, fac),
                f"median L_gen peak {r.gen_loss_peak.median():.3g} at epoch {r.gen_loss_peak_epoch.median():.3g} "
                "(paper: ~4.5 near 7e2)")


@claim("fig11_adam_defaults", "Fig. 11",
       "Adam with PyTorch's defaults shows the same phenomenology (generalises below 1/2, not above)")
def _fig11(t: Tables) -> dict:
    name, r = _experiment(t, "adam_defaults", ("fig11", "adam_defaults", "adam_pytorch"))
    return _phenomenology(r, name)


def _verdict(r: pd.DataFrame, separable: bool) -> pd.Series:
    """Sets decided ``separable`` (or not) by the LP; for experiments run with ``separability: false`` (sets
    beyond the LP's reach), those whose Wendel probability of the other verdict is below 1e-6."""
    odds = r.wendel_p_separable if separable else 1 - r.wendel_p_separable
    return r.separable.eq(separable) | (r.separable.isna() & (odds > 1 - 1e-6))


def _phenomenology(r: pd.DataFrame, name: str) -> dict:
    """Below 1/2 the inseparable sets reach A_gen >= 0.95 at the horizon; above 1/2 the separable ones stay < 1."""
    r = _trained(r)
    below = r[(r.lam < 0.5) & _verdict(r, False)]
    above = r[(r.lam > 0.5) & _verdict(r, True)]
    if below.empty or above.empty:
        raise NotRun(f"{name} lacks inseparable sets below 1/2 or separable ones above")
    lo = float(below.groupby("lam").final_gen_acc.median().min())
    hi = float(above.final_gen_acc.max())
    ok = lo >= 0.95 and hi < 1 - 1e-3
    return _row(f"min over lambda < 1/2 of median final A_gen {lo:.3f}; max above 1/2 {hi:.3f}",
                ">= 0.95 below, < 1 above", "0.95", "qualitative (the paper's figure shows curves, no numbers)",
                name, _single_N(r), "holds" if ok else "differs", measured_value=lo, reference_value=0.95)


def _by_axis(t: Tables, key: str, candidates, column: str) -> tuple[str, pd.DataFrame]:
    return _experiment(t, key, candidates,
                       detect=lambda d: column in d and d[column].nunique() >= 2 and d.lam.nunique() == 1)


@claim("fig12_s0", "Fig. 12", "At lambda = 0.48 the L_gen bump depends on the initial scale |S0| (0.1, 1, 2)")
def _fig12(t: Tables) -> dict:
    name, r = _by_axis(t, "s0", ("fig12", "s0_scale", "init_scale"), "s0_norm")
    r = _trained(r)
    if "s0_norm" not in r or r.s0_norm.nunique() < 2:
        raise NotRun(f"{name} has no s0_norm column with several values")
    med = r.groupby("s0_norm").gen_loss_bump_initial.median()
    spread = float(med.max() - med.min())
    noise = float(r.groupby("s0_norm").gen_loss_bump_initial.std().max() / math.sqrt(r.groupby("s0_norm").size().min()))
    noise = noise if np.isfinite(noise) else 0.0
    return _row(", ".join(f"{v:.3g} at {s:g}" for s, v in med.items()), "differ", f"> {N_SIGMA:g} x {noise:.2g}",
                "3 standard errors of the per-|S0| median bump", name, _single_N(r),
                "holds" if spread > N_SIGMA * noise and spread > 1e-6 else "differs", measured_value=spread)


@claim("fig13_b0", "Fig. 13", "With b0 = -1 at lambda = 0.48, A_gen starts ~0.97, dips (~0.77 near 3e2) and recovers")
def _fig13(t: Tables) -> dict:
    name, cur = _experiment(t, "b0", ("fig13", "b0_sweep", "init_bias"),
                            detect=lambda d: "b0" in d and d.b0.nunique() >= 2, table="curves")
    if "b0" not in cur:
        raise NotRun(f"{name}'s curves have no b0 column")
    c = cur[np.isclose(cur.b0, -1.0)]
    if c.empty:
        raise NotRun(f"{name} has no b0 = -1")
    med = c.groupby("epoch").gen_acc.median()
    start, low, end = float(med.iloc[0]), float(med.min()), float(med.iloc[-1])
    ref = float(pv.paper_values("13", "gen_acc", b0=-1.0).query("x > 0").value.iloc[0])
    ok = low < start - 0.05 and end > low + 0.05
    return _row(f"start {start:.3f}, minimum {low:.3f} at epoch {med.idxmin():.3g}, end {end:.3f}",
                f"start 0.97, minimum ~{ref:g} near 3e2, recovers", "dip and recovery > 0.05",
                "qualitative; the depth of the dip depends on N (paper: 4e4)", name, int(c.N.iloc[0]),
                "holds" if ok else "differs", measured_value=low, reference_value=ref)


@claim("fig14_exponential", "Fig. 14", "The pure exponential loss shows the same phenomenology as the logistic loss")
def _fig14(t: Tables) -> dict:
    name, r = _experiment(t, "exponential", ("fig14", "exponential_loss", "exp_loss"),
                          detect=lambda d: "loss" in d and (d.loss == "exponential").all())
    return _phenomenology(r, name)


@claim("fig15_input_laws", "Fig. 15",
       "Other input laws (power-law covariance, Gaussian mixture) at lambda = 0.45 keep the L_gen peak "
       "~1.0-1.4 near 1e2-1e3")
def _fig15(t: Tables) -> dict:
    name, r = _experiment(t, "input_laws", ("fig15", "input_laws"),
                          detect=lambda d: "input_law" in d and d.input_law.nunique() >= 2)
    r = _trained(r)
    law = r.input_law if "input_law" in r else pd.Series("gaussian", index=r.index)
    rows, ok = [], True
    for lw, g in r.groupby(law):
        pk, ep = float(g.gen_loss_peak.median()), float(g.gen_loss_peak_epoch.median())
        rows.append(f"{lw}: {pk:.2g} at {ep:.2g}")
        ok &= 0.7 <= pk <= 2.0 and 30 <= ep <= 3e3
    return _row("; ".join(rows), "1.0-1.4 at 1e2-1e3", "peak 0.7-2.0, epoch 30-3e3",
                "read-off range widened by the log-axis precision (factor ~3 in epoch)", name, _single_N(r),
                "holds" if ok else "differs")


@claim("fig16_label_fraction", "Fig. 16, App. I",
       "With a label fraction r < 1 full generalisation is impossible, but the delay and the L_gen bump remain")
def _fig16(t: Tables) -> dict:
    name, r = _experiment(t, "label_fraction", ("fig16", "label_fraction"),
                          detect=lambda d: "label_fraction" in d and d.label_fraction.nunique() >= 2)
    r = _trained(r)
    if "label_fraction" not in r:
        raise NotRun(f"{name} has no label_fraction column")
    part = r[r.label_fraction < 1]
    if part.empty:
        raise NotRun(f"{name} has no r < 1")
    acc = float(part.final_gen_acc.max())
    bump = float((part.gen_loss_bump_initial > 0).mean())
    ok = acc < 1 - 1e-3 and bump >= 0.5
    return _row(f"max final A_gen {acc:.3f}; bump in {bump:.2f} of sets", "< 1; bump present", "qualitative",
                "the paper shows curves only", name, _single_N(part), "holds" if ok else "differs", measured_value=acc)


@claim("fig2_middle_exponential", "Fig. 2 middle",
       "Exponential loss at lambda = 0.48: |S| grows from 0.1 to ~0.88 by t ~ 3e4")
def _fig2m(t: Tables) -> dict:
    name, cur = _experiment(t, "exponential", ("fig14", "exponential_loss", "exp_loss", "conformal"),
                            detect=lambda d: "loss" in d and (d.loss == "exponential").all(), table="curves")
    c = cur[np.isclose(cur.lam, 0.48)]
    if c.empty:
        raise NotRun(f"{name} has no lambda = 0.48")
    m = _at_epoch(c, 3e4, "s_norm")
    ref = pv.paper_value("2 middle", "s_norm")
    return _row(m, ref, 0.2 * ref, "read-off; |S_inf| varies from set to set at N below 4e4", name, int(c.N.iloc[0]),
                _abs_verdict(m, ref, 0.2 * ref))


# ------------------------------------------------------------------------------------------------- blog
def _blog(t: Tables) -> pd.DataFrame:
    return _need(t.blog_curves, "blog curves")


def _blog_summary(t: Tables) -> pd.DataFrame:
    from .blog import summary
    return summary(_blog(t)).set_index("variant")


def _blog_time(t: Tables, col: str, quantity: str, variant: str) -> dict:
    s = _blog_summary(t)
    if variant not in s.index:
        raise NotRun(f"no blog variant {variant!r}")
    m = float(s.loc[variant, col])
    ref = pv.paper_value("blog", quantity, variant=variant)
    fac = 3.0
    return _row(m, ref, f"factor {fac:g}",
                "read-off from the blog's log axis; its dataset is not published (seed chosen here)",
                f"blog ({variant})", 100, _factor_verdict(m, ref, fac))


@claim("blog_train_acc", "Davies (2022)", "Train accuracy reaches 1 after ~3e3 epochs")
def _blog1(t):
    return _blog_time(t, "train_acc_1", "train_acc_1_epoch", "full")


@claim("blog_test_chance", "Davies (2022)", "Test accuracy stays near chance until ~1e4 epochs (leaves 0.6 there)")
def _blog2(t):
    return _blog_time(t, "test_leaves_chance", "test_leaves_chance_epoch", "full")


@claim("blog_test_solved", "Davies (2022)", "Test accuracy reaches 1 (>= 0.95) near 2e5 epochs")
def _blog3(t):
    return _blog_time(t, "test_solved", "test_solved_epoch", "full")


@claim("blog_no_central", "Davies (2022)",
       "Without the central test points, test accuracy stays at chance until ~1.5e5")
def _blog4(t):
    return _blog_time(t, "test_leaves_chance", "test_leaves_chance_epoch", "no_central")


def _max_rise(loss: np.ndarray) -> float:
    """Largest relative rise of a curve above its running minimum (0 for a monotone decreasing curve)."""
    run_min = np.minimum.accumulate(loss)
    return float(np.max((loss - run_min) / run_min))


@claim("blog_train_loss_monotone", "Davies (2022)", "The training loss falls monotonically")
def _blog5(t):
    c = _blog(t)
    c = c[c.variant == "full"].sort_values("epoch")
    rise = _max_rise(c.train_loss.to_numpy(float))
    return _row(rise, 0.0, 1e-9, "relative rise above the running minimum; 1e-9 allows round-off", "blog (full)", 100,
                "holds" if rise <= 1e-9 else "differs")


@claim("blog_test_loss_monotone", "Davies (2022)", "The test loss falls monotonically")
def _blog6(t):
    c = _blog(t)
    c = c[c.variant == "full"].sort_values("epoch")
    rise = _max_rise(c.test_loss.to_numpy(float))
    return _row(rise, 0.0, 1e-9, "relative rise above the running minimum; 1e-9 allows round-off", "blog (full)", 100,
                "holds" if rise <= 1e-9 else "differs",
                f"the summed test loss peaks at epoch {int(c.epoch.iloc[int(np.argmax(c.test_loss.to_numpy()))])}")


# ----------------------------------------------------------------------------------------------- ledger
def _large_n_rows(tables: Tables) -> list[dict]:
    """The project's own claims (beyond the paper): the main experiment's medians against the N -> infinity limit
    (grokedge.theory.theory_claims), away from the finite-size window around lambda = 1/2."""
    from .theory import theory_claims

    main = tables.spec.get("figures", {}).get("main_experiment")
    if tables.runs is None or main is None:
        return []
    main_runs = tables.runs[tables.runs.experiment == main]
    if main_runs.empty or not {"s_inf_norm", "s_inf_m", "margin"} <= set(main_runs.columns):
        return []
    out = []
    for r in theory_claims(main_runs):
        out.append({k: r[k] for k in ("id", "source", "statement", "tolerance_reason", "experiment", "N", "verdict")}
                   | {"measured": _fmt(r["measured"]), "reference": _fmt(r["reference"]),
                      "tolerance": _fmt(r["tolerance"]), "measured_value": float(r["measured"]),
                      "reference_value": float(r["reference"]), "note": ""})
    return out


def evaluate_claims(tables: Tables) -> pd.DataFrame:
    """Evaluate every registered claim; one row each, in registration order (``LEDGER_COLUMNS``)."""
    rows = []
    for c in CLAIMS:
        base = {"id": c.id, "source": c.source, "statement": c.statement}
        try:
            out = c.evaluate(tables)
        except NotRun as why:
            out = _row("-", "-", "-", "-", "-", 0, "not run", note=str(why))
        except (KeyError, AttributeError) as err:  # a column this run's tables do not have (older or smaller run)
            out = _row("-", "-", "-", "-", "-", 0, "not run", note=f"a column is absent from the tables ({err})")
        if out["verdict"] not in VERDICTS:
            raise ValueError(f"claim {c.id}: verdict {out['verdict']!r} not in {VERDICTS}")
        rows.append(base | out)
    rows += _large_n_rows(tables)
    df = pd.DataFrame(rows, columns=LEDGER_COLUMNS)
    df["N"] = df["N"].astype("int64")
    for col in ("measured_value", "reference_value"):
        df[col] = df[col].astype("float64")
    return df


def verdict_counts(ledger: pd.DataFrame) -> dict:
    return {v: int((ledger.verdict == v).sum()) for v in VERDICTS}


def _md_cell(x) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def ledger_markdown(ledger: pd.DataFrame) -> str:
    """The ledger as a Markdown table (id, source, statement, measured, reference, tolerance, run, verdict),
    preceded by the verdict counts."""
    counts = verdict_counts(ledger)
    head = ", ".join(f"{n} {v}" for v, n in counts.items())
    cols = ["id", "source", "statement", "measured", "reference", "tolerance", "run", "verdict"]
    lines = [f"{len(ledger)} claims: {head}.", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in ledger.itertuples(index=False):
        run = "-" if r.verdict == "not run" else f"{r.experiment}, N = {r.N}" if r.N else r.experiment
        tol = r.tolerance if r.verdict == "not run" else f"{r.tolerance} ({r.tolerance_reason})"
        measured = r.note if r.verdict == "not run" else r.measured
        verdict = f"**{r.verdict}**" if r.verdict == "differs" else r.verdict
        lines.append("| " + " | ".join(_md_cell(x) for x in (f"`{r.id}`", r.source, r.statement, measured,
                                                                r.reference, tol, run, verdict)) + " |")
    return "\n".join(lines) + "\n"


def replace_readme_section(text: str, table_md: str) -> str:
    """``text`` with everything between README_START and README_END replaced by ``table_md``; the markers
    stay. Raises ValueError if the markers are missing or out of order."""
    pattern = re.compile(re.escape(README_START) + r"\n?.*?" + re.escape(README_END), re.S)
    if text.count(README_START) != 1 or text.count(README_END) != 1 or not pattern.search(text):
        raise ValueError(f"the README needs exactly one '{README_START}' followed by one '{README_END}'")
    return pattern.sub(lambda _: f"{README_START}\n{table_md.rstrip()}\n{README_END}", text)


def read_ledger(path) -> pd.DataFrame:
    from .io import read_table
    return read_table(path, "claims", LEDGER_COLUMNS)


def load_tables(runs=None, curves=None, toy_curves=None, toy_times=None, blog_curves=None, spec=None) -> Tables:
    """Read whichever of the tables exist (paths may be None or missing files)."""
    from .io import read_table

    def rd(p, kind):
        return read_table(p, kind) if p and Path(p).exists() else None
    return Tables(rd(runs, "runs"), rd(curves, "curves"), rd(toy_curves, "toy_curves"), rd(toy_times, "toy_times"),
                  rd(blog_curves, "blog_curves"), dict(spec or {}))


# --------------------------------------------------------------------------------- learning-rate evidence
def eta_delay_table(lams=(0.05, 0.3, 0.45, 0.48), etas=(0.01, 0.1), N: int = 400, sigma: float = 5.0,
                    realisations: int = 8, horizon: float = 1e9, root_seed: int = 20250710,
                    gd_epochs: int = 30000) -> pd.DataFrame:
    """The accuracy-0.9 delay (the paper's Fig. 1 right bottom) per (lambda, eta): exact GD for the first
    ``gd_epochs`` epochs (where the delays below ~0.3 live, and where a step of eta = 0.1 is not small), then the
    gradient flow to ``horizon``. Returns per (lam, eta): the median t_train, t_gen and delay, its quartiles and
    the censored count. The same datasets (seed scheme of the pipeline) at every eta."""
    from . import data, metrics, train
    from .seeds import realisation_seed
    rows = []
    ep = train.checkpoint_epochs(horizon, 40)
    for lam in lams:
        d = round(lam * N)
        reals = [data.realisation(N, d, sigma, realisation_seed(root_seed, "gaussian", N, d, r))
                 for r in range(realisations)]
        X, S0 = np.stack([r.X for r in reals]), np.stack([r.S0 for r in reals])
        for eta in etas:
            tr = train.train(X, S0, 0.0, eta, ep, solver="flow", gd_warmup=gd_epochs,
                             correction_epochs=max(1e4, gd_epochs))
            cm = metrics.curve_metrics(X, tr.S, tr.b, sigma)
            g = [metrics.grokking_time(ep, {k: cm[k][i] for k in ("train_loss", "train_acc", "gen_loss", "gen_acc")},
                                       "accuracy_delay", 0.9) for i in range(realisations)]
            df = pd.DataFrame(g)
            delay = np.where(df.censored, np.inf, df.time)
            rows.append({"lam": lam, "eta": eta, "n": realisations, "t_train": df.t_train.median(),
                         "t_gen": df.t_gen.median(), "delay_median": float(np.median(delay)),
                         "delay_q25": float(np.quantile(delay, 0.25)), "delay_q75": float(np.quantile(delay, 0.75)),
                         "censored": int(df.censored.sum())})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m grokedge.claims", description=__doc__.split("\n\n")[0])
    p.add_argument("ledger", nargs="?", help="results/tables/claims.parquet")
    p.add_argument("--readme", help="rewrite this README's section between the claims markers")
    p.add_argument("--eta-evidence", action="store_true", help="measure the accuracy-0.9 delay at eta 0.01 and 0.1")
    a = p.parse_args(argv)
    if a.eta_evidence:
        print(eta_delay_table().to_string(index=False))
        return 0
    if not a.ledger:
        p.error("give the ledger's path (results/tables/claims.parquet) or --eta-evidence")
    md = ledger_markdown(read_ledger(a.ledger))
    if a.readme:
        path = Path(a.readme)
        path.write_text(replace_readme_section(path.read_text(), md))
        print(f"rewrote the claims section of {path}")
    else:
        sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
