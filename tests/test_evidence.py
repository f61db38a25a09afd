"""The evidence modules (grokedge.evidence) and the powerlaw_trace option they motivate, on tiny sizes: the
readings of Fig. 15 (b) give the traces they state, L_gen's closed form agrees with a sampled test set, and
Adam's separation rule of Fig. 6 (right) reproduces the LP's verdicts when its budget is large."""

import copy
import dataclasses

import numpy as np
import pytest
import yaml
from conftest import ROOT
from scipy.special import logsumexp

from grokedge import config, laws, separability, spec, train
from grokedge.evidence import fig6_kept, fig15_powerlaw
from grokedge.schema import EXPERIMENT_DEFAULTS

DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())


# ------------------------------------------------------------------------------- Fig. 15 (b) readings
@pytest.mark.parametrize("name, total", [
    ("sum_var_sigma_d", lambda v, s, d: (v.sum(), s * d)),
    ("sum_var_sigma2_d", lambda v, s, d: (v.sum(), s**2 * d)),
    ("sum_std_sigma_d", lambda v, s, d: (np.sqrt(v).sum(), s * d)),
    ("eig_as_std", lambda v, s, d: (np.sqrt(v).sum(), s * d)),
    ("sum_var_sigma_d_times_sigma", lambda v, s, d: (v.sum(), s**3 * d)),
    ("unit_trace_times_5", lambda v, s, d: (v.sum(), 25 * d)),
    ("unit_trace", lambda v, s, d: (v.sum(), d)),
    ("lambda0_sigma2", lambda v, s, d: (v[0], s**2)),
    ("isotropic_sigma5", lambda v, s, d: (v.sum(), 25 * d)),
])
def test_readings_give_their_stated_normalisation_and_shape(name, total):
    d, sigma, alpha = 50, 10.0, 1.5
    v = fig15_powerlaw.CONVENTIONS[name][1](d, sigma, alpha)
    got, want = total(v, sigma, d)
    assert got == pytest.approx(want, rel=1e-12)
    n = np.arange(1, d + 1)
    # variances ~ n^-alpha, except where the eigenvalues are read as standard deviations (variance ~ n^-2 alpha)
    power = {"eig_as_std": 2 * alpha, "isotropic_sigma5": 0.0}.get(name, alpha)
    assert v / v[0] == pytest.approx(n**-power, rel=1e-12)


def test_reading_and_scan_at_sigma_d_are_the_pipeline_law():
    d = 180
    literal = fig15_powerlaw.CONVENTIONS["sum_var_sigma_d"][1](d, 10.0, 1.5)
    law = spec.input_law(EXPERIMENT_DEFAULTS | {"input_law": "powerlaw"}, 10.0)  # the pipeline's default powerlaw
    assert literal == pytest.approx(law.variances(d))
    assert fig15_powerlaw._scaled(fig15_powerlaw._spectrum(d, 1.5), 10.0 * d) == pytest.approx(literal)


@pytest.mark.parametrize("solver", ["gd", "flow"])
def test_gen_loss_closed_form_against_sampled_test_points(solver):
    """L_gen of ``gen_loss_curves`` (closed form in S^T C S) against the mean logistic loss on 2e5 fresh points of
    the law, at the trained weights (an independent computation; sampling error ~1e-3)."""
    N, d, R = 40, 18, 2
    var = fig15_powerlaw.CONVENTIONS["sum_var_sigma_d"][1](d, 10.0, 1.5)
    Z, S0 = fig15_powerlaw.unit_draws(N, d, R)
    epochs = np.array([0.0, 10.0, 100.0])
    L = fig15_powerlaw.gen_loss_curves(Z, S0, var, 0.01, epochs, solver)
    X = Z * np.sqrt(var)
    problem, schedule = train.Problem(X, S0), train.Schedule(0.01, epochs)
    tr = (train.gradient_descent(problem, schedule, train.GDOptions(rise_factor=np.inf)) if solver == "gd"
          else train.gradient_flow(problem, schedule, train.FlowOptions(correction_epochs=0.0)))
    test = np.random.default_rng(5).standard_normal((200_000, d)) * np.sqrt(var)
    for r in range(R):
        for k in range(len(epochs)):
            z = test @ tr.S[r, k] + tr.b[r, k]
            sampled = np.logaddexp(0.0, z)
            assert L[r, k] == pytest.approx(sampled.mean(), abs=4 * sampled.std() / np.sqrt(len(z)))


def test_peak_summary_finds_the_bump_and_the_stability_number():
    """The isotropic sigma = 5 law of panel (a) at a tenth of the paper's N has its bump after epoch 30 (not at
    epoch 0), with GD far below its stability bound; under the literal power-law reading L_gen only falls."""
    N, d = 100, 45
    Z, S0 = fig15_powerlaw.unit_draws(N, d, 3)
    ep = train.checkpoint_epochs(3e3, 10)
    iso = fig15_powerlaw.summarise(fig15_powerlaw.peak_rows(Z, S0, np.full(d, 25.0), 0.01, ep))
    assert iso["rise"] > 0.05 and iso["peak"] > iso["gen_loss_0"] + 0.05 and iso["peak_epoch"] >= 30
    # eta lambda_max(X^T X / 4N) for sigma = 5: 0.01 * 25 (1 + sqrt(d/N))^2 / 4 ~ 0.17 (Marchenko-Pastur edge)
    assert iso["eta_h0"] == pytest.approx(0.01 * 25 * (1 + np.sqrt(d / N)) ** 2 / 4, rel=0.25)
    lit = fig15_powerlaw.summarise(fig15_powerlaw.peak_rows(
        Z, S0, fig15_powerlaw.CONVENTIONS["sum_var_sigma_d"][1](d, 10.0, 1.5), 0.01, ep))
    assert lit["peak_epoch"] == 1 and lit["rise"] == 0 and not lit["matches_panel"]


# ---------------------------------------------------------------------------------- powerlaw_trace option
def _cfg(**exp):
    cfg = copy.deepcopy(DEFAULT)
    cfg["experiments"]["opt"] = {"N": [100], "lam": [0.48], "sigma": [10.0], "realisations": 2,
                                 "input_law": "powerlaw"} | exp
    cfg["active"] = [*cfg["active"], "opt"]
    return config.validate_config(cfg)


def test_powerlaw_trace_option_keeps_default_ids_and_params():
    cfg = _cfg()
    cell = next(c for c in config.cells(cfg) if c["experiment"] == "opt")
    assert cell["cell"] == "N100_d48_sigma10_lr0.01_lawpowerlaw"
    cell = spec.cell_spec(cfg, cell)
    assert "powerlaw_trace" not in cell.params()
    assert cell.law().variances(48).sum() == pytest.approx(10.0 * 48)


def test_powerlaw_trace_sigma2_in_id_params_and_data():
    cfg = _cfg(powerlaw_trace="sigma2")
    cell = next(c for c in config.cells(cfg) if c["experiment"] == "opt")  # validated against cells.schema.yaml
    assert cell["cell"] == "N100_d48_sigma10_lr0.01_lawpowerlaw_tracesigma2"
    cell = spec.cell_spec(cfg, cell)
    assert cell.data_spec.params()["powerlaw_trace"] == "sigma2"
    assert cell.law().variances(48).sum() == pytest.approx(100.0 * 48)
    # the same standard-normal draws as the literal reading, scaled by sqrt(sigma) = sqrt(100 / 10)
    literal = dataclasses.replace(cell, powerlaw_trace="sigma").realisation(7).X
    assert cell.realisation(7).X == pytest.approx(np.sqrt(10.0) * literal, rel=1e-12)


def test_powerlaw_trace_bad_value_is_refused():
    with pytest.raises(config.ConfigError, match="powerlaw_trace"):
        _cfg(powerlaw_trace="sigma_d")
    with pytest.raises(ValueError, match="powerlaw_trace"):
        laws.InputLaw("powerlaw", 10.0, {"powerlaw_alpha": 1.5, "powerlaw_trace": "trace"})


# ------------------------------------------------------------------------------------- Fig. 6 (right)
def test_adam_with_a_large_budget_reproduces_the_lp_verdicts():
    """Separated by Adam within a large budget <=> LP-separable: an inseparable set is never separated (no S
    has S.x_i < 0 for all i), and every separable set is, given the steps."""
    N, d = 30, 15
    lp = fig6_kept.lp_table(N, d, range(16))
    assert 0 < lp.separable.sum() < len(lp)  # both verdicts present (Wendel: P(separable) = 0.5)
    table = fig6_kept.adam_table(lp, budget=20000, lr=1e-2, check_every=1)
    assert (table.adam_steps.notna() == table.separable).all()
    kept = fig6_kept.adam_kept(table, [1, 20000])
    assert kept.kept.iloc[-1] == pytest.approx((~lp.separable).mean())
    assert kept.kept.iloc[0] == 1.0  # one step from |S0| = 0.1 separates nothing at this size


def test_adam_steps_are_torch_adam_on_the_exp_objective():
    """One set against the update written out by hand, one step at a time (torch.optim.Adam's formula), with the
    gradient of (1/N) sum exp(S.x_i) checked by finite differences of its log-sum-exp form."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((1, 12, 4)) + np.array([-2.0, 0, 0, 0])  # separable along -e_1
    S0 = 0.1 * rng.standard_normal((1, 4))
    steps = fig6_kept.adam_separation_steps(X, S0, budget=5000, lr=0.05)

    def loss(S):
        return np.exp(logsumexp(X[0] @ S) - np.log(12))

    def grad(S):
        return X[0].T @ np.exp(X[0] @ S) / 12

    fd = np.array([(loss(S0[0] + h) - loss(S0[0] - h)) / 2e-6 for h in 1e-6 * np.eye(4)])
    assert grad(S0[0]) == pytest.approx(fd, rel=1e-6)
    S, m, v, t = S0[0].copy(), np.zeros(4), np.zeros(4), 0
    while not (X[0] @ S < 0).all():
        t += 1
        g = grad(S)
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        S = S - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    assert steps[0] == t


def test_wendel_scaling_to_a_smaller_n():
    assert fig6_kept.d_at_same_wendel(2400) == 1191
    d = fig6_kept.d_at_same_wendel(600)
    assert 1 - separability.wendel_probability(600, d) == pytest.approx(0.643, abs=0.02)
    near = fig6_kept.wendel_nearby(ds=[1177, 1191])
    assert near.wendel_kept.tolist() == pytest.approx([0.826, 0.643], abs=1e-3)
