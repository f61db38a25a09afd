"""The model's training loss, gradient and closed-form population metrics against independent computations (the
losses themselves: tests/test_losses.py)."""

import numpy as np
import pytest

from grokedge import model
from grokedge.losses import LOSSES


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = 3 * rng.standard_normal((50, 7))
    S, b = rng.standard_normal(7), 0.3
    gS, gb = model.gradient(X, S, b)
    h = 1e-6
    for j in range(7):
        e = np.zeros(7)
        e[j] = h
        fd = (model.train_loss(X, S + e, b) - model.train_loss(X, S - e, b)) / (2 * h)
        assert gS[j] == pytest.approx(fd, rel=1e-6, abs=1e-9)
    assert gb == pytest.approx((model.train_loss(X, S, b + h) - model.train_loss(X, S, b - h)) / (2 * h), rel=1e-6)


def test_loss_is_stable_at_extremes():
    X = np.array([[1.0], [-1.0]])
    assert model.train_loss(X, np.array([1e4]), 0.0) == pytest.approx(0.5e4)
    assert np.isfinite(model.train_loss(X, np.array([1e308]), 0.0))


def test_closed_forms_against_sampled_test_set():
    """A_gen and L_gen of (S, b) against 4e5 fresh Gaussian points: agreement within 5 standard errors."""
    rng = np.random.default_rng(1)
    d, sigma = 10, 5.0
    S, b = 0.2 * rng.standard_normal(d), -1.0
    X = sigma * rng.standard_normal((400_000, d))
    z = X @ S + b
    a = sigma * np.linalg.norm(S)
    acc = np.mean(z <= 0)
    assert abs(model.gen_accuracy(b, a) - acc) < 5 * np.sqrt(acc * (1 - acc) / len(z))
    loss = LOSSES["logistic"].pointwise(z)
    assert abs(LOSSES["logistic"].population(b, a) - loss.mean()) < 5 * loss.std() / np.sqrt(len(z))


def test_gen_accuracy_limits():
    assert model.gen_accuracy(0.0, 1.0) == pytest.approx(0.5)
    assert model.gen_accuracy(-1.0, 0.0) == 1.0
    assert model.gen_accuracy(-50.0, 1.0) == pytest.approx(1.0)


def test_noisy_bias_closed_forms_against_sampling():
    """Two-Gaussian model with sigma_A > 0: f = S.x + b (1 + eps xi) ~ N(b, sigma^2 |S|^2 + eps^2 b^2)."""
    rng = np.random.default_rng(2)
    d, sigma, eps = 6, 5.0, 0.5
    S, b = 0.05 * rng.standard_normal(d), -2.0
    n = 400_000
    z = sigma * rng.standard_normal((n, d)) @ S + b * (1 + eps * rng.standard_normal(n))
    a = model.gen_scale(np.linalg.norm(S), b, sigma, eps)
    acc = np.mean(z <= 0)
    assert abs(model.gen_accuracy(b, a) - acc) < 5 * np.sqrt(acc * (1 - acc) / n)
    loss = LOSSES["logistic"].pointwise(z)
    assert abs(LOSSES["logistic"].population(b, a) - loss.mean()) < 5 * loss.std() / np.sqrt(n)
