"""The model f(x) = S.x + b with the logistic loss of label -1, and its population metrics.

Training loss   L(S, b)  = (1/N) sum_i log(1 + exp(S.x_i + b))
Gradients       grad_S L = (1/N) X^T p,  dL/db = (1/N) sum_i p_i,  p_i = expit(S.x_i + b)
Train accuracy  fraction of training points with f(x_i) <= 0

For a fresh point x ~ N(0, sigma^2 I), f(x) ~ N(b, a^2) with a = sigma |S|, so the population
("generalisation") metrics depend on (b, a) only:

    A_gen = P(f <= 0) = Phi(-b / a) = 1/2 [1 - erf(b / (sqrt(2) a))]
    L_gen = E_{y ~ N(0,1)} softplus(a y + b)

With a noisy bias feature c = 1 + eps xi (xi ~ N(0, 1), the two-Gaussian model with sigma_A > 0),
f ~ N(b, a^2) with a^2 = sigma^2 |S|^2 + eps^2 b^2: the same formulas with that a (``gen_scale``).

All functions broadcast over leading axes (realisations, checkpoints) and work in float64.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_ndtr, logsumexp, ndtr


def softplus(z):
    """log(1 + e^z) without overflow."""
    return np.logaddexp(0.0, z)


def log_softplus(z):
    """log(log(1 + e^z)), accurate also where log(1 + e^z) underflows (z << 0, where it equals z - e^z/2 + ...)."""
    z = np.asarray(z, dtype=float)
    deep = z < -30.0
    with np.errstate(divide="ignore"):
        shallow = np.log(softplus(np.where(deep, 0.0, z)))
    return np.where(deep, z - 0.5 * np.exp(np.minimum(z, 0.0)), shallow)


def margins(X, S, b):
    """f(x_i) = S.x_i + b for every point; X (..., N, d), S (..., d), b (...) -> (..., N)."""
    return np.einsum("...nd,...d->...n", X, S) + np.asarray(b)[..., None]


def train_loss(X, S, b):
    """(1/N) sum_i softplus(S.x_i + b)."""
    return softplus(margins(X, S, b)).mean(axis=-1)


def train_accuracy(X, S, b):
    """Fraction of points (all labelled -1) with f(x_i) <= 0."""
    return (margins(X, S, b) <= 0.0).mean(axis=-1)


def gradient(X, S, b):
    """(grad_S L, dL/db) = ((1/N) X^T p, mean p) with p = expit(S.x_i + b)."""
    p = expit(margins(X, S, b))
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


# Trapezoid rule for L_gen: the integrand g(y) = softplus(a y + b) phi(y) is log-concave with
# (log g)'' <= -1, so all but e^-72 of its mass lies within 12 of its mode y*. It is analytic in the strip
# |Im y| < pi / a (softplus has poles at a y + b = +-i pi), so a uniform grid of spacing h < pi / (5 a)
# converges like exp(-2 pi (pi / a) / h) < 1e-13: double precision for every (a, b).
_HALF_WIDTH = 12.0


def _log_integrand(y, a, b):
    return log_softplus(a * y + b) - 0.5 * y * y - 0.5 * np.log(2.0 * np.pi)


def _mode(a, b):
    """Mode of log softplus(a y + b) - y^2/2 by bisection on its decreasing derivative; it lies in [0, a]."""
    lo = np.zeros_like(a)
    hi = np.maximum(a, 1e-300)
    for _ in range(60):
        y = 0.5 * (lo + hi)
        z = a * y + b
        # d/dy log softplus(z) = a expit(z) / softplus(z) = a exp(log expit(z) - log softplus(z))
        slope = a * np.exp(-softplus(-z) - log_softplus(z)) - y
        lo = np.where(slope > 0, y, lo)
        hi = np.where(slope > 0, hi, y)
    return 0.5 * (lo + hi)


def log_gen_loss(b, a, max_chunk: int = 2_000_000):
    """log L_gen = log E_{y~N(0,1)} softplus(a y + b), to about 1e-13 relative accuracy for all a >= 0 and b."""
    b, a = np.broadcast_arrays(np.asarray(b, dtype=float), np.asarray(a, dtype=float))
    shape = b.shape
    b, a = b.ravel(), a.ravel()
    out = np.empty_like(b)
    h = np.minimum(0.2, np.pi / (5.0 * np.maximum(a, 1e-300)))
    npts = np.ceil(_HALF_WIDTH / h).astype(int)
    y0 = _mode(a, b)
    # group by grid size so each group is one vectorised evaluation
    order = np.argsort(npts)
    start = 0
    while start < len(order):
        k = npts[order[start]]
        rows = max(1, max_chunk // (2 * k + 1))
        idx = order[start : start + rows]
        kmax = npts[idx].max()
        grid = np.arange(-kmax, kmax + 1)[None, :] * h[idx, None] + y0[idx, None]
        lg = _log_integrand(grid, a[idx, None], b[idx, None])
        out[idx] = logsumexp(lg, axis=1) + np.log(h[idx])
        start += rows
    return out.reshape(shape)


def gen_loss(b, a):
    """L_gen = E_{y~N(0,1)} softplus(a y + b) (see ``log_gen_loss``)."""
    return np.exp(log_gen_loss(b, a))
