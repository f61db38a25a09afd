"""The model's proportional limit N, d -> infinity at fixed lambda = d/N (beyond the paper).

Notation: x_i ~ N(0, sigma^2 I_d); Z ~ N(0, 1); Phi, phi the standard normal CDF and density.

**Inseparable side, lambda < 1/2.** S_inf = argmin_S (1/N) sum_i exp(S.x_i) (where GD's S settles;
docs/model.md, "The long-time limits"). S_inf scales as 1/sigma, so r = sigma |S_inf| and the projections
S_inf.x_i do not depend on sigma. In the limit they are fixed by two scalar unknowns (r, c) (the standard
leave-one-out / Gaussian min-max result for an unregularised M-estimator with Gaussian design, El Karoui et al.
2013, here with the loss rho(t) = e^t and no response):

    lambda r^2 = E[(c e^{h})^2],      1 - lambda = E[1 / (1 + c e^{h})],      h = h(rZ; c),

where h(z; c) solves h + c e^h = z (the proximal map of c e^t at z; h = z - W(c e^z), W = Lambert W). A
training projection S_inf.x_i is distributed like h(rZ; c) (the in-sample fit is the proximal map of the
leave-one-out fit rZ), hence

    m = min (1/N) sum_i exp(S.x_i)  ->  E[e^h],
    P(S_inf.x_i > 0)                ->  P(rZ > c) = Phi(-c/r)          (h > 0 iff z > c),
    density of h:  p(h) = phi((h + c e^h)/r) (1 + c e^h)/r             (z = h + c e^h is monotone in h),
    S_inf.x_i/|S_inf| = sigma h / r  (the paper's normalised projection; Fig. 2, Fig. 6, Fig. 7).

Numerics: with y = rZ + log c and u = h + log c, the map is u + e^u = y, solved by Newton from the right of
the root (F(u) = u + e^u - y is convex and increasing, so the iterates decrease monotonically and converge
quadratically; no overflow for any y, unlike lambertw(c e^z) at large z). c e^h = e^u = y - u. Expectations
over Z use composite Gauss-Legendre panels on |Z| <= 12 (tail mass < 1e-32), refined to width 1/r around the
crossover y = 0, where the integrand turns from exponential to logarithmic in Z, and geometrically graded
beyond (the log singularity of e^u ~ y - log y at the crossover); the system is solved by Newton in
(log r, log c) with the exact Jacobian (du/dy = 1/(1 + e^u)), continued in lambda from the small-lambda
expansion r^2 = lambda (1 + 3 lambda + ...), c = lambda (1 + 3 lambda/2 + ...) (derived in
tests/test_theory.py) and along the sorted lambdas of an array. Near 1/2 the Jacobian's condition number grows
like 1/eps (eps = 1 - 2 lambda), so convergence is decided by the residuals (see _newton). Accuracy (tested):
residuals below 1e-13; results change by < 1e-12 relative from 8 to 32 nodes per panel up to lambda = 0.499
and by < 1e-8 at eps = 1e-6; an independent QUADPACK evaluation with scipy's lambertw reproduces the
equations, m and the projection law to 1e-10, and an independent solver of the rescaled system (derived in
``grokedge.critical``; tests/test_critical.py) reproduces r, c, m and the positive fraction to 1e-9 at
r = 40 ... 1300 (eps down to 6e-7). The critical behaviour as lambda -> 1/2 (r ~ 1.309 eps^{-1/2}) is
derived in ``grokedge.critical``.

Verification of the system (it is a candidate derivation, so it was checked against the minimisation itself):
damped Newton on sampled sets (``separability.inseparable_limit``), 20 draws at N = 2000 for each of
lambda = 0.2, 0.3, 0.4: the means of r, m, the positive fraction and the mean positive projection lie within
1.6 standard errors of the limit and the 5/25/50/75/95% projection quantiles within 0.04; 3-13 draws at
N = 6000 agree within about 2 standard errors. The identity E[h e^h] = 0 (scale stationarity of the minimiser,
sum_i p_i e^{p_i} = 0) follows from the two equations by Stein's lemma and holds numerically to 1e-10.

**Separable side, lambda > 1/2.** The distance from the origin to the convex hull of unit-variance points tends
to kappa(lambda), Gardner's (1988) margin at capacity alpha = N/d = 1/lambda:

    lambda = E[(Z + kappa)_+^2] = (1 + kappa^2) Phi(kappa) + kappa phi(kappa),

so kappa(1/2) = 0 (alpha_c(0) = 2, Cover/Wendel's threshold), and the data's margin is M = sigma kappa. Prop.
3.2's long-time accuracy then tends to Phi(1/(sigma M)) = Phi(1/(sigma^2 kappa)).

**Grokking time** (docs/model.md, "Grokking time": e^{-b} ~ eta t m once S has settled at S_inf, and
A_gen >= a once -b >= z_a sigma |S_inf|): t_a ~ exp(z_a r) / (eta m), in epochs, z_a = Phi^-1(a). An upper
estimate where S is still growing at the crossing (large r). Near lambda = 1/2 it exceeds float64
(r ~ 1.31 eps^{-1/2}): ``log_grokking_time_large_n`` gives its log.

Python: ``from grokedge import theory; theory.s_inf_large_n([0.1, 0.3]).sigma_s_norm``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import ndtr, ndtri

_SQRT_2PI = np.sqrt(2.0 * np.pi)
Z_MAX = 12.0  # quadrature range in Z: the Gaussian tail beyond carries < 1e-32 of any integrand used here
DEFAULT_ORDER = 16  # Gauss-Legendre nodes per panel


def _phi(z):
    return np.exp(-0.5 * np.square(z)) / _SQRT_2PI


def log_prox_exp(y):
    """u(y) solving u + e^u = y, elementwise (u = y - W(e^y) = log W(e^y)). Newton from the right of the
    root: u0 = y for y <= 1 and log y for y > 1 (both >= the root, since e^u = y - u). Accurate to rounding
    for every finite y; never evaluates e^y."""
    y = np.asarray(y, dtype=float)
    u = np.where(y > 1.0, np.log(np.maximum(y, 1.0)), y)
    for _ in range(60):
        eu = np.exp(u)
        step = (u + eu - y) / (1.0 + eu)
        u = u - step
        if np.all(np.abs(step) <= 4e-16 * (1.0 + np.abs(u))):
            break
    return u


def prox_exp(z, c):
    """h(z; c) solving h + c e^h = z (c > 0): the training projection as a function of the leave-one-out one."""
    logc = np.log(c)
    return log_prox_exp(np.asarray(z, dtype=float) + logc) - logc


@lru_cache(maxsize=8)
def _legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(order)


def _panels(breaks: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of Gauss-Legendre with ``order`` nodes on each interval between sorted breakpoints."""
    x, w = _legendre(order)
    a, b = breaks[:-1, None], breaks[1:, None]
    nodes = 0.5 * (b - a) * x + 0.5 * (a + b)
    weights = 0.5 * (b - a) * w
    return nodes.ravel(), weights.ravel()


def _gauss_rule(r: float, logc: float, order: int, extra=()) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and weights w with sum w f(z) ~ E[f(Z)] for the integrands of the system at (r, c): panels
    of width 1/4 on [-Z_MAX, Z_MAX], plus panels of width 1/r (y = rZ + log c changes by 1) within
    |y| <= 40 of the crossover y = 0, plus any ``extra`` breakpoints (e.g. a discontinuity)."""
    breaks = [np.linspace(-Z_MAX, Z_MAX, 97)]
    if r > 0:
        zc = -logc / r
        breaks.append(zc + np.arange(-40.0, 40.5, 1.0) / r)
        # beyond |y| = 40, e^u ~ y - log y carries a log singularity at the crossover: geometric panels
        # (ratio 2) out to the width-1/4 grid keep it resolved at large r
        grade = 40.0 / r * 2.0 ** np.arange(1, max(1, int(np.ceil(np.log2(max(r, 1.0) / 160.0)))) + 1)
        breaks.append(zc + np.concatenate([-grade, grade]))
    breaks.append(np.asarray(extra, dtype=float))
    b = np.unique(np.clip(np.concatenate(breaks), -Z_MAX, Z_MAX))
    z, w = _panels(b, order)
    return z, w * _phi(z)


def _system(lam: float, logr: float, logc: float, order: int):
    """Residuals F = (log E[e^{2u}] - log(lam r^2), log E[e^u/(1+e^u)] - log lam) and their Jacobian in
    (log r, log c), with u = u(rZ + log c), e^u = c e^h. The second equation is 1 - lam = E[1/(1 + c e^h)]
    written without cancellation, so both residuals are relative at every lambda."""
    r = np.exp(logr)
    z, w = _gauss_rule(r, logc, order)
    u = log_prox_exp(r * z + logc)
    eu = np.exp(u)
    p = 1.0 / (1.0 + eu)  # du/dy
    e2, eq = float(w @ np.exp(2 * u)), float(w @ (eu * p))
    F = np.array([np.log(e2) - np.log(lam) - 2 * logr, np.log(eq) - np.log(lam)])
    # d/dlogr = r z d/dy, d/dlogc = d/dy; d e^{2u}/dy = 2 e^{2u} p; d (e^u p)/dy = e^u p^3
    de2 = 2 * np.exp(2 * u) * p
    dq = eu * p**3
    J = np.array([[float(w @ (de2 * r * z)) / e2 - 2.0, float(w @ de2) / e2],
                  [float(w @ (dq * r * z)) / eq, float(w @ dq) / eq]])
    return F, J


def _newton(lam: float, logr: float, logc: float, order: int, tol: float = 1e-14, max_iter: int = 100):
    """Damped Newton on _system. Converged once the relative residuals are below ``tol`` (the point then solves
    the system at a lambda within tol relative of the one asked) and either the next Newton step is below 1e-12
    in (log r, log c) or it no longer lowers the residuals: near 1/2 the Jacobian's condition number grows like
    1/eps (eps = 1 - 2 lambda), so rounding in the residuals (~1e-16) moves the step by ~1e-16/eps and a step
    criterion alone cannot be met there."""
    F, J = _system(lam, logr, logc, order)
    for _ in range(max_iter):
        step = np.linalg.solve(J, -F)
        at_floor = np.max(np.abs(F)) < tol
        if at_floor and np.max(np.abs(step)) < 1e-12:
            return logr + step[0], logc + step[1], F
        t = 1.0
        while True:  # damp on the residual norm
            F_new, J_new = _system(lam, logr + t * step[0], logc + t * step[1], order)
            n_new, n_old = np.linalg.norm(F_new), np.linalg.norm(F)
            if n_new < n_old or (n_new == n_old and not at_floor):
                break
            if at_floor:  # rounding level reached: the step is noise
                return logr, logc, F
            t *= 0.5
            if t < 1e-6:
                raise RuntimeError(f"large-N S_inf system: no descent at lambda = {lam} (residuals {F})")
        logr, logc, F, J = logr + t * step[0], logc + t * step[1], F_new, J_new
    if np.max(np.abs(F)) < tol:
        return logr, logc, F
    raise RuntimeError(f"large-N S_inf system: Newton did not converge at lambda = {lam} (residuals {F})")


def _start(lam: float) -> tuple[float, float]:
    """Small-lambda expansion: r^2 = lam (1 + 3 lam), c = lam (1 + 3 lam / 2)."""
    return 0.5 * np.log(lam * (1 + 3 * lam)), np.log(lam * (1 + 1.5 * lam))


def _continue(lam: float, order: int, start=None) -> tuple[float, float, np.ndarray]:
    """(log r, log c, residuals) at one lambda in (0, 1/2), by continuation in t = -log(1 - 2 lambda) in steps
    of at most 0.25, each step's Newton started from the previous solution. ``start`` = (lambda0, log r,
    log c) of a solved lambda0 <= lambda; without one, or with lambda0 < 0.05, the small-lambda expansion at
    min(lambda, 0.05)."""
    if start is None or start[0] < 0.05:  # the series is within ~1e-4 of the root for lambda <= 0.05
        lam0 = min(lam, 0.05)
        logr, logc = _start(lam0)
    else:
        lam0, logr, logc = start
    t0, t1 = -np.log1p(-2 * lam0), -np.log1p(-2 * lam)
    n = max(1, int(np.ceil((t1 - t0) / 0.25)))
    for t in np.linspace(t0, t1, n + 1)[1:] if t1 > t0 else [t1]:
        logr, logc, F = _newton(0.5 * (1 - np.exp(-t)), logr, logc, order)
    return logr, logc, F


@dataclass(frozen=True)
class InseparableLargeN:
    """The large-N limit on the inseparable side at each ``lam`` (arrays of lam's shape; NaN where
    lam >= 1/2). ``sigma_s_norm`` = r = sigma |S_inf|; ``c`` the proximal scale; ``m`` = E[e^h];
    ``positive_fraction`` = Phi(-c/r); ``mean_positive_projection`` = E[h | h > 0]/r, the mean of the
    positive projections S_inf.x_i/|S_inf| for unit-variance points (multiply by sigma otherwise);
    ``positive_mass`` = E[h 1{h > 0}]/r, the same sum divided by all N points; ``residual`` = the largest
    relative residual of the two equations at the solution."""

    lam: np.ndarray
    sigma_s_norm: np.ndarray
    c: np.ndarray
    m: np.ndarray
    positive_fraction: np.ndarray
    mean_positive_projection: np.ndarray
    positive_mass: np.ndarray
    residual: np.ndarray

    def projection_pdf(self, h, i=None):
        """Density of the training projections S_inf.x_i (any sigma) at h: phi(z(h)) z'(h) with
        z(h) = (h + c e^h)/r, z'(h) = (1 + c e^h)/r. ``i`` selects one lambda when lam is an array."""
        r, c = self._pick(i)
        h = np.asarray(h, dtype=float)
        with np.errstate(over="ignore"):
            ceh = c * np.exp(h)
            return np.where(np.isfinite(ceh), _phi((h + ceh) / r) * (1 + ceh) / r, 0.0)

    def projection_quantile(self, q, i=None):
        """Quantile of S_inf.x_i: h(r Phi^-1(q); c) (h is increasing in z)."""
        r, c = self._pick(i)
        return prox_exp(r * ndtri(np.asarray(q, dtype=float)), c)

    def normalised_projection_pdf(self, t, sigma=1.0, i=None):
        """Density of S_inf.x_i/|S_inf| = sigma h / r (the paper's histogram variable) at t."""
        r, _ = self._pick(i)
        s = r / sigma
        return self.projection_pdf(np.asarray(t, dtype=float) * s, i) * s

    def _pick(self, i):
        r, c = np.asarray(self.sigma_s_norm), np.asarray(self.c)
        if r.ndim:
            if i is None:
                if r.size != 1:
                    raise ValueError("this limit holds several lambdas: pass i, the index of the one wanted")
                i = 0
            r, c = r.ravel()[i], c.ravel()[i]
        return float(r), float(c)


def _expectations(r: float, logc: float, order: int) -> tuple[float, float, float]:
    """m = E[e^h], E[h 1{h>0}], and P(h > 0) at the solution."""
    c = np.exp(logc)
    z, w = _gauss_rule(r, logc, order, extra=[c / r])
    u = log_prox_exp(r * z + logc)
    h = u - logc
    m = float(w @ np.exp(u)) / c
    pos = float(w @ np.where(z > c / r, h, 0.0))
    return m, pos, float(ndtr(-c / r))


def s_inf_large_n(lam, order: int = DEFAULT_ORDER) -> InseparableLargeN:
    """Solve the inseparable-side system at every lambda of ``lam`` (scalar or array). lambda = 0 gives the
    exact limit r = c = 0, m = 1, positive fraction 1/2 and mean positive projection E[Z | Z > 0] =
    sqrt(2/pi); lambda >= 1/2 or < 0 gives NaN. ``order`` = Gauss-Legendre nodes per panel."""
    lam_arr = np.asarray(lam, dtype=float)
    out = {k: np.full(lam_arr.shape, np.nan) for k in ("r", "c", "m", "pf", "mpp", "pm", "res")}
    flat = lam_arr.ravel()
    start = None  # continuation along the sorted lambdas: a grid of many lambdas costs little more than one
    for j in np.argsort(flat, kind="stable"):
        idx, x = np.unravel_index(j, lam_arr.shape), flat[j]
        if x == 0:
            vals = dict(r=0.0, c=0.0, m=1.0, pf=0.5, mpp=np.sqrt(2 / np.pi), pm=np.sqrt(0.5 / np.pi), res=0.0)
        elif 0 < x < 0.5:
            logr, logc, F = _continue(float(x), order, start)
            start = (float(x), logr, logc)
            r = float(np.exp(logr))
            m, pos, pf = _expectations(r, logc, order)
            vals = dict(r=r, c=float(np.exp(logc)), m=m, pf=pf, mpp=pos / pf / r, pm=pos / r,
                        res=float(np.max(np.abs(F))))
        else:
            continue
        for k, v in vals.items():
            out[k][idx] = v
    return InseparableLargeN(lam_arr, out["r"], out["c"], out["m"], out["pf"], out["mpp"], out["pm"], out["res"])


def gardner_lambda(kappa):
    """lambda = 1/alpha_c(kappa) = E[(Z + kappa)_+^2] = (1 + kappa^2) Phi(kappa) + kappa phi(kappa)."""
    k = np.asarray(kappa, dtype=float)
    return (1 + k**2) * ndtr(k) + k * _phi(k)


def margin_large_n(lam):
    """kappa(lambda): the large-N distance from the origin to the convex hull of N unit-variance Gaussian points
    in d = lambda N dimensions, solving gardner_lambda(kappa) = lambda (increasing in kappa, derivative
    2 E[(Z + kappa)_+] > 0); 0 at lambda = 1/2, NaN below. Newton from the right of the root (the map is
    convex in kappa for kappa >= 0), to rounding. Multiply by sigma for the data's margin M."""
    lam = np.asarray(lam, dtype=float)
    ok = lam >= 0.5
    target = np.where(ok, lam, 0.5)
    k = np.sqrt(np.maximum(target, 0.5))  # gardner_lambda(k) >= k^2 Phi(k) + ... >= target here: right of root
    k = np.maximum(k, np.sqrt(np.pi / 2) * (target - 0.5))
    for _ in range(100):
        f = gardner_lambda(k) - target
        step = f / (2 * (k * ndtr(k) + _phi(k)))
        k = k - step
        if np.all(np.abs(step) <= 1e-16 * (1 + np.abs(k))):
            break
    k = np.where(target == 0.5, 0.0, k)
    return np.where(ok, k, np.nan)


def gen_accuracy_limit(lam, sigma):
    """Large-N long-time A_gen: 1 for lambda <= 1/2 (inseparable: b -> -inf with S finite), and Prop. 3.2's
    Phi(1/(sigma M)) = Phi(1/(sigma^2 kappa(lambda))) above."""
    lam = np.asarray(lam, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    with np.errstate(divide="ignore"):
        above = ndtr(1.0 / (sigma**2 * margin_large_n(np.maximum(lam, 0.5))))
    return np.where(lam <= 0.5, 1.0, above)


def log_grokking_time_large_n(lam, lr=0.01, level=0.95, limit: InseparableLargeN | None = None):
    """Natural log of ``grokking_time_large_n``: log t_a = z_a r - log(lr m), z_a = Phi^-1(level), for
    lambda < 1/2 (NaN above). Finite where t_a itself overflows float64 (z_a r > ~709, i.e. 1 - 2 lambda below
    ~1e-5 at level 0.95). ``limit`` reuses a solved ``s_inf_large_n(lam)``."""
    lim = limit if limit is not None else s_inf_large_n(lam)
    return ndtri(level) * lim.sigma_s_norm - np.log(np.asarray(lr, dtype=float) * lim.m)


def grokking_time_large_n(lam, sigma=1.0, lr=0.01, level=0.95, limit: InseparableLargeN | None = None):
    """Large-N asymptotic epoch at which A_gen reaches ``level``: exp(z_a r)/(lr m), z_a = Phi^-1(level), for
    lambda < 1/2 (NaN above; inf where it exceeds float64, see ``log_grokking_time_large_n``). r = sigma |S_inf|
    and m do not depend on sigma, so neither does this estimate; sigma is accepted for symmetry with the data
    (it decides, per dataset, whether S has settled by the crossing, which the formula assumes). ``limit``
    reuses a solved ``s_inf_large_n(lam)``."""
    del sigma
    with np.errstate(over="ignore"):
        return np.exp(log_grokking_time_large_n(lam, lr, level, limit))


def projection_summary(X: np.ndarray, s_inf: np.ndarray) -> dict:
    """Per-realisation summary of the training projections p_i = S_inf.x_i (inseparable set): the fraction
    of positive ones (paper Fig. 6 left) and the mean of the positive normalised projections
    S_inf.x_i/|S_inf| (paper Fig. 7, lambda < 1/2; in the data's units, i.e. sigma times the unit-variance
    value). Keys: ``s_inf_pos_frac``, ``s_inf_pos_mean``."""
    p = X @ s_inf
    pos = p > 0
    mean = float(p[pos].mean() / np.linalg.norm(s_inf)) if pos.any() else np.nan
    return {"s_inf_pos_frac": float(pos.mean()), "s_inf_pos_mean": mean}
