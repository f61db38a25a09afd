"""The critical point lambda = 1/2 of the large-N theory, and the analysis of finite-size data near it
(beyond the paper).

Notation as in ``grokedge.theory``: r = sigma |S_inf|, c the proximal scale, Z ~ N(0, 1), phi and Phi the
standard normal density and CDF, Phibar = 1 - Phi, phi0 = phi(0) = 1/sqrt(2 pi), gamma_E Euler's constant,
zeta(3) Apery's constant; eps = 1 - 2 lambda (> 0 inseparable, < 0 separable).

**Inseparable side, lambda -> 1/2 from below.** Derivation of the leading behaviour of theory's scalar system

    lambda r^2 = E[w^2],   1 - lambda = E[1/(1 + w)],   w + log w = rZ + log c   (w = c e^h):

1. Rescale: omega = w/r, delta = 1/r, g = c/r. The proximal equation becomes omega + delta log(omega/g) = Z.
2. Since dw/dz = w/(1 + w), the second equation reads lambda = E[w'(rZ)] = E[Z w]/r (Stein's lemma). The
   system is E[omega^2] = lambda = E[Z omega]; the difference of the two, with Z - omega = delta log(omega/g),
   is the scale stationarity of the minimiser. Equivalent system:
       (A)  E[omega log(omega/g)] = 0,           (B)  eps = 1 - 2 E[omega^2].
3. omega is increasing in Z, with inverse Z = zeta(t) = t + delta l(t), l(t) = log(t/g), t > 0. For f(0) = 0,
   E[f(omega)] = int_0^inf f'(t) Phibar(t + delta l(t)) dt. Taylor expansion of Phibar in delta l gives a
   power series in delta whose coefficients are integrals of t^n l(t)^k phi(t) over t > 0: all finite (l is
   only logarithmic at t -> 0), so no log(delta) terms arise (the region where delta l is not small,
   t < e^{-1/delta}, contributes exponentially little). These integrals are moments of log|Z|, i.e.
   derivatives of E|Z|^s = 2^{s/2} Gamma((s+1)/2)/sqrt(pi): polygammas at 1/2, 1, 3/2, 2.
4. Order delta^0: omega -> Z_+, so (B) gives lambda = E[Z_+^2] = 1/2: r diverges at 1/2; (A) fixes
       log g0 = E[Z_+ log Z]/E[Z_+] = (log 2 - gamma_E)/2,   c/r -> g0 = sqrt(2) e^{-gamma_E/2} = 1.0597.
5. Order delta: (B)'s delta term is -2 delta times (A)'s leading term, so it vanishes and eps starts at delta^2.
   Order delta^2 (one integration by parts, -phi' = t phi): eps = delta^2 E[(log|Z| - log g0)^2], and since
   E[log|Z|] - log g0 = -log 2 and Var log|Z| = pi^2/8,
       r ~ C eps^{-1/2},   C^2 = pi^2/8 + (log 2)^2,   C = 1.30926.
6. Order delta^3, with log g = log g0 + G1 delta from (A) at order delta, G1 = -(C^2 - log 2)/(2 phi0):
       eps = C^2 delta^2 (1 + e1 delta),   e1 C^2 = phi0 zeta(3)/3 - log 2 (C^2 - log 2)/phi0,
   so r = C eps^{-1/2} + D + O(eps^{1/2}), D = e1/2 = -0.4708: the first correction is a constant shift.
   The next order (delta^4 in eps, delta^2 in log g) gives r = C eps^{-1/2} + D + E eps^{1/2} + O(eps) with
   E = (e2/2 - 3 e1^2/8)/C = -0.98220, its integrals evaluated by quadrature (``_next_coefficient``).
7. The derived quantities: m = E[omega]/g with E[omega] = phi0 + delta log(2)/2 + ..., the positive fraction
   P(h > 0) = P(omega > g) = Phibar(g), and c = g r:
       m  = m0 (1 + C eps^{1/2}/(2 phi0)) + O(eps),   m0 = phi0/g0 = e^{gamma_E/2}/(2 sqrt(pi)) = 0.3765,
       P(S_inf.x > 0) = Phibar(g0) + phi(g0) g0 (C^2 - log 2)/(2 phi0 C) eps^{1/2} + O(eps),  Phibar(g0) = 0.1447,
       c  = g0 C eps^{-1/2} + g0 (D + G1) + O(eps^{1/2}).
   So a finite fraction (14.5%) of the training points stays on the wrong side, with O(1) projections
   h = log(Z/g0) + o(1) for Z > 0, while the other half sits at h ~ rZ -> -inf.
8. Grokking time (theory.grokking_time_large_n): log t_a = z_a r - log(eta m)
       = z_a C eps^{-1/2} + z_a D - log(eta m0) + O(eps^{1/2}):
   an essential singularity exp(z_a C eps^{-1/2}), against the 1-D toy model's exp(log^2(eps)/2).

**Separable side, lambda -> 1/2 from above.** Gardner's lambda(kappa) = (1 + kappa^2) Phi(kappa) +
kappa phi(kappa) has lambda' = 2 (kappa Phi + phi), lambda'' = 2 Phi, so lambda - 1/2 = 2 phi0 kappa +
kappa^2/2 + O(kappa^3). With lambda - 1/2 = |eps|/2, inverting:

    kappa = sqrt(pi/8) |eps| - (pi/2)^{3/2}/8 |eps|^2 + O(|eps|^3):   exponent 1, constant sqrt(pi/8) = 0.6267.

**Finite N.** Wendel's probability that N Gaussian points in d = lambda N dimensions are separable,
2^{1-N} sum_{k<d} binom(N-1, k), is a binomial tail: ~ Phi(-eps sqrt(N)). The transition is smeared over
eps ~ N^{-1/2}, which suggests the scaling variable x = eps N^{1/2} and, from r ~ eps^{-1/2} and
kappa ~ |eps|, the finite-size forms r N^{-1/4} = F(x), kappa N^{1/2} = K(x) (a hypothesis for the data to
test; :func:`collapse_quality` measures how well curves of several N fall on one).

**Grokking time in finite-N data.** :func:`grokking_table` takes the medians of ln t_grok per (N, lambda) cell,
runs that never grok within the horizon (separable sets among them) counted as +inf. Outside the window
(x >= 1) the theory predicts ln t = z_a r(lambda) - log(eta m(lambda)) with no free parameter; the toy model's
law has the slower growth log^2(eps)/2 (:func:`toy_log_time_form`) and an offset with no counterpart here.
:func:`log_time_growth` fits the medians as a + beta (theory's ln t): beta = 1 for the essential singularity,
and the toy form, regressed the same way on the same cells, gives beta ~ 0.65 for eps in [0.04, 0.16]. Inside
the window r saturates at O(N^{1/4}) and a growing share of the sets is separable, so the medians fall below
the N -> infinity curve and then become censored.

Accuracy (tests/test_critical.py): the solution of theory.s_inf_large_n against these formulas from eps = 1e-2
down to 1e-6, and against an independent solver of (A, B) by adaptive quadrature of the law of omega.

Command line: ``python -m grokedge.critical`` prints the constants and the comparison with the numerical
solution.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import bdtr, ndtr, ndtri, zeta

from .separability import wendel_probability

PHI0 = 1.0 / np.sqrt(2.0 * np.pi)
LOG2 = np.log(2.0)


@dataclass(frozen=True)
class CriticalConstants:
    """The constants of the expansions above (closed forms in the module docstring)."""

    C: float  # r ~ C eps^{-1/2}
    D: float  # r = C eps^{-1/2} + D + O(eps^{1/2})
    E: float  # r = C eps^{-1/2} + D + E eps^{1/2} + O(eps)
    c_over_r: float  # g0 = lim c/r
    log_c_over_r_slope: float  # G1: log(c/r) = log g0 + G1/r + O(1/r^2)
    m: float  # m0 = lim m
    m_slope: float  # m = m0 + m_slope eps^{1/2} + O(eps)
    positive_fraction: float  # Phibar(g0)
    positive_fraction_slope: float  # positive fraction = Phibar(g0) + slope eps^{1/2} + O(eps)
    kappa_slope: float  # kappa = kappa_slope |eps| + kappa_curvature |eps|^2 + O(|eps|^3)
    kappa_curvature: float

    @property
    def r_exponent(self) -> float:
        """r ~ eps^{-1/2}."""
        return -0.5

    @property
    def kappa_exponent(self) -> float:
        """kappa ~ |eps|^1."""
        return 1.0


def _next_coefficient(C2: float, log_g0: float, G1: float, e1: float) -> float:
    """E in r = C eps^{-1/2} + D + E eps^{1/2}: step 6 carried one order further. With l = log(t) - log g,
    Phibar^{(k)} = (-1)^k He_{k-1} phi, a_k = int 2t l^k/k! Phibar^{(k)} and b_k = int (l + 1) l^k/k! Phibar^{(k)}
    over t > 0, P_k = 2 b_{k-1} + a_k (so eps = -2 sum_k delta^k P_k(log g), P_2 = -C^2/2), log g = log g0
    + G1 delta + G2 delta^2 with G2 = (b1' G1 + b2)/phi0 from (A), and
    eps = C^2 delta^2 (1 + e1 delta + e2 delta^2), e2 C^2 = -2 (P2' G2 + P2'' G1^2/2 + P3' G1 + P4),
    P2' = -log 2, P2'' = -1; inverting, E = (e2/2 - 3 e1^2/8)/C. Integrals by QUADPACK (relative 1e-12)."""
    from scipy.integrate import quad

    def integral(f):
        b = (0.0, 1e-8, 1e-3, 0.5, 1.0, 2.0, 4.0, 14.0)  # log singularity at 0, Gaussian decay
        return sum(quad(lambda t: f(t, np.log(t) - log_g0) * PHI0 * np.exp(-t * t / 2), lo, hi, epsabs=1e-16,
                        epsrel=1e-13, limit=400)[0] for lo, hi in zip(b[:-1], b[1:], strict=True))

    b1p = integral(lambda t, l: 2 * l + 1)
    b2 = integral(lambda t, l: (l + 1) * l**2 / 2 * t)
    G2 = (b1p * G1 + b2) / PHI0
    P3p = 2 * integral(lambda t, l: -(1.5 * l**2 + l) * t) + integral(lambda t, l: -t * l**2 * (1 - t * t))
    P4 = (2 * integral(lambda t, l: (l + 1) * l**3 / 6 * (1 - t * t))
          + integral(lambda t, l: t * l**4 / 12 * (t**3 - 3 * t)))
    e2 = -2 * (-LOG2 * G2 - G1**2 / 2 + P3p * G1 + P4) / C2
    return (e2 / 2 - 3 * e1**2 / 8) / np.sqrt(C2)


def _constants() -> CriticalConstants:
    C2 = np.pi**2 / 8 + LOG2**2
    C = np.sqrt(C2)
    g0 = np.sqrt(2.0) * np.exp(-np.euler_gamma / 2)
    G1 = -(C2 - LOG2) / (2 * PHI0)
    e1 = (PHI0 * float(zeta(3)) / 3 - LOG2 * (C2 - LOG2) / PHI0) / C2
    m0 = PHI0 / g0
    phi_g0 = PHI0 * np.exp(-g0**2 / 2)
    return CriticalConstants(C=C, D=e1 / 2, E=_next_coefficient(C2, np.log(g0), G1, e1), c_over_r=g0,
                             log_c_over_r_slope=G1, m=m0, m_slope=m0 * C / (2 * PHI0),
                             positive_fraction=float(ndtr(-g0)),
                             positive_fraction_slope=phi_g0 * g0 * (C2 - LOG2) / (2 * PHI0 * C),
                             kappa_slope=np.sqrt(np.pi / 8), kappa_curvature=-((np.pi / 2) ** 1.5) / 8)


CONSTANTS = _constants()


def _eps(eps, sign: int) -> np.ndarray:
    e = np.asarray(eps, dtype=float)
    if np.any(~np.isfinite(e)) or np.any(sign * e <= 0):
        side = "eps = 1 - 2 lambda > 0 (inseparable side)" if sign > 0 else "eps = 1 - 2 lambda < 0 (separable side)"
        raise ValueError(f"this expansion needs {side}; got {e}")
    return np.abs(e)


def inseparable_asymptotics(eps, order: int = 1) -> dict[str, np.ndarray]:
    """The critical expansion at eps = 1 - 2 lambda > 0: keys ``sigma_s_norm`` (r), ``c``, ``m``,
    ``positive_fraction``, each of eps's shape. ``order`` 0: the leading terms (r = C eps^{-1/2}, c = g0 r,
    m = m0, fraction Phibar(g0)); 1: with the first correction (r + D, m and the fraction + O(eps^{1/2}) terms,
    c = g0 (C eps^{-1/2} + D + G1)). Relative error O(eps^{1/2}) at order 0, O(eps) at order 1."""
    if order not in (0, 1):
        raise ValueError(f"order must be 0 or 1, got {order}")
    e = _eps(eps, +1)
    k, s = CONSTANTS, np.sqrt(e)
    r = k.C / s + order * k.D
    c = k.c_over_r * (k.C / s + order * (k.D + k.log_c_over_r_slope))
    return {"sigma_s_norm": r, "c": c, "m": k.m + order * k.m_slope * s,
            "positive_fraction": k.positive_fraction + order * k.positive_fraction_slope * s}


def log_grokking_time_asymptotics(eps, lr: float = 0.01, level: float = 0.95) -> np.ndarray:
    """log t_a = z_a r - log(lr m) expanded: z_a C eps^{-1/2} + z_a D - log(lr m0), error O(eps^{1/2})."""
    e = _eps(eps, +1)
    z = float(ndtri(level))
    return z * CONSTANTS.C / np.sqrt(e) + z * CONSTANTS.D - np.log(lr * CONSTANTS.m)


def margin_asymptotics(eps, order: int = 1) -> np.ndarray:
    """Gardner's kappa at eps = 1 - 2 lambda < 0: sqrt(pi/8) |eps| (order 0), minus (pi/2)^{3/2} eps^2/8
    (order 1). Relative error O(|eps|) at order 0, O(eps^2) at order 1."""
    if order not in (0, 1):
        raise ValueError(f"order must be 0 or 1, got {order}")
    e = _eps(eps, -1)
    return CONSTANTS.kappa_slope * e + order * CONSTANTS.kappa_curvature * e**2


# --- finite-size data near the critical point ---------------------------------------------------------------

def scaling_variable(lam, N, nu: float = 0.5) -> np.ndarray:
    """x = eps N^nu with eps = 1 - 2 lambda: the finite-size scaling variable (nu = 1/2 from Wendel's step,
    whose width in eps is ~ N^{-1/2}). Broadcasts lam against N."""
    lam, N = np.asarray(lam, dtype=float), np.asarray(N, dtype=float)
    if np.any(N <= 0):
        raise ValueError(f"N must be positive, got {N}")
    return (1.0 - 2.0 * lam) * N**nu


@dataclass(frozen=True)
class PowerLawFit:
    """y ~ A x^p fitted by least squares on (log x, log y). ``exponent_se`` and ``log_prefactor_se`` from the
    covariance of the fit (residual variance times (X'X)^{-1}); ``exponent_ci`` the 95% percentile interval of
    a pairs bootstrap (None without one); ``residual_sd`` the scatter of log y about the line."""

    exponent: float
    exponent_se: float
    prefactor: float
    log_prefactor_se: float
    residual_sd: float
    n: int
    exponent_ci: tuple[float, float] | None = None


def fit_power_law(x, y, n_boot: int = 0, seed: int = 0) -> PowerLawFit:
    """Free power-law fit y = A x^p: ordinary least squares of log y on log x (every point weighted equally in
    log space, i.e. multiplicative noise). x and y must be positive and finite (use |eps| for x); at least 3
    points with 2 distinct x. ``n_boot`` > 0 adds a pairs-bootstrap 95% interval for p (seeded)."""
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length ({x.size} vs {y.size})")
    bad = ~(np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0))
    if bad.any():
        raise ValueError(f"a power-law fit needs positive finite x and y; {bad.sum()} points are not "
                         "(drop them, or fit |eps| and |y|)")
    if x.size < 3 or np.unique(x).size < 2:
        raise ValueError(f"a power-law fit needs at least 3 points at 2 or more distinct x; got {x.size}")
    lx, ly = np.log(x), np.log(y)
    X = np.column_stack([np.ones_like(lx), lx])
    coef, *_ = np.linalg.lstsq(X, ly, rcond=None)
    resid = ly - X @ coef
    s2 = float(resid @ resid) / (x.size - 2)
    cov = s2 * np.linalg.inv(X.T @ X)
    ci = None
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        slopes = []
        for _ in range(n_boot):
            i = rng.integers(0, x.size, x.size)
            if np.ptp(lx[i]) > 0:
                slopes.append(np.polyfit(lx[i], ly[i], 1)[0])
        ci = tuple(float(q) for q in np.quantile(slopes, [0.025, 0.975]))
    return PowerLawFit(exponent=float(coef[1]), exponent_se=float(np.sqrt(cov[1, 1])), prefactor=float(np.exp(coef[0])),
                       log_prefactor_se=float(np.sqrt(cov[0, 0])), residual_sd=float(np.sqrt(s2)), n=int(x.size),
                       exponent_ci=ci)


def local_exponent(x, y) -> np.ndarray:
    """d log y / d log x between successive points (length n - 1): the running exponent of a power law."""
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    return np.diff(ly) / np.diff(lx)


def collapse_quality(curves) -> tuple[float, int]:
    """How well several curves fall on one (Houdayer & Hartmann 2004's measure). ``curves`` is a list of
    (x, y, dy) arrays, one per system size, already in scaled variables (e.g. x = eps N^{1/2},
    y = r N^{-1/4}), dy the standard error of y (> 0). For every point (x_j, y_j) of every curve, the other
    curves whose x-range covers x_j are linearly interpolated there; their mean Y_j is the master curve and
    dY_j^2 = mean of their interpolated dy^2 / their number its variance. The quality is

        S = mean_j (y_j - Y_j)^2 / (dy_j^2 + dY_j^2),

    about 1 (or less: interpolation averages noise) when the curves agree within their errors and >> 1 when
    they do not. Returns (S, number of points compared); raises when no point overlaps another curve."""
    cs = []
    for k, (x, y, dy) in enumerate(curves):
        x, y, dy = (np.asarray(a, dtype=float).ravel() for a in (x, y, dy))
        if not (x.size == y.size == dy.size) or x.size < 2:
            raise ValueError(f"curve {k}: x, y, dy must have one equal length >= 2")
        if not (np.all(np.isfinite(x) & np.isfinite(y)) and np.all(dy > 0)):
            raise ValueError(f"curve {k}: x and y must be finite and dy > 0 (drop censored or empty points)")
        o = np.argsort(x)
        cs.append((x[o], y[o], dy[o]))
    if len(cs) < 2:
        raise ValueError("a collapse needs at least two curves")
    terms = []
    for i, (xi, yi, dyi) in enumerate(cs):
        for xj, yj, dyj in zip(xi, yi, dyi, strict=True):
            vals, vars_ = [], []
            for k, (xk, yk, dyk) in enumerate(cs):
                if k != i and xk[0] <= xj <= xk[-1]:
                    vals.append(np.interp(xj, xk, yk))
                    vars_.append(np.interp(xj, xk, dyk) ** 2)
            if vals:
                terms.append((yj - np.mean(vals)) ** 2 / (dyj**2 + np.mean(vars_) / len(vals)))
    if not terms:
        raise ValueError("no point of any curve lies within the x-range of another: nothing to compare")
    return float(np.mean(terms)), len(terms)


def median_interval(values, censored=None, level: float = 0.68) -> tuple[float, float, float]:
    """Median of a sample and a distribution-free interval for it: the order statistics v_(j) and v_(n+1-j)
    with j the largest rank such that P(K < j) <= (1 - level)/2, K ~ Binomial(n, 1/2) the count below the
    true median (coverage >= level; j = 1 for tiny samples). ``censored`` values are only known to exceed
    every observed one (a separable set's S_inf, a run that did not grok within the horizon) and count as +inf.
    Returns (median, lower, upper); the median is NaN when half or more are censored, the upper end +inf when
    its rank falls among the censored."""
    v = np.asarray(values, dtype=float).ravel()
    cens = np.zeros(v.shape, bool) if censored is None else np.asarray(censored, dtype=bool).ravel()
    if v.shape != cens.shape or v.size == 0:
        raise ValueError("values and censored must be non-empty and of one length")
    if np.any(np.isnan(v[~cens])):
        raise ValueError("NaN among the uncensored values: drop undecided sets first")
    v = np.sort(np.where(cens, np.inf, v))
    n = v.size
    ranks = np.arange(1, n // 2 + 2)
    ok = bdtr(ranks - 1, n, 0.5) <= (1 - level) / 2
    j = int(ranks[ok].max()) if ok.any() else 1
    med = float(np.median(v))
    return (med if np.isfinite(med) else np.nan), float(v[j - 1]), float(v[n - j])


_CELL = ("N", "lam", "eps", "x", "n", "separable_fraction", "wendel_p_separable")
_MEDIANS = ("r_median", "r_lo", "r_hi", "kappa_median", "kappa_lo", "kappa_hi")


def scaling_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (N, lambda) cell of a runs table (columns N, lam, sigma, separable, s_inf_norm, margin; sets whose
    separability was not decided are dropped): n, eps, x = eps N^{1/2}, the separable fraction and Wendel's
    exact probability, and median_interval of r = sigma|S_inf| (separable sets censored at +inf: their S_inf is
    infinite) and of kappa = margin/sigma (inseparable sets count as 0: the origin is inside their hull).
    Columns r_median, r_lo, r_hi, kappa_median, kappa_lo, kappa_hi."""
    rows = []
    for (N, lam), g in runs[runs.separable.notna()].groupby(["N", "lam"], sort=True):
        sep = g.separable.astype(bool).to_numpy()
        r = (g.sigma * g.s_inf_norm).to_numpy(dtype=float)
        kappa = np.where(sep, (g.margin / g.sigma).to_numpy(dtype=float), 0.0)
        row = {"N": int(N), "lam": float(lam), "eps": 1 - 2 * float(lam), "x": float(scaling_variable(lam, N)),
               "n": int(len(g)), "separable_fraction": float(sep.mean()),
               "wendel_p_separable": wendel_probability(int(N), int(round(lam * N)))} | dict.fromkeys(_MEDIANS, np.nan)
        if np.all(sep | np.isfinite(r)):  # S_inf computed for every inseparable set
            row |= dict(zip(("r_median", "r_lo", "r_hi"), median_interval(r, sep), strict=True))
        if np.all(np.isfinite(kappa)):
            row |= dict(zip(("kappa_median", "kappa_lo", "kappa_hi"), median_interval(kappa), strict=True))
        rows.append(row)
    return pd.DataFrame(rows, columns=[*_CELL, *_MEDIANS])


def scaling_curves(table, quantity: str, amplitude_exponent: float, nu: float = 0.5) -> dict:
    """The curves of a collapse from a scaling_table: for each N, x = eps N^nu and log(y N^a) with
    a = ``amplitude_exponent`` (theory: -1/4 for ``quantity`` "r", 1/2 for "kappa"), and the half-width of
    median_interval in log y as its error; only cells with a positive, finite interval. {N: (x, log y, dlog y)},
    sorted in x, for collapse_quality (curves with fewer than 2 points are left out)."""
    out = {}
    for N, g in table.groupby("N"):
        med, lo, hi = (g[f"{quantity}_{k}"].to_numpy(dtype=float) for k in ("median", "lo", "hi"))
        ok = np.isfinite(med) & np.isfinite(hi) & (lo > 0) & (med > 0) & (hi > lo)
        if ok.sum() < 2:
            continue
        x = scaling_variable(g.lam.to_numpy()[ok], N, nu)
        o = np.argsort(x)
        y = np.log(med[ok] * float(N) ** amplitude_exponent)
        dy = 0.5 * (np.log(hi[ok]) - np.log(lo[ok]))
        out[int(N)] = (x[o], y[o], dy[o])
    return out


# per scaled quantity: (amplitude exponent a in y N^a, the side of x it lives on, the exponent of its critical law)
SCALED = {"r": (-0.25, +1, -0.5), "kappa": (0.5, -1, 1.0)}


@dataclass(frozen=True)
class ScalingSummary:
    """What a scaling_table says about one scaled quantity ("r" or "kappa"): the collapse quality of
    y N^a against x over the sizes (NaN with fewer than two usable sizes) and the number of points compared;
    ``fit``: a free power law of the scaled medians against |x|, pooled over N, over the cells with
    |x| >= fit_min_x on the quantity's side; ``limit_fit``: the same fit of the N -> infinity solution at the
    same cells (its effective exponent, corrections to scaling included); ``fits_by_N``: per N, a free power law
    of the unscaled median against |eps| over those cells (sizes with at least 3 cells). Fits are None where
    there are fewer than 3 cells."""

    quantity: str
    theory_exponent: float
    collapse: float
    collapse_points: int
    fit: PowerLawFit | None
    limit_fit: PowerLawFit | None
    fits_by_N: dict


def limit_value(quantity: str, lam: np.ndarray) -> np.ndarray:
    """The N -> infinity value of a scaled quantity ("r": sigma|S_inf|, "kappa": margin/sigma) at each lambda."""
    from . import theory

    return theory.s_inf_large_n(lam).sigma_s_norm if quantity == "r" else theory.margin_large_n(lam)


def scaling_summary(table: pd.DataFrame, quantity: str, fit_min_x: float = 1.0) -> ScalingSummary:
    """Collapse quality and free fits of a scaling_table for ``quantity`` (see ScalingSummary)."""
    if quantity not in SCALED:
        raise ValueError(f"quantity must be one of {sorted(SCALED)}, got {quantity!r}")
    a, side, p = SCALED[quantity]
    try:
        S, n = collapse_quality(list(scaling_curves(table, quantity, a).values()))
    except ValueError:  # fewer than two sizes, or no overlap
        S, n = np.nan, 0
    med = table[f"{quantity}_median"].to_numpy(dtype=float)
    cells = table[(side * table.x >= fit_min_x) & np.isfinite(med) & (med > 0)]

    def fit(x, y):
        return fit_power_law(x, y) if len(x) >= 3 and np.unique(x).size >= 2 else None

    scale = cells.N.to_numpy(dtype=float) ** a
    x = np.abs(cells.x.to_numpy())
    by_N = {int(N): f for N, g in cells.groupby("N")
            if (f := fit(np.abs(g.eps.to_numpy()), g[f"{quantity}_median"].to_numpy())) is not None}
    return ScalingSummary(quantity=quantity, theory_exponent=p, collapse=S, collapse_points=n,
                          fit=fit(x, cells[f"{quantity}_median"].to_numpy() * scale),
                          limit_fit=fit(x, limit_value(quantity, cells.lam.to_numpy()) * scale) if len(cells) else None,
                          fits_by_N=by_N)


# --- the grokking time near the critical point ---------------------------------------------------------------

def toy_log_time_form(eps) -> np.ndarray:
    """The eps dependence of the paper's 1-D toy model's grokking time (grokedge.toy, App. E.3):
    log(t*_gen/t*_tr) = u^2/2 - log c -> log^2(eps)/2 + log 2 as eps -> 0, with eps = 1 - 2 lambda in (0, 1].
    Its additive constant (the toy's t*_tr = 1/(eta eps_L) depends on a loss level) has no counterpart in the
    full model, so this form is compared with data only up to an offset."""
    from .toy import log_gen_train_ratio

    e = _eps(eps, +1)
    return np.vectorize(log_gen_train_ratio, otypes=[float])(e)


_GROK = ("N", "lam", "eps", "x", "lr", "n", "censored", "horizon", "log_t_median", "log_t_lo", "log_t_hi",
         "theory_log_t")


def grokking_table(runs: pd.DataFrame, column: str, level: float) -> pd.DataFrame:
    """Per (N, lambda) cell of the trained runs of a runs table, the natural log of the grokking time in
    ``column`` (an A_gen-reaches-``level`` definition: grok_<name>, grok_<name>_censored, epochs): n, the number
    of censored runs (not grokked within the horizon, separable sets among them), the horizon, and
    median_interval of log t with censored runs as +inf (so log_t_median is NaN when half or more are censored,
    log_t_hi +inf when its rank falls among them); ``theory_log_t`` the N -> infinity log t_a = z_a r -
    log(eta m) at the cell's lambda (theory.log_grokking_time_large_n; NaN at lambda >= 1/2)."""
    from . import theory

    need = ["N", "lam", "lr", "horizon", column, f"{column}_censored"]
    missing = [c for c in need if c not in runs]
    if missing:
        raise ValueError(f"grokking_table needs runs-table columns {missing}: train the experiment (train: true)")
    if "trained" in runs:
        runs = runs[runs.trained.astype(bool)]
    rows = []
    for (N, lam, lr), g in runs.groupby(["N", "lam", "lr"], sort=True):
        cens = g[f"{column}_censored"].astype(bool).to_numpy()
        t = g[column].to_numpy(dtype=float)
        with np.errstate(divide="ignore"):
            med, lo, hi = median_interval(np.log(np.where(cens, 1.0, t)), cens)
        theory_log_t = (float(theory.log_grokking_time_large_n(lam, lr, level)) if lam < 0.5 else np.nan)
        rows.append({"N": int(N), "lam": float(lam), "eps": 1 - 2 * float(lam), "x": float(scaling_variable(lam, N)),
                     "lr": float(lr), "n": int(len(g)), "censored": int(cens.sum()),
                     "horizon": float(g.horizon.max()), "log_t_median": med, "log_t_lo": lo, "log_t_hi": hi,
                     "theory_log_t": theory_log_t})
    return pd.DataFrame(rows, columns=list(_GROK))


@dataclass(frozen=True)
class GrowthFit:
    """log t_grok medians y_j against the theory's log t_a at the same cells, F_j: least squares y = a + beta F
    over the cells with x = eps N^{1/2} >= fit_min_x and a finite median. beta = 1 when the data grow toward
    eps -> 0 as the theory's essential singularity (whatever their offset a); ``toy_slope`` is the beta the toy
    model's form log^2(eps)/2 would give on the same cells (regressed on the same F), ``beta_se`` the fit's
    standard error from its residuals (n - 2 degrees of freedom); ``toy_offset`` the toy form's least-squares
    offset to the medians. ``censored`` counts the censored runs of the fitted cells."""

    beta: float
    beta_se: float
    intercept: float
    toy_slope: float
    toy_offset: float
    n: int
    censored: int


def log_time_growth(table: pd.DataFrame, fit_min_x: float = 1.0) -> GrowthFit | None:
    """The GrowthFit of a grokking_table (None with fewer than 3 cells at 2 or more distinct lambdas)."""
    cells = table[(table.x >= fit_min_x) & np.isfinite(table.log_t_median) & np.isfinite(table.theory_log_t)]
    if len(cells) < 3 or cells.lam.nunique() < 2:
        return None
    F, y = cells.theory_log_t.to_numpy(), cells.log_t_median.to_numpy()
    toy = toy_log_time_form(cells.eps.to_numpy())
    X = np.column_stack([np.ones_like(F), F])
    (a, beta), *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ (a, beta)
    se = float(np.sqrt(float(resid @ resid) / (len(y) - 2) * np.linalg.inv(X.T @ X)[1, 1]))
    toy_slope = float(np.linalg.lstsq(X, toy, rcond=None)[0][1])
    return GrowthFit(beta=float(beta), beta_se=se, intercept=float(a), toy_slope=toy_slope,
                     toy_offset=float(np.mean(y - toy)), n=len(cells), censored=int(cells.censored.sum()))


# --- command line ------------------------------------------------------------------------------------------

def report(eps_list=(1e-2, 1e-3, 1e-4, 1e-5, 1e-6)) -> str:
    """The constants and the asymptotic forms against theory's numerical solution, as text."""
    from grokedge import theory

    k = CONSTANTS
    lines = [
        "Critical limit of the large-N theory at lambda -> 1/2 (eps = 1 - 2 lambda)",
        f"  r = sigma|S_inf| ~ C eps^(-1/2) + D + E eps^(1/2):   C = sqrt(pi^2/8 + log^2 2) = {k.C:.12f},"
        f"  D = {k.D:.12f},  E = {k.E:.10f}",
        f"  c/r -> g0 = sqrt(2) exp(-gamma_E/2) = {k.c_over_r:.12f}   (log(c/r) = log g0 + G1/r, G1 = "
        f"{k.log_c_over_r_slope:.10f})",
        f"  m -> phi(0)/g0 = {k.m:.12f}   (+ {k.m_slope:.10f} eps^(1/2))",
        f"  P(S_inf.x > 0) -> Phi(-g0) = {k.positive_fraction:.12f}   (+ {k.positive_fraction_slope:.10f} eps^(1/2))",
        f"  separable side: kappa = {k.kappa_slope:.12f} |eps| {k.kappa_curvature:+.12f} eps^2"
        "   (sqrt(pi/8), -(pi/2)^(3/2)/8)",
        "",
        "  eps      r (numerical)      r eps^1/2   rel.err C eps^-1/2  rel.err +D   rel.err +E   m rel.err"
        "   frac rel.err",
    ]
    eps = np.asarray(eps_list, dtype=float)
    lim = theory.s_inf_large_n(0.5 * (1 - eps))
    a0, a1 = inseparable_asymptotics(eps, 0), inseparable_asymptotics(eps, 1)
    for i, e in enumerate(eps):
        r = lim.sigma_s_norm[i]
        r2 = a1["sigma_s_norm"][i] + k.E * np.sqrt(e)
        lines.append(f"  {e:7.0e}  {r:16.9f}  {r * np.sqrt(e):11.8f}  {a0['sigma_s_norm'][i] / r - 1:+17.2e}"
                     f"  {a1['sigma_s_norm'][i] / r - 1:+10.2e}  {r2 / r - 1:+10.2e}"
                     f"  {a1['m'][i] / lim.m[i] - 1:+10.2e}"
                     f"  {a1['positive_fraction'][i] / lim.positive_fraction[i] - 1:+12.2e}")
    lines += ["", "  eps      kappa (numerical)   rel.err sqrt(pi/8)|eps|   rel.err 2nd order"]
    neg = -eps
    kap = theory.margin_large_n(0.5 * (1 - neg))
    for e, kk, k0, k1 in zip(neg, kap, margin_asymptotics(neg, 0), margin_asymptotics(neg, 1), strict=True):
        lines.append(f"  {e:8.0e}  {kk:.12e}  {k0 / kk - 1:+22.2e}  {k1 / kk - 1:+18.2e}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m grokedge.critical", description=__doc__.splitlines()[0]).parse_args(argv)
    print(report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
