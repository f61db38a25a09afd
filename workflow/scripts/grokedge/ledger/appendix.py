"""Claims of the model variants: two Gaussian classes (Fig. 4, App. H), Adam (Figs. 5, 11), the initial scale
(Fig. 12), the exponential loss (Fig. 14), other input laws (Fig. 15) and label fractions (Fig. 16, App. I)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import ndtr

from . import readoffs as pv
from .core import (
    TOL_LIN_READOFF,
    NotRun,
    Tables,
    at_epoch,
    censored_median,
    censored_times,
    claim,
    experiment,
    factor_verdict,
    grok_column,
    need,
    need_columns,
    row,
    single_N,
    trained_rows,
    with_verdict,
)
from .curves import TOL_EPOCH_FACTOR
from .grokking import BUMP_FACTOR, bump_ratio, fall_ratio

# A loss value read off a log loss axis: a factor 1.15 (as the bump of Fig. 1 left).
TOL_LOSS_FACTOR = BUMP_FACTOR


def _two_gaussian(t: Tables, table: str = "runs"):
    return experiment(t, "two_gaussian", ("two_gaussian", "fig4"),
                      detect=lambda d: "bias_noise" in d and d.bias_noise.nunique() >= 2, table=table)


@claim("fig4_two_gaussian", "Fig. 4, App. H",
       "With noise sigma_A in the informative coordinate the limit A_gen falls below 1 and decreases with sigma_A")
def _fig4(t: Tables) -> dict:
    name, r = _two_gaussian(t)
    r = trained_rows(r)
    med = r.groupby("bias_noise").final_gen_acc.median()
    if len(med) < 2:
        raise NotRun(f"{name} has one bias_noise")
    # A_gen <= Phi(mu/sigma_A) = Phi(1/bias_noise) once b < 0: the bound is 1 to 1e-80 for small sigma_A, so "below
    # 1" is decided against it, and "decreasing" allows ties at the resolution of the final A_gen
    bound = pd.Series([ndtr(1 / e) if e > 0 else 1.0 for e in med.index], index=med.index)
    tol = 1e-3
    nonincreasing = bool((np.diff(med.values) <= tol).all()) and med.iloc[-1] < med.iloc[0] - 10 * tol
    within = bool((med <= bound + tol).all())
    return row(", ".join(f"{a:.3g} at {e:g}" for e, a in med.items()),
               "non-increasing in sigma_A, below Phi(mu/sigma_A): " + ", ".join(f"{b:.3g}" for b in bound),
               f"{tol:g}", "medians of the final A_gen per sigma_A/mu on the same datasets in every cell: 1e-3 is "
               "the resolution of the closed-form A_gen at the horizon", name, single_N(r),
               "holds" if nonincreasing and within else "differs", measured_value=float(med.iloc[-1]),
               reference_value=float(bound.iloc[-1]))


@claim("fig4_readoffs", "Fig. 4",
       "Two-Gaussian model (eta = 0.1, mu = 0.2): the test-loss bump peaks near 5e2 epochs and A_gen is ~0.8 at "
       "~5e3 epochs")
def _fig4_readoffs(t: Tables) -> dict:
    name, r = _two_gaussian(t)
    r = trained_rows(r)
    _, cur = _two_gaussian(t, table="curves")
    peak = float(r.gen_loss_peak_epoch.median())
    acc = float(np.median([at_epoch(g, 5e3, "gen_acc") for _, g in cur.groupby("bias_noise")]))
    ref_peak = pv.paper_value("4", "gen_loss_peak_epoch")
    ref_acc = pv.paper_value("4", "gen_acc", epoch=5e3)
    ok = factor_verdict(peak, ref_peak, TOL_EPOCH_FACTOR) == "holds" and abs(acc - ref_acc) <= TOL_LIN_READOFF
    return row(f"bump at epoch {peak:.3g}; A_gen {acc:.3f} at 5e3", f"{ref_peak:g}; {ref_acc:g}",
               f"factor {TOL_EPOCH_FACTOR:g}; {TOL_LIN_READOFF:g}", "read-offs from the log epoch and linear accuracy "
               "axes (A_gen: median over the sigma_A curves, which the panel shows close together)", name,
               single_N(r), "holds" if ok else "differs", measured_value=acc, reference_value=ref_acc,
               note="epochs at the paper's eta = 0.1, mu = 0.2 (lr = eta mu^2 = 0.004 for unit-scale inputs)")


def _adam(t: Tables):
    name, r = experiment(t, "adam", ("adam", "fig5"))
    return name, trained_rows(r)


@claim("fig5_adam", "Fig. 5",
       "Adam (betas 0.8, 0.9) at lambda = 0.495: A_gen leaves 0.5 late and reaches 1 by ~1e4 epochs")
def _fig5(t: Tables) -> dict:
    name, r = _adam(t)
    col = grok_column(t, "gen_accuracy", "gen95")
    m = censored_median(censored_times(r, col))
    ref = pv.paper_value("5", "gen95_epoch")
    fac = 3.0
    return row(m, ref, f"factor {fac:g}", "read-off from the log epoch axis (decade ticks)", name, single_N(r),
               factor_verdict(m, ref, fac), f"epoch of A_gen >= 0.95, median of {len(r)} sets; the paper's learning "
               "rate is not stated (the run's lr is used)")


@claim("fig5_adam_spike", "Fig. 5", "Adam (betas 0.8, 0.9) at lambda = 0.495: the test loss spikes to ~4.5 near 7e2")
def _fig5_spike(t: Tables) -> dict:
    name, r = _adam(t)
    need_columns(r, ["gen_loss_peak", "gen_loss_peak_epoch"], f"experiment {name}")
    peak, at = float(r.gen_loss_peak.median()), float(r.gen_loss_peak_epoch.median())
    ref, ref_at = pv.paper_value("5", "gen_loss_peak"), 7e2
    ok = (factor_verdict(peak, ref, TOL_LOSS_FACTOR) == "holds"
          and factor_verdict(at, ref_at, TOL_EPOCH_FACTOR) == "holds")
    return row(f"{peak:.3g} at epoch {at:.3g}", f"{ref:g} near {ref_at:g}",
               f"factor {TOL_LOSS_FACTOR:g} in L_gen, {TOL_EPOCH_FACTOR:g} in epoch", "read-offs from log axes", name,
               single_N(r), "holds" if ok else "differs", measured_value=peak, reference_value=ref,
               note=f"medians of {len(r)} sets")


def phenomenology(r: pd.DataFrame, name: str) -> dict:
    """Below 1/2 the inseparable sets end at A_gen ~1; above 1/2 the separable ones end visibly below 1 (both
    medians per lambda, judged at the linear read-off precision)."""
    r = trained_rows(r)
    below = r[(r.lam < 0.5) & with_verdict(r, False)]
    above = r[(r.lam > 0.5) & with_verdict(r, True)]
    if below.empty or above.empty:
        raise NotRun(f"{name} lacks inseparable sets below 1/2 or separable ones above")
    lo = float(below.groupby("lam").final_gen_acc.median().min())
    hi = float(above.groupby("lam").final_gen_acc.median().max())
    ok = lo >= 1 - TOL_LIN_READOFF and hi <= 1 - TOL_LIN_READOFF
    return row(f"lowest median final A_gen below 1/2: {lo:.3f}; highest above: {hi:.3f}",
               f">= {1 - TOL_LIN_READOFF:g} below, <= {1 - TOL_LIN_READOFF:g} above", TOL_LIN_READOFF,
               "the panels show A_gen reaching 1 below 1/2 and staying visibly below 1 above: judged at the linear "
               "read-off precision", name, single_N(r), "holds" if ok else "differs", measured_value=lo,
               reference_value=1 - TOL_LIN_READOFF)


@claim("fig11_adam_defaults", "Fig. 11",
       "Adam with PyTorch's defaults shows the same phenomenology (generalises below 1/2, not above)")
def _fig11(t: Tables) -> dict:
    name, r = experiment(t, "adam_defaults", ("fig11", "fig11_adam_torch", "adam_defaults", "adam_pytorch"))
    return phenomenology(r, name)


@claim("fig14_exponential", "Fig. 14", "The pure exponential loss shows the same phenomenology as the logistic loss")
def _fig14(t: Tables) -> dict:
    name, r = experiment(t, "exponential", ("fig14", "fig14_exponential", "exponential_loss", "exp_loss"),
                         detect=lambda d: "loss" in d and (d.loss == "exponential").all())
    return phenomenology(r, name)


@claim("fig12_s0", "Fig. 12",
       "At lambda = 0.48 the L_gen bump depends on the initial scale: it shrinks from |S0| = 0.1 to |S0| = 2")
def _fig12(t: Tables) -> dict:
    name, r = experiment(t, "s0", ("fig12", "fig12_s0", "s0_scale", "init_scale"),
                         detect=lambda d: "s0_norm" in d and d.s0_norm.nunique() >= 2 and d.lam.nunique() == 1)
    r = trained_rows(r)
    need_columns(r, ["s0_norm"], f"experiment {name}")
    med = bump_ratio(r).groupby(r.s0_norm).median()
    if len(med) < 2:
        raise NotRun(f"{name} has one |S0|")
    small, large = float(med.iloc[0]), float(med.iloc[-1])
    ok = small > large * TOL_LOSS_FACTOR
    return row(", ".join(f"{v:.3g} at |S0| = {s:g}" for s, v in med.items()), "smaller at larger |S0|",
               f"ratio > factor {TOL_LOSS_FACTOR:g}", "peak/initial L_gen (the initial L_gen itself grows with |S0| by "
               "construction, so the bump is measured relative to it); a factor 1.15 is the log-axis read-off",
               name, single_N(r), "holds" if ok else "differs", measured_value=small / large,
               reference_value=TOL_LOSS_FACTOR)


def _fig15(t: Tables, law: str) -> dict:
    runs = need(t.runs, "runs")
    if "input_law" not in runs:
        raise NotRun("the runs table has no input_law column")
    names = (t.spec.get("figures", {}) or {}).get("input_laws") or ["fig15_gaussian", "fig15_powerlaw",
                                                                      "fig15_mixture"]
    names = [names] if isinstance(names, str) else names
    r = runs[runs.experiment.isin(names) & (runs.input_law == law)]
    if r.empty:
        raise NotRun(f"no Fig. 15 experiment with input law {law!r} in this run (looked in {', '.join(names)})")
    r = trained_rows(r)
    ratio, peak, at = float(bump_ratio(r).median()), float(r.gen_loss_peak.median()), \
        float(r.gen_loss_peak_epoch.median())
    lo, hi = 1.0 / TOL_LOSS_FACTOR, 1.4 * TOL_LOSS_FACTOR
    ok = ratio > TOL_LOSS_FACTOR and lo <= peak <= hi and 1e2 / TOL_EPOCH_FACTOR <= at <= 1e3 * TOL_EPOCH_FACTOR
    return row(f"peak {peak:.3g} ({ratio:.3g}x the initial L_gen) at epoch {at:.3g}",
               "peak 1.0-1.4 at 1e2-1e3, above the initial value",
               f"peak {lo:.2f}-{hi:.2f}, epoch {1e2 / TOL_EPOCH_FACTOR:.3g}-{1e3 * TOL_EPOCH_FACTOR:.3g}, "
               f"peak/initial > {TOL_LOSS_FACTOR:g}",
               "read-off ranges widened by the log-axis precision (a factor 1.15 in loss, 3 in epoch)",
               ", ".join(sorted(r.experiment.unique())), single_N(r), "holds" if ok else "differs",
               measured_value=peak, reference_value=1.2, note=f"medians over {len(r)} sets")


@claim("fig15_gaussian", "Fig. 15 (a)", "Isotropic Gaussian inputs (sigma = 5) at lambda = 0.45, d = 180: the L_gen "
       "bump peaks at ~1.0-1.4 near 1e2-1e3 epochs")
def _fig15a(t: Tables) -> dict:
    return _fig15(t, "gaussian")


@claim("fig15_powerlaw", "Fig. 15 (b)", "Power-law covariance inputs (alpha = 1.5, sum of eigenvalues sigma d, "
       "sigma = 10) at lambda = 0.45: the L_gen bump peaks at ~1.0-1.4 near 1e2-1e3 epochs")
def _fig15b(t: Tables) -> dict:
    out = _fig15(t, "powerlaw")
    out["note"] += ("; the normalisation as the paper states it (powerlaw_trace: sigma); the other readings are "
                    "measured by python -m grokedge.evidence.fig15_powerlaw (docs/results.md)")
    return out


@claim("fig15_mixture", "Fig. 15 (c)", "Gaussian-mixture inputs (+-1, variance 0.25, times 5) at lambda = 0.45: the "
       "L_gen bump peaks at ~1.0-1.4 near 1e2-1e3 epochs")
def _fig15c(t: Tables) -> dict:
    return _fig15(t, "mixture")


@claim("fig16_label_fraction", "Fig. 16, App. I",
       "With a label fraction r < 1 the delay and the non-monotone L_gen remain: A_gen keeps rising after train "
       "accuracy reaches 1, and L_gen rises above its initial value, then falls")
def _fig16(t: Tables) -> dict:
    name, r = experiment(t, "label_fraction", ("fig16", "fig16_labels", "label_fraction"),
                         detect=lambda d: "label_fraction" in d and d.label_fraction.nunique() >= 2)
    r = trained_rows(r)
    need_columns(r, ["label_fraction"], f"experiment {name}")
    part = r[r.label_fraction < 1]
    if part.empty:
        raise NotRun(f"{name} has no r < 1")
    _, cur = experiment(t, "label_fraction", (name,), table="curves")
    parts, ok, worst = [], True, None
    for frac, g in part.groupby("label_fraction"):
        rises = []
        for _, c in cur[np.isclose(cur.label_fraction, frac)].groupby(["cell", "realisation"]):
            c = c.sort_values("epoch")
            fit = c[c.train_acc >= 1.0]
            if len(fit):
                rises.append(float(c.gen_acc.iloc[-1] - fit.gen_acc.iloc[0]))
        delay = float(np.median(rises)) if rises else math.nan
        ratio = float(bump_ratio(g).median())
        fall = float(fall_ratio(g).median())
        good = delay > 2 * TOL_LIN_READOFF and ratio > TOL_LOSS_FACTOR and fall > TOL_LOSS_FACTOR
        ok &= good
        parts.append(f"r = {frac:g}: A_gen rises {delay:.3f} after train accuracy 1, peak/initial L_gen {ratio:.3g}, "
                     f"peak/final {fall:.3g}")
        worst = delay if worst is None else min(worst, delay)
    return row("; ".join(parts), f"rise > {2 * TOL_LIN_READOFF:g}; both ratios > {TOL_LOSS_FACTOR:g}",
               f"{2 * TOL_LIN_READOFF:g}; factor {TOL_LOSS_FACTOR:g}",
               "twice the linear accuracy read-off (a visible delay); the log-axis loss read-off (a visible bump)",
               name, single_N(part), "holds" if ok else "differs", measured_value=worst,
               reference_value=2 * TOL_LIN_READOFF, note="medians over the sets of each r; a set without train "
               "accuracy 1 within the horizon has no delay")
