"""Separability from the origin, the max-margin separator, the inseparable minimiser S_inf, Wendel's law.

A point set {x_i} is *separable from the origin* when some S has S.x_i > 0 for every i, i.e. the origin is
outside the convex hull of the points. By the symmetry S -> -S this is also separability of the label -1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog, nnls
from scipy.special import logsumexp, ndtr

# HiGHS's primal feasibility tolerance is 1e-7: an LP margin below this (relative to the data's scale)
# cannot be told from zero.
LP_TOLERANCE = 1e-7


def lp_margin(X: np.ndarray) -> float:
    """t* = max { t : X S >= t 1, |S|_inf <= 1, t <= 1 }, by HiGHS.

    The set is separable from the origin iff t* > 0. This bounded form is always feasible (S = 0, t = 0)
    and has a finite optimum, which HiGHS solves reliably; the bare feasibility problem X S >= 1 often ends
    in an "unknown" model status. S is free inside the box: linprog's default bounds are S >= 0, which
    would silently answer a different question, so every bound is given.
    """
    n, d = X.shape
    c = np.zeros(d + 1)
    c[-1] = -1.0  # maximise t
    A_ub = np.hstack([-X, np.ones((n, 1))])  # t - S.x_i <= 0
    bounds = [(-1.0, 1.0)] * d + [(None, 1.0)]
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(n), bounds=bounds, method="highs")
    if res.status != 0:
        raise RuntimeError(f"linprog failed on the separability LP: status {res.status}, {res.message}")
    return float(-res.fun)


def separable_from_origin(X: np.ndarray) -> bool:
    """Is there S with S.x_i > 0 for all i? Decided by ``lp_margin(X) > LP_TOLERANCE * max |x_ij|``."""
    return lp_margin(X) > LP_TOLERANCE * float(np.abs(X).max())


@dataclass(frozen=True)
class MaxMargin:
    """Nearest point p* of conv{x_i} to the origin; margin M = |p*|, and the bias-free max-margin separator
    S* = -p*/M^2 (S*.x_i <= -1 for all i, |S*| = 1/M). ``gap`` = M - min_i (p*.x_i)/M >= 0 is the duality
    gap between the primal distance and the margin the separator p*/M certifies (0 at the exact optimum)."""

    margin: float
    gap: float
    separator: np.ndarray


def max_margin(X: np.ndarray) -> MaxMargin:
    """Distance from the origin to the convex hull of the rows of X, by non-negative least squares.

    min_{u >= 0} |A u - e|^2 with A = [X^T; 1^T] and e = (0, ..., 0, 1) is solved by u* = a*/(1 + M^2),
    where a* are the convex weights of the nearest hull point p* = X^T a* (check the KKT conditions:
    the residual r = (-p*, M^2)/(1 + M^2) has r.(x_i, 1) = (M^2 - p*.x_i)/(1 + M^2) <= 0, with equality on
    the support of a*). Hence p* = X^T u* / sum(u*). The active-set NNLS is exact up to rounding, and the
    LP above is an independent check of the same geometry (M = 0 iff inseparable).
    """
    n, d = X.shape
    A = np.vstack([X.T, np.ones(n)])
    e = np.zeros(d + 1)
    e[-1] = 1.0
    u, _ = nnls(A, e, maxiter=50 * n)
    p = X.T @ u / u.sum()
    m = float(np.linalg.norm(p))
    if m <= 1e-9 * float(np.abs(X).max()):  # the origin is in the hull, up to rounding
        return MaxMargin(0.0, 0.0, np.zeros(d))
    gap = m - float((X @ p).min()) / m
    return MaxMargin(m, gap, -p / m**2)


@dataclass(frozen=True)
class InseparableLimit:
    """S_inf = argmin_S (1/N) sum_i exp(S.x_i) and m = that minimum; ``grad_norm`` is |grad log sum exp| at
    the returned point (the solver's certificate)."""

    s_inf: np.ndarray
    m: float
    grad_norm: float
    iterations: int


def inseparable_limit(X: np.ndarray, gtol: float = 1e-10, max_iter: int = 500) -> InseparableLimit:
    """Damped Newton on F(S) = log sum_i exp(S.x_i), which has the same minimiser as (1/N) sum exp(S.x_i).

    grad F = X^T p, Hess F = X^T (diag p - p p^T) X with p = softmax(X S). F is convex, and coercive exactly
    when the origin is inside the hull (inseparable set), so the minimiser exists and Newton converges
    quadratically near it; the stopping rule is |grad F| <= gtol * max_i |x_i|.
    Raises ValueError for a separable set (F is unbounded below there).
    """
    n, d = X.shape
    S = np.zeros(d)
    scale = float(np.linalg.norm(X, axis=1).max())

    def F(S):
        return float(logsumexp(X @ S))

    f = F(S)
    for it in range(1, max_iter + 1):
        z = X @ S
        p = np.exp(z - logsumexp(z))
        g = X.T @ p
        gn = float(np.linalg.norm(g))
        if gn <= gtol * scale:
            return InseparableLimit(S, float(np.exp(f) / n), gn, it - 1)
        Xp = X * np.sqrt(p)[:, None]
        H = Xp.T @ Xp - np.outer(g, g)
        H[np.diag_indices(d)] += 1e-14 * np.trace(H) / d
        step = np.linalg.solve(H, -g)
        t = 1.0
        while True:  # Armijo backtracking
            f_new = F(S + t * step)
            if f_new <= f + 1e-4 * t * float(g @ step) or t < 1e-12:
                break
            t *= 0.5
        if t < 1e-12:
            raise ValueError("S_inf: no descent; the set looks separable from the origin (F unbounded below)")
        S = S + t * step
        f = f_new
    raise RuntimeError(f"S_inf: Newton did not reach |grad| <= {gtol} in {max_iter} iterations (|grad| = {gn:.3g})")


def wendel_probability(N: int, d: int) -> float:
    """Wendel (1962): P(N points of an origin-symmetric law in R^d are separable from the origin)
    = 2^-(N-1) sum_{k=0}^{d-1} C(N-1, k) = P(Binomial(N-1, 1/2) <= d-1)."""
    from scipy.stats import binom  # imported here: scipy.stats costs every job that loads this module ~0.7 s

    return float(binom.cdf(d - 1, N - 1, 0.5))


def wendel_large_n(lam, d):
    """Large-(N, d) form of Wendel's law at lam = d/N: 1/2 [1 + erf(sqrt(d) (sqrt(2 lam) - 1/sqrt(2 lam)))]."""
    lam = np.asarray(lam, dtype=float)
    x = np.sqrt(np.asarray(d, dtype=float)) * (np.sqrt(2 * lam) - 1 / np.sqrt(2 * lam))
    return ndtr(np.sqrt(2.0) * x)


def margin_limit_accuracy(margin, sigma):
    """Prop. 3.2: long-time A_gen of a separable set, 1/2 [1 + erf(1/(sigma M sqrt 2))] = Phi(1/(sigma M))."""
    return ndtr(1.0 / (np.asarray(sigma, dtype=float) * np.asarray(margin, dtype=float)))
