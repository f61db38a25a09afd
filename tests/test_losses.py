"""The losses of the registry (``grokedge.losses.LOSSES``) against independent computations. The tests
parametrised over the registry pick up a new entry by themselves; the last test registers a made-up loss and
trains with it, which is all that adding a loss takes."""

import numpy as np
import pytest
from helpers import preset_config
from scipy.integrate import quad

from grokedge import config, data, laws, losses, metrics, model, schema, spec, train
from grokedge.solvers import operators

NAMES = sorted(losses.LOSSES)
Z = np.array([-30.0, -5.0, -1.0, -0.1, 0.0, 0.3, 1.0, 4.0, 20.0])


def _phi(x):
    return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


def _assert_central_difference(got, f, z, h=1e-5, rtol=1e-6):
    """got = f'(z) within rtol plus the rounding error of the difference quotient, ~eps |f(z +- h)| / h."""
    up, down = f(z + h), f(z - h)
    tol = rtol * np.abs(got) + 4e-16 * (np.abs(up) + np.abs(down)) / (2 * h)
    assert np.all(np.abs(got - (up - down) / (2 * h)) <= tol), (got, (up - down) / (2 * h))


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_against_finite_differences(name):
    """ell' against central differences of ell, ell'' (given p = ell') against central differences of ell'."""
    ell = losses.LOSSES[name]
    p = ell.derivative(Z)
    _assert_central_difference(p, ell.pointwise, Z)
    _assert_central_difference(ell.second_derivative(Z, p.copy()), ell.derivative, Z)
    out = np.empty_like(Z)
    ell.derivative(Z, out=out)  # the solvers' form, into a buffer
    np.testing.assert_array_equal(out, p)


@pytest.mark.parametrize("name", NAMES)
def test_mean_at_extreme_margins(name):
    """(1/n) sum ell(z_i) with z up to +-1000 against the same sum in extended precision: no spurious overflow
    (the logistic mean of -1000 and 1000 is 500) and inf only where the mean itself exceeds float64."""
    if np.finfo(np.longdouble).maxexp < 2048:
        pytest.skip("this platform's long double has no wider exponent range than float64")
    ell = losses.LOSSES[name]
    z = np.array([[-1000.0, 1000.0, 0.0], [-1000.0, -1000.0, -1000.0], [-1000.0, 700.0, 3.0], [1000.0, 999.0, -2.0]])
    with np.errstate(over="ignore"):
        ref = ell.pointwise(z.astype(np.longdouble)).mean(axis=1).astype(float)
    with np.errstate(over="ignore"):  # a mean beyond float64 is inf
        got, along_0 = ell.mean(z, axis=1), ell.mean(z.T, axis=0)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    np.testing.assert_allclose(along_0, got, rtol=1e-15)
    assert np.all(np.isfinite(got) == np.isfinite(ref))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("b,a", [(0.0, 0.5), (-3.0, 2.0), (1.5, 0.3), (-2.0, 0.0), (-8.0, 1.2)])
def test_population_loss_against_quadrature(name, b, a):
    """E ell(b + a xi), xi ~ N(0, 1), against scipy's adaptive quadrature of ell(b + a x) phi(x)."""
    ell = losses.LOSSES[name]
    ref = float(ell.pointwise(b)) if a == 0 else quad(lambda x: ell.pointwise(b + a * x) * _phi(x), -40, 40,
                                                       epsabs=0, epsrel=1e-13, limit=200)[0]
    assert float(ell.population(b, a)) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("name", [n for n in NAMES if losses.LOSSES[n].labelled_population is not None])
@pytest.mark.parametrize("b,s1,a_perp,tau", [(0.4, -0.3, 0.5, -1.64), (-0.2, 0.8, 0.1, 0.0), (1.0, 0.2, 1.5, -0.5)])
def test_labelled_population_loss_against_quadrature(name, b, s1, a_perp, tau):
    """With labels: u ~ N(0, 1) labels the point -1 iff u > tau, f = b + s1 u + a_perp z. Given u, f is
    N(b + s1 u, a_perp^2), so the loss is int phi(u) [u > tau] L(b + s1 u) + [u <= tau] L(-b - s1 u) du with
    L(m) = E ell(m + a_perp z) (the population loss, checked by quadrature above)."""
    ell = losses.LOSSES[name]
    pop = lambda m: float(ell.population(m, a_perp))  # noqa: E731
    above = quad(lambda u: _phi(u) * pop(b + s1 * u), tau, 40, epsabs=0, epsrel=1e-12)[0]
    below = quad(lambda u: _phi(u) * pop(-b - s1 * u), -40, tau, epsabs=0, epsrel=1e-12)[0]
    assert float(ell.labelled_population(b, s1, a_perp, tau)) == pytest.approx(above + below, rel=1e-9)


def test_logistic_population_is_accurate_at_hard_points():
    """The logistic trapezoid rule where the integrand is narrow or far in the tail (a = 200, b = -1800)."""
    softplus = losses.LOSSES["logistic"].pointwise
    for a, b in [(5.0, -3.0), (40.0, -150.0), (200.0, -1800.0), (3.0, 8.0)]:
        f = lambda y, a=a, b=b: softplus(a * y + b) * _phi(y)  # noqa: E731
        ref = quad(f, -40, 40, points=[-b / a], epsabs=0, epsrel=1e-13, limit=500)[0]
        assert losses.LOSSES["logistic"].population(b, a) == pytest.approx(ref, rel=1e-11)
    assert losses.log_softplus(-1000.0) == pytest.approx(-1000.0)


def test_logistic_population_of_a_long_grid_is_summed_in_slices():
    """A grid longer than max_chunk points is summed slice by slice: the same value as in one piece."""
    b, a = np.array([-40.0]), np.array([60.0])
    whole = losses.logistic_log_population(b, a)
    assert losses.logistic_log_population(b, a, max_chunk=1000) == pytest.approx(whole, rel=1e-14)


def test_config_takes_the_loss_names_from_the_registry():
    """The schema's enum is the registry's keys: every loss validates, another name is refused by name."""
    assert schema.config_schema()["$defs"]["experiment"]["properties"]["loss"]["enum"] == list(losses.LOSSES)
    for name in NAMES:
        cfg = preset_config("smoke")
        cfg["experiments"]["lambda_sweep"]["loss"] = name
        assert config.validate_config(cfg)["experiments"]["lambda_sweep"]["loss"] == name
    cfg = preset_config("smoke")
    cfg["experiments"]["lambda_sweep"]["loss"] = "hinge"
    with pytest.raises(config.ConfigError, match="loss"):
        config.validate_config(cfg)
    with pytest.raises(ValueError, match="unknown loss 'hinge'; expected one of"):
        train.Problem(np.zeros((1, 2, 3)), np.zeros((1, 3)), loss="hinge")


@pytest.mark.parametrize("name", NAMES)
def test_cell_id_tags_a_loss_by_its_short_name(name):
    default = spec.OPTION["loss"].default
    suffix = "" if name == default else "_" + losses.LOSSES[name].short
    assert spec.cell_id(400, 192, 5.0, 0.01, loss=name) == "N400_d192_sigma5_lr0.01" + suffix


# -- a made-up loss, registered for one test: ell(z) = z + sqrt(1 + z^2) (smooth, convex, positive) ---------------
def _hyperbolic(z):
    """z + sqrt(1 + z^2), written as 1 / (sqrt(1 + z^2) - z) for z < 0 (no cancellation as it tends to 0)."""
    z = np.asarray(z, dtype=float)
    r = np.sqrt(1.0 + np.square(z))
    return np.where(z < 0, 1.0 / (r + np.abs(z)), z + r)


def _hyperbolic_derivative(z, out=None):
    """ell'(z) = 1 + z / sqrt(1 + z^2) = ell(z) / sqrt(1 + z^2)."""
    return np.divide(_hyperbolic(z), np.sqrt(1.0 + np.square(z)), out=out)


def _hyperbolic_population(b, a):
    """E ell(b + a xi) by 80-point Gauss-Hermite quadrature (ell is smooth)."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    b, a = np.asarray(b, dtype=float)[..., None], np.asarray(a, dtype=float)[..., None]
    return HYPERBOLIC.pointwise(b + a * x) @ w / w.sum()


HYPERBOLIC = losses.Loss(
    "hyperbolic", "hyp", pointwise=_hyperbolic, derivative=_hyperbolic_derivative,
    second_derivative=lambda z, p: (1.0 + np.square(z)) ** -1.5, mean=lambda z, axis=-1: _hyperbolic(z).mean(axis=axis),
    population=_hyperbolic_population)


def test_a_new_loss_is_one_entry(monkeypatch):
    """Registered by one entry, a loss flows through the gradient operator (against finite differences of the
    training loss), its Hessian-vector product, GD steps (against steps on the finite-difference gradient) and the
    curves (its own population loss)."""
    monkeypatch.setitem(losses.LOSSES, "hyperbolic", HYPERBOLIC)
    test_derivatives_against_finite_differences("hyperbolic")
    test_population_loss_against_quadrature("hyperbolic", -1.0, 0.7)
    real = data.realisation(30, 5, 2.0, 4, bias_noise=0.3)
    X, c = real.X[None], real.c[None]
    w = np.r_[real.S0, -0.4]

    def loss_at(w):  # the training loss written out from ell
        return HYPERBOLIC.pointwise(X[0] @ w[:5] + w[5] * c[0]).mean()

    def fd_grad(w, h=1e-6):
        return np.array([(loss_at(w + h * e) - loss_at(w - h * e)) / (2 * h) for e in np.eye(6)])

    op = operators.Batched(X, c, "hyperbolic")
    g = op.grad(w[None])[0]
    np.testing.assert_allclose(g, fd_grad(w), rtol=1e-7, atol=1e-10)
    v = np.linspace(-1.0, 1.0, 6)
    hv = op.hess(v[None])[0]
    np.testing.assert_allclose(hv, (fd_grad(w + 1e-5 * v) - fd_grad(w - 1e-5 * v)) / 2e-5, rtol=1e-4, atol=1e-7)
    streamed = operators.Streamed(X[0], c[0], "hyperbolic")  # the flow's operator for large data
    np.testing.assert_allclose(streamed.grad(w)[0], g, rtol=1e-13)
    np.testing.assert_allclose(streamed.hess(v)[0], hv, rtol=1e-12, atol=1e-15)
    lr, steps = 0.05, 5
    traj = train.train(train.Problem(X, real.S0[None], -0.4, c, "hyperbolic"),
                       train.Schedule(lr, np.array([0.0, steps])), "gd")
    for _ in range(steps):
        w = w - lr * fd_grad(w)
    np.testing.assert_allclose(np.r_[traj.S[0, -1], traj.b[0, -1]], w, rtol=1e-7, atol=1e-9)
    law = laws.InputLaw("gaussian", 2.0)
    cm = metrics.curve_metrics(traj, metrics.Points(X, c), metrics.Population(law, 0.3, loss="hyperbolic"))
    a = model.gen_scale(np.linalg.norm(traj.S, axis=-1), traj.b, 2.0, 0.3)
    np.testing.assert_allclose(cm["gen_loss"], HYPERBOLIC.population(traj.b, a), rtol=1e-14)
    assert np.all(cm["gen_acc"] == model.gen_accuracy(traj.b, a))
    np.testing.assert_allclose(cm["train_loss"][0], [loss_at(np.r_[real.S0, -0.4]), loss_at(w)], rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_label_fraction_without_a_closed_form_needs_the_sampled_test_set(name):
    """Below r = 1 the generalisation loss is closed-form only where the registry has ``labelled_population``;
    elsewhere the config is refused before any job runs, unless the test set is sampled."""
    cfg = preset_config("smoke")
    exp = cfg["experiments"]["lambda_sweep"]
    exp |= {"loss": name, "label_fraction": [1.0, 0.95], "test_set": "closed_form"}
    if losses.LOSSES[name].labelled_population is None:
        with pytest.raises(config.ConfigError, match=f"lambda_sweep.test_set: the {name} loss"):
            config.validate_config(cfg)
        exp["test_set"] = "sampled"
    config.validate_config(cfg)
