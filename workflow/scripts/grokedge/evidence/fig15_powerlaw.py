"""Fig. 15 (b): which normalisation of the power-law spectrum gives the paper's test-loss bump?

The paper's panel: N = 400 Gaussian points with covariance eigenvalues lambda_n = lambda_0 / n^alpha,
alpha = 1.5, "normalised so that sum lambda_n = sigma d with sigma = 10", d = 180 (lambda = 0.45), GD with
eta = 0.01, |S0| = 0.1, b0 = 0. It shows L_gen peaking at ~1.0-1.4 near epochs 1e2-1e3, as the isotropic
sigma = 5 Gaussian of panel (a) does. Read literally (the project's default), the run has no bump. This module
measures, per plausible reading of the normalisation (``CONVENTIONS``), the peak of L_gen and its epoch over
realisations, and, to see which overall scale a bump needs, a scan of the trace (``trace_scan``).

Why these numbers decide it: a diagonal covariance C loses no generality (S0 is isotropic and GD is
rotation-equivariant), and for a Gaussian law f = S.x + b on a fresh point is N(b, S^T C S), so L_gen is the
logistic loss's closed form ``population(b, sqrt(S^T C S))`` (``grokedge.losses``), with no test-set noise. What
differs between readings is only the variance vector. GD's stability at the start is eta lambda_max(H0) < 2
with H0 = X^T X / (4 N) (the logistic Hessian at S.x + b = 0); it is reported per reading (``eta_h0``), because
a reading whose top eigenvalue puts GD above it produces a transient bump in the first epochs, not one at 1e2-1e3.

Solvers: ``gd`` is the paper's full-batch GD, step by step (``train.gradient_descent``, its rising-loss stop
off: the logistic loss has a gradient bounded by |x|, so a step above the stability bound overshoots but
cannot run away, and that overshoot is part of what is measured); ``flow`` is the gradient flow in
t = eta * epoch (``train.gradient_flow`` without the modified-equation term), the eta -> 0 limit of GD, i.e.
what the same dynamics give without GD's overshoot.

Run as ``python -m grokedge.evidence.fig15_powerlaw`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import numpy as np
import pandas as pd

from .. import data, losses, train
from ..laws import InputLaw
from ..seeds import realisation_seed, streams

PAPER = {"N": 400, "d": 180, "sigma": 10.0, "alpha": 1.5, "lr": 0.01, "peak": (1.0, 1.4), "epoch": (1e2, 1e3)}
# read-off precision of the panel: 0.1 on its linear loss axis, a quarter decade on its log epoch axis (the
# isotropic reference of panel (a), 0.98 at epoch ~270 here, is inside; without the widening it would not be)
PEAK_WINDOW = (0.9, 1.5)
EPOCH_WINDOW = (10**1.75, 10**3.25)
ROOT_SEED = 20250710


def _scaled(shape: np.ndarray, total: float, power: int = 1) -> np.ndarray:
    """Variances v with v^(1/power) proportional to ``shape`` and sum_n v_n^(1/power) = total."""
    return (shape * (total / shape.sum())) ** power


def _law(sigma: float, alpha: float, trace: str) -> InputLaw:
    return InputLaw("powerlaw", sigma, {"powerlaw_alpha": alpha, "powerlaw_trace": trace})


def _spectrum(d: int, alpha: float) -> np.ndarray:
    return np.arange(1, d + 1, dtype=float) ** -alpha


# name -> (reading of the paper's words, variances(d, sigma, alpha)); sigma = 10 in the paper
CONVENTIONS: dict[str, tuple[str, Callable[[int, float, float], np.ndarray]]] = {
    "sum_var_sigma_d": ("eigenvalues are variances, sum = sigma d (literal; the project's default)",
                        lambda d, s, a: _law(s, a, "sigma").variances(d)),
    "sum_var_sigma2_d": ("eigenvalues are variances, sum = sigma^2 d (sigma scales the points)",
                         lambda d, s, a: _law(s, a, "sigma2").variances(d)),
    "sum_std_sigma_d": ("standard deviations sqrt(lambda_n) sum to sigma d",
                        lambda d, s, a: _scaled(_spectrum(d, a / 2), s * d, power=2)),
    "eig_as_std": ("eigenvalues are standard deviations (variance lambda_n^2), sum lambda_n = sigma d",
                   lambda d, s, a: _scaled(_spectrum(d, a), s * d, power=2)),
    "sum_var_sigma_d_times_sigma": ("sum = sigma d, points then times sigma as for the other laws: trace sigma^3 d",
                                    lambda d, s, a: s**2 * _law(s, a, "sigma").variances(d)),
    "unit_trace_times_5": ("sum = d, points then times 5 as in panel (c): the isotropic sigma = 5 trace 25 d",
                           lambda d, s, a: _scaled(_spectrum(d, a), 25.0 * d)),
    "unit_trace": ("sum = d (no sigma)", lambda d, s, a: _scaled(_spectrum(d, a), float(d))),
    "lambda0_sigma2": ("lambda_0 = sigma^2 (the top variance is sigma^2), no trace condition",
                       lambda d, s, a: s**2 * _spectrum(d, a)),
    "isotropic_sigma5": ("reference, not a reading: panel (a)'s isotropic sigma = 5 law (variance 25 each)",
                         lambda d, s, a: np.full(d, 25.0)),
}


def unit_draws(N: int, d: int, realisations: int, root_seed: int = ROOT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal points Z (R, N, d) and initial weights S0 (R, d), |S0| = 0.1, from the pipeline's seed
    scheme (law tag ``powerlaw``): a reading with variances v trains on X = Z sqrt(v), which is exactly the
    pipeline's draw of that law. Every reading sees the same Z and S0."""
    Z, S0 = [], []
    for r in range(realisations):
        rng_data, rng_init, _ = streams(realisation_seed(root_seed, "powerlaw", N, d, r))
        Z.append(rng_data.standard_normal((N, d)))
        S0.append(data.isotropic_vector(rng_init, d, 0.1))
    return np.stack(Z), np.stack(S0)


def gen_loss_curves(Z: np.ndarray, S0: np.ndarray, var: np.ndarray, lr: float, epochs: np.ndarray,
                    solver: str = "gd") -> np.ndarray:
    """L_gen (R, K) at ``epochs`` for points X = Z sqrt(var), b0 = 0: the closed form L_gen(b, a),
    a^2 = S^T diag(var) S (module docstring)."""
    X = Z * np.sqrt(var)
    problem, schedule = train.Problem(X, S0), train.Schedule(lr, epochs)
    if solver == "gd":
        tr = train.gradient_descent(problem, schedule, train.GDOptions(rise_factor=np.inf))
    elif solver == "flow":
        tr = train.gradient_flow(problem, schedule, train.FlowOptions(correction_epochs=0.0))
    else:
        raise ValueError(f"unknown solver {solver!r}; expected 'gd' or 'flow'")
    a = np.sqrt(np.einsum("rkd,d->rk", tr.S**2, var))
    return losses.LOSSES["logistic"].population(tr.b, a)


def peak_rows(Z, S0, var, lr, epochs, solver="gd") -> pd.DataFrame:
    """Per realisation: L_gen at epoch 0, its peak over epochs >= 1 (the panel's log axis starts there) and
    the peak's epoch, the rise peak - L_gen(1) (0 for a curve that only falls), and eta lambda_max(X^T X / (4N))."""
    if not (epochs[0] == 0 and epochs[1] == 1):
        raise ValueError("the checkpoints must start 0, 1 (train.checkpoint_epochs)")
    L = gen_loss_curves(Z, S0, var, lr, epochs, solver)
    k = 1 + L[:, 1:].argmax(axis=1)
    peak = L[np.arange(len(L)), k]
    N = Z.shape[1]
    h0 = [np.linalg.eigvalsh((z * np.sqrt(var)).T @ (z * np.sqrt(var)))[-1] / (4 * N) for z in Z]
    return pd.DataFrame({"realisation": np.arange(len(Z)), "gen_loss_0": L[:, 0], "peak": peak,
                         "peak_epoch": epochs[k], "rise": peak - L[:, 1], "eta_h0": lr * np.asarray(h0)})


def summarise(rows: pd.DataFrame) -> dict:
    """Median and spread (min, max) of the peak and its epoch over realisations, and whether the medians lie in
    the panel's read-off ranges widened by its read-off precision (PEAK_WINDOW, EPOCH_WINDOW), with a rise of at
    least that precision (a bump, not a curve that only falls from epoch 1)."""
    pk, ep = rows.peak, rows.peak_epoch
    lo, hi = PEAK_WINDOW
    elo, ehi = EPOCH_WINDOW
    return {"realisations": len(rows), "eta_h0": float(rows.eta_h0.median()),
            "gen_loss_0": float(rows.gen_loss_0.median()), "rise": float(rows.rise.median()),
            "peak": float(pk.median()), "peak_min": float(pk.min()), "peak_max": float(pk.max()),
            "peak_epoch": float(ep.median()), "epoch_min": float(ep.min()), "epoch_max": float(ep.max()),
            "matches_panel": bool(lo <= pk.median() <= hi and elo <= ep.median() <= ehi and rows.rise.median() > 0.1)}


def convention_table(conventions=tuple(CONVENTIONS), N: int = PAPER["N"], d: int = PAPER["d"],
                     sigma: float = PAPER["sigma"], alpha: float = PAPER["alpha"], lr: float = PAPER["lr"],
                     realisations: int = 10, horizon: float = 5e4, per_decade: int = 20, solvers=("gd",),
                     root_seed: int = ROOT_SEED) -> pd.DataFrame:
    """One row per (reading, solver): ``summarise`` of ``peak_rows``, with the trace sum_n var_n / d."""
    Z, S0 = unit_draws(N, d, realisations, root_seed)
    epochs = train.checkpoint_epochs(horizon, per_decade)
    out = []
    for name in conventions:
        what, variances = CONVENTIONS[name]
        var = variances(d, sigma, alpha)
        for solver in solvers:
            out.append({"convention": name, "solver": solver, "trace_over_d": var.sum() / d}
                       | summarise(peak_rows(Z, S0, var, lr, epochs, solver)) | {"reading": what})
    return pd.DataFrame(out)


def trace_scan(multiples=(5, 10, 15, 20, 25, 35, 50, 100, 300, 1000, 3000), N: int = PAPER["N"], d: int = PAPER["d"],
               alpha: float = PAPER["alpha"], lr: float = PAPER["lr"], realisations: int = 10,
               horizon: float = 5e4, per_decade: int = 20, solvers=("gd", "flow"),
               root_seed: int = ROOT_SEED) -> pd.DataFrame:
    """The peak against the trace: variances proportional to n^-alpha with sum = k d for each k in
    ``multiples`` (k = sigma for the literal reading, sigma^2 for the sigma^2 d one)."""
    Z, S0 = unit_draws(N, d, realisations, root_seed)
    epochs = train.checkpoint_epochs(horizon, per_decade)
    out = []
    for k in multiples:
        var = _scaled(_spectrum(d, alpha), k * d)
        for solver in solvers:
            out.append({"trace_over_d": float(k), "solver": solver}
                       | summarise(peak_rows(Z, S0, var, lr, epochs, solver)))
    return pd.DataFrame(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m grokedge.evidence.fig15_powerlaw",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--realisations", type=int, default=10)
    p.add_argument("--horizon", type=float, default=5e4)
    p.add_argument("--solvers", nargs="+", choices=("gd", "flow"), default=["gd"], help="for the readings")
    p.add_argument("--scan-solvers", nargs="+", choices=("gd", "flow"), default=["gd", "flow"])
    p.add_argument("--no-scan", action="store_true", help="only the readings, not the trace scan")
    p.add_argument("--parquet", help="write the readings' table here (and the scan next to it, *.scan.parquet)")
    a = p.parse_args(argv)
    pd.set_option("display.width", 250)
    conv = convention_table(realisations=a.realisations, horizon=a.horizon, solvers=a.solvers)
    print(f"Fig. 15 (b) readings: L_gen peak over {a.realisations} realisations (median [min, max]); the panel "
          f"shows {PAPER['peak']} at epochs {PAPER['epoch']}")
    print(conv.drop(columns="reading").to_string(index=False, float_format=lambda x: f"{x:.3g}"), flush=True)
    for name, (what, _) in CONVENTIONS.items():
        print(f"  {name}: {what}")
    if a.parquet:
        conv.to_parquet(a.parquet)
    if not a.no_scan:
        scan = trace_scan(realisations=a.realisations, horizon=a.horizon, solvers=a.scan_solvers)
        print("\nTrace scan: variances ~ n^-1.5 with sum = k d")
        print(scan.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
        if a.parquet:
            scan.to_parquet(a.parquet.removesuffix(".parquet") + ".scan.parquet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
