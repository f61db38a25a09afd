"""The library's public calls (the notebook path) and the example script: shapes and ranges are checked at the
boundary, with a message that names the argument, what was given and what is expected (issue 21). Each case
failed before with an unrelated error (unpacking, IndexError, ZeroDivisionError, NaN conversion), a wrong
reason, or silently (a realisation with sigma < 0 or no points, a rounded lambda)."""

import os
import subprocess
import sys
from pathlib import Path

import docutils.core
import jinja2
import numpy as np
import pytest
import yaml
from helpers import preset_config

from grokedge import data, laws, metrics, train
from grokedge.config import validate_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def one():
    real = data.realisation(40, 4, 5.0, 1)
    epochs = train.checkpoint_epochs(1e3, 5)
    traj = train.train(train.Problem(real.X[None], real.S0[None]), train.Schedule(0.01, epochs))
    return real, epochs, traj


def _paper_population(sigma):
    """Fresh points of the paper's model: isotropic Gaussian of this sigma, labels -1, the logistic loss."""
    return metrics.Population(laws.InputLaw("gaussian", sigma))


def test_train_wants_a_batch_axis_and_says_so(one):
    real, epochs, _ = one
    with pytest.raises(ValueError, match=r"X must have shape \(R, N, d\).*got \(40, 4\).*X\[None\]"):
        train.train(train.Problem(real.X, real.S0), train.Schedule(0.01, epochs))
    with pytest.raises(ValueError, match=r"S0 must have shape \(R, d\) = \(1, 4\), got \(4, 4\)"):
        train.train(train.Problem(real.X[None], np.zeros((4, 4))), train.Schedule(0.01, epochs))
    with pytest.raises(ValueError, match=r"b0 must be a number or one per realisation \(1,\), got shape \(3,\)"):
        train.train(train.Problem(real.X[None], real.S0[None], np.zeros(3)), train.Schedule(0.01, epochs))


@pytest.mark.parametrize("lr", [0.0, -0.01, float("nan"), float("inf")])
@pytest.mark.parametrize("solver", ["flow", "gd", "adam"])
def test_learning_rate_must_be_positive(one, lr, solver):
    real, epochs, _ = one
    with pytest.raises(ValueError, match=rf"lr must be a positive finite number, got {lr}"):
        train.train(train.Problem(real.X[None], real.S0[None]), train.Schedule(lr, epochs), solver)


@pytest.mark.parametrize("epochs,match", [
    ([1.0, 10.0], r"epochs must start at 0"),
    ([0.0, 10.0, 5.0], r"epochs must be strictly increasing"),
    ([0.0, 1.5, 10.0], r"epochs must be whole numbers"),
    ([[0.0, 1.0]], r"epochs must be a 1-D array"),
])
def test_epochs_are_checked(one, epochs, match):
    real, _, _ = one
    with pytest.raises(ValueError, match=match):
        train.train(train.Problem(real.X[None], real.S0[None]), train.Schedule(0.01, np.array(epochs)), "gd")


@pytest.mark.parametrize("horizon,per_decade,match", [
    (-10, 10, r"horizon must be a finite number of epochs >= 1, got -10"),
    (0, 10, r"horizon must be a finite number of epochs >= 1, got 0"),
    (float("inf"), 10, r"horizon must be a finite number of epochs >= 1"),
    (100, 0, r"per_decade must be a whole number >= 1, got 0"),
    (100, 2.5, r"per_decade must be a whole number >= 1, got 2.5"),
])
def test_checkpoint_epochs_checks_its_arguments(horizon, per_decade, match):
    with pytest.raises(ValueError, match=match):
        train.checkpoint_epochs(horizon, per_decade)


def test_checkpoint_epochs_of_a_valid_horizon():
    ep = train.checkpoint_epochs(100, 2)  # 10^(k/2) rounded: 1, 3, 10, 32, 100
    np.testing.assert_array_equal(ep, [0, 1, 3, 10, 32, 100])


def test_grokking_time_wants_one_realisation(one):
    real, epochs, traj = one
    cm = metrics.curve_metrics(traj, metrics.Points(real.X[None]), _paper_population(5.0))
    with pytest.raises(ValueError, match=r"curves\['gen_acc'\] has shape \(1, \d+\): one realisation's curve of "
                                         r"shape \(\d+,\) is expected.*v\[0\]"):
        metrics.grokking_time(epochs, cm, "gen_accuracy", 0.6)
    one_curve = {k: v[0] for k, v in cm.items()}
    t = metrics.grokking_time(epochs, one_curve, "gen_accuracy", 0.6)
    # independent check: the first checkpoint at or above the threshold brackets the time from above
    k = int(np.argmax(one_curve["gen_acc"] >= 0.6))
    assert not t["censored"] and epochs[k - 1] <= t["time"] <= epochs[k]
    with pytest.raises(ValueError, match=r"curves\['gen_acc'\] has 3 values but epochs has \d+"):
        metrics.grokking_time(epochs, {"gen_acc": np.ones(3)}, "gen_accuracy", 0.6)
    with pytest.raises(ValueError, match=r"kind gen_accuracy needs curves\['gen_acc'\]; got \['train_acc'\]"):
        metrics.grokking_time(epochs, {"train_acc": one_curve["train_acc"]}, "gen_accuracy", 0.6)


def test_curve_metrics_checks_shapes(one):
    real, _, traj = one
    with pytest.raises(ValueError, match=r"X must have shape \(R, N, d\).*got \(40, 4\)"):
        metrics.curve_metrics(traj, metrics.Points(real.X), _paper_population(5.0))
    with pytest.raises(ValueError, match=r"S must have shape \(R, K, d\) = \(1, K, 4\), got \(1, 4\)"):
        metrics.curve_metrics(train.Trajectory(traj.epochs, traj.S[:, 0], traj.b), metrics.Points(real.X[None]),
                              _paper_population(5.0))
    with pytest.raises(ValueError, match=r"sigma must be a positive finite number, got -5"):
        metrics.curve_metrics(traj, metrics.Points(real.X[None]), _paper_population(-5.0))


@pytest.mark.parametrize("kwargs,match", [
    (dict(N=40, d=4, sigma=-5.0), r"sigma must be a positive finite number, got -5"),
    (dict(N=40, d=4, sigma=0.0), r"sigma must be a positive finite number, got 0"),
    (dict(N=0, d=4, sigma=5.0), r"N must be a whole number >= 1, got 0"),
    (dict(N=40, d=0, sigma=5.0), r"d must be a whole number >= 1, got 0"),
    (dict(N=40.5, d=4, sigma=5.0), r"N must be a whole number >= 1, got 40.5"),
    (dict(N=40, d=4, sigma=5.0, s0_norm=-1.0), r"s0_norm must be a finite number >= 0, got -1"),
    (dict(N=40, d=4, sigma=5.0, bias_noise=-0.1), r"bias_noise must be a finite number >= 0, got -0.1"),
    (dict(N=40, d=4, sigma=5.0, label_fraction=0.0), r"label_fraction must lie in \(0, 1\], got 0"),
    (dict(N=40, d=4, sigma=5.0, seed=-1), r"seed must be a whole number >= 0, got -1"),
])
def test_realisation_checks_its_arguments(kwargs, match):
    kwargs = {"seed": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        data.realisation(**kwargs)


def test_first_step_loss_against_one_gd_step():
    from grokedge.config import gd_first_step_loss

    """The plan-time estimate of the loss after GD's first step (grokedge.config.gd_first_step_loss) against one
    GD step on 20 sampled sets: within 30% of their median (overshooting steps and an ordinary one)."""
    from scipy.special import expit

    for N, d, sigma, lr in ((40, 4, 5.0, 100.0), (40, 4, 5.0, 8.0), (400, 180, 5.0, 2.0), (400, 200, 2.0, 10.0),
                            (400, 180, 5.0, 0.1)):
        losses = []
        for seed in range(20):
            real = data.realisation(N, d, sigma, seed)
            U = np.c_[real.X, np.ones(N)]
            w = np.r_[real.S0, 0.0]
            w = w - lr * (expit(U @ w)[:, None] * U).mean(axis=0)
            losses.append(np.logaddexp(0.0, U @ w).mean())
        est = gd_first_step_loss(N, lr, np.full(d, sigma**2))
        assert est == pytest.approx(np.median(losses), rel=0.3), (N, d, est, np.median(losses))


def test_plan_check_uses_the_training_stages_divergence_factor():
    from grokedge.config import RISE_FACTOR

    assert train.GDOptions().rise_factor == RISE_FACTOR


# -- the example script -------------------------------------------------------------------------------------------

def _example(tmp_path, *args, env=None):
    return subprocess.run([sys.executable, str(ROOT / "examples" / "one_cell.py"), *args, "--out", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True,
                          env=env or {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


def test_example_runs_without_pythonpath(tmp_path):
    """The quick start's example in the venv that make builds (which holds the dependencies, not the package):
    the script finds the library of its own checkout (was: ModuleNotFoundError: No module named 'grokedge')."""
    proc = _example(tmp_path, "--N", "40", "--lam", "0.1", "--horizon", "300", "--realisations", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "one_cell.png").stat().st_size > 1000


@pytest.mark.parametrize("args,match", [
    (["--N", "40", "--lam", "0.123"],
     "error: --lam 0.123 with --N 40 gives d = 4.92, not a positive whole number: give a lambda"),
    (["--N", "40", "--lam", "0.0"], "error: --lam 0 with --N 40 gives d = 0"),
    (["--sigma", "-5"], "error: --sigma must be a positive finite number, got -5"),
    (["--lr", "0"], "error: --lr must be a positive finite number, got 0"),
    (["--horizon", "-10"], "error: --horizon must be a finite number of epochs >= 1, got -10"),
    (["--realisations", "0"], "error: --realisations must be a whole number >= 1, got 0"),
])
def test_example_refuses_bad_arguments(tmp_path, args, match):
    """(was: --lam 0.123 silently rounded to d = 5, lambda = 0.125, where the pipeline refuses)"""
    proc = _example(tmp_path, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert match in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_example_with_d(tmp_path):
    proc = _example(tmp_path, "--N", "40", "--d", "5", "--horizon", "300", "--realisations", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]


# -- report captions -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", ["default", "paper"])
def test_report_captions_render_without_errors(preset):
    """Every caption renders (Jinja, then reStructuredText as Snakemake's report does) without an error: a bare
    |x| is a substitution reference (was: three "Undefined substitution referenced" errors in the report)."""
    config = validate_config(preset_config(preset) if preset != "default" else
                             yaml.safe_load((ROOT / "config.yaml").read_text()))
    for rst in sorted((ROOT / "workflow" / "report").glob("*.rst")):
        text = jinja2.Template(rst.read_text()).render(snakemake=type("S", (), {"config": config}))
        out = docutils.core.publish_parts(text, writer="html",
                                          settings_overrides={"report_level": 2, "halt_level": 5,
                                                              "warning_stream": False})
        assert "system-message" not in out["body"], (rst.name, out["body"])



def test_an_option_of_another_solver_is_refused_naming_the_solvers_options():
    real = data.realisation(40, 8, 5.0, 0)
    problem, schedule = train.Problem(real.X[None], real.S0[None]), train.Schedule(0.01, np.array([0.0, 5.0]))
    with pytest.raises(ValueError, match=r"solver 'gd' has no option betas; its options are \['rise_factor'\]"):
        train.train(problem, schedule, "gd", betas=(0.9, 0.99))
    assert train.train(problem, schedule, "adam", betas=(0.9, 0.99)).S.shape == (1, 2, 8)
