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

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtri

from . import losses, model, validate
from .data import InputLaw

GROKKING_KINDS = ("gen_accuracy", "accuracy_delay", "loss_delay")


@dataclass(frozen=True, eq=False)  # arrays: no elementwise ==
class Points:
    """Points of R realisations: X (R, n, d) and their bias feature c (R, n) (1 when None). Rows labelled +1 come
    flipped (``grokedge.data.apply_labels``), so every metric of them is that of label -1."""

    X: Any
    c: Any = None

    def margins(self, S, b) -> np.ndarray:
        """z = S.x + b c of every point at every checkpoint: S (R, K, d), b (R, K) -> (R, n, K)."""
        c = 1.0 if self.c is None else self.c[:, :, None]
        return np.matmul(self.X, np.swapaxes(S, 1, 2)) + b[:, None, :] * c


@dataclass(frozen=True)
class Population:
    """What a fresh point is and costs: the input ``law`` (its sigma the grid's), the bias feature's noise
    ``bias_noise`` (eps, c = 1 + eps xi), the ``label_fraction`` r and the ``loss`` (``grokedge.losses``)."""

    law: InputLaw
    bias_noise: float = 0.0
    label_fraction: float = 1.0
    loss: str = "logistic"

    @classmethod
    def of(cls, spec) -> Population:
        """The population of a cell's specification (``grokedge.spec.CellSpec``)."""
        return cls(spec.law(), spec.bias_noise, spec.label_fraction, spec.loss)


def curve_metrics(traj, points: Points, population: Population, test: Points | None = None) -> dict[str, np.ndarray]:
    """Metrics at every checkpoint of a trajectory (``Trajectory``: S (R, K, d), b (R, K)) trained on ``points``
    (X (R, N, d)) -> arrays of shape (R, K): train_loss, train_acc, gen_loss, gen_acc, s_norm = |S|,
    sigma_s_norm = sigma |S|, b, and with a sampled ``test`` set (X (R, N_test, d)) test_loss and test_acc.

    gen_* are closed forms (``_gen_metrics``) where they exist; elsewhere they are the sampled test set's values
    (``test`` is then required): an estimate with sampling error ~ 1/sqrt(N_test)."""
    S, b = traj.S, traj.b
    R, _, d = validate.points("X", points.X)
    if np.ndim(S) != 3 or np.shape(S)[::2] != (R, d):
        raise ValueError(f"S must have shape (R, K, d) = ({R}, K, {d}), got {np.shape(S)} (Trajectory.S)")
    if np.shape(b) != np.shape(S)[:2]:
        raise ValueError(f"b must have shape (R, K) = {np.shape(S)[:2]}, got {np.shape(b)} (Trajectory.b)")
    sigma = population.law.sigma
    validate.positive("sigma", sigma)
    ell = losses.get(population.loss)
    z = points.margins(S, b)
    s_norm = np.linalg.norm(S, axis=-1)
    out = {"train_loss": ell.mean(z, axis=1), "train_acc": (z <= 0).mean(axis=1)}
    sampled = None
    if test is not None:
        zt = test.margins(S, b)
        sampled = {"test_loss": ell.mean(zt, axis=1), "test_acc": (zt <= 0).mean(axis=1)}
    out |= _gen_metrics(S, b, s_norm, population, sampled)
    out |= {"s_norm": s_norm, "sigma_s_norm": sigma * s_norm, "b": b}
    return out | (sampled or {})


def _gen_metrics(S, b, s_norm, population: Population, sampled: dict | None) -> dict[str, np.ndarray]:
    """gen_loss and gen_acc. For a Gaussian law with covariance C, f = S.x + b c on a fresh point is N(b, a^2)
    with a^2 = S^T C S + eps^2 b^2 (sigma^2 |S|^2 + eps^2 b^2 for the isotropic law), and A_gen = Phi(-b/a),
    L_gen = E ell(b + a xi) (``grokedge.losses.Loss.population``). With label fraction r < 1 see
    ``_labelled_gen_metrics``. A law whose S.x is not Gaussian (the mixture) takes the sampled test set's values."""
    law, eps, ell = population.law, population.bias_noise, losses.get(population.loss)
    if law.name == "gaussian" and population.label_fraction >= 1.0:
        a = model.gen_scale(s_norm, b, law.sigma, eps)
    elif not law.gaussian:
        t = _sampled(sampled, f"input_law {law.name!r}")
        return {"gen_loss": t["test_loss"], "gen_acc": t["test_acc"]}
    elif population.label_fraction >= 1.0:
        a = _gaussian_scale(S, law.variances(S.shape[-1]), eps, b)
    else:
        return _labelled_gen_metrics(S, b, population, sampled)
    return {"gen_loss": ell.population(b, a), "gen_acc": model.gen_accuracy(b, a)}


def _gaussian_scale(S, var, eps, b):
    """sqrt(S^T C S + eps^2 b^2) per (realisation, checkpoint), C = diag(var): the scale of f on a fresh point."""
    return np.hypot(np.sqrt(np.einsum("rkd,d->rk", S * S, var)), eps * b)


def _labelled_gen_metrics(S, b, population: Population, sampled: dict | None) -> dict[str, np.ndarray]:
    """gen_loss and gen_acc with label fraction r < 1 (App. I) for a Gaussian law: A_gen is the bivariate-normal
    closed form (``model.labelled_gen_accuracy``), L_gen the loss's ``labelled_population`` where it has one
    (the exponential loss), else the sampled test set's."""
    r, ell = population.label_fraction, losses.get(population.loss)
    var = population.law.variances(S.shape[-1])
    tau = ndtri(1.0 - r)
    s1 = S[..., 0] * np.sqrt(var[0])
    a_perp = _gaussian_scale(S[..., 1:], var[1:], population.bias_noise, b)
    acc = model.labelled_gen_accuracy(b, s1, a_perp, tau)
    if ell.labelled_population is None:
        loss = _sampled(sampled, f"the {ell.name} loss with label_fraction {r}")["test_loss"]
    else:
        loss = ell.labelled_population(b, s1, a_perp, tau)
    return {"gen_loss": loss, "gen_acc": acc}


def _sampled(sampled: dict | None, what: str) -> dict:
    """The sampled test set's metrics, or the error that names what lacks closed forms and the way out."""
    if sampled is None:
        raise ValueError(f"{what} has no closed-form generalisation metrics: set test_set: sampled")
    return sampled


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
