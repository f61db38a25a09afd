"""Separability from the origin: the LP against Wendel's theorem and against a second solver (NNLS)."""

import numpy as np
import pytest
from scipy.optimize import linprog, minimize
from scipy.stats import chi2

from grokedge.separability import (
    FARKAS_TOLERANCE,
    MARGIN_TOLERANCE,
    _full_lp,
    _power_of_two_scale,
    classify,
    decide,
    inseparable_limit,
    lp_margin,
    max_margin,
    separable_from_origin,
    wendel_large_n,
    wendel_probability,
)

# (N, d) grid crossing lambda = 1/2; 60 sets each. Gaussian points are origin-symmetric, so the separable
# count of each cell is Binomial(60, Wendel(N, d)).
GRID = [(10, 2), (10, 5), (10, 8), (30, 12), (30, 15), (30, 18), (60, 27), (60, 30), (60, 33)]
SETS = 60


def _fraction(decide, N, d, rng):
    return np.mean([decide(rng.standard_normal((N, d))) for _ in range(SETS)])


def _chi_square_p(decide, seed):
    """Pearson chi-square of the separable counts against Wendel, one degree of freedom per cell."""
    rng = np.random.default_rng(seed)
    stat = 0.0
    for N, d in GRID:
        p = wendel_probability(N, d)
        k = _fraction(decide, N, d, rng) * SETS
        stat += (k - SETS * p) ** 2 / (SETS * p * (1 - p))
    return chi2.sf(stat, df=len(GRID))


def test_wendel_formula_small_cases():
    # N = 2 points are separable unless they are on opposite rays: probability 1/2 for d = 1, 1 for d >= 2.
    assert wendel_probability(2, 1) == pytest.approx(0.5)
    assert wendel_probability(2, 2) == pytest.approx(1.0)
    # 2^-(N-1) sum_{k<d} C(N-1, k), by hand for N = 4, d = 2: (1 + 3) / 8
    assert wendel_probability(4, 2) == pytest.approx(0.5)
    # at d = N/2 the binomial Bin(N-1, 1/2) with N-1 odd is symmetric about (N-1)/2: exactly one half
    assert wendel_probability(400, 200) == pytest.approx(0.5, abs=1e-12)
    # d >= N: always separable (N points in general position in R^N)
    assert wendel_probability(10, 10) == pytest.approx(1.0)


def test_large_n_form_approaches_wendel():
    for N in (400, 4000):
        for lam in (0.45, 0.5, 0.55):
            d = int(lam * N)
            assert wendel_large_n(lam, d) == pytest.approx(wendel_probability(N, d), abs=0.06)


def test_lp_matches_wendel_goodness_of_fit():
    """False-alarm rate 1e-3: the chi-square p-value of a correct LP falls below 1e-3 once in a thousand seeds."""
    assert _chi_square_p(separable_from_origin, seed=1) > 1e-3


def test_goodness_of_fit_catches_linprogs_default_bounds():
    """The classic bug: linprog's default bounds S >= 0 make separability look rare. The same test rejects it."""

    def wrong(X):
        n, d = X.shape
        c = np.zeros(d + 1)
        c[-1] = -1
        res = linprog(c, A_ub=np.hstack([-X, np.ones((n, 1))]), b_ub=np.zeros(n),
                      bounds=[(0, 1)] * d + [(None, 1)], method="highs")
        return -res.fun > 1e-9

    assert _chi_square_p(wrong, seed=1) < 1e-6


def test_lp_and_nnls_agree_and_margin_is_certified():
    rng = np.random.default_rng(3)
    for N, d in [(40, 15), (40, 20), (40, 25), (100, 50), (2, 1), (5, 1)]:
        for _ in range(10):
            X = 5 * rng.standard_normal((N, d))
            mm = max_margin(X)
            assert separable_from_origin(X) == (mm.margin > 0)
            if mm.margin > 0:
                # the separator achieves the margin: S*.x_i <= -1 with |S*| = 1/M, and the gap is ~0
                assert (X @ mm.separator).max() <= -1 + 1e-8
                assert np.linalg.norm(mm.separator) == pytest.approx(1 / mm.margin, rel=1e-8)
                assert abs(mm.gap) < 1e-8 * mm.margin + 1e-12
                assert lp_margin(X) > 0


def test_margin_against_independent_qp():
    """Distance from the origin to the hull by SLSQP on the simplex (an independent solver)."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((12, 8)) + np.array([1.5] + [0] * 7)
    n = len(X)
    res = minimize(lambda a: np.sum((X.T @ a) ** 2), np.full(n, 1 / n), jac=lambda a: 2 * X @ (X.T @ a),
                   bounds=[(0, None)] * n, constraints=[{"type": "eq", "fun": lambda a: a.sum() - 1}],
                   method="SLSQP", options={"ftol": 1e-14, "maxiter": 1000})
    assert max_margin(X).margin == pytest.approx(np.sqrt(res.fun), rel=1e-5)


def test_s_inf_is_the_minimiser():
    rng = np.random.default_rng(5)
    X = 5 * rng.standard_normal((60, 20))
    assert not separable_from_origin(X)
    lim = inseparable_limit(X)
    mean_exp = lambda S: np.mean(np.exp(X @ S))  # noqa: E731
    assert lim.m == pytest.approx(mean_exp(lim.s_inf), rel=1e-12)
    # stationarity and an independent optimiser
    assert np.linalg.norm(X.T @ np.exp(X @ lim.s_inf)) / len(X) < 1e-8
    ref = minimize(mean_exp, np.zeros(20), jac=lambda S: X.T @ np.exp(X @ S) / len(X), method="BFGS",
                   options={"gtol": 1e-12})
    assert np.allclose(lim.s_inf, ref.x, atol=1e-5)


def test_s_inf_of_a_nearly_separable_set_below_the_float64_resolution_of_its_loss():
    # a set of the critical_scaling grid at sigma = 5 (N = 100, d = 44, sigma |S_inf| ~ 185): Newton's decrement
    # fell below float64's resolution of log sum exp while |grad| was still 3.9e-10 > the tolerance, and the line
    # search stalled for 500 iterations (was: RuntimeError "Newton did not reach |grad| <= 1e-10")
    from grokedge import data
    X = data.realisation(100, 44, 5.0, 6982288015261995289).X
    assert not separable_from_origin(X)
    lim = inseparable_limit(X)
    assert lim.grad_norm <= 1e-10 * np.linalg.norm(X, axis=1).max()
    # an independent check of the minimum: (1/N) sum exp(S.x) does not fall along any of many random directions
    mean_exp = lambda S: np.mean(np.exp(X @ S))  # noqa: E731
    assert lim.m == pytest.approx(mean_exp(lim.s_inf), rel=1e-12)
    rng = np.random.default_rng(0)
    for u in rng.standard_normal((50, 44)):
        u *= 1e-4 * np.linalg.norm(lim.s_inf) / np.linalg.norm(u)
        assert min(mean_exp(lim.s_inf + u), mean_exp(lim.s_inf - u)) >= lim.m * (1 - 1e-12)


def test_s_inf_refuses_separable_set():
    X = np.abs(np.random.default_rng(6).standard_normal((20, 3)))  # all in the positive orthant
    with pytest.raises(ValueError, match="separable"):
        inseparable_limit(X)


@pytest.mark.parametrize("seed", range(4))
def test_s_inf_refuses_a_separable_gaussian_set_by_name(seed):
    """Generic separable sets (lambda = 0.6, Wendel's odds ~0.98) can make Newton stall on a singular Hessian or
    run out of iterations rather than fail its line search: the error still says the set is separable, and the
    LP agrees."""
    X = np.random.default_rng(seed).standard_normal((100, 60))
    assert decide(X).separable
    with pytest.raises(ValueError, match="separable"):
        inseparable_limit(X, max_iter=60)


def _check_certificate(X, res):
    """Recheck ``decide``'s certificate from scratch, in O(N d)."""
    amax = np.abs(X).max()
    if res.separable:
        S = res.cert_vector
        assert (X @ S).min() / (np.linalg.norm(S) * amax) == pytest.approx(res.cert_margin, rel=1e-6)
        assert (X @ S).min() > 0 and res.cert_margin >= MARGIN_TOLERANCE
    else:
        a = res.cert_vector
        assert a.min() >= 0 and a.sum() == pytest.approx(1, abs=1e-12)
        assert np.abs(X.T @ a).max() / amax == pytest.approx(res.cert_residual, rel=1e-6, abs=1e-17)
        assert res.cert_residual <= FARKAS_TOLERANCE


def test_decide_agrees_with_the_cold_lp_and_certifies_every_verdict():
    """The warm working-set LP against the earlier cold box LP, on both sides of lambda = 1/2 and on d >= N
    (where the whole LP is solved), with every certificate rechecked."""
    rng = np.random.default_rng(7)
    paths = set()
    for N, d in [(40, 15), (40, 20), (40, 25), (100, 50), (100, 48), (5, 1), (6, 8), (200, 99)]:
        for _ in range(8):
            X = 5 * rng.standard_normal((N, d))
            res = decide(X)
            assert res.separable == (lp_margin(X) > 1e-7 * np.abs(X).max())
            assert res.separable == (max_margin(X).margin > 0)
            _check_certificate(X, res)
            paths.add("closed form" if res.lp_solves == 0 else "whole" if res.lp_full else "working set")
            t, _, _ = _full_lp(np.ldexp(X, -_power_of_two_scale(X)), np.zeros(d))  # the cold fallback
            assert (t > 1e-7) == res.separable
    assert paths >= {"closed form", "working set"}  # separable sets from NNLS's point, inseparable by HiGHS


def test_constructed_separable_set():
    """All points in the half-space x_1 >= 1/2: separable with a certified margin of at least 1/2 / max|x|."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((300, 120))
    X[:, 0] = 0.5 + np.abs(X[:, 0])
    res = decide(X)
    assert res.separable and res.certificate == "separator" and res.lp_optimum == pytest.approx(1.0)
    _check_certificate(X, res)
    # min_i S.x_i/|S| <= M (the max-margin distance) for every S, with equality for S = e_1 on this set's
    # face x_1 = 1/2 only if the NNLS found it; the certified margin is positive and at most M / max|x|
    assert res.margin >= 0.5 * (1 - 1e-9)
    assert 0 < res.cert_margin <= res.margin / np.abs(X).max() * (1 + 1e-9)


def test_constructed_inseparable_set():
    """Points in +- pairs: the origin is the mean of each pair, so a = 1/N is a Farkas certificate."""
    rng = np.random.default_rng(9)
    Y = rng.standard_normal((150, 200))
    X = np.vstack([Y, -Y])
    res = decide(X)
    assert not res.separable and res.certificate == "farkas" and res.lp_optimum == pytest.approx(0.0, abs=1e-9)
    _check_certificate(X, res)


def _hull_at_distance(delta, seed=10, n=120, d=40):
    """Points whose convex hull is at distance exactly ``delta`` from the origin (max |x_ij| ~ 3): a cloud
    in the plane x_1 = delta whose projection surrounds the origin, plus points with x_1 > delta."""
    rng = np.random.default_rng(seed)
    Y = rng.standard_normal((n, d - 1))
    Y = np.vstack([Y, -Y])  # the origin of R^(d-1) is inside their hull
    face = np.hstack([np.full((len(Y), 1), delta), Y])
    above = rng.standard_normal((n, d))
    above[:, 0] = delta + np.abs(above[:, 0]) + 0.1
    return np.vstack([face, above])


def test_near_degenerate_set_fails_loudly():
    """A hull passing 1e-13 (relative) from the origin is between the two certificates' tolerances: refused,
    with the set named, instead of being classified."""
    X = _hull_at_distance(1e-13 * 3)
    with pytest.raises(RuntimeError, match="cell X realisation 3.*cannot be classified"):
        decide(X, where="cell X realisation 3")
    # farther from the boundary on either side, the same construction is classified and certified
    X = _hull_at_distance(1e-6)
    res = decide(X)
    assert res.separable
    _check_certificate(X, res)
    X = _hull_at_distance(0.0)  # the origin on the hull: not strictly separable, Farkas holds
    res = decide(X)
    assert not res.separable
    _check_certificate(X, res)


@pytest.mark.parametrize("factor", [1e-300, 1e300, 3.0])
def test_decision_is_scale_independent(factor):
    """Tolerances are relative to max |x_ij|: scaling X by 1e-300 or 1e300 changes neither the verdict nor the
    normalised certificate; lengths (the margin) scale with X."""
    rng = np.random.default_rng(11)
    for d in (30, 70):
        X = rng.standard_normal((100, d))
        ref, res = decide(X), decide(X * factor)
        assert res.separable == ref.separable
        if ref.separable:
            assert res.cert_margin == pytest.approx(ref.cert_margin, rel=1e-6)
            assert res.margin == pytest.approx(ref.margin * factor, rel=1e-9)
        else:
            assert res.cert_residual <= FARKAS_TOLERANCE


def test_decide_refuses_empty_scale():
    with pytest.raises(ValueError, match="max"):
        decide(np.zeros((5, 2)))


@pytest.mark.parametrize("factor", [1e-300, 1e300])
def test_s_inf_is_scale_covariant(factor):
    """S_inf(c X) = S_inf(X) / c and m is unchanged: the Newton solver does not under- or overflow."""
    X = 5 * np.random.default_rng(12).standard_normal((60, 20))
    ref, lim = inseparable_limit(X), inseparable_limit(X * factor)
    assert np.allclose(lim.s_inf * factor, ref.s_inf, rtol=1e-8, atol=0)
    assert lim.m == pytest.approx(ref.m, rel=1e-10)


# --- classify: the fast routes against decide / inseparable_limit / NNLS ------------------------------------------


def _check_against_reference(X, got, s_inf=True):
    """``classify``'s answer against ``decide`` (verdict), NNLS (margin) and the dense Newton (S_inf, m), with its
    certificate rechecked from scratch."""
    ref = decide(X)
    assert got.decision.separable == ref.separable
    _check_certificate(X, got.decision)
    if got.route == "reference":
        return
    if ref.separable:
        mm = max_margin(X)
        assert got.decision.margin == pytest.approx(mm.margin, rel=1e-8)
        assert abs(got.decision.margin_gap) <= max(1e-8 * mm.margin + 1e-12, mm.gap)
        assert (X @ got.decision.separator).max() <= -1 + 1e-8
        assert got.limit is None
    elif s_inf:
        lim = inseparable_limit(X)
        assert got.limit.m == pytest.approx(lim.m, rel=1e-10)
        assert np.allclose(got.limit.s_inf, lim.s_inf, rtol=0, atol=1e-6 * np.linalg.norm(lim.s_inf))
        assert got.limit.m == pytest.approx(np.mean(np.exp(X @ got.limit.s_inf)), rel=1e-12)


def test_classify_matches_the_reference_on_random_sets():
    """Gaussian sets on both sides of lambda = 1/2 (so both orders of the routes) and tiny ones (d >= N among
    them), every answer against the LP, NNLS and the dense Newton."""
    rng = np.random.default_rng(13)
    routes = set()
    for N, d in [(200, 60), (200, 96), (200, 100), (200, 104), (200, 120), (60, 40), (30, 15), (5, 1), (2, 1), (6, 8)]:
        for _ in range(3):
            X = 3 * rng.standard_normal((N, d))
            got = classify(X)
            routes.add(got.route)
            _check_against_reference(X, got)
    assert {"newton", "ipm"} <= routes  # both fast routes were exercised


def test_classify_separable_set_found_by_newton():
    """A separable set where Wendel's odds say inseparable: Newton finds the separator, the interior point the
    margin."""
    rng = np.random.default_rng(14)
    X = rng.standard_normal((200, 40))
    X[:, 0] = 0.3 + np.abs(X[:, 0])
    got = classify(X)
    assert got.route == "newton+ipm"
    _check_against_reference(X, got)


def test_classify_constructed_sets():
    """+-pairs (a = 1/N is a Farkas certificate) and hulls at a distance of 1e-6 and 0 from the origin (the
    latter: inseparable, with the origin on the hull's boundary)."""
    rng = np.random.default_rng(15)
    Y = rng.standard_normal((150, 200))
    got = classify(np.vstack([Y, -Y]), s_inf=False)
    assert not got.decision.separable and got.limit is None
    _check_certificate(np.vstack([Y, -Y]), got.decision)
    X = _hull_at_distance(1e-6)
    _check_against_reference(X, classify(X))
    X = _hull_at_distance(0.0)
    got = classify(X, s_inf=False)
    assert not got.decision.separable  # F has no minimiser; Newton's gradient still falls to a Farkas certificate
    _check_certificate(X, got.decision)


def test_classify_refuses_a_near_degenerate_set():
    """Between the two certificates' tolerances: the fast routes do not certify, the reference refuses it."""
    with pytest.raises(RuntimeError, match="cell Y realisation 1.*cannot be classified"):
        classify(_hull_at_distance(1e-13 * 3), where="cell Y realisation 1")


@pytest.mark.parametrize("factor", [1e-300, 1e300])
def test_classify_is_scale_covariant(factor):
    rng = np.random.default_rng(16)
    for d in (40, 60):
        X = rng.standard_normal((100, d))
        ref, got = classify(X), classify(X * factor)
        assert got.decision.separable == ref.decision.separable and got.route == ref.route
        if ref.decision.separable:
            assert got.decision.margin == pytest.approx(ref.decision.margin * factor, rel=1e-9)
        else:
            assert np.allclose(got.limit.s_inf * factor, ref.limit.s_inf, rtol=1e-8)
            assert got.limit.m == pytest.approx(ref.limit.m, rel=1e-10)


def _check_margin_kkt(X, got):
    """KKT conditions of the nearest hull point p* = X^T a from scratch: a in the simplex, every x_i.p*/|p*| >= |p*|
    (the hull lies beyond the plane through p* normal to it), with equality on the support of a (up to 1e-9 of
    the data's scale)."""
    a = np.zeros(len(X))
    p = -got.decision.separator * got.decision.margin**2  # S* = -p*/M^2
    dist, tol = X @ p / np.linalg.norm(p), 1e-9 * np.abs(X).max()
    assert np.all(dist >= np.linalg.norm(p) - tol)
    a_support = dist <= np.linalg.norm(p) + tol
    # p* is a convex combination of the rows on the plane: NNLS on those rows alone reproduces it
    from scipy.optimize import nnls
    A = np.vstack([X[a_support].T, np.ones(a_support.sum())])
    u, res = nnls(A, np.r_[p, 1.0])
    a[a_support] = u
    assert res <= 1e-8 * max(1.0, np.linalg.norm(p)) and a.min() >= 0


def _generic_face_at_distance(delta, seed=20, n=200, d=60, k=30):
    """A separable set whose nearest hull point is delta e_1 (margin delta): k points on the plane x_1 = delta,
    generic (so the support is k <= d points of full rank, unlike ``_hull_at_distance``'s symmetric face) with
    weights c > 0 making delta e_1 their convex combination, and n - k points with x_1 > delta + 0.1."""
    rng = np.random.default_rng(seed)
    Y = rng.standard_normal((k, d - 1))
    c = rng.uniform(0.5, 1.5, k - 1)
    Y[-1] = -(c @ Y[:-1])  # sum_j c_j y_j + y_k = 0: the origin of R^(d-1) is in the face's hull
    face = np.hstack([np.full((k, 1), delta), Y])
    above = rng.standard_normal((n - k, d))
    above[:, 0] = delta + 0.1 + np.abs(above[:, 0])
    return rng.permutation(np.vstack([face, above]))


@pytest.mark.parametrize("delta", [1e-4, 1e-2, 0.3])
def test_classify_margin_kkt_on_constructed_sets(delta):
    """Sets with a known margin delta: the margin is delta, its separator satisfies the KKT conditions, and NNLS
    (a second solver) agrees. (A margin of 1e-4 of the data's scale is below what the interior point's duality
    gap certifies: that set goes to ``decide``, as before.)"""
    X = _generic_face_at_distance(delta)
    got = classify(X)
    assert got.decision.separable and got.route == ("reference" if delta < 1e-3 else "newton+ipm")
    assert got.decision.margin == pytest.approx(delta, rel=1e-8)
    assert got.decision.margin == pytest.approx(max_margin(X).margin, rel=1e-8)
    _check_margin_kkt(X, got)
    _check_certificate(X, got.decision)


def test_classify_separable_near_lambda_half_hands_over_and_matches_nnls():
    """Gaussian sets just below lambda = 1/2 (Newton first): the separable ones, which Newton hands over to the
    interior point, get NNLS's margin and pass the KKT check; the inseparable ones Newton's S_inf."""
    rng = np.random.default_rng(17)
    routes = set()
    for _ in range(12):
        X = rng.standard_normal((240, 116))
        got = classify(X)
        routes.add(got.route)
        _check_against_reference(X, got)
        if got.decision.separable:
            _check_margin_kkt(X, got)
    assert {"newton", "newton+ipm"} <= routes


def test_newton_resumes_where_it_handed_over():
    """An inseparable set whose Newton solve is interrupted (here after two steps) and resumed from that S gets
    the S_inf and m of the dense Newton, as if it had run through."""
    from grokedge.separability import _classify_inseparable, _newton_lse

    X = 3 * np.random.default_rng(18).standard_normal((200, 80))
    e = _power_of_two_scale(X)
    Xn = np.ldexp(X, -e)
    status, S, _, k = _newton_lse(Xn, max_iter=2)
    assert status == "unknown" and k == 2
    got, resume = _classify_inseparable(Xn, e, True, start=(S, k))
    assert resume is None and got.limit.iterations > k
    _check_against_reference(X, got)


def test_separating_length():
    from grokedge.separability import _separating_length

    z = np.array([1.0, -1.0, -2.0])
    assert _separating_length(z, np.array([-1.0, 1.0, 0.5])) is None  # needs t > 1 and t < 1
    u = np.array([-1.0, 0.1, 0.5])  # t in (1, 4)
    t = _separating_length(z, u)
    assert t == pytest.approx(2.5) and np.all(z + t * u < 0)
    assert _separating_length(np.array([1.0, 0.0]), np.array([-1.0, 0.0])) is None  # z = 0 row never moves
    assert _separating_length(np.array([1.0, -1.0]), np.array([-1.0, 2.0])) is None  # t > 1 and t < 1/2
    t = _separating_length(np.array([1.0, -1.0]), np.array([-1.0, -1.0]))  # unbounded above
    assert t > 1 and np.all(np.array([1.0, -1.0]) + t * np.array([-1.0, -1.0]) < 0)


def test_row_gram_blocks_match_direct_products():
    from grokedge.separability import _RowGram

    X = np.random.default_rng(19).standard_normal((50, 7))
    gram = _RowGram(X)
    for B in (np.array([3, 9, 20]), np.array([1, 3, 20, 44]), np.arange(0, 50, 3), np.array([44, 1])):
        assert np.allclose(gram.block(B), X[B] @ X[B].T, rtol=1e-13, atol=1e-13)
