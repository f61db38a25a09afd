"""Tests of grokedge.blog: Davies (2022) toy grokking with a bias-free linear model.

PARAMS is the default ``blog`` section of config.yaml; its seed was chosen so that this one dataset shows the
blog's clean behaviour (docs/results.md, Davies' blog). The science tests run the
whole experiment once (about 2 s of GD) and check the qualitative claims: train accuracy saturates long before
the test accuracy leaves chance, the direction of w converges to the max-margin one, and dropping the central
test points delays generalisation further.
"""

from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.optimize import nnls

from grokedge import blog

PARAMS = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())["blog"]

def training_set(seed=None, train=None):
    return blog.make_training_set(train or PARAMS["train"], blog.data_streams(PARAMS["seed"] if seed is None
                                                                              else seed)[0])


def random_separable_sets():
    """A few generic separable sets besides the default one (other seeds and cluster shapes)."""
    out = [training_set()]
    rng = np.random.default_rng(123)
    while len(out) < 6:
        mean = rng.uniform([1.0, 0.5], [4.0, 2.0])
        train = {"n_per_class": int(rng.integers(3, 40)), "mean_pos": mean.tolist(), "mean_neg": (-mean).tolist(),
                 "std_long": float(rng.uniform(0.3, 2.0)), "std_short": float(rng.uniform(0.05, 0.4)),
                 "angle_deg": float(rng.uniform(-30, 30))}
        try:
            out.append(training_set(int(rng.integers(0, 10**6)), train))
        except ValueError:  # not separable through the origin: draw again
            continue
    return out


# ------------------------------------------------------------------------------------ loss, gradient, GD
def test_gradient_matches_central_differences():
    X, y = training_set()
    rng = np.random.default_rng(0)
    for w in [np.zeros(2), *rng.normal(0, 1.0, (4, 2)), 3 * blog.svm_direction(X, y)]:
        h = 1e-6 * max(1.0, np.linalg.norm(w))
        fd = np.array([(blog.loss(w + h * e, X, y) - blog.loss(w - h * e, X, y)) / (2 * h) for e in np.eye(2)])
        g = blog.gradient(w, X, y)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9 * blog.loss(w, X, y))


def test_loss_is_the_summed_exponential_and_overflow_free():
    X, y = training_set()
    w = np.array([0.3, -0.7])
    assert blog.loss(w, X, y) == pytest.approx(np.exp(-y * (X @ w)).sum(), rel=1e-13)
    assert blog.loss(np.zeros(2), X, y) == pytest.approx(len(y))  # summed, not averaged
    big = -1e3 * blog.svm_direction(X, y)  # every margin <= -1000: the plain sum overflows, log L does not
    assert np.isfinite(blog.log_loss(big, X, y)) and blog.log_loss(big, X, y) > 900


def test_train_gd_matches_a_naive_loop():
    X, y = training_set()
    lr, w = 1e-3, np.array([0.2, -0.1])
    traj = blog.train_gd(X, y, w, lr, [0, 1, 7, 60])
    ref = {0: w.copy()}
    for k in range(1, 61):
        w = w - lr * blog.gradient(w, X, y)
        ref[k] = w.copy()
    for e, wk in zip(traj.epochs, traj.S[0], strict=True):
        np.testing.assert_allclose(wk, ref[int(e)], rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------- max margin
@pytest.mark.parametrize("case", range(6))
def test_svm_direction_satisfies_kkt_and_beats_every_direction(case):
    X, y = random_separable_sets()[case]
    w = blog.svm_direction(X, y)
    m = y * (X @ w)
    # primal feasibility with the right sign convention, and an active constraint
    assert m.min() >= 1 - 1e-9
    assert m.min() == pytest.approx(1.0, abs=1e-9)
    # stationarity: w* = sum_s alpha_s y_s x_s with alpha >= 0 supported on the active constraints
    sv = m <= 1 + 1e-7
    alpha, res = nnls((y[sv, None] * X[sv]).T, w)
    assert res <= 1e-7 * np.linalg.norm(w)
    # independent brute force: the margin min_n y_n u.x_n of unit directions u(phi), scanned then refined
    phi = np.linspace(-np.pi, np.pi, 50001)
    U = np.stack([np.cos(phi), np.sin(phi)], axis=1)
    gamma = (U @ (y[:, None] * X).T).min(axis=1)
    k = int(np.argmax(gamma))
    fine = np.linspace(phi[k] - 2e-4, phi[k] + 2e-4, 40001)
    Uf = np.stack([np.cos(fine), np.sin(fine)], axis=1)
    gf = (Uf @ (y[:, None] * X).T).min(axis=1)
    margin = 1 / np.linalg.norm(w)
    assert gamma.max() <= margin + 1e-12 and gf.max() <= margin + 1e-12  # nothing beats w*
    assert gf.max() == pytest.approx(margin, rel=1e-6)
    assert blog.angle_to(Uf[np.argmax(gf)], w) < 1e-5


def test_svm_direction_rejects_an_inseparable_set():
    X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    with pytest.raises(ValueError):
        blog.svm_direction(X, np.array([1.0, 1.0]))


# ------------------------------------------------------------------------------------------- test set
def test_test_set_lies_in_the_band_and_is_labelled_by_the_svm():
    X, y = training_set()
    w = blog.svm_direction(X, y)
    cfg = PARAMS["test"]
    Xt, yt = blog.make_test_set(w, cfg, blog.data_streams(PARAMS["seed"])[1], drop_central=False)
    Xc, yc = blog.make_test_set(w, cfg, blog.data_streams(PARAMS["seed"])[1], drop_central=True)
    n = w / np.linalg.norm(w)
    s, d = Xt @ np.array([-n[1], n[0]]), Xt @ n
    assert len(yt) == cfg["n"]
    assert np.all(yt == np.sign(Xt @ w))
    assert np.all((np.abs(d) >= cfg["band_min"]) & (np.abs(d) <= cfg["band_max"]))
    assert np.all(np.abs(s) <= cfg["half_length"])
    assert abs(np.mean(yt)) < 0.15  # both sides of the boundary
    keep = np.abs(s) >= cfg["central_cut"]
    np.testing.assert_array_equal(Xc, Xt[keep])  # the reduced set is the full one minus the central points
    np.testing.assert_array_equal(yc, yt[keep])
    assert blog.accuracy(w, Xt, yt) == 1.0 and blog.accuracy(np.zeros(2), Xt, yt) == 0.5


def test_angle_to():
    assert blog.angle_to(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(np.pi / 2)
    assert blog.angle_to(np.array([-1.0, 0.0]), np.array([3.0, 0.0])) == pytest.approx(np.pi)
    assert blog.angle_to(np.array([1.0, 1e-10]), np.array([5.0, 0.0])) == pytest.approx(1e-10, rel=1e-6)
    np.testing.assert_allclose(blog.angle_to(np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([1.0, 0.0])),
                               [np.pi / 2, np.pi / 4])


# --------------------------------------------------------------------------------- the blog's behaviour
@pytest.fixture(scope="module")
def run():
    curves, points, info = blog.run_experiment(PARAMS)
    return {v: g.reset_index(drop=True) for v, g in curves.groupby("variant")}, points, info


def test_train_loss_decreases_monotonically(run):
    c = run[0]["full"]
    assert np.all(np.diff(c.train_loss) < 0)
    assert c.train_loss.iloc[-1] < 1e-3 * c.train_loss.iloc[0]
    # the test loss, after a small bump while w grows in the memorising direction, falls too
    fit = blog.first_epoch(c.epoch, c.train_acc, 1.0)
    late = c[c.epoch >= fit]
    assert np.all(np.diff(late.test_loss) < 0)
    assert c.test_loss.max() < 1.25 * c.test_loss.iloc[0]


def test_test_accuracy_stays_at_chance_long_after_train_accuracy_reaches_one(run):
    c = run[0]["full"]
    fit = blog.first_epoch(c.epoch, c.train_acc, 1.0)
    assert 1e3 <= fit <= 1e4  # the blog: ~3e3 epochs
    assert c.loc[c.epoch <= 3 * fit, "test_acc"].max() < 0.65  # chance (1/2) up to 3x the fitting time
    assert c.test_acc.iloc[-1] >= 0.95
    solved = blog.first_epoch(c.epoch, c.test_acc, 0.95)
    assert solved >= 20 * fit  # generalisation is delayed by more than an order of magnitude


def test_removing_central_points_keeps_chance_longer(run):
    full, red = run[0]["full"], run[0]["no_central"]
    e_full = blog.first_epoch(full.epoch, full.test_acc, 0.6)
    e_red = blog.first_epoch(red.epoch, red.test_acc, 0.6)
    assert e_red >= 2 * e_full
    assert red.loc[red.epoch <= e_full, "test_acc"].max() <= 0.55
    assert red.test_acc.iloc[-1] >= 0.95
    np.testing.assert_array_equal(full.train_acc, red.train_acc)  # one training run for both variants


def test_direction_converges_to_the_max_margin_one(run):
    c, info = run[0]["full"], run[2]
    a = c.angle.to_numpy()[1:]  # epoch 0 has w = 0
    inc = np.diff(a)
    assert np.mean(inc <= 0) >= 0.95 and inc.max() < 1e-3  # (roughly) monotone
    fit = blog.first_epoch(c.epoch, c.train_acc, 1.0)
    a_fit = float(np.interp(fit, c.epoch, c.angle))
    assert a[-1] < 0.25 * a_fit and a[-1] < 0.07  # < 4 degrees at the horizon
    # the normalised margin min_n y_n w.x_n / |w| climbs towards the max margin, never above it
    X, y = training_set()
    W = c[["w0", "w1"]].to_numpy()[1:]
    gamma = (y * (W @ X.T)).min(axis=1) / np.linalg.norm(W, axis=1)
    assert np.all(gamma <= info["margin"] + 1e-12)
    assert np.all(np.diff(gamma[c.epoch.to_numpy()[1:] >= fit]) > 0)
    assert gamma[-1] > 0.8 * info["margin"]
    # ... and |w| grows without bound, only logarithmically: about 1/margin per e-fold at late times
    late = c[c.epoch >= 1e4]
    slope = np.polyfit(np.log(late.epoch), late.w_norm, 1)[0]
    assert 0.2 / info["margin"] < slope < 1.2 / info["margin"]
