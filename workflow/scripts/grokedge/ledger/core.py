"""The ledger's machinery: the claim registry, the verdict rules, and the table look-ups every evaluator shares.

A claim is registered with ``@claim(id, source, statement)`` on an evaluator ``f(tables) -> dict`` that returns
``row(...)`` or raises ``NotRun`` (the run lacks the experiment, grid, horizon or column the claim needs; the
message says which). Any other exception is a bug of the evaluator or of the tables: ``evaluate_claims`` stops
with ``ClaimError`` naming the claim, so that a typo in a column name never passes for a missing experiment.

Tolerances (see docs/results.md for the table per claim) come from two sources only:

* the precision of a read-off from the published panel: about a factor 2 on a logarithmic axis spanning many
  decades (``TOL_LOG_READOFF``), about +-0.03 on a linear accuracy axis (``TOL_LIN_READOFF``);
* the sampling error of the run, computed from the realisation count and the reference (binomial
  sqrt(p(1 - p)/n) for fractions) or, for medians of continuous quantities, the standard error of the median;
  a verdict allows ``N_SIGMA`` of them.

Never from a quantity that measures how far the data under test are from the claim.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri

VERDICTS = ("holds", "differs", "not run")
LEDGER_COLUMNS = ["id", "source", "statement", "measured", "reference", "tolerance", "tolerance_reason",
                  "experiment", "N", "verdict", "measured_value", "reference_value", "note"]

TOL_LOG_READOFF = 2.0   # factor: a value read off a log axis of the published figure
TOL_LIN_READOFF = 0.03  # absolute: a value read off a linear accuracy axis
N_SIGMA = 3.0           # sampling errors allowed


class NotRun(Exception):
    """The tables cannot decide the claim (experiment, grid, horizon or column absent); the message says which."""


class ClaimError(RuntimeError):
    """An evaluator failed on the tables for a reason other than a missing experiment: a bug, not a verdict."""


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


@dataclass(frozen=True)
class Claim:
    id: str
    source: str
    statement: str
    evaluate: Callable[[Tables], dict]


CLAIMS: list[Claim] = []


def claim(id: str, source: str, statement: str):
    """Register an evaluator under a unique ``id``; ``source`` names the paper's section or figure it judges."""
    def register(fn):
        if any(c.id == id for c in CLAIMS):
            raise ValueError(f"claim id {id!r} registered twice")
        CLAIMS.append(Claim(id, source, statement, fn))
        return fn
    return register


def evaluate_claims(tables: Tables) -> pd.DataFrame:
    """Every registered claim evaluated on ``tables``: one row each, in registration order (``LEDGER_COLUMNS``).
    Raises ``ClaimError`` (naming the claim) when an evaluator fails other than by ``NotRun``."""
    rows = []
    for c in CLAIMS:
        try:
            out = c.evaluate(tables)
        except NotRun as why:
            out = row("-", "-", "-", "-", "-", 0, "not run", note=str(why))
        except Exception as err:
            raise ClaimError(f"claim {c.id!r} ({c.source}) failed: {type(err).__name__}: {err}") from err
        if out["verdict"] not in VERDICTS:
            raise ClaimError(f"claim {c.id!r}: verdict {out['verdict']!r} not in {VERDICTS}")
        rows.append({"id": c.id, "source": c.source, "statement": c.statement} | out)
    df = pd.DataFrame(rows, columns=LEDGER_COLUMNS)
    df["N"] = df["N"].astype("int64")
    for col in ("measured_value", "reference_value"):
        df[col] = df[col].astype("float64")
    return df


def verdict_counts(ledger: pd.DataFrame) -> dict:
    return {v: int((ledger.verdict == v).sum()) for v in VERDICTS}


# ------------------------------------------------------------------------------------------------ rows
def fmt(x) -> str:
    """A number as the ledger prints it (3 significant digits; scientific outside [1e-3, 1e4))."""
    if isinstance(x, str):
        return x
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0 or (1e-3 <= abs(x) < 1e4):
        return f"{x:.3g}"
    return f"{x:.2e}"


def row(measured, reference, tolerance, reason, experiment, N, verdict, note="", measured_value=None,
        reference_value=None) -> dict:
    """One ledger row's fields (all but id, source, statement). Numbers are formatted for the text columns and
    kept as floats in ``measured_value``/``reference_value``."""
    mv = measured if measured_value is None else measured_value
    rv = reference if reference_value is None else reference_value
    return {"measured": fmt(measured), "reference": fmt(reference), "tolerance": fmt(tolerance),
            "tolerance_reason": reason, "experiment": experiment, "N": int(N), "verdict": verdict, "note": note,
            "measured_value": float(mv) if isinstance(mv, (int, float, np.number)) else math.nan,
            "reference_value": float(rv) if isinstance(rv, (int, float, np.number)) else math.nan}


def factor_verdict(measured: float, reference: float, factor: float) -> str:
    """holds iff reference/factor <= measured <= reference*factor (a non-finite or non-positive value differs)."""
    if not (np.isfinite(measured) and measured > 0):
        return "differs"
    return "holds" if reference / factor <= measured <= reference * factor else "differs"


def abs_verdict(measured: float, reference: float, tol: float) -> str:
    """holds iff |measured - reference| <= tol (a non-finite value differs)."""
    return "holds" if np.isfinite(measured) and abs(measured - reference) <= tol else "differs"


def binomial_tolerance(p: float, n: int) -> float:
    """N_SIGMA binomial standard errors of a fraction over n sets whose true value is p."""
    return N_SIGMA * math.sqrt(p * (1 - p) / n)


# ------------------------------------------------------------------------------------------ table look-ups
def need(df: pd.DataFrame | None, what: str) -> pd.DataFrame:
    if df is None or len(df) == 0:
        raise NotRun(f"no {what} table in this run")
    return df


def need_columns(df: pd.DataFrame, columns, what: str) -> None:
    """NotRun naming the columns ``what`` needs and this run's table lacks (an experiment run without them)."""
    missing = [c for c in columns if c not in df]
    if missing:
        raise NotRun(f"{what} has no column {', '.join(missing)} in this run")


def experiment(t: Tables, key: str, candidates=(), detect: Callable[[pd.DataFrame], bool] | None = None,
               table: str = "runs") -> tuple[str, pd.DataFrame]:
    """The one experiment drawn by figure ``key``: the name in spec['figures'][key] if given (a list must hold
    one name: use ``experiments`` for figures drawn from several), else the first of ``candidates`` present, else
    the first experiment for which ``detect(rows)`` is true."""
    found = experiments(t, key, candidates, detect, table)
    return found[0]


def experiments(t: Tables, key: str, candidates=(), detect: Callable[[pd.DataFrame], bool] | None = None,
                table: str = "runs") -> list[tuple[str, pd.DataFrame]]:
    """Every experiment of this run named for figure ``key`` in spec['figures'] (or, failing that, the first of
    ``candidates`` present, else the first that ``detect`` accepts), with its rows. NotRun when there is none."""
    df = need(getattr(t, table), table)
    figs = t.spec.get("figures", {}) or {}
    given = figs.get(key)
    names = ([given] if isinstance(given, str) else list(given)) if given else []
    present = list(dict.fromkeys(df.experiment))
    found = [(n, df[df.experiment == n]) for n in names if n in present]
    if found:
        return found
    for name in candidates:
        if name in present:
            return [(name, df[df.experiment == name])]
    if detect is not None:
        for name in present:
            if detect(df[df.experiment == name]):
                return [(name, df[df.experiment == name])]
    looked = list(dict.fromkeys(names + list(candidates))) or "a matching grid"
    raise NotRun(f"no experiment for {key} in this run (looked for {looked})")


def main(t: Tables, table: str = "runs", trained: bool = False) -> tuple[str, pd.DataFrame]:
    """The main experiment's name and rows (only its trained realisations with ``trained``)."""
    name, df = experiment(t, "main_experiment", ("lambda_sweep",), table=table)
    return name, trained_rows(df) if trained else df


# A set the LP did not decide (an experiment run with ``separability: false``, beyond the LP's reach) counts as
# having the verdict whose opposite Wendel's law makes less likely than this
UNDECIDED_ODDS = 1e-6


def with_verdict(r: pd.DataFrame, separable: bool) -> pd.Series:
    """Rows of sets decided ``separable`` (or not) by the LP, or left undecided with a Wendel probability of the
    other verdict below ``UNDECIDED_ODDS`` (at the paper's N = 4e4, lambda = 0.48 that probability is ~6e-16)."""
    odds = r.wendel_p_separable if separable else 1 - r.wendel_p_separable
    return (r.separable.eq(separable) | (r.separable.isna() & (odds > 1 - UNDECIDED_ODDS))).fillna(False)


def trained_rows(df: pd.DataFrame) -> pd.DataFrame:
    if "trained" in df:
        df = df[df.trained.astype(bool)]
    if df.empty:
        raise NotRun("the experiment is not trained in this run")
    return df


def grok_column(t: Tables, kind: str, default: str) -> str:
    """The runs-table column of the first grokking-time definition of ``kind`` in the config (``grok_<name>``)."""
    for name, spec in (t.spec.get("grokking") or {}).items():
        if spec.get("kind") == kind:
            return f"grok_{name}"
    return f"grok_{default}"


def censored_times(df: pd.DataFrame, col: str) -> np.ndarray:
    """The grokking times of ``col`` with censored runs (never reached within the horizon) as +inf."""
    need_columns(df, [col, f"{col}_censored"], "the runs table")
    return np.where(df[f"{col}_censored"].astype(bool), np.inf, df[col].to_numpy(float))


def censored_median(times) -> float:
    """The lower median of times in which censored runs are +inf (so a median is censored only when at least
    half of the runs are)."""
    x = np.asarray(times, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan
    return float(np.quantile(x, 0.5, method="lower"))


def median_and_se(v) -> tuple[float, float]:
    """Median and its standard error 1.2533 sd/sqrt(n) (the large-n error of a median of a normal sample; the sample
    standard deviation is a steadier estimate than the IQR at the 10-40 sets of a cell): the sampling error of a
    per-cell median."""
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)), float(1.2533 * np.std(v, ddof=1) / np.sqrt(len(v)))


def familywise_z(cells: int, alpha: float = 0.01) -> float:
    """The two-sided z that keeps the chance of any false 'differs' among ``cells`` independent cells at ``alpha``
    (Bonferroni): Phi^-1(1 - alpha/(2 cells)); at least N_SIGMA."""
    return max(N_SIGMA, float(ndtri(1 - alpha / (2 * max(cells, 1)))))


def single_N(df: pd.DataFrame) -> int:
    """The N of the rows (the largest, when there are several)."""
    return int(max(int(n) for n in df.N))


def trend(x, y) -> float:
    """Spearman rank correlation of y against x (1 = strictly increasing)."""
    x, y = pd.Series(np.asarray(x, float)), pd.Series(np.asarray(y, float))
    if len(x) < 2:
        return math.nan
    return float(x.rank().corr(y.rank()))


def pooled_trend(x, y) -> tuple[float, float]:
    """Spearman rho of y against x over individual sets, and its z-score rho sqrt(n - 1) under no trend
    (a per-cell median over a few sets is noisy; the pooled rank test uses every set)."""
    rho = trend(x, y)
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


def at_epoch(curves: pd.DataFrame, epoch: float, col: str) -> float:
    """Median over realisations of ``col`` at the checkpoint nearest (in log) to ``epoch``."""
    ep = curves.epoch.to_numpy(float)
    if ep.max() < epoch / 1.5:
        raise NotRun(f"the horizon {ep.max():.3g} is shorter than epoch {epoch:.3g}")
    pos = np.unique(ep[ep > 0])
    k = pos[np.argmin(np.abs(np.log(pos / epoch)))]
    return float(curves.loc[curves.epoch == k, col].median())


def outside_window(lam, N, width: float = 2.0):
    """Cells outside the finite-size window |1 - 2 lambda| N^(1/2) < width around the threshold (Wendel's step has
    width ~ N^(-1/2) in 1 - 2 lambda; inside it a finite set is as likely separable as not)."""
    from ..critical import scaling_variable
    return np.abs(scaling_variable(lam, N)) >= width


def nearest_cell(values: pd.Series, x: float, factor: float) -> float | None:
    """The index of ``values`` nearest (in log) to x among those within a factor ``factor`` of it, or None."""
    idx = np.asarray(values.index, dtype=float)
    ok = (idx > x / factor) & (idx < x * factor)
    if not ok.any():
        return None
    cand = idx[ok]
    return float(cand[np.argmin(np.abs(np.log(cand / x)))])
