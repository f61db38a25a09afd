"""The critical limit (grokedge.critical) against the numerical solution of the large-N system down to
eps = 1e-6, an independent solver of the rescaled system, quadratures of the constants' defining integrals,
Gardner's closed form and Wendel's law; the finite-size analysis functions on synthetic data."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import ndtr, zeta

from grokedge import critical as K
from grokedge import theory as T
from grokedge.separability import wendel_probability

PHI0 = 1 / np.sqrt(2 * np.pi)
EPS = np.array([1e-3, 1e-4, 1e-5, 1e-6])


def _phi(t):
    return np.exp(-0.5 * t * t) * PHI0


def _half_line(f, points=(1e-8, 1e-3, 0.5, 1.0, 2.0, 4.0), hi=14.0):
    """int_0^hi f(t) dt by QUADPACK, split where the log factors and the Gaussian change."""
    b = [0.0, *points, hi]
    return sum(quad(f, a, c, epsabs=1e-17, epsrel=1e-13, limit=400)[0] for a, c in zip(b[:-1], b[1:], strict=True))


@pytest.fixture(scope="module")
def limit():
    return T.s_inf_large_n(0.5 * (1 - EPS))


def test_constants_against_quadrature_of_their_defining_integrals():
    """log g0 = E[Z_+ log Z]/E[Z_+], C^2 = E[(log|Z| - log g0)^2] and the order-delta^3 combination
    2 b2 + a3 = -phi0 zeta(3)/6 of the derivation, by QUADPACK instead of polygammas."""
    k = K.CONSTANTS
    log_g0 = _half_line(lambda t: t * np.log(t) * _phi(t)) / PHI0
    assert np.log(k.c_over_r) == pytest.approx(log_g0, abs=1e-12)
    C2 = 2 * _half_line(lambda t: (np.log(t) - log_g0) ** 2 * _phi(t))
    assert k.C**2 == pytest.approx(C2, rel=1e-12)
    ell = lambda t: np.log(t) - log_g0  # noqa: E731
    a3 = _half_line(lambda t: t * ell(t) ** 3 / 3 * (1 - t * t) * _phi(t))
    b2 = _half_line(lambda t: (ell(t) + 1) * ell(t) ** 2 / 2 * t * _phi(t))
    assert 2 * b2 + a3 == pytest.approx(-PHI0 * zeta(3) / 6, rel=1e-10)
    assert k.m == pytest.approx(PHI0 / k.c_over_r, rel=1e-15)
    assert k.positive_fraction == pytest.approx(ndtr(-k.c_over_r), rel=1e-15)


def test_expansion_against_the_numerical_solution_down_to_eps_1e6(limit):
    """Order 1 (with the first correction): relative error below eps (measured 0.75 eps for r, 0.5 eps for m,
    < 0.03 eps for the fraction); order 0: the error is the first correction's -D eps^{1/2}/C."""
    k = K.CONSTANTS
    r = limit.sigma_s_norm
    assert np.all(limit.residual < 1e-14)
    a1, a0 = K.inseparable_asymptotics(EPS, 1), K.inseparable_asymptotics(EPS, 0)
    assert np.all(np.abs(a1["sigma_s_norm"] / r - 1) < EPS)
    assert np.all(np.abs(a1["m"] / limit.m - 1) < EPS)
    assert np.all(np.abs(a1["positive_fraction"] / limit.positive_fraction - 1) < 0.1 * EPS)
    assert np.all(np.abs(a1["c"] / limit.c - 1) < 3 * EPS)  # c's next term is not derived: measured 1.6 eps
    err0 = a0["sigma_s_norm"] / r - 1  # = -D eps^{1/2}/C (1 + O(eps^{1/2})): 8% off at eps = 1e-3
    assert np.all(np.abs(err0 / (-k.D * np.sqrt(EPS) / k.C) - 1) < 4 * np.sqrt(EPS))
    # r - C eps^{-1/2} - D = E eps^{1/2} + O(eps): no log terms, and the derived E (the solver's rounding,
    # ~1e-9 relative in r, is 1e-3 of this difference at eps = 1e-6)
    nxt = (r - k.C / np.sqrt(EPS) - k.D) / np.sqrt(EPS)
    assert np.all(np.abs(nxt - k.E) < 0.1 * np.sqrt(EPS) + 2e-3)
    assert k.E == pytest.approx(-0.9822, abs=1e-4)
    assert np.all(np.abs(K.local_exponent(EPS, r) + 0.5) < 0.5 * np.sqrt(EPS[:-1]))


def _rescaled(delta):
    """Independent solver of the rescaled system: omega + delta log(omega/g) = Z, (A) E[omega log(omega/g)] = 0
    for g (brentq), then eps from (B) in the cancellation-free form eps = 2 E[Z_+^2 - omega^2]
    = 4 int_0^inf t [Phibar(t) - Phibar(t + delta log(t/g))] dt, and m = E[omega]/g."""
    def tail(t, g):
        return ndtr(-(t + delta * np.log(t / g)))

    g = brentq(lambda g: _half_line(lambda t: (np.log(t / g) + 1) * tail(t, g)), 0.8, 1.3, xtol=1e-15, rtol=1e-15)
    eps = 4 * _half_line(lambda t: t * (ndtr(-t) - tail(t, g)))
    return g, eps, _half_line(lambda t: tail(t, g)) / g


@pytest.mark.parametrize("r", [40.0, 400.0, 1300.0])
def test_numerical_solution_against_an_independent_solver(r):
    g, eps, m = _rescaled(1 / r)
    lim = T.s_inf_large_n(0.5 * (1 - eps))
    # lambda = (1 - eps)/2 carries ~1e-16/eps relative error in eps, and r ~ eps^{-1/2}
    assert float(lim.sigma_s_norm) == pytest.approx(r, rel=1e-9)
    assert float(lim.c) == pytest.approx(g * r, rel=1e-9)
    assert float(lim.m) == pytest.approx(m, rel=1e-10)
    assert float(lim.positive_fraction) == pytest.approx(ndtr(-g), rel=1e-9)


def test_quadrature_converged_near_one_half():
    lam = 0.5 * (1 - np.array([1e-4, 1e-6]))
    lo, hi = T.s_inf_large_n(lam, order=8), T.s_inf_large_n(lam, order=32)
    for key in ("sigma_s_norm", "c", "m", "positive_fraction"):
        assert np.allclose(getattr(lo, key), getattr(hi, key), rtol=1e-8, atol=0), key


def test_gardner_margin_near_one_half():
    eps = -np.array([1e-2, 1e-3, 1e-4, 1e-5])
    kappa = T.margin_large_n(0.5 * (1 - eps))
    assert np.all(np.abs(K.margin_asymptotics(eps, 0) / kappa - 1) < 0.5 * np.abs(eps))  # measured 0.39 |eps|
    assert np.all(np.abs(K.margin_asymptotics(eps, 1) / kappa - 1) < 0.5 * eps**2)  # measured 0.24 eps^2
    fit = K.fit_power_law(-eps[1:], kappa[1:])
    assert fit.exponent == pytest.approx(1.0, abs=1e-3)
    assert fit.prefactor == pytest.approx(np.sqrt(np.pi / 8), rel=1e-3)


def test_log_grokking_time_expansion():
    """log t_a - expansion = -(z_a 0.98 + m_slope/m0) eps^{1/2} + ... = -3.25 eps^{1/2} at a = 0.95."""
    lr, level = 0.01, 0.95
    exact = T.log_grokking_time_large_n(0.5 * (1 - EPS), lr, level)  # log space: t_a overflows at eps = 1e-6
    diff = (K.log_grokking_time_asymptotics(EPS, lr, level) - exact) / np.sqrt(EPS)
    assert np.all((diff > 3.0) & (diff < 3.5))


def test_expansions_refuse_the_wrong_side():
    with pytest.raises(ValueError, match="inseparable side"):
        K.inseparable_asymptotics([1e-3, -1e-3])
    with pytest.raises(ValueError, match="separable side"):
        K.margin_asymptotics(1e-3)
    with pytest.raises(ValueError, match="order"):
        K.inseparable_asymptotics(1e-3, order=2)


def test_scaling_variable_is_wendels():
    """At fixed x = eps N^{1/2}, Wendel's exact separability probability tends to Phi(-x) as N grows."""
    assert K.scaling_variable(0.45, 400) == pytest.approx(2.0)
    assert np.allclose(K.scaling_variable([0.45, 0.55], [[100], [400]]), [[1.0, -1.0], [2.0, -2.0]])
    for x in (-1.0, 0.5, 2.0):
        errs = []
        for N in (400, 1600, 6400, 25600):
            d = int(round(N * (1 - x / np.sqrt(N)) / 2))
            assert K.scaling_variable(d / N, N) == pytest.approx(x, abs=1e-12)
            errs.append(abs(wendel_probability(N, d) - ndtr(-x)))
        assert np.all(np.diff(errs) < 0) and errs[-1] < 2e-3
    with pytest.raises(ValueError, match="N must be positive"):
        K.scaling_variable(0.4, 0)


def test_power_law_fit_recovers_a_known_exponent():
    rng = np.random.default_rng(0)
    x = np.geomspace(1e-4, 1e-1, 20)
    inside = []
    for _ in range(300):
        y = 1.3 * x**-0.5 * np.exp(0.05 * rng.standard_normal(x.size))
        f = K.fit_power_law(x, y)
        inside.append(abs(f.exponent + 0.5) < 2 * f.exponent_se)
    assert 0.9 < np.mean(inside) < 0.99  # Student t with 18 dof: 94.4% within 2 standard errors
    assert f.prefactor == pytest.approx(1.3, rel=0.2) and f.n == 20
    # the standard error is the right size: 0.05/sqrt(sum (log x - mean)^2)
    assert f.exponent_se == pytest.approx(0.05 / np.std(np.log(x)) / np.sqrt(x.size), rel=0.4)
    b = K.fit_power_law(x, y, n_boot=400, seed=1)
    lo, hi = b.exponent_ci
    assert lo < b.exponent < hi and (hi - lo) == pytest.approx(4 * b.exponent_se, rel=0.5)
    exact = K.fit_power_law(x, 2 * x**1.5)
    assert exact.exponent == pytest.approx(1.5, abs=1e-12) and exact.exponent_se < 1e-12


def test_power_law_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="positive finite"):
        K.fit_power_law([1, 2, -3], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 3"):
        K.fit_power_law([1, 2], [1, 2])
    with pytest.raises(ValueError, match="differ in length"):
        K.fit_power_law([1, 2, 3], [1, 2])


def _fss_curves(rng, b=0.25, nu=0.5, noise=0.02):
    """Synthetic finite-size data y(eps, N) = N^{1/4} F(eps N^{1/2}) with F(x) = (1 + x^2)^{-1/4} e^{-x/4}
    (F ~ x^{-1/2} at large x), relative noise ``noise``; returned scaled with exponents (b, nu)."""
    curves = []
    for N in (100, 400, 1600, 6400):
        eps = np.linspace(-2, 6, 25) / np.sqrt(N)
        y0 = N**0.25 * (1 + eps**2 * N) ** -0.25 * np.exp(-eps * np.sqrt(N) / 4)
        dy = noise * y0
        y = y0 + dy * rng.standard_normal(eps.size)
        curves.append((eps * N**nu, y * N**-b, dy * N**-b))
    return curves


def test_collapse_quality_separates_collapse_from_none():
    rng = np.random.default_rng(3)
    good, n = K.collapse_quality(_fss_curves(rng))
    assert 0.2 < good < 2 and n > 50
    assert K.collapse_quality(_fss_curves(rng, b=0.15))[0] > 50  # wrong amplitude exponent
    assert K.collapse_quality(_fss_curves(rng, nu=0.4))[0] > 50  # wrong scaling variable
    with pytest.raises(ValueError, match="dy > 0"):
        K.collapse_quality([([0, 1], [1, 2], [0, 1]), ([0, 1], [1, 2], [1, 1])])
    with pytest.raises(ValueError, match="nothing to compare"):
        K.collapse_quality([([0, 1], [1, 2], [1, 1]), ([2, 3], [1, 2], [1, 1])])


def test_median_interval_with_censoring():
    assert K.median_interval([1.0, 5.0, 3.0, 9.0], [False, False, False, True])[0] == 4.0
    assert K.median_interval([1.0, 2.0, 3.0, 4.0, 5.0], [False, False, True, True, False])[0] == 5.0
    med, lo, hi = K.median_interval([1.0, 2.0], [False, True])
    assert np.isnan(med) and hi == np.inf
    # coverage of the order-statistic interval for the median of a continuous law: at least the level, and
    # not far above it (the binomial's steps)
    rng = np.random.default_rng(5)
    for n, top in ((9, 0.9), (25, 0.8), (40, 0.8)):
        ends = [K.median_interval(rng.standard_normal(n))[1:] for _ in range(1000)]
        assert 0.66 < np.mean([lo <= 0 <= hi for lo, hi in ends]) < top
    with pytest.raises(ValueError, match="NaN"):
        K.median_interval([1.0, np.nan])


def test_scaling_table_and_curves():
    """A runs table with known values: separable sets censor r and give kappa; inseparable ones give kappa 0."""
    import pandas as pd
    rows = []
    for N, lam in [(100, 0.45), (100, 0.49), (400, 0.45), (400, 0.49), (400, 0.52)]:
        for i in range(9):
            sep = lam > 0.5 or (lam == 0.49 and N == 100 and i < 3)
            rows.append({"N": N, "lam": lam, "sigma": 2.0, "separable": sep,
                         "s_inf_norm": np.nan if sep else (i + 1) / 2.0, "margin": 0.1 * (i + 1) if sep else np.nan})
    rows.append({"N": 100, "lam": 0.45, "sigma": 2.0, "separable": None, "s_inf_norm": np.nan, "margin": np.nan})
    tab = K.scaling_table(pd.DataFrame(rows))
    assert list(tab.n) == [9] * 5  # the undecided set is dropped
    row = tab[(tab.N == 400) & (tab.lam == 0.45)].iloc[0]
    assert row.x == pytest.approx(2.0) and row.r_median == 5.0 and row.separable_fraction == 0
    assert row.wendel_p_separable == pytest.approx(wendel_probability(400, 180))
    row = tab[(tab.N == 100) & (tab.lam == 0.49)].iloc[0]  # 3 of 9 censored: the median is the 5th of 1..9
    assert (row.r_lo, row.r_median, row.r_hi) == (6.0, 8.0, np.inf) and row.kappa_median == 0.0
    row = tab[tab.lam == 0.52].iloc[0]
    assert np.isnan(row.r_median) and row.kappa_median == pytest.approx(0.1 * 5 / 2)
    curves = K.scaling_curves(tab, "r", -0.25)
    assert set(curves) == {400}  # N = 100 keeps only one finite interval
    x, y, dy = curves[400]
    assert np.allclose(x, [0.4, 2.0]) and y[1] == pytest.approx(np.log(5.0 * 400**-0.25)) and np.all(dy > 0)


def test_grokking_table_counts_censored_runs():
    """Medians of ln t with censored runs as +inf, the censored count, and the theory's ln t at each lambda."""
    import pandas as pd
    rows = []
    for lam, times, cens in [(0.45, [10.0, 100.0, 1e3, 1e9, 1e9], [0, 0, 0, 1, 1]),
                             (0.48, [10.0, 1e9, 1e9, 1e9, 20.0], [0, 1, 1, 1, 0]),
                             (0.55, [1e9] * 5, [1] * 5)]:
        rows += [{"N": 100, "lam": lam, "lr": 0.01, "horizon": 1e9, "trained": True, "grok_g": t,
                  "grok_g_censored": bool(c)} for t, c in zip(times, cens, strict=True)]
    rows.append({"N": 100, "lam": 0.45, "lr": 0.01, "horizon": 1e9, "trained": False, "grok_g": np.nan,
                 "grok_g_censored": False})  # an untrained row is dropped
    tab = K.grokking_table(pd.DataFrame(rows), "grok_g", 0.95)
    assert list(tab.n) == [5, 5, 5] and list(tab.censored) == [2, 3, 5]
    assert tab.log_t_median[0] == pytest.approx(np.log(1e3)) and tab.log_t_hi[0] == np.inf
    assert np.isnan(tab.log_t_median[1]) and np.isnan(tab.log_t_median[2])  # half or more censored
    assert tab.theory_log_t[0] == pytest.approx(float(T.log_grokking_time_large_n(0.45, 0.01, 0.95)))
    assert np.isnan(tab.theory_log_t[2]) and tab.x[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="train"):
        K.grokking_table(pd.DataFrame(rows).drop(columns="grok_g_censored"), "grok_g", 0.95)


def test_log_time_growth_tells_the_theory_from_the_toy_form():
    """beta = 1 on medians that follow the theory's ln t (any offset), the toy form's own slope on medians that
    follow log^2(eps)/2; only cells with x >= 1 and a finite median enter."""
    import pandas as pd
    lam = np.array([0.40, 0.42, 0.44, 0.46, 0.47, 0.48, 0.49])
    F = T.log_grokking_time_large_n(lam, 0.01, 0.95)
    base = pd.DataFrame({"N": 400, "lam": lam, "eps": 1 - 2 * lam, "x": K.scaling_variable(lam, 400), "censored": 1,
                         "theory_log_t": F})
    fit = K.log_time_growth(base.assign(log_t_median=F + 3.0))
    assert fit.beta == pytest.approx(1.0, abs=1e-12) and fit.intercept == pytest.approx(3.0)
    assert fit.n == 5 and fit.censored == 5  # x = 0.8, 0.4 at lambda = 0.48, 0.49 are in the window
    toy = K.log_time_growth(base.assign(log_t_median=K.toy_log_time_form(1 - 2 * lam)))
    assert toy.beta == pytest.approx(fit.toy_slope, abs=1e-12) and 0.5 < toy.beta < 0.8
    assert toy.toy_offset == pytest.approx(0.0, abs=1e-12)
    # the toy form -> log^2(eps)/2 + log 2 as eps -> 0
    assert float(K.toy_log_time_form(1e-8)) == pytest.approx(0.5 * np.log(1e-8) ** 2 + np.log(2), rel=1e-6)
    assert K.log_time_growth(base.assign(log_t_median=np.where(lam < 0.44, F, np.nan))) is None


def test_command_line_prints_the_constants(capsys):
    assert K.main([]) == 0
    out = capsys.readouterr().out
    assert f"{K.CONSTANTS.C:.12f}" in out and "1e-06" in out


def _runs_from_the_limit(Ns, lams, sets, noise, rng):
    """Runs whose inseparable sets have the N -> infinity r times lognormal noise and whose separable ones have
    Gardner's kappa times noise; separable exactly when lambda > 1/2."""
    import pandas as pd
    rows = []
    for lam in lams:
        r0 = float(T.s_inf_large_n(lam).sigma_s_norm) if lam < 0.5 else np.nan
        k0 = float(T.margin_large_n(lam)) if lam > 0.5 else np.nan
        for N in Ns:
            for f in np.exp(noise * rng.standard_normal(sets)):
                rows.append({"N": N, "lam": lam, "sigma": 1.0, "separable": lam > 0.5, "s_inf_norm": r0 * f,
                             "margin": k0 * f})
    return pd.DataFrame(rows)


def test_scaling_summary_recovers_the_limit_it_was_given():
    rng = np.random.default_rng(11)
    lams = [0.40, 0.42, 0.44, 0.46, 0.48, 0.49, 0.51, 0.52, 0.54, 0.56, 0.58, 0.6]
    tab = K.scaling_table(_runs_from_the_limit((100, 400, 1600), lams, 15, 0.1, rng))
    s = K.scaling_summary(tab, "r")
    assert s.theory_exponent == -0.5 and s.fit is not None
    assert abs(s.fit.exponent - s.limit_fit.exponent) < 3 * s.fit.exponent_se
    assert -0.75 < s.limit_fit.exponent < -0.5  # steeper than -1/2: the correction D < 0
    assert set(s.fits_by_N) == {100, 400, 1600}
    for N, f in s.fits_by_N.items():  # unscaled: the same exponent as the limit over the same eps
        cells = tab[(tab.N == N) & (tab.x >= 1)]
        lim = K.fit_power_law(cells.eps, T.s_inf_large_n(cells.lam.to_numpy()).sigma_s_norm)
        assert abs(f.exponent - lim.exponent) < 3 * f.exponent_se + 1e-3, N
    k = K.scaling_summary(tab, "kappa")
    assert k.theory_exponent == 1.0 and abs(k.fit.exponent - k.limit_fit.exponent) < 3 * k.fit.exponent_se
    # the N -> infinity r at fixed lambda is not a function of x alone (corrections to scaling: D N^{-1/4} and
    # beyond), so with errors of a few percent the measure sees the sizes apart; kappa ~ |eps| nearly exactly
    assert s.collapse > 3 and s.collapse_points > 10 and k.collapse < 3
    with pytest.raises(ValueError, match="quantity"):
        K.scaling_summary(tab, "m")


def test_critical_scaling_figure_draws_the_laws_and_the_collapse():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from grokedge.critical_figures import critical_scaling_figure

    rng = np.random.default_rng(7)
    rows = []
    for N in (100, 400):
        for lam in (0.44, 0.46, 0.48, 0.5, 0.52, 0.54, 0.56):
            x = K.scaling_variable(lam, N)
            r0, kappa0 = float(T.s_inf_large_n(min(lam, 0.49)).sigma_s_norm), float(T.margin_large_n(max(lam, 0.51)))
            for _ in range(12):
                sep = rng.random() < ndtr(-x)
                r, kappa = np.array([r0, kappa0]) * np.exp(0.2 * rng.standard_normal(2))
                rows.append({"N": N, "lam": lam, "sigma": 1.0, "separable": sep,
                             "s_inf_norm": np.nan if sep else r, "margin": kappa if sep else np.nan})
    from ledger_tables import critical_grokking_runs

    grok = critical_grokking_runs("theory", scatter=0.3)
    runs = pd.concat([pd.DataFrame(rows).assign(experiment="critical_scaling"), grok], ignore_index=True)
    spec = {"scaling": "critical_scaling", "grokking": "critical_grokking",
            "definition": {"name": "gen95", "kind": "gen_accuracy", "threshold": 0.95}}
    fig = critical_scaling_figure(runs, None, spec)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("censored runs (incl. separable sets): 12 of 120" in t for t in texts)
    assert any("beta = 1.0" in t or "beta = 0.9" in t for t in texts)
    labels = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert sum("collapse" in t for t in texts) == 2 and any("collapse quality S" in t for t in texts)
    assert any("free fit" in t for t in texts)
    assert any("C = 1.3093" in s for s in labels) and any("0.6267" in s for s in labels)
    assert any("toy model" in s for s in labels) and any("z_a C" in s for s in labels)
    assert "Beyond the paper" in fig._suptitle.get_text()
    plt.close(fig)
    # without a trained experiment the grokking panel says so instead of failing
    fig = critical_scaling_figure(pd.DataFrame(rows), None, {})
    assert any("no trained experiment" in t.get_text() for ax in fig.axes for t in ax.texts)
    plt.close(fig)
