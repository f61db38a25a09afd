"""Grokking times, censoring and the loss bump on curves whose answers are known exactly."""

import math

import numpy as np
import pytest

from grokedge.metrics import first_crossing, gen_loss_bump, grokking_time, is_monotone_decreasing


def test_first_crossing_interpolates_in_log_epoch():
    epochs = np.array([0, 10, 100, 1000])
    values = np.array([0.5, 0.6, 0.8, 1.0])
    # 0.7 is half-way between 0.6 (10) and 0.8 (100) -> 10^1.5
    assert first_crossing(epochs, values, 0.7) == pytest.approx(10**1.5)
    assert first_crossing(epochs, values, 0.5) == 0
    assert math.isnan(first_crossing(epochs, values, 1.1))
    # losses interpolate in log10 of the value too
    assert first_crossing(epochs, [1.0, 1e-1, 1e-3, 1e-5], 1e-2, above=False, log_values=True) == pytest.approx(10**1.5)


def test_grokking_time_definitions_and_censoring():
    epochs = np.array([0.0, 1, 10, 100, 1000])
    curves = {"train_acc": np.array([0.5, 0.95, 1, 1, 1]), "gen_acc": np.array([0.5, 0.5, 0.6, 0.92, 0.99]),
              "train_loss": np.array([0.7, 0.1, 1e-2, 1e-3, 1e-4]), "gen_loss": np.array([0.7, 0.8, 0.9, 0.5, 0.1])}
    g = grokking_time(epochs, curves, "accuracy_delay", 0.9)
    assert g["t_train"] == 1 and g["t_gen"] < 100 and g["time"] == pytest.approx(g["t_gen"] - 1)
    assert not g["censored"]
    g = grokking_time(epochs, curves, "gen_accuracy", 0.95)
    assert 100 < g["time"] < 1000
    g = grokking_time(epochs, curves, "loss_delay", 1e-3)
    assert g["censored"] and math.isnan(g["time"]) and g["t_train"] == pytest.approx(100)
    with pytest.raises(ValueError, match="unknown grokking-time kind"):
        grokking_time(epochs, curves, "nope", 0.9)


def test_bump_and_monotonicity():
    b = gen_loss_bump([0, 1, 10, 100], [0.7, 1.5, 0.9, 0.2])
    assert b == {"gen_loss_peak": 1.5, "gen_loss_peak_epoch": 1.0, "gen_loss_bump_initial": pytest.approx(0.8),
                 "gen_loss_bump_final": pytest.approx(1.3)}
    assert is_monotone_decreasing([3, 2, 2, 1]) and not is_monotone_decreasing([3, 2, 2.1])
