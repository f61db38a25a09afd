"""The one-dimensional toy model of Beck, Levi & Bar Sinai (ICML 2025, Sec. 4 and App. E).

Model and data
--------------
Two training points, both labelled y = -1,

    x_1 = -sigma,    x_2 = sigma (1 - 2 lambda),

a linear model f(x) = S x + b, and the exponential-tail loss (the large-margin limit of the logistic loss,
used by the paper's App. E for training AND test):

    L_train(S, b) = 1/2 [exp(S x_1 + b) + exp(S x_2 + b)]                       (train loss)
    L_gen(S, b)   = E_{x ~ N(0, sigma^2)} exp(S x + b) = exp(b + sigma^2 S^2 / 2)  (gen loss)
    A_gen(S, b)   = P_{x ~ N(0, sigma^2)}(S x + b < 0) = Phi(-b / (sigma |S|))     (gen accuracy)
    A_train       = fraction of the two training points with f(x_i) < 0.

Dynamics: gradient flow dS/dt = -dL_train/dS, db/dt = -dL_train/db, with t = eta * epoch.

Conformal and log time
----------------------
With the conformal time d tau = e^b dt the bias drops out of the S equation:

    dS/dtau = -1/2 (x_1 e^{S x_1} + x_2 e^{S x_2}),   db/dtau = -1/2 (e^{S x_1} + e^{S x_2}),   dt/dtau = e^{-b}.

Horizons such as t = 1e100 and thresholds such as L = 1e-50 (or 10^-100000) are reached without overflow by
never forming t or L: the integrator's independent variable is the shifted log time

    ell = log(1 + t)    (ell = 0 at t = 0; ell -> log t for t >> 1),

for which d ell/d tau = e^{-b - ell} and hence (chain rule)

    dS/d ell = -1/2 sum_i x_i exp(S x_i + b + ell),   db/d ell = -1/2 sum_i exp(S x_i + b + ell).

The exponents S x_i + b + ell stay O(1)-ish in every phase (they are log[(1 + t) * per-point loss]), so no
intermediate overflows, and the solution is close to linear in ell at late times, so the adaptive step grows
with ell and the cost grows only with log(horizon). Losses are carried as natural logs and reported as log10.

Asymptotics (derived here, sigma > 0, delta = 1 - 2 lambda, u = sigma S)
------------------------------------------------------------------------
The problem depends on sigma only through u = sigma S and a rescaled clock: du/dtau =
(sigma^2/2) (e^{-u} - delta e^{delta u}). Hence

* lambda < 1/2: u -> u_inf = log(1/delta) / (1 + delta), i.e. S_inf = log(1/(1 - 2 lambda)) / (2 sigma (1 - lambda));
  b -> -c_inf tau with c_inf = (e^{-u_inf} + e^{delta u_inf}) / 2 = (1 + delta) delta^{-delta/(1+delta)} / 2, so
  L_train -> 1/t and L_gen -> e^{u_inf^2/2} / (c_inf t). The thresholds L = eps are crossed at
      t*_tr = 1/eps,   t*_gen = t*_tr * R,   log R = u_inf^2 / 2 - log c_inf,
  (in epochs divide by eta). As delta -> 0, log R -> log^2(delta)/2 + log 2, the paper's
  t*_gen = (2 / (eta eps)) exp(log^2(1 - 2 lambda) / 2). R does NOT depend on sigma: sigma enters the exponent
  only as sigma^2 S_inf^2 = u_inf^2, which is sigma-free. Consequently sqrt(log(t*_gen/t*_tr)) is
  asymptotically linear in log(1 - 2 lambda) with slope -1/sqrt(2) for every sigma.
  Where it holds: u relaxes to u_inf on the conformal time scale tau_relax ~ 2/(sigma^2 delta) (first
  e^u ~ 1 + sigma^2 tau/2 until e^u ~ 1/delta, then exponential approach at rate ~ sigma^2 delta/2), while the
  threshold is crossed at tau ~ 2 log(1/eps). The prediction therefore needs log(1/eps) >> 6/(sigma^2 delta)
  (converged S) AND delta << 1 (corrections log 2 and O(delta) in log R). Large sigma (the paper's 5 and 20)
  is what lets eps = 1e-50 satisfy the first condition down to small delta; for sigma = 1 one needs
  log(1/eps) of order 1e5 at delta = 1e-4.
* lambda = 1/2 (delta = 0): e^u = e^{u_0} + sigma^2 tau/2 grows without bound, S ~ log(log t)/sigma.
* lambda > 1/2, margin M = 2 lambda - 1: S ~ sigma M log t / (1 + sigma^2 M^2), b ~ -log t / (1 + sigma^2 M^2)
  (the paper's forms at sigma = 1), and A_gen -> Phi(1/(sigma^2 M)) < 1: the model never generalises.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp
from scipy.special import ndtr, ndtri

log = logging.getLogger("grokedge.toy")

LN10 = math.log(10.0)


# ---------------------------------------------------------------------------------------------- data, losses
def train_points(lam: float, sigma: float) -> np.ndarray:
    """The two training inputs (x_1, x_2) = (-sigma, sigma (1 - 2 lambda)), both labelled -1."""
    return np.array([-sigma, sigma * (1.0 - 2.0 * lam)], dtype=np.float64)


def log_train_loss(S, b, x: np.ndarray):
    """Natural log of the exponential train loss: log L = b + logsumexp_i(S x_i) - log 2."""
    S, b = np.asarray(S, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return b + np.logaddexp(S * x[0], S * x[1]) - math.log(2.0)


def log_gen_loss(S, b, sigma: float):
    """Natural log of the exponential gen loss E_{x~N(0,sigma^2)} e^{S x + b}: log L_gen = b + sigma^2 S^2 / 2."""
    S, b = np.asarray(S, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return b + 0.5 * (sigma * S) ** 2


def gen_accuracy(S, b, sigma: float):
    """A_gen = P(S x + b < 0) for x ~ N(0, sigma^2) = Phi(-b / (sigma |S|)); at S = 0 it is 1[b < 0] (1/2 if b = 0)."""
    S, b = np.asarray(S, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = sigma * np.abs(S)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(scale > 0, -b / np.where(scale > 0, scale, 1.0), -np.sign(b) * np.inf)
    return np.where((scale == 0) & (b == 0), 0.5, ndtr(z))


def train_accuracy(S, b, x: np.ndarray):
    """A_train = (1/2) sum_i 1[S x_i + b < 0] (label -1 predicted by a negative score)."""
    S, b = np.asarray(S, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return 0.5 * ((S * x[0] + b < 0).astype(np.float64) + (S * x[1] + b < 0).astype(np.float64))


# ------------------------------------------------------------------------------------------------- dynamics
def rhs_conformal(tau: float, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Flow in conformal time tau (d tau = e^b dt), state y = (S, b, ell) with ell = log(1 + t):
    dS/dtau = -1/2 sum x_i e^{S x_i}, db/dtau = -1/2 sum e^{S x_i}, d ell/dtau = e^{-b - ell}."""
    S, b, ell = y
    e = np.exp(S * x)
    return np.array([-0.5 * np.dot(x, e), -0.5 * e.sum(), math.exp(-b - ell)])


def rhs_logtime(ell: float, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Flow in shifted log time ell = log(1 + t), state y = (S, b):
    dS/d ell = -1/2 sum x_i exp(S x_i + b + ell), db/d ell = -1/2 sum exp(S x_i + b + ell)
    (= (1 + t) dS/dt, (1 + t) db/dt; exponents are summed before exponentiating)."""
    S, b = y
    e = np.exp(S * x + (b + ell))
    return np.array([-0.5 * np.dot(x, e), -0.5 * e.sum()])


def jac_logtime(ell: float, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Jacobian of ``rhs_logtime`` with e_i = exp(S x_i + b + ell):
    [[-1/2 sum x_i^2 e_i, -1/2 sum x_i e_i], [-1/2 sum x_i e_i, -1/2 sum e_i]] (for the implicit solvers)."""
    S, b = y
    e = np.exp(S * x + (b + ell))
    sxe = -0.5 * np.dot(x, e)
    return np.array([[-0.5 * np.dot(x * x, e), sxe], [sxe, -0.5 * e.sum()]])


def ell_from_log_t(log_t):
    """ell = log(1 + t) = logaddexp(0, log t), overflow-free for any log t (log t = -inf gives 0)."""
    return np.logaddexp(0.0, np.asarray(log_t, dtype=np.float64))


def log_t_from_ell(ell):
    """log t = ell + log(1 - e^{-ell}), the stable inverse of ell = log(1 + t) (ell = 0 gives -inf)."""
    ell = np.asarray(ell, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return ell + np.log(-np.expm1(-ell))


# ---------------------------------------------------------------------------------------------- integration
def _events(x: np.ndarray, sigma: float, log_eps: float, acc_threshold: float) -> list:
    """Event functions (zero at the crossing): log L_train - log eps (falling), log L_gen - log eps (falling),
    and -b - z sigma |S| with z = Phi^{-1}(threshold) (rising), i.e. A_gen reaching the threshold."""
    z = float(ndtri(acc_threshold))

    x1, x2, log2 = float(x[0]), float(x[1]), math.log(2.0)

    def tr(ell, y, *_):  # scalar form of log_train_loss (called at every step)
        S, b = float(y[0]), float(y[1])
        hi, lo = max(S * x1, S * x2), min(S * x1, S * x2)
        return b + hi + math.log1p(math.exp(lo - hi)) - log2 - log_eps

    def gen(ell, y, *_):  # scalar form of log_gen_loss
        return float(y[1]) + 0.5 * (sigma * float(y[0])) ** 2 - log_eps

    def acc(ell, y, *_):
        return -y[1] - z * sigma * abs(y[0])

    tr.direction, gen.direction, acc.direction = -1, -1, +1
    return [tr, gen, acc]


@dataclass
class ToyRun:
    """One integration: the solve_ivp result plus what it was asked for."""

    lam: float
    sigma: float
    log10_horizon: float
    log10_eps: float
    acc_threshold: float
    sol: object


def integrate(lam: float, sigma: float, log10_horizon: float, *, log10_eps: float = -50.0,
              acc_threshold: float = 0.95, log10_t_eval=None, S0: float = 0.0, b0: float = 0.0,
              method: str = "LSODA", rtol: float = 1e-10, atol: float = 1e-12) -> ToyRun:
    """Integrate the gradient flow from (S0, b0) at t = 0 to t = 10^log10_horizon (flow time t = eta * epoch),
    in ell = log(1 + t) (see module docstring), tracking the first crossings of L_train = eps, L_gen = eps and
    A_gen = acc_threshold as events. ``log10_t_eval`` (optional) are flow times at which to store the state.
    The default LSODA (with the analytic Jacobian) switches to a stiff method where needed: at large sigma the
    relaxation of S is fast compared with the slow drift of b (stiffness ratio ~ sigma^2)."""
    x = train_points(lam, sigma)
    ell_max = float(ell_from_log_t(log10_horizon * LN10))
    t_eval = None if log10_t_eval is None else np.minimum(ell_from_log_t(np.asarray(log10_t_eval) * LN10), ell_max)
    sol = solve_ivp(rhs_logtime, (0.0, ell_max), np.array([S0, b0], dtype=np.float64), method=method,
                    t_eval=t_eval, events=_events(x, sigma, log10_eps * LN10, acc_threshold), args=(x,),
                    rtol=rtol, atol=atol, **({} if method in ("RK45", "RK23", "DOP853") else {"jac": jac_logtime}))
    if sol.status < 0:
        raise RuntimeError(f"toy flow integration failed (lambda={lam}, sigma={sigma}): {sol.message}")
    return ToyRun(lam, sigma, log10_horizon, log10_eps, acc_threshold, sol)


def log10_time_grid(log10_horizon: float, points_per_decade: int = 10, log10_t_min: float = -2.0) -> np.ndarray:
    """Log-spaced checkpoints: log10 t = log10_t_min, ..., log10_horizon in steps of 1/points_per_decade."""
    n = int(round((log10_horizon - log10_t_min) * points_per_decade)) + 1
    return np.linspace(log10_t_min, log10_horizon, n)


def trajectory_frame(run: ToyRun, eta: float = 1.0) -> pd.DataFrame:
    """The stored checkpoints of ``run`` as a table: log10_t (flow time), log10_epoch = log10(t/eta), S, b,
    log10_train_loss, log10_gen_loss (exponential losses, log10 so 1e-50 survives), gen_acc, train_acc."""
    x = train_points(run.lam, run.sigma)
    S, b = run.sol.y
    log10_t = log_t_from_ell(run.sol.t) / LN10
    return pd.DataFrame({
        "log10_t": log10_t, "log10_epoch": log10_t - math.log10(eta), "S": S, "b": b,
        "log10_train_loss": log_train_loss(S, b, x) / LN10, "log10_gen_loss": log_gen_loss(S, b, run.sigma) / LN10,
        "gen_acc": gen_accuracy(S, b, run.sigma), "train_acc": train_accuracy(S, b, x),
    })


def crossing_times(run: ToyRun, eta: float = 1.0) -> dict:
    """First crossings, in log10 epochs (= log10(t/eta)): ``log10_epoch_tr`` (L_train <= eps), ``log10_epoch_gen``
    (L_gen <= eps), ``log10_epoch_acc`` (A_gen >= threshold), each with a ``*_censored`` flag. A censored time
    (not reached by the horizon) is reported as the horizon, a lower bound. If A_gen >= threshold immediately
    after t = 0 (small sigma: A_gen(0+) = Phi(1/(sigma^2 lambda)) from S = 0, b = 0), log10_epoch_acc = -inf."""
    out = {}
    for name, t_ev in zip(("tr", "gen", "acc"), run.sol.t_events, strict=True):
        censored = len(t_ev) == 0
        log10_t = run.log10_horizon if censored else float(log_t_from_ell(t_ev[0])) / LN10
        out[f"log10_epoch_{name}"] = log10_t - math.log10(eta)
        out[f"{name}_censored"] = bool(censored)
    return out


def simulate(lam: float, sigma: float, log10_horizon: float, *, log10_eps: float = -50.0, eta: float = 1.0,
             acc_threshold: float = 0.95, points_per_decade: int = 10, log10_t_min: float = -2.0,
             **kw) -> tuple[pd.DataFrame, dict]:
    """Integrate once and return (trajectory_frame, crossing_times) for checkpoints log10_time_grid(...)."""
    grid = log10_time_grid(log10_horizon, points_per_decade, log10_t_min)
    run = integrate(lam, sigma, log10_horizon, log10_eps=log10_eps, acc_threshold=acc_threshold,
                    log10_t_eval=grid, **kw)
    return trajectory_frame(run, eta), crossing_times(run, eta)


# ---------------------------------------------------------------------------------------------- predictions
def s_inf(lam: float, sigma: float) -> float:
    """Fixed point of dS/dtau for lambda < 1/2: sigma e^{-sigma S} = x_2 e^{x_2 S}, i.e.
    S_inf = log(1/(1 - 2 lambda)) / (2 sigma (1 - lambda)) (inf for lambda >= 1/2)."""
    if lam >= 0.5:
        return math.inf
    return -math.log1p(-2.0 * lam) / (2.0 * sigma * (1.0 - lam))


def log_gen_train_ratio(one_minus_2lam: float) -> float:
    """Asymptotic log(t*_gen / t*_tr) = u^2/2 - log c with u = sigma S_inf = log(1/delta)/(1 + delta) and
    c = (e^{-u} + e^{delta u})/2, delta = 1 - 2 lambda in (0, 1]; sigma-independent; -> log^2(delta)/2 + log 2."""
    d = float(one_minus_2lam)
    u = -math.log(d) / (1.0 + d)
    log_c = float(np.logaddexp(-u, d * u)) - math.log(2.0)
    return 0.5 * u * u - log_c


def predicted_log10_epoch_tr(eps: float, eta: float = 1.0) -> float:
    """log10 of t*_tr = 1/(eta eps) epochs (L_train -> 1/t at late times)."""
    return -math.log10(eps) - math.log10(eta)


def predicted_log10_epoch_gen(lam: float, eps: float, eta: float = 1.0, exact: bool = True) -> float:
    """log10 of t*_gen in epochs: (1/(eta eps)) R with log R from ``log_gen_train_ratio`` (exact=True) or the
    paper's small-delta form log R = log 2 + log^2(1 - 2 lambda)/2 (exact=False). Valid only in the regime
    stated in the module docstring (converged S before the crossing); sigma-independent."""
    d = 1.0 - 2.0 * lam
    log_r = log_gen_train_ratio(d) if exact else math.log(2.0) + 0.5 * math.log(d) ** 2
    return predicted_log10_epoch_tr(eps, eta) + log_r / LN10


def fig9_coordinates(one_minus_2lam, log10_t_tr, log10_t_gen) -> tuple[np.ndarray, np.ndarray]:
    """Fig. 9 axes: X = log(1 - 2 lambda), Y = sqrt(log(t*_gen / t*_tr)) (natural logs; times in any common unit)."""
    X = np.log(np.asarray(one_minus_2lam, dtype=np.float64))
    ratio = (np.asarray(log10_t_gen, dtype=np.float64) - np.asarray(log10_t_tr, dtype=np.float64)) * LN10
    return X, np.sqrt(np.clip(ratio, 0.0, None))


def fig9_slope(one_minus_2lam, log10_t_tr, log10_t_gen) -> tuple[float, float]:
    """Least-squares (slope, intercept) of Y = sqrt(log(t*_gen/t*_tr)) against X = log(1 - 2 lambda); the
    asymptotic prediction is slope -1/sqrt(2) (magnitude 1/sqrt 2) as delta -> 0 in the converged regime."""
    X, Y = fig9_coordinates(one_minus_2lam, log10_t_tr, log10_t_gen)
    A = np.column_stack([X, np.ones_like(X)])
    (slope, intercept), *_ = np.linalg.lstsq(A, Y, rcond=None)
    return float(slope), float(intercept)


# ------------------------------------------------------------------------------------------ experiment
def experiment_tables(cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The toy experiment of the ``toy`` config section: (curves, times).

    curves: trajectories at ``checkpoints_per_decade`` log-spaced checkpoints for ``curves.sigma`` and each of
    ``curves.lambdas`` (Fig. 8). times: for every (sigma, 1 - 2 lambda) of the sweep, the threshold-crossing
    epochs with the asymptotic predictions beside them (Figs 9 and 3 right). ``horizon_log10`` is in flow
    time t = eta * epoch.
    """
    H, eps, eta = float(cfg["horizon_log10"]), float(cfg["loss_threshold"]), float(cfg["lr"])
    thr, ppd = float(cfg["acc_threshold"]), int(cfg["checkpoints_per_decade"])
    log10_eps = math.log10(eps)
    sigma, frames = float(cfg["curves"]["sigma"]), []
    for lam in map(float, cfg["curves"]["lambdas"]):
        df, cross = simulate(lam, sigma, H, points_per_decade=ppd, log10_eps=log10_eps, eta=eta, acc_threshold=thr)
        frames.append(df.assign(sigma=sigma, lam=lam, one_minus_2lam=1.0 - 2.0 * lam))
        log.info("curve sigma=%g lambda=%g: %s", sigma, lam, cross)
    cols = ["sigma", "lam", "one_minus_2lam"]
    curves = pd.concat(frames, ignore_index=True)
    curves = curves[cols + [c for c in curves.columns if c not in cols]]

    rows = []
    for sigma in map(float, cfg["sigmas"]):
        for delta in map(float, cfg["one_minus_2lam"]):
            lam = 0.5 * (1.0 - delta)
            run = integrate(lam, sigma, H, log10_eps=log10_eps, acc_threshold=thr)
            rows.append({"sigma": sigma, "lam": lam, "one_minus_2lam": delta, **crossing_times(run, eta),
                         "pred_log10_epoch_tr": predicted_log10_epoch_tr(eps, eta),
                         "pred_log10_epoch_gen": predicted_log10_epoch_gen(lam, eps, eta),
                         "pred_log10_epoch_gen_small_delta": predicted_log10_epoch_gen(lam, eps, eta, exact=False),
                         "s_inf": s_inf(lam, sigma), "S_final": float(run.sol.y[0, -1]),
                         # S has relaxed to S_inf before L = eps (module docstring): sigma^2 delta log(1/eps) >= 6
                         "asymptotic_ok": bool(sigma**2 * delta * -math.log(eps) >= 6.0)})
    times = pd.DataFrame(rows)
    for sigma, g in times.groupby("sigma"):
        ok = g[g.asymptotic_ok & ~g.tr_censored & ~g.gen_censored]
        if len(ok) >= 2:
            slope, _ = fig9_slope(ok.one_minus_2lam, ok.log10_epoch_tr, ok.log10_epoch_gen)
            pred, _ = fig9_slope(ok.one_minus_2lam, ok.pred_log10_epoch_tr, ok.pred_log10_epoch_gen)
            log.info("sigma=%g: Fig. 9 slope %.4f over %d converged points, 1 - 2 lambda in [%.1e, %.1e] "
                     "(asymptotic formula on the same points: %.4f; delta -> 0 limit -1/sqrt2 = %.4f)", sigma,
                     slope, len(ok), ok.one_minus_2lam.min(), ok.one_minus_2lam.max(), pred, -1 / math.sqrt(2))
    return curves, times
