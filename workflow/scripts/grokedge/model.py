"""The model f(x) = S.x + b of points labelled -1, trained on a pointwise loss, and its population metrics.

Training loss   L(S, b)  = (1/N) sum_i ell(S.x_i + b), ell a loss of the registry ``grokedge.losses.LOSSES``
                (the paper's logistic loss softplus, or the exponential e^z)
Gradients       grad_S L = (1/N) X^T p,  dL/db = (1/N) sum_i p_i,  p_i = ell'(S.x_i + b)
Train accuracy  fraction of training points with f(x_i) <= 0

For a fresh point x ~ N(0, sigma^2 I), f(x) ~ N(b, a^2) with a = sigma |S|, so the population
("generalisation") metrics depend on (b, a) only:

    A_gen = P(f <= 0) = Phi(-b / a) = 1/2 [1 - erf(b / (sqrt(2) a))]
    L_gen = E_{y ~ N(0,1)} ell(a y + b)     (``grokedge.losses.Loss.population``)

With a noisy bias feature c = 1 + eps xi (xi ~ N(0, 1), the two-Gaussian model with sigma_A > 0),
f ~ N(b, a^2) with a^2 = sigma^2 |S|^2 + eps^2 b^2: the same formulas with that a (``gen_scale``). Accuracies do
not depend on the loss.

All functions broadcast over leading axes (realisations, checkpoints) and work in float64.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, ndtr, owens_t

from . import losses


def margins(X, S, b):
    """f(x_i) = S.x_i + b for every point; X (..., N, d), S (..., d), b (...) -> (..., N)."""
    return np.einsum("...nd,...d->...n", X, S) + np.asarray(b)[..., None]


def train_loss(X, S, b, loss: str = "logistic"):
    """(1/N) sum_i ell(S.x_i + b), ell the loss of this name (``grokedge.losses``)."""
    return losses.get(loss).mean(margins(X, S, b))


def gradient(X, S, b, loss: str = "logistic"):
    """(grad_S L, dL/db) = ((1/N) X^T p, mean p) with p = ell'(S.x_i + b), ell the loss of this name."""
    p = losses.get(loss).derivative(margins(X, S, b))
    n = X.shape[-2]
    return np.einsum("...nd,...n->...d", X, p) / n, p.mean(axis=-1)


def gen_scale(s_norm, b, sigma: float, bias_noise: float = 0.0):
    """Standard deviation a of f(x) = S.x + b c on a fresh point: sqrt(sigma^2 |S|^2 + eps^2 b^2)."""
    return np.hypot(sigma * np.asarray(s_norm, dtype=float), bias_noise * np.asarray(b, dtype=float))


def gen_accuracy(b, a):
    """A_gen = Phi(-b/a) for f ~ N(b, a^2), a = sigma |S| (a = 0 gives the step at b = 0)."""
    b = np.asarray(b, dtype=float)
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = ndtr(-b / a)
    return np.where(a > 0, acc, np.where(b <= 0, 1.0, 0.0))


def log_gen_accuracy_error(b, a):
    """log(1 - A_gen) = log Phi(b/a), for plotting the approach to perfect generalisation without cancellation."""
    return log_ndtr(np.asarray(b, dtype=float) / np.asarray(a, dtype=float))


def bvn_cdf(h, k, rho):
    """P(U <= h, V <= k) for standard normals U, V with correlation rho, via Owen's T function:
    Phi2 = (Phi(h) + Phi(k))/2 - T(h, a_h) - T(k, a_k) - beta, a_h = (k - rho h)/(h sqrt(1 - rho^2)) (a_k
    likewise), beta = 1/2 when h k < 0 or (h k = 0 and h + k < 0), else 0. Broadcasts; h = -inf gives 0."""
    h, k, rho = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (h, k, rho)))
    r = np.sqrt(np.maximum(1.0 - rho * rho, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        ah = np.where(h == 0, np.where(k - rho * h >= 0, np.inf, -np.inf), (k - rho * h) / (h * r))
        ak = np.where(k == 0, np.where(h - rho * k >= 0, np.inf, -np.inf), (h - rho * k) / (k * r))
        ah = np.where(np.isnan(ah), 0.0, ah)
        ak = np.where(np.isnan(ak), 0.0, ak)
        beta = np.where((h * k < 0) | ((h * k == 0) & (h + k < 0)), 0.5, 0.0)
        out = 0.5 * (ndtr(h) + ndtr(k)) - owens_t(h, ah) - owens_t(k, ak) - beta
    out = np.where((h == 0) & (k == 0), 0.25 + np.arcsin(np.clip(rho, -1.0, 1.0)) / (2.0 * np.pi), out)
    # degenerate correlations: rho = +-1 exactly
    out = np.where(rho >= 1.0, ndtr(np.minimum(h, k)), out)
    out = np.where(rho <= -1.0, np.maximum(ndtr(h) - ndtr(-k), 0.0), out)
    out = np.where(np.isneginf(h) | np.isneginf(k), 0.0, out)
    return np.clip(out, 0.0, 1.0)


def labelled_gen_accuracy(b, s1, a_perp, tau):
    """A_gen with label fraction r (App. I): a fresh point has u = x_1/sd_1 ~ N(0, 1), label -1 iff u > tau =
    Phi^-1(1 - r), and f = b + s1 u + a_perp z (s1 = S_1 sd_1, a_perp the std of the rest). With a^2 = s1^2 +
    a_perp^2 and rho = corr(u, f) = s1 / a:
    A = P(u > tau, f <= 0) + P(u <= tau, f > 0) = Phi(-b/a) + Phi(tau) - 2 Phi2(tau, -b/a; rho)."""
    b, s1, a_perp = (np.asarray(v, dtype=float) for v in (b, s1, a_perp))
    a = np.hypot(s1, a_perp)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(a > 0, -b / a, np.where(b <= 0, np.inf, -np.inf))
        rho = np.where(a > 0, s1 / a, 0.0)
    return ndtr(k) + ndtr(tau) - 2.0 * bvn_cdf(tau, k, rho)
