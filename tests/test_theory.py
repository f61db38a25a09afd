"""The large-N theory (grokedge.theory) against an independent quadrature, exact identities of the minimiser,
series expansions, Gardner's closed form, and direct minimisation / NNLS on large sampled sets."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import lambertw, ndtr

from grokedge import theory as T
from grokedge.separability import inseparable_limit, max_margin

LAMS = np.array([0.05, 0.2, 0.3, 0.4, 0.45])


def _phi(z):
    return np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)


def _h_lambertw(z, c):
    """h(z; c) = z - W(c e^z) by scipy's Lambert W: a second implementation of the proximal map."""
    return z - lambertw(c * np.exp(z)).real


def _expect(f, r, c, lo=-14.0, hi=14.0):
    """E[f(h(rZ; c), Z)] by adaptive quadrature (QUADPACK), split at the crossover and at h = 0."""
    pts = sorted({lo, hi, float(np.clip(-np.log(c) / r, lo, hi)), float(np.clip(c / r, lo, hi))})
    return sum(quad(lambda z: f(_h_lambertw(r * z, c), z) * _phi(z), a, b, epsabs=1e-15, epsrel=1e-13,
                    limit=400)[0] for a, b in zip(pts[:-1], pts[1:], strict=False))


@pytest.fixture(scope="module")
def limit():
    return T.s_inf_large_n(LAMS)


def test_log_prox_exp_against_lambertw_and_at_extreme_arguments():
    y = np.linspace(-40.0, 600.0, 2001)  # e^600 ~ 1e260 is still representable for lambertw
    assert np.allclose(T.log_prox_exp(y), np.log(lambertw(np.exp(y)).real), rtol=1e-14, atol=0)
    big = np.array([1e3, 1e6, 1e12, 1e300])  # lambertw(exp(y)) overflows here; u + e^u = y must still hold
    u = T.log_prox_exp(big)
    # the Newton step left, (u + e^u - y)/(1 + e^u), is within rounding of u (e^u carries |u| eps of it)
    assert np.all(np.abs((u + np.exp(u) - big) / (1 + np.exp(u))) <= 4e-16 * (1 + np.abs(u)))
    assert T.log_prox_exp(np.array([-1e3]))[0] == -1e3


def test_equations_hold_to_1e10_by_an_independent_quadrature(limit):
    """lam r^2 = E[(c e^h)^2] and 1 - lam = E[1/(1 + c e^h)], recomputed by QUADPACK with lambertw's h."""
    for lam, r, c in zip(LAMS, limit.sigma_s_norm, limit.c, strict=True):
        e2 = _expect(lambda h, z: (c * np.exp(h)) ** 2, r, c)  # noqa: B023
        e1 = _expect(lambda h, z: 1 / (1 + c * np.exp(h)), r, c)  # noqa: B023
        assert e2 / (lam * r**2) == pytest.approx(1, abs=1e-10)
        assert e1 == pytest.approx(1 - lam, abs=1e-10)
    assert np.all(limit.residual < 1e-12)


def test_derived_quantities_by_an_independent_quadrature(limit):
    for i, (r, c) in enumerate(zip(limit.sigma_s_norm, limit.c, strict=True)):
        m = _expect(lambda h, z: np.exp(h), r, c)
        pos = _expect(lambda h, z: h * (h > 0), r, c)
        frac = _expect(lambda h, z: float(h > 0), r, c)
        assert limit.m[i] == pytest.approx(m, rel=1e-10)
        assert limit.positive_fraction[i] == pytest.approx(frac, rel=1e-10)
        assert limit.mean_positive_projection[i] == pytest.approx(pos / frac / r, rel=1e-9)
        assert limit.positive_mass[i] == pytest.approx(pos / r, rel=1e-9)


def test_stationarity_identity_of_the_minimiser(limit):
    """At any minimiser of sum_i exp(S.x_i), S.grad = sum_i (S.x_i) e^{S.x_i} = 0 (scale stationarity): the
    limit law of the projections must give E[h e^h] = 0. This follows from the two equations only through
    Stein's lemma, so it checks the system's internal consistency."""
    for r, c in zip(limit.sigma_s_norm, limit.c, strict=True):
        assert abs(_expect(lambda h, z: h * np.exp(h), r, c)) < 1e-10


def test_converged_in_quadrature_order():
    lams = np.array([0.05, 0.3, 0.45, 0.49, 0.499])
    lo, hi = T.s_inf_large_n(lams, order=8), T.s_inf_large_n(lams, order=32)
    for key in ("sigma_s_norm", "c", "m", "positive_fraction", "mean_positive_projection"):
        assert np.allclose(getattr(lo, key), getattr(hi, key), rtol=1e-12, atol=0), key


def test_any_array_of_lambdas_solves_like_each_scalar():
    lams = np.random.default_rng(1).permutation(np.concatenate([np.geomspace(1e-6, 0.4999, 40), [0.0, 0.6]]))
    lim = T.s_inf_large_n(lams.reshape(6, 7))
    assert lim.sigma_s_norm.shape == (6, 7)
    flat = lim.sigma_s_norm.ravel()
    assert np.isnan(flat[lams == 0.6]).all() and np.all(np.isfinite(flat[lams < 0.5]))
    for k in (0, 17, 33):
        if lams[k] < 0.5:
            assert flat[k] == pytest.approx(float(T.s_inf_large_n(lams[k]).sigma_s_norm), rel=1e-12)


def test_small_lambda_series():
    """Expanding the equations in lam (W(a) = a - a^2 + 3/2 a^3, E[(c e^{rZ})^n] = c^n e^{n^2 r^2/2}) gives
    r^2 = lam (1 + 3 lam + 17/2 lam^2 + O(lam^3)), c = lam (1 + 3/2 lam + 25/8 lam^2 + ...),
    m = 1 - lam/2 - 3/8 lam^2 + ...; so r ~ sqrt(lam), c ~ lam. The O(lam^2) terms are resolved (without
    them the error would be ~ 8 lam^2 >> the tolerance)."""
    lams = np.array([1e-3, 3e-3, 1e-2])
    lim = T.s_inf_large_n(lams)
    assert np.all(np.abs(lim.sigma_s_norm**2 / (lams * (1 + 3 * lams + 8.5 * lams**2)) - 1) < 60 * lams**3)
    assert np.all(np.abs(lim.c / (lams * (1 + 1.5 * lams + 25 / 8 * lams**2)) - 1) < 30 * lams**3)
    assert np.all(np.abs(lim.m - (1 - lams / 2 - 3 / 8 * lams**2)) < 5 * lams**3)
    assert np.all(np.abs(lim.positive_fraction - ndtr(-np.sqrt(lams))) < 2 * lams**1.5)
    zero = T.s_inf_large_n(0.0)
    assert float(zero.mean_positive_projection) == pytest.approx(np.sqrt(2 / np.pi))


def test_limits_at_the_edges_and_outside():
    lim = T.s_inf_large_n([0.3, 0.499, 0.5, 0.7, -0.1])
    assert lim.sigma_s_norm[1] > 25 and np.all(np.isnan(lim.sigma_s_norm[2:]))
    assert np.all(np.diff(T.s_inf_large_n(np.linspace(0.05, 0.49, 12)).sigma_s_norm) > 0)  # diverges at 1/2
    # near 1/2 the positive fraction levels off near 0.15 (paper Fig. 6 left) and the mean positive
    # projection falls towards the margin's 0 (Fig. 7)
    near = T.s_inf_large_n([0.49, 0.499])
    assert np.all((near.positive_fraction > 0.14) & (near.positive_fraction < 0.19))
    assert near.mean_positive_projection[1] < near.mean_positive_projection[0] < 0.05


def test_projection_law_density_quantiles_and_normalisation(limit):
    i = 3  # lam = 0.4
    r, c = limit.sigma_s_norm[i], limit.c[i]
    lo, hi = limit.projection_quantile([1e-12, 1 - 1e-12], i)
    assert quad(lambda h: limit.projection_pdf(h, i), lo, hi, epsabs=1e-13, limit=200)[0] == pytest.approx(1, abs=1e-10)
    for q in (0.05, 0.5, 0.9):
        hq = limit.projection_quantile(q, i)
        cdf = quad(lambda h: limit.projection_pdf(h, i), lo, hq, epsabs=1e-13, limit=200)[0]
        assert cdf == pytest.approx(q, abs=1e-10)
    assert limit.projection_quantile(1 - limit.positive_fraction[i], i) == pytest.approx(0, abs=1e-12)
    mean = quad(lambda h: h * limit.projection_pdf(h, i), lo, hi, epsabs=1e-13, limit=200)[0]
    assert mean == pytest.approx(_expect(lambda h, z: h, r, c), abs=1e-10)
    # normalised variable t = sigma h / r: integrates to 1 and gives the mean positive projection (sigma = 3)
    pdf = lambda t: limit.normalised_projection_pdf(t, 3.0, i)  # noqa: E731
    tlo, thi = 3 * lo / r, 3 * hi / r
    assert quad(pdf, tlo, thi, epsabs=1e-13, limit=200)[0] == pytest.approx(1, abs=1e-10)
    tpos = quad(lambda t: t * pdf(t), 0, thi, epsabs=1e-13, limit=200)[0] / quad(pdf, 0, thi, epsabs=1e-13)[0]
    assert tpos == pytest.approx(3 * limit.mean_positive_projection[i], rel=1e-9)
    with pytest.raises(ValueError, match="pass i"):
        limit.projection_pdf(0.0)


def test_gardner_margin():
    assert float(T.margin_large_n(0.5)) == 0.0
    assert 1 / float(T.gardner_lambda(0.0)) == pytest.approx(2.0, abs=1e-15)  # alpha_c(0) = 2 (Cover)
    for k in (0.1, 0.7, 2.0):  # closed form against E[(Z + kappa)_+^2]
        ref = quad(lambda z: (z + k) ** 2 * _phi(z), -k, np.inf, epsabs=1e-14)[0]  # noqa: B023
        assert float(T.gardner_lambda(k)) == pytest.approx(ref, rel=1e-12)
    ks = np.array([1e-6, 1e-3, 0.2, 1.0, 3.0, 10.0])
    # round trip to rounding: lambda carries ~1e-16 absolute error, i.e. ~1e-16/(lambda - 1/2) relative in kappa
    tol = 1e-14 + 4e-16 / (T.gardner_lambda(ks) - 0.5)
    assert np.all(np.abs(T.margin_large_n(T.gardner_lambda(ks)) / ks - 1) < tol)
    eps = 1e-6  # just above 1/2: lambda - 1/2 = 2 phi(0) kappa + O(kappa^2)
    assert float(T.margin_large_n(0.5 + eps)) == pytest.approx(np.sqrt(np.pi / 2) * eps, rel=1e-5)
    assert np.isnan(T.margin_large_n(0.4))


def test_accuracy_limit_and_grokking_time():
    lam = np.array([0.3, 0.5, 0.55, 0.9])
    acc = T.gen_accuracy_limit(lam, 5.0)
    assert acc[0] == acc[1] == 1.0
    assert acc[2] == pytest.approx(ndtr(1 / (25 * T.margin_large_n(0.55))), rel=1e-15)
    assert 0.5 < acc[3] < acc[2] < 1
    lim = T.s_inf_large_n(0.3)
    t = T.grokking_time_large_n(0.3, sigma=5.0, lr=0.01, level=0.95)
    assert float(t) == pytest.approx(np.exp(1.6448536269514722 * lim.sigma_s_norm) / (0.01 * lim.m), rel=1e-12)
    assert np.isnan(T.grokking_time_large_n(0.6))


def test_log_grokking_time_where_the_direct_formula_is_finite_and_beyond():
    """log t_a = z_a r - log(lr m) equals the log of exp(z_a r)/(lr m) computed directly where that is finite, and
    stays finite where it overflows float64 (z_a r > 709: eps = 1 - 2 lambda = 1e-6 gives z_a r ~ 2150)."""
    z = 1.6448536269514722  # Phi^-1(0.95)
    lam = 0.5 * (1 - np.array([0.5, 0.1, 1e-2, 1e-3, 1e-4]))
    lim = T.s_inf_large_n(lam)
    direct = np.exp(z * lim.sigma_s_norm) / (0.01 * lim.m)
    assert np.all(np.isfinite(direct))
    np.testing.assert_allclose(T.log_grokking_time_large_n(lam, 0.01, 0.95, lim), np.log(direct), rtol=1e-13)
    np.testing.assert_allclose(T.grokking_time_large_n(lam, lr=0.01, level=0.95, limit=lim), direct, rtol=1e-12)
    # the learning rate only shifts log t: t ~ 1/lr
    np.testing.assert_allclose(T.log_grokking_time_large_n(lam, 0.1, 0.95, lim),
                               T.log_grokking_time_large_n(lam, 0.01, 0.95, lim) - np.log(10), rtol=1e-13)
    near = 0.5 * (1 - 1e-6)
    assert np.isinf(T.grokking_time_large_n(near))
    log_t = float(T.log_grokking_time_large_n(near))
    assert 2000 < log_t < 2300 and np.isfinite(log_t)
    assert np.isnan(T.log_grokking_time_large_n(0.6))


def test_projection_summary():
    X = np.array([[1.0, 0.0], [-2.0, 0.0], [3.0, 1.0]])
    s = T.projection_summary(X, np.array([2.0, 0.0]))
    assert s == {"s_inf_pos_frac": pytest.approx(2 / 3), "s_inf_pos_mean": pytest.approx(2.0)}


# --- against direct minimisation of (1/N) sum exp(S.x_i) -----------------------------------------------------
# Measured spread (standard deviation over 20 draws at N = 2000) of sigma|S_inf|, m, the positive fraction, the
# mean positive projection and the quartiles of S_inf.x_i. Fluctuations shrink like N^-1/2 (finite-size figure)
# and the bias of the mean at N >= 2000 is below one standard error of these tests, so a tolerance of 4 standard
# errors of the mean of n draws fails only if the limit is wrong.
SD_2000 = {
    0.2: {"r": 0.036, "m": 0.008, "s_inf_pos_frac": 0.008, "s_inf_pos_mean": 0.0155, "q": [0.035, 0.020, 0.008]},
    0.3: {"r": 0.074, "m": 0.013, "s_inf_pos_frac": 0.0074, "s_inf_pos_mean": 0.0175, "q": [0.064, 0.030, 0.0145]},
    0.4: {"r": 0.187, "m": 0.022, "s_inf_pos_frac": 0.0106, "s_inf_pos_mean": 0.0154, "q": [0.149, 0.079, 0.029]},
}


def _direct(N, lam, draws, seed):
    rows = []
    for k in range(draws):
        X = np.random.default_rng([seed, N, k]).standard_normal((N, int(round(lam * N))))
        lim = inseparable_limit(X)
        rows.append({"r": np.linalg.norm(lim.s_inf), "m": lim.m, **T.projection_summary(X, lim.s_inf),
                     "q": np.quantile(X @ lim.s_inf, [0.25, 0.5, 0.75])})
    return rows


def _check_direct(N, lam, draws, seed):
    rows = _direct(N, lam, draws, seed)
    th = T.s_inf_large_n(lam)
    theory = {"r": th.sigma_s_norm, "m": th.m, "s_inf_pos_frac": th.positive_fraction,
              "s_inf_pos_mean": th.mean_positive_projection}
    scale = 4 * np.sqrt(2000 / N) / np.sqrt(draws)
    for key, sd in SD_2000[lam].items():
        if key == "q":
            continue
        tol = scale * sd
        mean = np.mean([row[key] for row in rows])
        assert abs(mean - float(theory[key])) < tol, (key, mean, float(theory[key]), tol)
    q = np.mean([row["q"] for row in rows], axis=0)
    tol = scale * np.array(SD_2000[lam]["q"])
    assert np.all(np.abs(q - th.projection_quantile([0.25, 0.5, 0.75])) < tol), (q, tol)


def test_against_direct_minimisation_n2000():
    _check_direct(2000, 0.3, draws=12, seed=11)


@pytest.mark.slow
@pytest.mark.parametrize("lam", [0.2, 0.3, 0.4])
def test_against_direct_minimisation_n6000(lam):
    _check_direct(6000, lam, draws=4, seed=12)


# Measured spread of the NNLS margin at lam = 0.7 (standard deviation over 100 draws at N = 100 ... 800 and 30 at
# 1600: 0.064, 0.043, 0.037, 0.023, 0.017, i.e. ~0.65/sqrt(N)); 4 standard errors of the mean again.
MARGIN_SD = {N: 0.65 / np.sqrt(N) for N in (600, 1000)}


@pytest.mark.parametrize("N", [600, pytest.param(1000, marks=pytest.mark.slow)])
def test_margin_against_nnls(N):
    lam, draws = 0.7, 5
    margins = [max_margin(np.random.default_rng([13, N, k]).standard_normal((N, int(lam * N)))).margin
               for k in range(draws)]
    assert np.mean(margins) == pytest.approx(float(T.margin_large_n(lam)), abs=4 * MARGIN_SD[N] / np.sqrt(draws))


# --- ledger rows and figures on constructed tables -------------------------------------------------------------

def _constructed_runs(shift=0.0, n=20, seed=0):
    """A runs table whose per-set values scatter (5%) around the limit, times (1 + shift)."""
    rng = np.random.default_rng(seed)
    rows = []
    for lam in (0.3, 0.45, 0.7):
        sep = lam > 0.5
        lim = None if sep else T.s_inf_large_n(lam)
        for k in range(n):
            e = (1 + shift) * (1 + 0.05 * rng.standard_normal())
            row = {"experiment": "lambda_sweep", "N": 400, "d": int(400 * lam), "lam": lam, "sigma": 5.0,
                   "lr": 0.01, "realisation": k, "separable": sep, "trained": True}
            if sep:
                m = 5.0 * float(T.margin_large_n(lam)) * e
                acc = float(ndtr(1 / (5.0 * m)))
                row |= {"margin": m, "s_inf_norm": np.nan, "s_inf_m": np.nan, "margin_acc_limit": acc,
                        "final_gen_acc": acc - 0.001, "s_inf_pos_frac": np.nan, "s_inf_pos_mean": np.nan}
            else:
                row |= {"margin": np.nan, "s_inf_norm": float(lim.sigma_s_norm) * e / 5.0, "s_inf_m": float(lim.m) * e,
                        "margin_acc_limit": np.nan, "final_gen_acc": 1.0,
                        "s_inf_pos_frac": float(lim.positive_fraction) * e,
                        "s_inf_pos_mean": 5.0 * float(lim.mean_positive_projection) * e}
            rows.append(row)
    import pandas as pd

    return pd.DataFrame(rows)


def test_theory_figures_draw_the_limit():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from grokedge import theory_figures as TF

    runs = _constructed_runs()
    for draw in (TF.positive_fraction_figure, TF.margin_projection_figure, TF.finite_size_convergence_figure):
        fig = draw(runs, None, {})
        labels = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        assert any(TF.LIMIT_LABEL in s for s in labels), draw.__name__
        plt.close(fig)
    sizes = pd.concat([runs.assign(N=N) for N in (100, 200, 400)], ignore_index=True)
    fig = TF.finite_size_convergence_figure(sizes, None, {"x": "1/sqrt(N)"})
    assert len(fig.axes) == 6  # sigma|S_inf|, m, margin: medians on top, spread and bias below
    plt.close(fig)
