"""The model options (loss, input law, label fraction, |S0|/b0 grid axes, Adam) against theory and independent
computations: finite differences, closed forms against large sampled test sets, Wendel's law, torch's Adam."""

import copy
import dataclasses
import pickle

import numpy as np
import pytest
import yaml
from conftest import ROOT
from helpers import preset_config
from scipy.special import ndtr, ndtri

from grokedge import config, data, laws, losses, metrics, model, option_figures, separability, spec, stages, train
from grokedge.schema import EXPERIMENT_DEFAULTS
from grokedge.seeds import realisation_seed

DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())


# ------------------------------------------------------------------------------------ exponential loss
def test_exponential_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6))
    S, b = 0.3 * rng.standard_normal(6), -0.4
    gS, gb = model.gradient(X, S, b, loss="exponential")
    h = 1e-6
    for j in range(6):
        e = np.zeros(6)
        e[j] = h
        fd = (model.train_loss(X, S + e, b, "exponential") - model.train_loss(X, S - e, b, "exponential")) / (2 * h)
        assert gS[j] == pytest.approx(fd, rel=1e-7)
    fd_b = (model.train_loss(X, S, b + h, "exponential") - model.train_loss(X, S, b - h, "exponential")) / (2 * h)
    assert gb == pytest.approx(fd_b, rel=1e-7)
    # the exponential loss factorises: L(S, b) = e^b L(S, 0)
    factor = np.exp(b) * model.train_loss(X, S, 0.0, "exponential")
    assert model.train_loss(X, S, b, "exponential") == pytest.approx(factor)


def test_gd_kernel_with_exponential_loss_is_plain_gd():
    """Five GD steps of the batched kernel against S <- S - eta grad L written out with model.gradient."""
    rng = np.random.default_rng(2)
    X = 2 * rng.standard_normal((3, 30, 5))
    S0 = 0.1 * rng.standard_normal((3, 5))
    traj = train.gradient_descent(train.Problem(X, S0, loss="exponential"), train.Schedule(0.01, np.array([0, 5])))
    for r in range(3):
        S, b = S0[r].copy(), 0.0
        for _ in range(5):
            gS, gb = model.gradient(X[r], S, b, loss="exponential")
            S, b = S - 0.01 * gS, b - 0.01 * gb
        np.testing.assert_allclose(traj.S[r, -1], S, rtol=1e-13, atol=1e-15)
        assert traj.b[r, -1] == pytest.approx(b, rel=1e-13)


def test_flow_follows_gd_for_the_exponential_loss():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((1, 60, 20))
    S0 = 0.1 * rng.standard_normal((1, 20))
    epochs = np.array([0.0, 10, 100, 1000])
    gd = train.train(train.Problem(X, S0, loss="exponential"), train.Schedule(0.01, epochs), "gd")
    fl = train.train(train.Problem(X, S0, loss="exponential"), train.Schedule(0.01, epochs), "flow")
    np.testing.assert_allclose(fl.b, gd.b, rtol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(fl.S, axis=-1), np.linalg.norm(gd.S, axis=-1), rtol=1e-3)


def test_conformal_time_equivalence():
    """Exponential loss: |S| with a bias against tau = int e^b dt equals |S| without a bias against t."""
    f = option_figures.conformal_time_comparison(0.48, N=100, horizon=1e4, points_per_decade=60)
    assert f.b.iloc[-1] < -1.0  # the bias moved, so the identity is not trivial
    assert not np.allclose(f.s_norm, f.s_norm_free, rtol=1e-2)  # ... and time is really reparametrised
    np.testing.assert_allclose(f.s_norm, f.s_norm_free_at_tau, rtol=1e-6)


def test_toy_max_margin_direction():
    """Extended-space SVM of the toy points: (M, -1)/(1 + M^2) for lambda > 1/2 (Table 1's b/|S| -> -1/M)."""
    for lam in (0.6, 0.75, 0.9):
        M = 2 * lam - 1
        w, _ = option_figures.toy_extended_max_margin(lam)
        np.testing.assert_allclose(w, [M / (1 + M * M), -1 / (1 + M * M)], atol=1e-12)
    w, _ = option_figures.toy_extended_max_margin(0.25)
    np.testing.assert_allclose(w, [0.0, -1.0], atol=1e-12)


# ------------------------------------------------------------------------------------ input laws
def _law(name: str, sigma: float) -> laws.InputLaw:
    """The input law ``name`` with the schema's default parameters (as a cell of the pipeline has them)."""
    return spec.input_law(EXPERIMENT_DEFAULTS | {"input_law": name}, sigma)


@pytest.mark.parametrize("name", sorted(laws.INPUT_LAWS))
def test_law_covariance_and_symmetry(name):
    """Every registered law: the sample covariance is diag(variances) and the law is origin-symmetric."""
    law = _law(name, 3.0)
    d, n = 12, 200_000
    X = law.sample(np.random.default_rng(4), n, d)
    var = law.variances(d)
    cov = X.T @ X / n
    se = np.sqrt(2.0 * np.outer(var, var) / n + np.diag(var * var * 2 / n))  # generous: Gaussian 4th moments
    assert np.all(np.abs(cov - np.diag(var)) < 6 * se + 1e-12)
    # origin symmetry: odd moments vanish and a projection's law equals that of its negative
    assert np.all(np.abs(X.mean(axis=0)) < 6 * np.sqrt(var / n))
    p = X @ np.linspace(1.0, 2.0, d)
    qs = np.quantile(p, [0.1, 0.25, 0.5, 0.75, 0.9])
    np.testing.assert_allclose(qs, -qs[::-1], atol=6 * p.std() / np.sqrt(n) * 4)


def test_powerlaw_spectrum_and_mixture_components():
    law = laws.InputLaw("powerlaw", 10.0, {"powerlaw_alpha": 1.5, "powerlaw_trace": "sigma"})
    var = law.variances(180)
    assert var.sum() == pytest.approx(10.0 * 180)  # sum lambda_n = sigma d (paper Fig. 15)
    np.testing.assert_allclose(var[1:] / var[:-1], (np.arange(1, 180) / np.arange(2, 181)) ** 1.5)
    x = laws.InputLaw("mixture", 5.0, {"mixture_std": 0.5}).sample(np.random.default_rng(5), 100_000, 1)[:, 0] / 5.0
    # N(+-1, m^2), m = 0.5 (variance 0.25): E x^2 = 1 + m^2, E x^4 = 1 + 6 m^2 + 3 m^4
    assert np.mean(x * x) == pytest.approx(1.25, abs=5 * np.std(x * x) / np.sqrt(x.size))
    assert np.mean(x**4) == pytest.approx(1 + 1.5 + 3 / 16, abs=5 * np.std(x**4) / np.sqrt(x.size))


@pytest.mark.parametrize("name", sorted(laws.INPUT_LAWS))
def test_wendel_holds_for_every_law(name):
    """LP separable fraction of N = 24, d = 12 sets against Wendel's P = 1/2 (any origin-symmetric law)."""
    N, d, reps = 24, 12, 300
    law = _law(name, 5.0)
    seps = [separability.separable_from_origin(
        data.realisation(N, d, 5.0, realisation_seed(7, name, N, d, r), law=law).X) for r in range(reps)]
    p = separability.wendel_probability(N, d)
    assert abs(np.mean(seps) - p) < 4 * np.sqrt(p * (1 - p) / reps)


LAW_PARAMETERS = [pytest.param(law, p, id=f"{law}-{p.name}") for law, kind in laws.INPUT_LAWS.items()
                  for p in kind.parameters]


def _another_value(p: laws.Parameter):
    """A valid value of a law parameter away from its default."""
    if "enum" in p.bounds:
        return next(v for v in p.bounds["enum"] if v != p.default)

    def valid(v):
        try:
            p.check(v)
        except ValueError:
            return False
        return True

    return next(v for v in (2 * p.default, p.default / 2, p.default + 1, p.default - 1) if valid(v))


def _with_law(**options) -> dict:
    """The smoke preset, its lambda_sweep given these options and a sampled test set (any law can train)."""
    cfg = preset_config("smoke")
    cfg["experiments"]["lambda_sweep"] |= {"test_set": "sampled"} | options
    return cfg


@pytest.mark.parametrize(("law", "p"), LAW_PARAMETERS)
def test_a_law_parameter_reaches_the_cell(law, p):
    """Every declared law parameter: a config giving it away from its default, with its law, validates; the
    cells' specification, params, law and id carry it (the id only if it has a tag)."""
    value = _another_value(p)
    cfg = config.validate_config(_with_law(input_law=law, **{p.name: value}))
    assert cfg["experiments"]["lambda_sweep"][p.name] == value
    for c in [c for c in config.cells(cfg) if c["experiment"] == "lambda_sweep"]:
        cell = spec.cell_spec(cfg, c)
        assert cell.law().params[p.name] == value and cell.params()[p.name] == value
        assert spec.CellSpec.from_params(cell.params()) == cell
        text = value if isinstance(value, str) else spec.canonical(value)
        assert (f"_{p.tag.format(text)}" in c["cell"]) if p.tag else c["cell"].endswith(f"_law{law}")
    at_default = config.validate_config(_with_law(input_law=law))
    assert at_default["experiments"]["lambda_sweep"][p.name] == p.default


@pytest.mark.parametrize(("law", "p"), LAW_PARAMETERS)
def test_a_law_parameter_is_refused_with_another_law(law, p):
    """A law parameter given under a law that does not read it is refused (config and library), not ignored."""
    other = next(n for n, kind in laws.INPUT_LAWS.items() if p not in kind.parameters)
    with pytest.raises(config.ConfigError, match=rf"lambda_sweep\.{p.name}: applies only with input_law: .*{law}"):
        config.validate_config(_with_law(input_law=other, **{p.name: _another_value(p)}))
    with pytest.raises(ValueError, match=f"has no parameters \\['{p.name}'\\]"):
        laws.InputLaw(other, 1.0, {p.name: p.default})


def test_law_parameters_are_checked_by_the_library():
    with pytest.raises(ValueError, match="mixture_std must be >= 0"):
        laws.InputLaw("mixture", 1.0, {"mixture_std": -0.1})
    with pytest.raises(ValueError, match="powerlaw_alpha must be a finite number"):
        laws.InputLaw("powerlaw", 1.0, {"powerlaw_alpha": "1.5"})
    law = laws.InputLaw("mixture", 1.0)
    assert law.params["mixture_std"] == EXPERIMENT_DEFAULTS["mixture_std"]
    assert pickle.loads(pickle.dumps(law)) == copy.deepcopy(law) == law  # e.g. to a worker process


def test_seed_scheme_and_checksums_per_law():
    """The law's name is the seed tag: gaussian seeds as before; another law, another stream; data reproducible."""
    cell = spec.DataSpec(root_seed=1, N=20, d=5, block_size=4, realisations=4, sigma=2.0, lam=0.25, experiment="e",
                         cell="c", lr=0.01)
    gauss = cell.seeds(0)
    assert gauss[1][1] == realisation_seed(1, "gaussian", 20, 5, 1)
    for name in sorted(set(laws.INPUT_LAWS) - {"gaussian"}):
        p = dataclasses.replace(cell, input_law=name)
        seeds = p.seeds(0)
        assert seeds[1][1] == realisation_seed(1, name, 20, 5, 1) != gauss[1][1]
        man = stages.dataset_manifest(p, 0)
        assert len(list(stages.load_realisations(p, man))) == 4  # checksums verified on regeneration


@pytest.mark.parametrize("loss", ["logistic", "exponential"])
def test_powerlaw_closed_forms_against_sampled_test_set(loss):
    law = _law("powerlaw", 10.0)
    d = 8
    rng = np.random.default_rng(6)
    S = (0.05 * rng.standard_normal(d))[None, None, :]
    b = np.array([[-0.7]])
    Xt = law.sample(rng, 400_000, d)[None]
    m = metrics.curve_metrics(train.Trajectory(np.arange(1), S, b), metrics.Points(np.zeros((1, 2, d))),
                              metrics.Population(law, loss=loss), metrics.Points(Xt))
    z = Xt[0] @ S[0, 0] + b[0, 0]
    acc = m["test_acc"][0, 0]
    assert abs(m["gen_acc"][0, 0] - acc) < 5 * np.sqrt(acc * (1 - acc) / z.size)
    ell = losses.LOSSES[loss].pointwise(z)
    assert abs(m["gen_loss"][0, 0] - ell.mean()) < 5 * ell.std() / np.sqrt(z.size)


def test_mixture_needs_a_sampled_test_set():
    law = _law("mixture", 5.0)
    with pytest.raises(ValueError, match="test_set: sampled"):
        metrics.curve_metrics(train.Trajectory(np.arange(1), np.zeros((1, 1, 3)), np.zeros((1, 1))),
                              metrics.Points(np.zeros((1, 2, 3))), metrics.Population(law))


# ------------------------------------------------------------------------------------ label fraction
def test_labels_flip_rows_and_have_fraction_r():
    law = laws.InputLaw("gaussian", 5.0)
    raw = data.realisation(4000, 3, 5.0, 11)
    lab = data.realisation(4000, 3, 5.0, 11, law=law, label_fraction=0.9)
    flipped = np.all(lab.X == -raw.X, axis=1)
    assert np.all(flipped | np.all(lab.X == raw.X, axis=1))
    np.testing.assert_array_equal(lab.c, np.where(flipped, -1.0, 1.0))
    assert np.all(raw.X[flipped, 0] <= 5.0 * ndtri(0.1)) and np.all(raw.X[~flipped, 0] > 5.0 * ndtri(0.1))
    assert np.mean(~flipped) == pytest.approx(0.9, abs=4 * np.sqrt(0.09 / 4000))
    # the loss of a +1 point, softplus(-(S.x + b)), is the flipped row's label -1 loss
    S, b = np.array([0.2, -0.1, 0.05]), 0.3
    i = int(np.flatnonzero(flipped)[0])
    assert losses.softplus(lab.X[i] @ S + b * lab.c[i]) == pytest.approx(losses.softplus(-(raw.X[i] @ S + b)))


def test_bivariate_normal_cdf_against_quadrature():
    from scipy.integrate import quad
    for h, k, rho in [(0.3, -0.5, 0.4), (0.0, -1.0, 0.3), (-1.0, 0.0, -0.7), (0.0, 0.0, 0.5), (-2.3, 1.0, 0.999),
                      (1.5, 2.0, -0.95), (-0.4, 0.0, 0.0)]:
        r = np.sqrt(1 - rho * rho)
        ref = quad(lambda u, k=k, rho=rho, r=r: np.exp(-u * u / 2) / np.sqrt(2 * np.pi) * ndtr((k - rho * u) / r),
                   -np.inf, h, epsabs=1e-14)[0]
        assert model.bvn_cdf(h, k, rho) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("r", [0.99, 0.95, 0.7])
@pytest.mark.parametrize("loss", ["logistic", "exponential"])
def test_label_fraction_metrics_against_large_sampled_test_set(r, loss):
    """Closed-form A_gen (and the exponential L_gen) with labels against 4e5 labelled test points; the logistic
    L_gen, which has no labelled closed form, is the test set's loss itself (checked as such, not as a match)."""
    d, sigma = 6, 2.0
    law = _law("powerlaw" if loss == "exponential" else "gaussian", sigma)
    rng = np.random.default_rng(8)
    S = np.array([[[-0.3, 0.1, 0.05, -0.2, 0.1, 0.0], [0.1, 0.1, 0.0, 0.0, 0.0, 0.02]]])
    b = np.array([[0.4, -0.2]])
    Xt, ct = data.sampled_test_set(int(rng.integers(2**62)), 400_000, d, sigma, law=law, label_fraction=r)
    m = metrics.curve_metrics(train.Trajectory(np.arange(2), S, b), metrics.Points(np.zeros((1, 2, d))),
                              metrics.Population(law, label_fraction=r, loss=loss), metrics.Points(Xt[None], ct[None]))
    for k in range(2):
        z = Xt @ S[0, k] + b[0, k] * ct
        acc = np.mean(z <= 0)
        assert abs(m["gen_acc"][0, k] - acc) < 5 * np.sqrt(acc * (1 - acc) / z.size) + 1e-12
        ell = losses.LOSSES[loss].pointwise(z)
        if losses.LOSSES[loss].labelled_population is None:
            assert m["gen_loss"][0, k] == m["test_loss"][0, k]
        else:
            assert abs(m["gen_loss"][0, k] - ell.mean()) < 5 * ell.std() / np.sqrt(z.size)
    assert np.all(m["gen_acc"] < 1.0)


def test_perfect_classifier_for_labels_is_r_independent():
    """S = -e_1 / eps, b = -t/eps (the plane x_1 = t) classifies every labelled point: A_gen -> 1."""
    sigma, r = 1.0, 0.95
    t = sigma * ndtri(1 - r)
    s1 = -1e6 * sigma
    acc = model.labelled_gen_accuracy(1e6 * t, s1, 1e-3, ndtri(1 - r))
    assert acc == pytest.approx(1.0, abs=1e-9)
    expected = r * ndtr(5.0) + (1 - r) * ndtr(-5.0)  # S = 0: f = b + z independent of the label
    assert model.labelled_gen_accuracy(-5.0, 0.0, 1.0, ndtri(1 - r)) == pytest.approx(expected)


# ------------------------------------------------------------------------------------ config axes
def _cfg(**exp):
    cfg = copy.deepcopy(DEFAULT)
    cfg["experiments"]["opt"] = {"N": [100], "lam": [0.48], "sigma": [5.0], "realisations": 2} | exp
    cfg["active"] = [*cfg["active"], "opt"]
    return config.validate_config(cfg)


def test_cell_ids_unchanged_at_defaults_and_suffixed_otherwise():
    assert config.cell_id(400, 192, 5.0, 0.01) == "N400_d192_sigma5_lr0.01"
    assert config.cell_id(400, 192, 5.0, 0.01, bias_noise=0.25) == "N400_d192_sigma5_lr0.01_bn0.25"
    assert config.cell_id(400, 192, 5.0, 0.01, s0_norm=2, b0=-1, label_fraction=0.95, loss="exponential",
                          input_law="powerlaw") == "N400_d192_sigma5_lr0.01_s02_b0-1_r0.95_exp_lawpowerlaw"
    cells = [c for c in config.cells(_cfg(s0_norm=[0.1, 1.0, 2.0], b0=[0.0, -1.0], label_fraction=[1.0, 0.99],
                                         test_set="sampled"))
             if c["experiment"] == "opt"]
    assert len(cells) == 12 and len({c["cell"] for c in cells}) == 12
    assert "N100_d48_sigma5_lr0.01" in {c["cell"] for c in cells}


def test_default_params_have_no_new_keys():
    cfg = _cfg()
    cell = next(c for c in config.cells(cfg) if c["experiment"] == "opt")
    params = spec.cell_spec(cfg, cell).params()
    assert not set(params) & {"label_fraction", "loss", "input_law", "adam_eps"}
    cfg = _cfg(loss="exponential", input_law="powerlaw", label_fraction=[0.95], adam_eps=1.0e-8)
    cell = next(c for c in config.cells(cfg) if c["experiment"] == "opt")
    params = spec.cell_spec(cfg, cell).params()
    assert params["loss"] == "exponential" and params["input_law"] == "powerlaw" and params["label_fraction"] == 0.95
    assert cell["cell"].endswith("_r0.95_exp_lawpowerlaw")


def test_train_block_with_every_option():
    """One small block per option: finite curves, option columns set, closed forms where the law has them."""
    for exp in ({"loss": "exponential"}, {"b0": [1.0], "s0_norm": [2.0]},
                {"input_law": "mixture", "test_set": "sampled", "n_test": 500},
                {"input_law": "powerlaw", "sigma": [10.0]},
                {"label_fraction": [0.95], "test_set": "sampled", "n_test": 500}):
        cfg = _cfg(solver="gd", horizon=50, **exp)
        cell = next(c for c in config.cells(cfg) if c["experiment"] == "opt")
        curves, state = stages.train_block(spec.cell_spec(cfg, cell), 0)
        assert np.isfinite(curves[["train_loss", "gen_loss", "gen_acc"]].to_numpy()).all()
        for k in ("s0_norm", "b0"):
            assert (curves[k] == cell[k]).all()
        first = curves[curves.epoch == 0]
        assert np.allclose(first.s_norm, cell["s0_norm"]) and np.allclose(first.b, cell["b0"])


def test_adam_matches_torch():
    """torch.optim.Adam with PyTorch's defaults on the same loss: the same iterates to 1e-12 (skipped without
    torch; run it in a venv that has torch)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    X = rng.standard_normal((1, 50, 8))
    S0 = 0.1 * rng.standard_normal((1, 8))
    ours = train.gradient_descent(train.Problem(X, S0), train.Schedule(1e-3, np.arange(21)),
                                  train.AdamOptions(betas=(0.9, 0.999), eps=1e-8))
    w = torch.tensor(np.append(S0[0], 0.0), dtype=torch.float64, requires_grad=True)
    U = torch.tensor(np.column_stack([X[0], np.ones(50)]), dtype=torch.float64)
    opt = torch.optim.Adam([w], lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    for k in range(1, 21):
        opt.zero_grad()
        torch.nn.functional.softplus(U @ w).mean().backward()
        opt.step()
        got = w.detach().numpy()
        np.testing.assert_allclose(ours.S[0, k], got[:8], rtol=0, atol=1e-12)
        assert ours.b[0, k] == pytest.approx(got[8], abs=1e-12)
