"""Separability from the origin, the max-margin separator, the inseparable minimiser S_inf, Wendel's law.

A point set {x_i} is *separable from the origin* when some S has S.x_i > 0 for every i, i.e. the origin is
outside the convex hull of the points. By the symmetry S -> -S this is also separability of the label -1.

``decide(X)`` is the project's one separability decision: an LP, warm-started from the NNLS solution, whose
verdict is backed by a certificate checked in O(N d) (a separating S, or Farkas weights a). ``lp_margin`` is
the earlier cold LP, kept as an independent reference for tests and the benchmark.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgWarning, cho_factor, cho_solve, lu_factor, lu_solve
from scipy.optimize import linprog, minimize_scalar, nnls
from scipy.special import bdtr, logsumexp, ndtr

# HiGHS's primal feasibility tolerance is 1e-7: an LP margin below this (relative to the data's scale)
# cannot be told from zero.
LP_TOLERANCE = 1e-7
# Certificates, relative to max_ij |x_ij| (``decide`` works on X scaled by a power of two to max |x_ij| in
# [1/2, 1)). Separable: min_i S.x_i / (|S| max|x|) >= MARGIN_TOLERANCE, far above the rounding of S.x_i (~1e-16).
# Inseparable: a >= 0, sum a = 1, |X^T a|_inf / max|x| <= FARKAS_TOLERANCE. A set whose hull passes between
# the two distances from the origin (1e-14 ... 1e-12 of the data's scale) is refused, not classified.
MARGIN_TOLERANCE = 1e-12
FARKAS_TOLERANCE = 1e-14


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
    """Is there S with S.x_i > 0 for all i? ``decide(X).separable`` (certified; raises on a near-tie)."""
    return decide(X).separable


@dataclass(frozen=True)
class MaxMargin:
    """Nearest point p* of conv{x_i} to the origin; margin M = |p*|, and the bias-free max-margin separator
    S* = -p*/M^2 (S*.x_i <= -1 for all i, |S*| = 1/M). ``gap`` = M - min_i (p*.x_i)/M >= 0 is the duality
    gap between the primal distance and the margin the separator p*/M certifies (0 at the exact optimum)."""

    margin: float
    gap: float
    separator: np.ndarray


def _hull_weights(X: np.ndarray) -> np.ndarray:
    """Convex weights a* of the point of conv{x_i} nearest the origin (see ``max_margin``)."""
    n, d = X.shape
    A = np.vstack([X.T, np.ones(n)])
    e = np.zeros(d + 1)
    e[-1] = 1.0
    u, _ = nnls(A, e, maxiter=50 * n)
    return u / u.sum()


def max_margin(X: np.ndarray) -> MaxMargin:
    """Distance from the origin to the convex hull of the rows of X, by non-negative least squares.

    min_{u >= 0} |A u - e|^2 with A = [X^T; 1^T] and e = (0, ..., 0, 1) is solved by u* = a*/(1 + M^2),
    where a* are the convex weights of the nearest hull point p* = X^T a* (check the KKT conditions:
    the residual r = (-p*, M^2)/(1 + M^2) has r.(x_i, 1) = (M^2 - p*.x_i)/(1 + M^2) <= 0, with equality on
    the support of a*). Hence p* = X^T u* / sum(u*). The active-set NNLS is exact up to rounding, and the
    LP of ``decide`` is an independent check of the same geometry (M = 0 iff inseparable).
    """
    return _max_margin_from(X, _hull_weights(X))


def _max_margin_from(X: np.ndarray, a: np.ndarray) -> MaxMargin:
    p = X.T @ a
    m = float(np.linalg.norm(p))
    if m <= 1e-9 * _abs_max(X):  # the origin is in the hull, up to rounding
        return MaxMargin(0.0, 0.0, np.zeros(X.shape[1]))
    gap = m - float((X @ p).min()) / m
    return MaxMargin(m, gap, -p / m**2)


@dataclass(frozen=True)
class SeparabilityResult:
    """The certified decision of ``decide``. Lengths are in the units of X; ``cert_*`` are relative to
    max_ij |x_ij|.

    separable      the LP's verdict: max t s.t. X S >= t 1, c.S <= 1, t <= 1 has optimum t* > LP_TOLERANCE
    lp_optimum     t* (c = p*, the nearest hull point, so t* = 1 for a separable set and 0 otherwise)
    lp_solves      HiGHS calls: 0 when the NNLS point p*/M^2 already attains t* = 1 (separable sets), 1 when
                   the warm working set was already optimal, more with added cuts
    lp_full        True when the working-set LP could not be used and the whole LP was solved cold
    margin, margin_gap, separator   ``max_margin`` (NNLS) of a separable set; 0, 0, zeros otherwise
    certificate    "separator" (S with min_i S.x_i > 0) or "farkas" (a >= 0, sum a = 1, X^T a ~ 0)
    cert_vector    that S (length d) or that a (length N)
    cert_margin    separable: min_i S.x_i / (|S| max|x|) (>= MARGIN_TOLERANCE); NaN otherwise
    cert_residual  inseparable: |X^T a|_inf / max|x| (<= FARKAS_TOLERANCE); NaN otherwise
    cert_tolerance the tolerance the certificate was checked against
    """

    separable: bool
    lp_optimum: float
    lp_solves: int
    lp_full: bool
    margin: float
    margin_gap: float
    separator: np.ndarray
    certificate: str
    cert_vector: np.ndarray
    cert_margin: float
    cert_residual: float
    cert_tolerance: float


def _abs_max(X: np.ndarray) -> float:
    """max_ij |x_ij| (NaN if any is), without a temporary copy of X."""
    return max(float(X.max()), -float(X.min()))


def _power_of_two_scale(X: np.ndarray) -> int:
    """e with max |x_ij| = f 2^e, f in [1/2, 1): X * 2^-e is exact (no rounding) and of unit scale."""
    amax = _abs_max(X) if X.size else 0.0
    if not np.isfinite(amax) or amax == 0.0:
        raise ValueError(f"separability of a set with max |x_ij| = {amax}: need finite points, not all zero")
    return int(np.frexp(amax)[1])


def _working_set_lp(Xn: np.ndarray, c: np.ndarray, W: np.ndarray, max_solves: int = 6):
    """max t s.t. x_i.S >= t (all i), c.S <= 1, t <= 1, solved on a working set W of d+1 rows and cuts.

    In the coordinates z = M (S, t), M = [X_W, -1] (square), the rows of W become the bounds z >= 0, so the
    LP HiGHS sees has d+1 bounded variables, two dense rows (c.S <= 1, t <= 1) and one dense row per cut
    (a row i outside W that the current solution violates). An optimum of the restricted LP that satisfies
    every row is an optimum of the whole LP (it is a relaxation); otherwise the violated rows are added and
    the LP solved again. Returns (t, S, a, solves) with a the LP's row duals (length N), or None when M is
    singular or the cuts do not settle (the caller then solves the whole LP).
    """
    n, d = Xn.shape
    lu = _working_set_basis(Xn, W)
    if lu is None:
        return None
    e_t = np.zeros(d + 1)
    e_t[-1] = 1.0
    r_t = lu_solve(lu, e_t, trans=1)  # t = r_t.z
    r_c = lu_solve(lu, np.append(c, 0.0), trans=1)  # c.S = r_c.z
    outside = np.setdiff1d(np.arange(n), W)
    cuts = np.empty(0, dtype=int)
    for solves in range(1, max_solves + 1):
        res = _restricted_lp(Xn, lu, r_t, r_c, cuts)
        if res is None:
            return None
        v = lu_solve(lu, res.x)
        S, t = v[:d], float(v[-1])
        slack = Xn[outside] @ S - t
        bad = outside[slack < -1e-9 * (np.linalg.norm(S) + abs(t))]
        if len(bad) == 0:
            a = np.zeros(n)
            a[W] = res.lower.marginals  # reduced costs of z_i = duals of the rows x_i.S - t >= 0
            a[cuts] = -res.ineqlin.marginals[2:]
            return t, S, a, solves
        cuts = np.union1d(cuts, bad)
    return None


def _working_set_basis(Xn: np.ndarray, W: np.ndarray):
    """LU factors of M = [X_W, -1] ((d+1) x (d+1)), or None when M is singular to 1e-13 of its largest pivot."""
    M = np.hstack([Xn[W], -np.ones((len(W), 1))])
    with warnings.catch_warnings():  # a singular M is detected below from the pivots
        warnings.simplefilter("ignore", LinAlgWarning)
        lu = lu_factor(M, check_finite=False)
    piv = np.abs(np.diag(lu[0]))
    return None if piv.min() <= 1e-13 * piv.max() else lu


def _restricted_lp(Xn: np.ndarray, lu, r_t: np.ndarray, r_c: np.ndarray, cuts: np.ndarray):
    """The LP on W and the cuts in z = M (S, t): max r_t.z s.t. r_c.z <= 1, r_t.z <= 1, z >= 0 and, for each cut
    i, q_i.z >= 0 with q_i = M^-T (x_i, -1) (so q_i.z = x_i.S - t). HiGHS's result, None if it fails."""
    Q = lu_solve(lu, np.hstack([Xn[cuts], -np.ones((len(cuts), 1))]).T, trans=1).T if len(cuts) else None
    A_ub = np.vstack([r_c, r_t] + ([-Q] if Q is not None else []))
    res = linprog(-r_t, A_ub=A_ub, b_ub=np.r_[1.0, 1.0, np.zeros(len(cuts))], bounds=(0, None), method="highs")
    return res if res.status == 0 else None


def _full_lp(Xn: np.ndarray, c: np.ndarray):
    """The same LP over all rows, cold (HiGHS dual simplex): (t, S, a) with a the row duals."""
    n, d = Xn.shape
    cost = np.zeros(d + 1)
    cost[-1] = -1.0
    A_ub = np.vstack([np.hstack([-Xn, np.ones((n, 1))]), np.append(c, 0.0)])
    res = linprog(cost, A_ub=A_ub, b_ub=np.r_[np.zeros(n), 1.0], bounds=[(None, None)] * d + [(None, 1.0)],
                  method="highs")
    if res.status != 0:
        return None
    return float(res.x[-1]), res.x[:d], -res.ineqlin.marginals[:n]


def _farkas_residual(Xn: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, float]:
    """a projected on the simplex's sign constraint (a >= 0, sum a = 1) and |X^T a|_inf / max|x|."""
    a = np.clip(a, 0.0, None)
    if not a.sum() > 0:
        return a, np.inf
    a = a / a.sum()
    return a, float(np.abs(Xn.T @ a).max() / _abs_max(Xn))


def _polish_farkas(Xn: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Least squares on the support B of a: [X_B^T; 1^T] a_B = (0, 1), which removes the LP's 1e-7-level
    tolerance from the weights (the support is the LP's, the values exact up to rounding)."""
    B = np.flatnonzero(a > 1e-9 * a.max())
    A = np.vstack([Xn[B].T, np.ones(len(B))])
    rhs = np.zeros(A.shape[0])
    rhs[-1] = 1.0
    aB = np.linalg.lstsq(A, rhs, rcond=None)[0]
    out = np.zeros_like(a)
    out[B] = aB
    return out


def decide(X: np.ndarray, where: str = "this set") -> SeparabilityResult:
    """Is there S with S.x_i > 0 for every row x_i of X? Decided by an LP and certified.

    1. X is scaled by a power of two to max |x_ij| in [1/2, 1) (exact), so every tolerance is relative to
       the data's scale and X * 1e-300 or X * 1e300 get the same answer.
    2. NNLS gives the nearest hull point p* = X^T a* (``max_margin``); it supplies the LP's normalisation
       c = p* and its warm start: the working set W = support of a*, padded to d+1 rows with the rows of
       smallest x_i.p*.
    3. The LP max t s.t. X S >= t 1, c.S <= 1, t <= 1: when M > 0, S = p*/M^2 is feasible with t = 1 (its
       optimum, no solver needed); otherwise HiGHS solves it on W plus cuts (exact; see ``_working_set_lp``),
       or whole and cold if that fails. For any c its optimum t* is > 0 iff the set is
       separable (a separating S can be scaled into c.S <= 1; t <= 1 keeps the LP bounded). Verdict:
       separable iff t* > LP_TOLERANCE.
    4. The verdict is checked in O(N d): separable needs min_i S.x_i / (|S| max|x|) >= MARGIN_TOLERANCE for
       the LP's S (or p*); inseparable needs Farkas weights (the LP's row duals, polished on their support,
       or a*) with |X^T a|_inf / max|x| <= FARKAS_TOLERANCE. If the verdict's certificate does not check, a
       RuntimeError naming ``where`` is raised: the set is too close to the separability boundary to classify.
    """
    Xn, e = _unit_scale(X)
    a_nnls = _hull_weights(Xn)
    mm = _max_margin_from(Xn, a_nnls)
    p = Xn.T @ a_nnls
    t, S, a_lp, solves, full = _separability_lp(Xn, a_nnls, mm, p, where)
    if t > LP_TOLERANCE:
        return _certify_separable(Xn, e, mm, p, t, S, solves, full, where)
    a, residual = _farkas_weights(Xn, a_lp, a_nnls)
    if not residual <= FARKAS_TOLERANCE:
        raise RuntimeError(
            f"{where}: the LP says inseparable (t* = {t:.3g}) but no Farkas certificate checks "
            f"(|X^T a|_inf / max|x| = {residual:.3g} > {FARKAS_TOLERANCE:g} for the best convex weights a): the "
            "origin is within rounding of the hull's boundary, so this set cannot be classified; drop or redraw it")
    return _inseparable_result(Xn.shape[1], a, residual, t, solves, full)


def _unit_scale(X: np.ndarray) -> tuple[np.ndarray, int]:
    """(X 2^-e, e) with max |x_ij| 2^-e in [1/2, 1) (``_power_of_two_scale``): exact, and of unit scale."""
    X = np.asarray(X, dtype=float)
    e = _power_of_two_scale(X)
    return np.ldexp(X, -e), e


def _separability_lp(Xn: np.ndarray, a_nnls: np.ndarray, mm: MaxMargin, p: np.ndarray, where: str):
    """Step 3 of ``decide``, the LP with c = p* = X^T a*, by the cheapest route that works: S = p*/M^2 (no
    solver), the working-set LP warm-started from a*, or the whole LP cold. Returns (t*, S, a, solves, full) with
    a the LP's row duals (zeros on the first route) and ``full`` whether the whole LP was solved."""
    n, d = Xn.shape
    sol = None
    if mm.margin > 0:
        # S = p*/M^2 is feasible for the LP (c.S = 1, x_i.S >= 1 up to NNLS's rounding) and t = min_i x_i.S
        # reaches the bound t <= 1: it is the LP's optimum, certified in O(N d) without a HiGHS call
        t, S = _hull_point_lp(Xn, p)
        if t > LP_TOLERANCE:
            sol = t, S, np.zeros(n), 0
    if sol is None and n >= d + 1:
        sol = _working_set_lp(Xn, p, _warm_working_set(Xn, a_nnls, p))
    if sol is not None:
        return *sol, False
    full = _full_lp(Xn, p)
    if full is None:
        raise RuntimeError(f"{where}: HiGHS failed on the separability LP")
    return *full, 1, True


def _hull_point_lp(Xn: np.ndarray, p: np.ndarray) -> tuple[float, np.ndarray]:
    """(t, S) for S = p/|p|^2 (c.S = 1 when c = p) and t = min(1, min_i x_i.S): for the nearest hull point p = p*
    of a separable set, x_i.S >= 1 for every i and (t, S) is the LP's optimum t* = 1."""
    S = p / float(p @ p)
    return min(1.0, float((Xn @ S).min())), S


def _warm_working_set(Xn: np.ndarray, a_nnls: np.ndarray, p: np.ndarray) -> np.ndarray:
    """d+1 rows: the support of a* (its d+1 largest weights if larger), padded with the rows of smallest x_i.p*."""
    d = Xn.shape[1]
    support = np.flatnonzero(a_nnls > 0)
    if len(support) > d + 1:
        support = support[np.argsort(-a_nnls[support], kind="stable")[: d + 1]]
    rest = np.setdiff1d(np.arange(len(Xn)), support)
    rest = rest[np.argsort(Xn[rest] @ p, kind="stable")[: d + 1 - len(support)]]
    return np.sort(np.concatenate([support, rest]))


def _separator_margin(Xn: np.ndarray, S: np.ndarray, amax: float) -> float:
    """min_i S.x_i / (|S| max|x|), the normalised margin a separator S certifies (-inf for S = 0)."""
    return float((Xn @ S).min()) / (np.linalg.norm(S) * amax) if np.any(S) else -np.inf


def _certify_separable(Xn: np.ndarray, e: int, mm: MaxMargin, p: np.ndarray, t: float, S: np.ndarray,
                       solves: int, full: bool, where: str) -> SeparabilityResult:
    """Step 4 of ``decide`` for a separable verdict: the better of the LP's S and p* as the certificate, which must
    reach MARGIN_TOLERANCE (else RuntimeError naming ``where``)."""
    amax = _abs_max(Xn)
    margin_lp = _separator_margin(Xn, S, amax)
    cert_margin = max(margin_lp, _separator_margin(Xn, p, amax))
    if not cert_margin >= MARGIN_TOLERANCE:
        raise RuntimeError(
            f"{where}: the LP says separable (t* = {t:.3g}) but no separating S is certified "
            f"(min_i S.x_i / (|S| max|x|) = {cert_margin:.3g} < {MARGIN_TOLERANCE:g}): the origin is within "
            "rounding of the hull's boundary, so this set cannot be classified; drop or redraw it")
    vec = S if np.any(S) and margin_lp == cert_margin else p
    return _separable_result(mm, e, vec, cert_margin, t, solves, full)


def _separable_result(mm: MaxMargin, e: int, vec: np.ndarray, cert_margin: float, t: float, solves: int = 0,
                      full: bool = False) -> SeparabilityResult:
    """A separable set's result from its answers on X 2^-e: lengths back in X's units (margin times 2^e, vectors
    S times 2^-e), the separator ``vec`` certifying ``cert_margin``."""
    scale = np.ldexp(1.0, e)
    return SeparabilityResult(True, t, solves, full, mm.margin * scale, mm.gap * scale, np.ldexp(mm.separator, -e),
                              "separator", np.ldexp(vec, -e), cert_margin, np.nan, MARGIN_TOLERANCE)


def _inseparable_result(d: int, a: np.ndarray, residual: float, t: float = 0.0, solves: int = 0,
                        full: bool = False) -> SeparabilityResult:
    """An inseparable set's result (in dimension d), certified by convex weights a with |X^T a|_inf / max|x| =
    ``residual``."""
    return SeparabilityResult(False, t, solves, full, 0.0, 0.0, np.zeros(d), "farkas", a, np.nan, residual,
                              FARKAS_TOLERANCE)


def _farkas_weights(Xn: np.ndarray, a_lp: np.ndarray, a_nnls: np.ndarray) -> tuple[np.ndarray, float]:
    """Step 4 of ``decide`` for an inseparable verdict: convex weights a and their residual |X^T a|_inf / max|x|,
    from the LP's row duals, else the better of those and the duals polished on their support
    (``_polish_farkas``), else the better of that and NNLS's a*; the caller checks the residual."""
    best_a, best_r = _farkas_residual(Xn, a_lp)
    if best_r > FARKAS_TOLERANCE and np.any(best_a > 0):
        best_a, best_r = min(_farkas_residual(Xn, _polish_farkas(Xn, best_a)), (best_a, best_r), key=lambda x: x[1])
    if best_r > FARKAS_TOLERANCE:
        best_a, best_r = min(_farkas_residual(Xn, a_nnls), (best_a, best_r), key=lambda x: x[1])
    return best_a, best_r


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

    Newton runs on X * 2^-e (max |x_ij| in [1/2, 1)), so that X * 1e-300 or X * 1e300 neither underflow nor
    overflow the Hessian; scaling by a power of two is exact, so for ordinary data the result is bit for bit
    the one on X itself (S_inf scales by 2^-e, the gradient norm by 2^e, m is unchanged).
    """
    Xn, e = _unit_scale(X)
    try:
        lim = _newton_s_inf(Xn, gtol, max_iter)
    except (np.linalg.LinAlgError, RuntimeError) as err:
        # on a separable set Newton may also stall (a singular Hessian once p sits on one point) or run out of
        # iterations without a failed line search: the LP says which it was
        if decide(X).separable:
            raise ValueError("S_inf: the set is separable from the origin (certified by the LP), so F is "
                             "unbounded below and has no minimiser") from err
        raise
    return InseparableLimit(np.ldexp(lim.s_inf, -e), lim.m, float(np.ldexp(lim.grad_norm, e)), lim.iterations)


def _newton_s_inf(X: np.ndarray, gtol: float, max_iter: int) -> InseparableLimit:
    n, d = X.shape
    S = np.zeros(d)
    scale = float(np.linalg.norm(X, axis=1).max())

    def F(S):
        return float(logsumexp(X @ S))

    for it in range(1, max_iter + 1):
        z = X @ S
        f = float(logsumexp(z))
        p = np.exp(z - f)
        g = X.T @ p
        gn = float(np.linalg.norm(g))
        if gn <= gtol * scale:
            return InseparableLimit(S, float(np.exp(f) / n), gn, it - 1)
        step = np.linalg.solve(_lse_hessian(X, p, g, 1e-14), -g)
        if gn <= np.sqrt(gtol) * scale and -float(g @ step) <= 8 * np.finfo(float).eps * max(1.0, abs(f)):
            # close to the minimum (a separable set's gradient never gets small) the Newton decrement can fall
            # below float64's resolution of F, so no line search sees a decrease (near-separable sets, |S_inf|
            # large): the quadratic model is then exact to rounding and the full step is taken; the gradient,
            # computed without that cancellation, still falls quadratically
            S = S + step
            continue
        t = 1.0
        while True:  # Armijo backtracking
            f_new = F(S + t * step)
            if f_new <= f + 1e-4 * t * float(g @ step) or t < 1e-12:
                break
            t *= 0.5
        if t < 1e-12:
            raise ValueError("S_inf: no descent; the set looks separable from the origin (F unbounded below)")
        S = S + t * step
    raise RuntimeError(f"S_inf: Newton did not reach |grad| <= {gtol} in {max_iter} iterations (|grad| = {gn:.3g})")


def wendel_probability(N: int, d: int) -> float:
    """Wendel (1962): P(N points of an origin-symmetric law in R^d are separable from the origin)
    = 2^-(N-1) sum_{k=0}^{d-1} C(N-1, k) = P(Binomial(N-1, 1/2) <= d-1)."""
    if d >= N:
        return 1.0  # (bdtr is NaN for k > n)
    return float(bdtr(d - 1, N - 1, 0.5))  # scipy.special: scipy.stats would cost every job ~1 s of import


def wendel_large_n(lam, d):
    """Large-(N, d) form of Wendel's law at lam = d/N: 1/2 [1 + erf(sqrt(d) (sqrt(2 lam) - 1/sqrt(2 lam)))]."""
    lam = np.asarray(lam, dtype=float)
    x = np.sqrt(np.asarray(d, dtype=float)) * (np.sqrt(2 * lam) - 1 / np.sqrt(2 * lam))
    return ndtr(np.sqrt(2.0) * x)


def margin_limit_accuracy(margin, sigma):
    """Prop. 3.2: long-time A_gen of a separable set, 1/2 [1 + erf(1/(sigma M sqrt 2))] = Phi(1/(sigma M))."""
    return ndtr(1.0 / (np.asarray(sigma, dtype=float) * np.asarray(margin, dtype=float)))


# --- the fast path: one Newton solve decides an inseparable set, an interior point the margin of a separable one ---
#
# Per set at N = 2400, d ~ 1170 the LP route above spends ~7 s in NNLS's ~d one-column pivots, ~1 s in the
# working-set LP and ~1 s in Newton's dense Hessians. ``classify`` reaches the same certified verdicts with a few
# O(N d^2) matrix products instead:
#   inseparable: the minimiser S_inf of F(S) = log sum_i exp(S.x_i) exists iff the origin is in the hull, and at it
#     the softmax weights a_i = exp(S.x_i) / sum_j exp(S.x_j) satisfy X^T a = grad F = 0: the Newton solve that
#     gives S_inf and m is also the Farkas certificate, checked as ``decide`` checks the LP's duals;
#   separable: Newton stops at an iterate with S.x_i < 0 for every i (F is unbounded below); the margin comes from a
#     primal-dual interior point on min |w|^2/2 s.t. X w >= 1 (w = p*/M^2), whose support B = {i: alpha_i >
#     slack_i} is "snapped" to the exact optimum X_B X_B^T alpha_B = 1: convex weights a = alpha / sum alpha of the
#     nearest hull point p*, the same quantity as NNLS's, accepted when its duality gap is ~0; p* then certifies
#     the verdict (min_i p*.x_i > 0, checked as ``decide`` checks a separator).
# Anything that does not certify within the tolerances of ``decide`` goes to ``decide`` (and ``inseparable_limit``),
# so every verdict is certified exactly as before.

# |X^T a|_inf / max|x| at which Newton stops: 1e-15 is reached in ~8 steps on Gaussian sets (rounding of X^T a
# with sum a = 1 is ~1e-16); it stops earlier when the gradient has reached rounding and stopped falling.
NEWTON_GTOL = 1e-15
# An interior-point margin is accepted when its duality gap M - min_i (p.x_i)/M is below this fraction of M.
MARGIN_GAP_TOLERANCE = 1e-9
# Newton's float32 Hessian factor is rebuilt after a step that needed more CG steps than this with the stale one
# (a factor costs ~50 float32 products at N = 2400, d = 1170).
REFRESH_CG = 10


@dataclass(frozen=True)
class SetResult:
    """``classify``'s answer for one set: the certified decision (as ``decide``'s), S_inf and m for an inseparable
    set (``inseparable_limit``'s; None for a separable one or when not asked), and the route taken: "newton"
    (inseparable, certified by the Newton solve), "ipm" (separable, certified by the interior point's margin),
    "newton+ipm" (the same after a Newton attempt, where Wendel's odds favoured inseparable), or "reference"
    (``decide`` and ``inseparable_limit``)."""

    decision: SeparabilityResult
    limit: InseparableLimit | None
    route: str


def _newton_lse(Xn: np.ndarray, max_iter: int = 60, S: np.ndarray | None = None, hand_over: bool = False):
    """Newton on F(S) = log sum exp(Xn S) from S = 0 (or the given S, where an earlier call handed over). F's
    value, z = X S and the gradient g = X^T softmax(z) are float64, recomputed from S every step (they are what
    the certificate and S_inf rest on); the step s only has to be a good descent direction, so it is solved in
    float32 (``_newton_direction``) with a float32 Hessian factor (``_lse_hessian``) refreshed only when the stale
    one needs more than REFRESH_CG conjugate-gradient steps (a dense H is O(N d^2), a product O(N d)). Step
    length: ``_lse_step_length``; a ray S + t s that separates the set ends the solve (``_separating_ray``).

    Returns (status, S, z, iterations): "inseparable" or "diverging" (only with ``hand_over``, after 3 steps) as
    ``_gradient_verdict`` says, "separable" when every S.x_i < 0 or some S + t s has, "unknown" otherwise (a
    singular Hessian, a stalled descent, no convergence: the caller takes another route). A diverging set is
    likely separable, and the caller can resume from the returned S if it is not."""
    X32 = Xn.astype(np.float32)
    amax = _abs_max(Xn)
    S = np.zeros(Xn.shape[1]) if S is None else S
    factor, refresh, gn_prev = None, True, np.inf
    for it in range(max_iter):
        z = Xn @ S
        if z.max() < 0:
            return "separable", S, z, it
        lse = float(logsumexp(z))
        p = np.exp(z - lse)
        g = Xn.T @ p
        gn = float(np.abs(g).max()) / amax
        status = _gradient_verdict(gn, gn_prev, may_diverge=hand_over and it >= 3)
        if status is not None:
            return status, S, z, it
        gn_prev = gn
        p32, g32 = p.astype(np.float32), g.astype(np.float32)
        if refresh:
            factor = _cholesky_or_none(_lse_hessian(X32, p32, g32, np.float32(1e-6)))
            if factor is None:
                return "unknown", S, z, it
        step, u, cg = _newton_direction(X32, p32, g32, factor, gn)
        refresh = cg > REFRESH_CG
        slope = float(g @ step)
        if not slope < 0:
            return "unknown", S, z, it
        ray = _separating_ray(Xn, S, step, z, u)
        if ray is not None:
            return "separable", *ray, it + 1
        t = _lse_step_length(z, u, lse, slope, gn)
        if t is None:
            return "unknown", S, z, it
        S = S + t * step
    return "unknown", S, Xn @ S, max_iter


def _gradient_verdict(gn: float, gn_prev: float, may_diverge: bool) -> str | None:
    """Newton's verdict from gn = |g|_inf / max|x| (gn_prev: the previous step's), g = X^T softmax(X S).

    g is a point of the hull: on a separable set |g| is at least the margin M and grows again as S runs off along
    the separator (measured at N = 2400, d = 1191: from ~5e-3 after 4-5 steps to ~5e-2), while on an inseparable
    one it falls to 0, quadratically at the end. So: "inseparable" once gn <= NEWTON_GTOL, or once gn is below
    1e-2 FARKAS_TOLERANCE and has stopped falling (it has reached rounding); "diverging" (if ``may_diverge``)
    when gn grew 1.5-fold to above 1e-4; None to go on."""
    if gn <= NEWTON_GTOL or (gn <= 0.01 * FARKAS_TOLERANCE and gn > 0.5 * gn_prev):
        return "inseparable"
    if may_diverge and gn > max(1.5 * gn_prev, 1e-4):
        return "diverging"
    return None


def _lse_hessian(X: np.ndarray, p: np.ndarray, g: np.ndarray, jitter: float) -> np.ndarray:
    """Hess F = X^T (diag p - p p^T) X = X^T diag(p) X - g g^T of F(S) = log sum exp(X S) (p = softmax(X S),
    g = X^T p), in X's float type, plus jitter tr(H)/d on the diagonal: H is positive semi-definite, but rounding
    (float32's above all) can leave it indefinite."""
    d = X.shape[1]
    Xp = X * np.sqrt(p)[:, None]
    H = Xp.T @ Xp
    H -= np.outer(g, g)
    H[np.diag_indices(d)] += jitter * np.trace(H) / d
    return H


def _cholesky_or_none(H: np.ndarray):
    """Cholesky factor of H (``cho_factor``), None if H is not positive definite in its float type."""
    try:
        return cho_factor(H, check_finite=False)
    except np.linalg.LinAlgError:
        return None


def _newton_direction(X32: np.ndarray, p32: np.ndarray, g32: np.ndarray, factor, gn: float):
    """Newton's step s from H s = -g by preconditioned conjugate gradients (``_pcg``) with float32 products
    H v = X^T (p * X v) - g (g.v) (two passes over X), preconditioned by the Cholesky ``factor`` of an H (perhaps
    an earlier iterate's), to a residual of max(min(0.1, sqrt(gn)), 1e-5) |g|: a rough step far from the optimum,
    a tight one near it. Returns (s, X s, CG steps), s and X s in float64."""

    def hessian_times(v):
        """(H v, X v) in float32."""
        v = v.astype(np.float32)
        xv = X32 @ v
        return X32.T @ (p32 * xv) - g32 * (g32 @ v), xv

    step, u, cg = _pcg(hessian_times, -g32, lambda r: cho_solve(factor, r, check_finite=False),
                       tol=max(min(0.1, np.sqrt(gn)), 1e-5) * float(np.linalg.norm(g32)))
    return step.astype(float), u.astype(float), cg


def _lse_step_length(z: np.ndarray, u: np.ndarray, lse: float, slope: float, gn: float) -> float | None:
    """Newton's step length t along s, from z = X S, u = X s, lse = F(S) and slope = g.s < 0, on
    F(S + t s) = logsumexp(z + t u) (O(N) per trial): far from the optimum (gn > 1e-8) the minimiser of F on
    [0, 2] (bounded search to 1e-3) where it beats the full step, else t = 1; then halved until Armijo's
    F(S + t s) <= F(S) + 1e-4 t slope holds. None when that needs t <= 1e-10 (no descent)."""
    t = 1.0
    if gn > 1e-8:  # far from the optimum a longer or shorter step pays; near it, the full Newton step
        res = minimize_scalar(lambda t: logsumexp(z + t * u), bounds=(0.0, 2.0), method="bounded",
                              options={"xatol": 1e-3})
        if res.fun < logsumexp(z + u):
            t = float(res.x)
    while logsumexp(z + t * u) > lse + 1e-4 * t * slope and t > 1e-10:  # Armijo
        t *= 0.5
    return None if t <= 1e-10 else t


def _separating_ray(Xn: np.ndarray, S: np.ndarray, step: np.ndarray, z: np.ndarray, u: np.ndarray):
    """(S + t s, X (S + t s)) when the point at ``_separating_length``'s t (found from u = X s, accumulated in
    float32) separates the set, as checked in float64; None otherwise."""
    t = _separating_length(z, u)
    if t is None:
        return None
    z_ray = Xn @ (S + t * step)
    return (S + t * step, z_ray) if z_ray.max() < 0 else None


def _separating_length(z: np.ndarray, u: np.ndarray) -> float | None:
    """A t > 0 with z + t u < 0 in every component (the ray S + t s separates the set when z = X S, u = X s),
    the middle of the open interval of such t; None if there is none. A separable set often has such a ray a
    Newton step or more before an iterate separates by itself."""
    neg, pos = u < 0, u > 0
    if np.any((z >= 0) & ~neg):
        return None
    lo = max(0.0, float((z[neg] / -u[neg]).max())) if neg.any() else 0.0
    hi = float((-z[pos] / u[pos]).min()) if pos.any() else np.inf
    if not lo < hi:
        return None
    return 2.0 * lo + 1.0 if hi == np.inf else 0.5 * (lo + hi)


def _pcg(apply, b, precondition, tol: float, max_iter: int = 50):
    """Preconditioned conjugate gradients for A x = b (A symmetric positive definite), where ``apply(v)`` returns
    (A v, X v): (x, X x, iterations), X x accumulated from the products (no extra pass over X)."""
    x = precondition(b)
    Ax, Xx = apply(x)
    r = b - Ax
    y = precondition(r)
    q, ry = y, float(r @ y)
    for k in range(max_iter):
        if np.linalg.norm(r) <= tol:
            return x, Xx, k
        Aq, Xq = apply(q)
        alpha = ry / float(q @ Aq)
        x, Xx, r = x + alpha * q, Xx + alpha * Xq, r - alpha * Aq
        y = precondition(r)
        ry, ry_old = float(r @ y), ry
        q = y + (ry / ry_old) * q
    return x, Xx, max_iter


class _RowGram:
    """The Gram matrix X_U X_U^T of the rows U seen so far, grown as rows are asked for: a snap's exchange rounds
    and the later snaps of one interior-point run (whose guessed supports differ by a few rows) each pay only
    for their new rows (k |U| d), not for a whole Gram (|B|^2 d)."""

    def __init__(self, Xn: np.ndarray):
        self.Xn = Xn
        self.rows = np.empty(0, dtype=int)
        self.at = np.full(len(Xn), -1)
        self.G = np.empty((0, 0))

    def block(self, B: np.ndarray) -> np.ndarray:
        """X_B X_B^T."""
        new = B[self.at[B] < 0]
        if len(new):
            m, k = len(self.rows), len(new)
            Xnew = self.Xn[new]
            G = np.empty((m + k, m + k))
            G[:m, :m] = self.G
            G[m:, :m] = Xnew @ self.Xn[self.rows].T
            G[:m, m:] = G[m:, :m].T
            G[m:, m:] = Xnew @ Xnew.T
            self.G, self.rows = G, np.concatenate([self.rows, new])
            self.at[new] = np.arange(m, m + k)
        at = self.at[B]
        return self.G[np.ix_(at, at)]


def _snap_margin(Xn: np.ndarray, B: np.ndarray, rounds: int = 3, gram: _RowGram | None = None):
    """Hull weights from a guessed support B of the max-margin problem: X_B X_B^T alpha_B = 1 (w = X_B^T alpha_B
    has x_i.w = 1 on B), normalised to a = alpha / sum alpha, once alpha_B > 0 and every x_i.w >= 1 - 1e-9 (the
    KKT conditions of min |w|^2/2 s.t. X w >= 1, up to rounding). A guess off by a few points is repaired by
    up to ``rounds`` exchanges (rows with alpha_i <= 0 leave B, violated rows enter); None if that fails.
    ``gram`` keeps the rows' Gram matrix between calls."""
    B = np.asarray(B)
    gram = _RowGram(Xn) if gram is None else gram
    for _ in range(rounds):
        if len(B) == 0 or len(B) > Xn.shape[1]:
            return None
        try:
            aB = cho_solve(cho_factor(gram.block(B), check_finite=False), np.ones(len(B)), check_finite=False)
        except np.linalg.LinAlgError:
            return None
        leave = aB <= 0
        enter = np.flatnonzero(Xn @ (Xn[B].T @ aB) < 1.0 - 1e-9)
        enter = np.setdiff1d(enter, B)
        if not leave.any() and len(enter) == 0:
            a = np.zeros(len(Xn))
            a[B] = aB
            return a / a.sum()
        B = np.union1d(B[~leave], enter)
    return None


def _margin_ipm(Xn: np.ndarray, max_iter: int = 60):
    """Convex weights a of the nearest hull point, by Mehrotra's predictor-corrector interior point on
    min |w|^2/2 s.t. X w - s = 1, s >= 0 (dual alpha >= 0; at the optimum w = X^T alpha = p*/M^2). Each step
    solves (I + X^T D X) dw = rhs, D = alpha/s. Once the duality gap s.alpha is below 0.1 |w|^2 (and the
    primal residual below 0.1), each iterate's support {alpha_i > s_i} is snapped (``_snap_margin``, up to six
    exchange rounds on the Gram rows kept from earlier snaps) and the first exact optimum returned (snapping from
    0.1 rather than 3e-2 saved 10-40% of the solve at N = 2400, d = 1191-1560); None when the set is not
    separable (the hull point X^T alpha / sum alpha reaches the origin, or the iterates leave the interior) or no
    snap succeeds within ``max_iter`` steps."""
    with np.errstate(all="ignore"):  # a set that is not separable makes the iterates blow up: checked below
        return _margin_ipm_loop(Xn, max_iter)


def _margin_ipm_loop(Xn: np.ndarray, max_iter: int):
    """``_margin_ipm``'s iterations from w = 0, s = alpha = 1: residuals r_d = w - X^T alpha (dual) and
    r_p = X w - s - 1 (primal), duality measure mu = s.alpha / N; each iteration tries a snap once the gap is
    small, then takes a Mehrotra step (``_mehrotra_step``)."""
    n, d = Xn.shape
    w, s, al = np.zeros(d), np.ones(n), np.ones(n)
    amax = _abs_max(Xn)
    X32 = Xn.astype(np.float32)
    gram = _RowGram(Xn)
    for _ in range(max_iter):
        Xa = Xn.T @ al
        if np.linalg.norm(Xa) < 1e-8 * amax * float(al.sum()):
            return None  # the hull point X^T alpha / sum alpha (>= the margin) is at the origin: not separable
        rd = w - Xa
        rp = Xn @ w - s - 1.0
        mu = float(al @ s) / n
        ww = float(w @ w)
        if ww > 0 and mu * n < 0.1 * ww and np.abs(rp).max() < 0.1:
            a = _snap_margin(Xn, np.flatnonzero(al > s), rounds=6, gram=gram)
            if a is not None:
                return a
        if not np.isfinite(ww) or ww > 1e30:
            return None
        D = al / s
        if not np.isfinite(D).all():  # the iterates left the interior: no strictly separable set
            return None
        # far from the optimum, I + X^T D X formed and factored in float32 (half the cost) steers as well, unless
        # D's range would overflow it (a tiny margin makes some alpha_i / s_i huge early)
        C = _normal_factor(X32 if (ww == 0 or mu * n > 1e-2 * ww) and D.max() < 1e25 else Xn, D)
        if C is None:
            return None
        dw, ds, da, ap, ad = _mehrotra_step(Xn, C, D, rd, rp, s, al, mu)
        w, s, al = w + ap * dw, s + ap * ds, al + ad * da
        if not (np.isfinite(w).all() and s.min() > 0 and al.min() > 0):
            return None
    return None


def _normal_factor(Xs: np.ndarray, D: np.ndarray):
    """Cholesky factor of the normal matrix I + X^T D X, in Xs's float type (``_shifted_cholesky``; None if it does
    not factor). Rows with D_i below 1e-15 max D (far from their constraint) add nothing and are left out (late
    iterations: about half)."""
    keep = D > 1e-15 * D.max()
    Xd = Xs[keep] * np.sqrt(D[keep]).astype(Xs.dtype)[:, None]
    M = Xd.T @ Xd
    M[np.diag_indices(Xs.shape[1])] += 1.0
    return _shifted_cholesky(M)


def _ipm_direction(Xn: np.ndarray, C, D: np.ndarray, rd: np.ndarray, rp: np.ndarray, s: np.ndarray,
                   al: np.ndarray, rc: np.ndarray):
    """The Newton direction of the interior point's KKT system for the complementarity residual rc (s_i alpha_i
    - target): dw - X^T dalpha = -r_d, X dw - ds = -r_p, alpha ds + s dalpha = -rc. Eliminating ds and dalpha,
    (I + X^T D X) dw = -r_d - X^T (rc/s + D r_p) with D = alpha/s (C: its factor); then ds = X dw + r_p and
    dalpha = -(rc + alpha ds)/s."""
    rhs = -rd - Xn.T @ (rc / s + D * rp)
    dw = cho_solve(C, rhs.astype(C[0].dtype), check_finite=False).astype(float)
    ds = Xn @ dw + rp
    return dw, ds, -(rc + al * ds) / s


def _mehrotra_step(Xn: np.ndarray, C, D: np.ndarray, rd: np.ndarray, rp: np.ndarray, s: np.ndarray,
                   al: np.ndarray, mu: float):
    """Mehrotra's predictor-corrector: the affine direction (rc = s alpha), centring sigma = (mu_aff/mu)^3 from
    the duality measure its longest feasible step would reach, then the corrected direction (rc = s alpha +
    ds_aff dalpha_aff - sigma mu). Returns (dw, ds, dalpha, primal step, dual step), each step 0.995 of the way
    to the boundary s, alpha >= 0 (at most 1)."""
    n = len(s)
    dw, ds, da = _ipm_direction(Xn, C, D, rd, rp, s, al, al * s)
    ap, ad = _max_step(s, ds), _max_step(al, da)
    sigma = (float((s + ap * ds) @ (al + ad * da)) / n / mu) ** 3
    dw, ds, da = _ipm_direction(Xn, C, D, rd, rp, s, al, al * s + ds * da - sigma * mu)
    return dw, ds, da, 0.995 * _max_step(s, ds), 0.995 * _max_step(al, da)


def _shifted_cholesky(M: np.ndarray):
    """Cholesky factor of M, or of M + c eps tr(M)/d I (eps of M's float type) for the first c in 1, 100, 10^4
    that factors (None if none does). Near the optimum of a set whose margin is tiny (1e-4 of the data's scale),
    I + X^T D X spans more decades than float32 (or even float64) resolves; a step of the shifted system still
    steers the interior point to the support, which the snap then makes exact (a separable set at N = 2400,
    d = 1191 left the fast route for ``decide`` this way, ~10 s)."""
    shift = np.finfo(M.dtype).eps * float(np.trace(M)) / len(M)
    for k in range(4):
        C = _cholesky_or_none(M if k == 0 else M + shift * 100.0 ** (k - 1) * np.eye(len(M), dtype=M.dtype))
        if C is not None:
            return C
    return None


def _max_step(v: np.ndarray, dv: np.ndarray) -> float:
    """Largest t <= 1 with v + t dv >= 0."""
    neg = dv < 0
    return min(1.0, float((-v[neg] / dv[neg]).min())) if neg.any() else 1.0


def classify(X: np.ndarray, where: str = "this set", s_inf: bool = True) -> SetResult:
    """Certified separability of X's rows from the origin, with S_inf and m for an inseparable set (if ``s_inf``)
    or the max margin for a separable one: the answers of ``decide`` and ``inseparable_limit``, by the fast
    routes described above. The more likely verdict by Wendel's odds is tried first (Newton for P(separable)
    < 1/2, the interior point otherwise); a Newton solve whose gradient grows again hands over to the interior
    point early and resumes if that finds no margin. Certificates are checked against ``decide``'s tolerances; a
    set that does not certify on the fast routes goes to ``decide`` (which raises for a set too close to the
    boundary).
    """
    X = np.asarray(X, dtype=float)
    n, d = X.shape
    Xn, e = _unit_scale(X)
    newton_first = wendel_probability(n, d) < 0.5
    resume = None
    if newton_first:
        got, resume = _classify_inseparable(Xn, e, s_inf, hand_over=True)
        if got is not None:
            return got
    got = _classify_separable(Xn, e, "newton+ipm" if newton_first else "ipm")
    if got is not None:
        return got
    if not newton_first or resume is not None:
        got, _ = _classify_inseparable(Xn, e, s_inf, start=resume)
        if got is not None:
            return got
    res = decide(X, where=where)
    limit = inseparable_limit(X) if s_inf and not res.separable else None
    return SetResult(res, limit, "reference")


def _classify_separable(Xn: np.ndarray, e: int, route: str) -> SetResult | None:
    """The interior-point route: a certified separable result with its margin, None otherwise."""
    a = _margin_ipm(Xn)
    if a is None:
        return None
    mm = _max_margin_from(Xn, a)
    p = Xn.T @ a
    if not (mm.margin > 0 and mm.gap <= MARGIN_GAP_TOLERANCE * mm.margin):
        return None
    t, _ = _hull_point_lp(Xn, p)
    cert = _separator_margin(Xn, p, _abs_max(Xn))
    if not (t > LP_TOLERANCE and cert >= MARGIN_TOLERANCE):
        return None
    return SetResult(_separable_result(mm, e, p, cert, t), None, route)


def _classify_inseparable(Xn: np.ndarray, e: int, s_inf: bool, hand_over: bool = False,
                          start: tuple | None = None) -> tuple[SetResult | None, tuple | None]:
    """The Newton route (from ``start`` = (S, iterations so far) if given): (a certified inseparable result with
    Farkas weights softmax(X S_inf), None), or (None, where to resume) when Newton handed over (``hand_over``: its
    gradient grew), or (None, None) for a separable or undecided set."""
    S0, done = start if start is not None else (None, 0)
    status, S, z, iterations = _newton_lse(Xn, S=S0, hand_over=hand_over)
    iterations += done
    if status == "diverging":
        return None, (S, iterations)
    if status != "inseparable":
        return None, None
    n, d = Xn.shape
    lse = float(logsumexp(z))
    a, residual = _farkas_residual(Xn, np.exp(z - lse))
    if not residual <= FARKAS_TOLERANCE:
        return None, None
    res = _inseparable_result(d, a, residual)
    limit = None
    if s_inf:
        grad = float(np.linalg.norm(Xn.T @ a))
        limit = InseparableLimit(np.ldexp(S, -e), float(np.exp(lse) / n), float(np.ldexp(grad, e)), iterations)
    return SetResult(res, limit, "newton"), None
