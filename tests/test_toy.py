"""Physics tests of the 1-D toy model (grokedge.toy): exact solutions, asymptotics, overflow, cross-checks.

The closed forms below are derived independently of the code (sigma = 1, x_1 = -1):

* x_2 = +1 (lambda = 0): db/dt = -e^b cosh S, dS/dt = -e^b sinh S. In conformal time dS/dtau = -sinh S and
  db/dS = coth S, so b = b0 + log(sinh S / sinh S0), and t = int e^{-b} dtau = e^{-b0} sinh S0 (coth S - coth S0):
  S(t) = arccoth(coth S0 + t e^{b0} / sinh S0)  (S0 = 0: S = 0, b = b0 - log(1 + t e^{b0})).
* x_2 = 0 (lambda = 1/2): dS/dtau = e^{-S}/2, db/dtau = -(e^{-S} + 1)/2, so e^S = e^{S0} + tau/2,
  b = b0 - tau/2 - (S - S0), t = e^{-b0-S0} [2 (e^{S0} - 1)(e^{tau/2} - 1) + tau e^{tau/2}]; for S0 = b0 = 0,
  t = tau e^{tau/2}, i.e. tau = 2 W(t/2) (Lambert W), S = log(1 + W), b = -W - log(1 + W).
* x_2 = -1 (lambda = 1): both points coincide, z = b - S obeys dz/dt = -2 e^z, so with z0 = b0 - S0,
  S = S0 + log(1 + 2 t e^{z0})/2, b = b0 - log(1 + 2 t e^{z0})/2.
"""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.special import lambertw

from grokedge import toy

LN10 = math.log(10.0)


def run_at(lam, sigma, log10_t, S0=0.0, b0=0.0, **kw):
    """(S, b) of the library's integrator at flow times 10**log10_t."""
    log10_t = np.asarray(log10_t, dtype=float)
    run = toy.integrate(lam, sigma, float(log10_t.max()), log10_t_eval=log10_t, S0=S0, b0=b0, **kw)
    return run.sol.y[0], run.sol.y[1]


# ------------------------------------------------------------------------------------- exact special cases
@pytest.mark.parametrize("S0,b0", [(0.7, 0.3), (0.0, -0.5)])
def test_symmetric_points_closed_form(S0, b0):
    log10_t = np.linspace(-2, 12, 29)
    S, b = run_at(0.0, 1.0, log10_t, S0, b0)
    t = 10.0**log10_t
    if S0 == 0.0:
        S_ex, b_ex = np.zeros_like(t), b0 - np.log1p(t * math.exp(b0))
    else:
        S_ex = np.arctanh(1.0 / (1.0 / math.tanh(S0) + t * math.exp(b0) / math.sinh(S0)))
        b_ex = b0 + np.log(np.sinh(S_ex) / math.sinh(S0))
    np.testing.assert_allclose(S, S_ex, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(b, b_ex, rtol=1e-8, atol=1e-8)


def test_edge_point_closed_form_lambert():
    log10_t = np.linspace(-2, 100, 103)
    S, b = run_at(0.5, 1.0, log10_t)
    W = lambertw(10.0**log10_t / 2.0).real
    np.testing.assert_allclose(S, np.log1p(W), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(b, -W - np.log1p(W), rtol=1e-8)


def test_edge_point_closed_form_parametric():
    S0, b0 = 0.5, -0.2
    tau = np.linspace(0.05, 400.0, 60)
    # log t(tau), written overflow-free: t = e^{-b0-S0} e^{tau/2} [2 (e^{S0}-1)(1 - e^{-tau/2}) + tau]
    log_t = -b0 - S0 + tau / 2 + np.log(2 * math.expm1(S0) * -np.expm1(-tau / 2) + tau)
    S, b = run_at(0.5, 1.0, log_t / LN10, S0, b0)
    S_ex = np.log(math.exp(S0) + tau / 2)
    np.testing.assert_allclose(S, S_ex, rtol=1e-7)
    np.testing.assert_allclose(b, b0 - tau / 2 - (S_ex - S0), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("S0,b0", [(0.0, 0.0), (0.4, -1.0)])
def test_coincident_points_closed_form(S0, b0):
    log10_t = np.linspace(-2, 100, 52)
    S, b = run_at(1.0, 1.0, log10_t, S0, b0)
    half_log = 0.5 * np.logaddexp(0.0, math.log(2.0) + log10_t * LN10 + (b0 - S0))
    np.testing.assert_allclose(S, S0 + half_log, rtol=1e-8)
    np.testing.assert_allclose(b, b0 - half_log, rtol=1e-8)


def test_edge_invariant_any_sigma():
    # At lambda = 1/2 (x_2 = 0), for any sigma: e^{sigma S} = e^{sigma S0} + sigma^2 tau / 2 and
    # b = b0 - tau/2 - (S - S0)/sigma, so b + (S - S0)/sigma + (e^{sigma S} - e^{sigma S0})/sigma^2 = b0.
    sigma, S0, b0 = 5.0, 0.1, 0.2
    S, b = run_at(0.5, sigma, np.linspace(-2, 100, 52), S0, b0)
    inv = b + (S - S0) / sigma + (np.exp(sigma * S) - math.exp(sigma * S0)) / sigma**2
    # tolerance relative to the cancelling terms (|b| ~ e^{sigma S}/sigma^2 ~ 230 at t = 1e100)
    np.testing.assert_allclose(inv, b0, atol=1e-8 * np.abs(b).max())
    # and hence S ~ log(log t)/sigma: sigma S = log(sigma^2 tau/2) with tau ~ 2 log t at late times
    log_t = 100 * LN10
    assert abs(sigma * S[-1] - math.log(sigma**2 * log_t)) < 0.05


# -------------------------------------------------------------------------------------------- asymptotics
@pytest.mark.parametrize("lam,sigma", [(0.3, 2.0), (0.45, 5.0), (0.1, 20.0)])
def test_s_inf_matches_late_time(lam, sigma):
    S, _ = run_at(lam, sigma, np.array([60.0, 80.0]))
    assert S[-1] == pytest.approx(toy.s_inf(lam, sigma), rel=1e-7)
    # and S_inf is the zero of dS/dtau
    x = toy.train_points(lam, sigma)
    assert toy.rhs_conformal(0.0, np.array([toy.s_inf(lam, sigma), 0.0, 1.0]), x)[0] == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("lam,sigma", [(0.75, 1.0), (0.6, 5.0)])
def test_separable_regime_rates(lam, sigma):
    # lambda > 1/2: b ~ -log t/(1 + sigma^2 M^2), S ~ sigma M log t/(1 + sigma^2 M^2), M = 2 lambda - 1;
    # compare slopes d/d(log t) between t = 1e80 and 1e100 (constant offsets cancel).
    M = 2 * lam - 1
    S, b = run_at(lam, sigma, np.array([80.0, 100.0]))
    dlog_t = 20 * LN10
    assert (b[1] - b[0]) / dlog_t == pytest.approx(-1 / (1 + sigma**2 * M**2), rel=1e-3)
    assert (S[1] - S[0]) / dlog_t == pytest.approx(sigma * M / (1 + sigma**2 * M**2), rel=1e-3)


def test_crossing_times_match_prediction():
    # sigma = 20, eps = 1e-50: S converges (sigma^2 delta log(1/eps) >> 6) for delta >= 1e-3.
    for d in (1e-1, 1e-2, 1e-3):
        lam = (1 - d) / 2
        c = toy.crossing_times(toy.integrate(lam, 20.0, 100.0, log10_eps=-50.0))
        assert not (c["tr_censored"] or c["gen_censored"])
        assert c["log10_epoch_tr"] == pytest.approx(toy.predicted_log10_epoch_tr(1e-50), abs=1e-4)
        assert c["log10_epoch_gen"] == pytest.approx(toy.predicted_log10_epoch_gen(lam, 1e-50), abs=1e-3)


def test_fig9_slope_sigma1():
    # sigma = 1. The slope -1/sqrt(2) of sqrt(log(t*_gen/t*_tr)) vs log(1 - 2 lambda) is the delta -> 0 limit of
    # log R = u^2/2 - log c (corrections log 2 and O(delta)); on delta in [1e-4, 1e-2] those shift the fitted
    # slope by < 0.5%, whereas at delta ~ 0.1 they are ~5%. S must also have converged before the losses reach
    # eps: this takes conformal time ~ 6/(sigma^2 delta) = 6e4 at delta = 1e-4, while the crossing happens at
    # tau ~ 2 log(1/eps). So we take eps = 10^-100000 (tau ~ 4.6e5), reachable because only log t and log L
    # are ever formed. (With eps = 1e-50 and sigma = 1 only delta >~ 0.05 converges, where the slope is ~5% off.)
    deltas = np.logspace(-2, -4, 5)
    tr, gen = [], []
    for d in deltas:
        c = toy.crossing_times(toy.integrate((1 - d) / 2, 1.0, 100060.0, log10_eps=-1e5))
        assert not (c["tr_censored"] or c["gen_censored"])
        tr.append(c["log10_epoch_tr"])
        gen.append(c["log10_epoch_gen"])
    slope, _ = toy.fig9_slope(deltas, tr, gen)
    assert abs(slope) == pytest.approx(1 / math.sqrt(2), rel=0.03)
    assert slope < 0


def test_gen_train_ratio_is_sigma_independent():
    d, eps = 1e-2, -50.0
    ratios = []
    for sigma in (3.0, 10.0, 20.0):
        c = toy.crossing_times(toy.integrate((1 - d) / 2, sigma, 100.0, log10_eps=eps))
        ratios.append(c["log10_epoch_gen"] - c["log10_epoch_tr"])
    np.testing.assert_allclose(ratios, toy.log_gen_train_ratio(d) / LN10, atol=1e-3)


# --------------------------------------------------------------------------------------- numerics & overflow
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("lam", [0.3, 0.5, 0.7])
def test_no_overflow_at_1e100(lam):
    with np.errstate(over="raise", invalid="raise"):
        df, c = toy.simulate(lam, 5.0, 100.0, log10_eps=-50.0, points_per_decade=2)
    assert np.isfinite(df.drop(columns=[]).to_numpy()).all()
    assert df.log10_t.iloc[-1] == pytest.approx(100.0, abs=1e-9)
    assert not c["tr_censored"] and c["log10_epoch_tr"] < 51  # L_train -> 1/t at most; reaches 1e-50
    assert df.log10_train_loss.iloc[-1] < -45
    if lam < 0.5:
        assert df.gen_acc.iloc[-1] == pytest.approx(1.0) and not c["gen_censored"]
    if lam > 0.5:  # never generalises: A_gen -> Phi(1/(sigma^2 M)) and L_gen diverges
        assert c["acc_censored"] and c["gen_censored"]
        assert df.gen_acc.iloc[-1] < 0.6 and df.log10_gen_loss.iloc[-1] > 0


def test_matches_direct_time_domain_integration():
    # Independent computation: the raw gradient flow in t, dS/dt = -1/2 sum x_i e^{S x_i + b}, db/dt = -1/2 sum
    # e^{S x_i + b}, integrated by a different method directly in t, against the log-time integrator.
    lam, sigma, S0, b0 = 0.4, 3.0, 0.2, 0.1
    x = np.array([-sigma, sigma * (1 - 2 * lam)])

    def flow(t, y):
        e = np.exp(y[0] * x + y[1])
        return [-0.5 * (x * e).sum(), -0.5 * e.sum()]

    log10_t = np.linspace(-2, 3, 21)
    ref = solve_ivp(flow, (0, 1e3), [S0, b0], method="Radau", t_eval=10.0**log10_t, rtol=1e-12, atol=1e-14)
    S, b = run_at(lam, sigma, log10_t, S0, b0)
    np.testing.assert_allclose(S, ref.y[0], rtol=1e-7)
    np.testing.assert_allclose(b, ref.y[1], rtol=1e-7)


def test_rhs_forms_agree():
    # chain rule: d(.)/d ell = (d(.)/d tau) / (d ell/d tau)
    x = toy.train_points(0.3, 4.0)
    for S, b, ell in [(0.1, -2.0, 3.0), (1.5, -40.0, 45.0)]:
        conf = toy.rhs_conformal(0.0, np.array([S, b, ell]), x)
        np.testing.assert_allclose(toy.rhs_logtime(ell, np.array([S, b]), x), conf[:2] / conf[2], rtol=1e-12)


def test_metrics():
    # gen loss: E exp(S x + b) over N(0, sigma^2) by Gauss-Hermite quadrature; gen accuracy sign conventions
    S, b, sigma = 0.3, -1.2, 2.5
    z, w = np.polynomial.hermite_e.hermegauss(60)
    quad = np.log((w * np.exp(S * sigma * z + b)).sum() / math.sqrt(2 * math.pi))
    assert toy.log_gen_loss(S, b, sigma) == pytest.approx(quad, rel=1e-12)
    assert toy.gen_accuracy(0.0, 0.0, 1.0) == 0.5 and toy.gen_accuracy(0.0, -1.0, 1.0) == 1.0
    assert toy.gen_accuracy(1.0, -1.645, 1.0) == pytest.approx(0.95, abs=1e-4)
    assert toy.train_accuracy(1.0, 0.5, toy.train_points(0.75, 1.0)) == 0.5
    assert toy.log_t_from_ell(toy.ell_from_log_t(1e4)) == pytest.approx(1e4)
    assert toy.log_t_from_ell(toy.ell_from_log_t(-5.0)) == pytest.approx(-5.0, rel=1e-9)
