"""Curves along a trajectory, grokking times and the generalisation-loss bump.

Grokking-time definitions (docs/model.md, "Grokking time"; every configured one is recorded):

* ``gen_accuracy``   t_gen = first epoch with A_gen >= threshold (paper Fig. 3).
* ``accuracy_delay`` t_gen - t_train, both first epochs with accuracy >= threshold (paper Fig. 1).
* ``loss_delay``     t_gen - t_train, both first epochs with loss <= threshold (paper App. E.3).

A first crossing is located between the two checkpoints that bracket it by linear interpolation in
log10(epoch) (in the metric itself, or its log for losses); its resolution is set by the checkpoint density.
A run that never crosses within the horizon is *censored*: its time is NaN and its censored flag True.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from . import model, validate

GROKKING_KINDS = ("gen_accuracy", "accuracy_delay", "loss_delay")


def curve_metrics(X, S, b, sigma: float, X_test=None, c=None, bias_noise: float = 0.0,
                  c_test=None, loss: str = "logistic", law=None, label_fraction: float = 1.0) -> dict[str, np.ndarray]:
    """Metrics at every checkpoint; X (R, N, d), S (R, K, d), b (R, K) -> arrays of shape (R, K).

    gen_* are the closed forms of ``grokedge.model``; with ``X_test`` (R, N_test, d) the same metrics on the
    sampled test set are added as test_loss / test_acc. ``c`` (R, N) is the bias feature of the training
    points (1 if None), ``bias_noise`` its eps, ``c_test`` that of the test points. Rows labelled +1 come
    flipped (``grokedge.data.apply_labels``), so train/test metrics are those of label -1 on every row.

    ``loss``: logistic or exponential (train, test and gen losses). ``law`` (``grokedge.data.InputLaw``, None:
    isotropic Gaussian of ``sigma``): for a Gaussian law with covariance C, f = S.x + b c on a fresh point is
    N(b, a^2) with a^2 = S^T C S + eps^2 b^2, the closed forms' scale. With ``label_fraction`` r < 1 (App. I),
    A_gen is the bivariate-normal closed form (``model.labelled_gen_accuracy``) and L_gen closed-form for the
    exponential loss. Where no closed form exists (the mixture law; the logistic L_gen at r < 1), gen_* are the
    sampled test set's values (X_test is then required): an estimate with sampling error ~ 1/sqrt(N_test).
    """
    R, _, d = validate.points("X", X)
    if np.ndim(S) != 3 or np.shape(S)[::2] != (R, d):
        raise ValueError(f"S must have shape (R, K, d) = ({R}, K, {d}), got {np.shape(S)} (Trajectory.S)")
    if np.shape(b) != np.shape(S)[:2]:
        raise ValueError(f"b must have shape (R, K) = {np.shape(S)[:2]}, got {np.shape(b)} (Trajectory.b)")
    validate.positive("sigma", sigma)
    z = np.matmul(X, np.swapaxes(S, 1, 2)) + b[:, None, :] * (1.0 if c is None else c[:, :, None])  # (R, N, K)
    s_norm = np.linalg.norm(S, axis=-1)
    out = {
        "train_loss": model.mean_loss(z, loss, axis=1),
        "train_acc": (z <= 0).mean(axis=1),
    }
    if X_test is not None:
        zt = np.matmul(X_test, np.swapaxes(S, 1, 2)) + b[:, None, :] * (1.0 if c_test is None else c_test[:, :, None])
        test = {"test_loss": model.mean_loss(zt, loss, axis=1), "test_acc": (zt <= 0).mean(axis=1)}

    def sampled(what):
        if X_test is None:
            raise ValueError(f"{what} has no closed-form generalisation metrics: set test_set: sampled")
        return test

    if law is None or (law.name == "gaussian" and label_fraction >= 1.0):
        a = model.gen_scale(s_norm, b, sigma, bias_noise)
        out |= {"gen_loss": model.gen_loss(b, a, loss), "gen_acc": model.gen_accuracy(b, a)}
    elif not law.gaussian:
        t = sampled(f"input_law {law.name!r}")
        out |= {"gen_loss": t["test_loss"], "gen_acc": t["test_acc"]}
    else:
        var = law.variances(S.shape[-1])
        if label_fraction >= 1.0:
            a = np.hypot(np.sqrt(np.einsum("rkd,d->rk", S * S, var)), bias_noise * b)
            out |= {"gen_loss": model.gen_loss(b, a, loss), "gen_acc": model.gen_accuracy(b, a)}
        else:
            tau = ndtri(1.0 - label_fraction)
            s1 = S[..., 0] * np.sqrt(var[0])
            a_perp = np.hypot(np.sqrt(np.einsum("rkd,d->rk", S[..., 1:] ** 2, var[1:])), bias_noise * b)
            out["gen_acc"] = model.labelled_gen_accuracy(b, s1, a_perp, tau)
            if loss == "exponential":
                out["gen_loss"] = np.exp(model.labelled_log_gen_loss_exponential(b, s1, a_perp, tau))
            else:
                out["gen_loss"] = sampled(f"the logistic loss with label_fraction {label_fraction}")["test_loss"]
    out = {"train_loss": out["train_loss"], "train_acc": out["train_acc"], "gen_loss": out["gen_loss"],
           "gen_acc": out["gen_acc"], "s_norm": s_norm, "sigma_s_norm": sigma * s_norm, "b": b}
    if X_test is not None:
        out |= test
    return out


def first_crossing(epochs, values, threshold: float, above: bool = True, log_values: bool = False) -> float:
    """First epoch at which ``values`` reaches ``threshold`` (>= if ``above`` else <=), interpolated between
    the bracketing checkpoints linearly in log10(epoch) (and in log10(values) if ``log_values``).
    Returns 0 if already reached at the first checkpoint, NaN if never reached."""
    epochs = np.asarray(epochs, dtype=float)
    v = np.asarray(values, dtype=float)
    hit = v >= threshold if above else v <= threshold
    if not hit.any():
        return float("nan")
    k = int(np.argmax(hit))
    if k == 0:
        return float(epochs[0])
    e0, e1 = epochs[k - 1], epochs[k]
    if e0 <= 0:
        return float(e1)
    f = (lambda x: np.log10(np.maximum(x, 1e-300))) if log_values else (lambda x: x)
    v0, v1, th = f(v[k - 1]), f(v[k]), f(threshold)
    frac = 1.0 if v1 == v0 else float(np.clip((th - v0) / (v1 - v0), 0.0, 1.0))
    return float(10 ** (np.log10(e0) + frac * (np.log10(e1) - np.log10(e0))))


def grokking_time(epochs, curves: dict[str, np.ndarray], kind: str, threshold: float) -> dict[str, float]:
    """One realisation's grokking time under one definition: {t_train, t_gen, time, censored}. ``epochs`` (K,);
    ``curves``: that realisation's curves, each (K,) (one row of ``curve_metrics``: {k: v[r] for k, v in ...})."""
    needs = {"gen_accuracy": ("gen_acc",), "accuracy_delay": ("train_acc", "gen_acc"),
             "loss_delay": ("train_loss", "gen_loss")}.get(kind, ())
    for key in needs:
        if key not in curves:
            raise ValueError(f"kind {kind} needs curves[{key!r}]; got {sorted(curves)}")
        validate.curve(key, curves[key], epochs)
    if kind == "gen_accuracy":
        t_train = float("nan")
        t_gen = first_crossing(epochs, curves["gen_acc"], threshold)
        time, censored = t_gen, bool(np.isnan(t_gen))
    elif kind in ("accuracy_delay", "loss_delay"):
        acc = kind == "accuracy_delay"
        key = "acc" if acc else "loss"
        t_train = first_crossing(epochs, curves[f"train_{key}"], threshold, above=acc, log_values=not acc)
        t_gen = first_crossing(epochs, curves[f"gen_{key}"], threshold, above=acc, log_values=not acc)
        censored = bool(np.isnan(t_train) or np.isnan(t_gen))
        time = float("nan") if censored else t_gen - t_train
    else:
        raise ValueError(f"unknown grokking-time kind {kind!r}; expected one of {GROKKING_KINDS}")
    return {"t_train": t_train, "t_gen": t_gen, "time": time, "censored": censored}


def gen_loss_bump(epochs, gen_loss) -> dict[str, float]:
    """The non-monotone generalisation loss: peak value, its epoch, peak - initial, peak - final."""
    gen_loss = np.asarray(gen_loss, dtype=float)
    k = int(np.argmax(gen_loss))
    peak = float(gen_loss[k])
    return {"gen_loss_peak": peak, "gen_loss_peak_epoch": float(epochs[k]),
            "gen_loss_bump_initial": peak - float(gen_loss[0]), "gen_loss_bump_final": peak - float(gen_loss[-1])}


def is_monotone_decreasing(values, rtol: float = 1e-12) -> bool:
    """True if no checkpoint exceeds its predecessor by more than rtol relative."""
    v = np.asarray(values, dtype=float)
    return bool(np.all(np.diff(v) <= rtol * np.abs(v[:-1])))
