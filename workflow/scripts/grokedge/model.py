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

The pure exponential loss (``loss="exponential"``, paper Figs. 2 middle and 14) replaces softplus(z) by
exp(z): L = (1/N) sum_i exp(S.x_i + b), pointwise derivative exp(z) instead of expit(z), and
L_gen = E exp(a y + b) = exp(b + a^2 / 2) (a log-normal mean; computed in log space). Accuracies do not
depend on the loss.

All functions broadcast over leading axes (realisations, checkpoints) and work in float64.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_ndtr, logsumexp, ndtr, owens_t

LOSSES = ("logistic", "exponential")


def softplus(z):
    """log(1 + e^z) without overflow."""
    return np.logaddexp(0.0, z)


def _check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")


def pointwise_loss(z, loss: str = "logistic"):
    """ell(z) of a point with f = z and label -1: softplus(z) (logistic) or exp(z) (exponential)."""
    _check_loss(loss)
    return softplus(z) if loss == "logistic" else np.exp(z)


def loss_derivative(loss: str = "logistic"):
    """The ufunc ell'(z): ``scipy.special.expit`` (logistic) or ``numpy.exp`` (exponential); both take out=."""
    _check_loss(loss)
    return expit if loss == "logistic" else np.exp


def loss_second_derivative(p, loss: str = "logistic"):
    """ell''(z) written in p = ell'(z): p (1 - p) (logistic) or p (exponential)."""
    _check_loss(loss)
    return p * (1.0 - p) if loss == "logistic" else p


def mean_loss(z, loss: str = "logistic", axis: int = -1):
    """(1/N) sum_i ell(z_i) along ``axis``; the exponential one as exp(logsumexp(z) - log N)."""
    _check_loss(loss)
    if loss == "logistic":
        return softplus(z).mean(axis=axis)
    return np.exp(logsumexp(z, axis=axis) - np.log(np.shape(z)[axis]))


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


def train_loss(X, S, b, loss: str = "logistic"):
    """(1/N) sum_i ell(S.x_i + b), ell = softplus or exp."""
    return mean_loss(margins(X, S, b), loss)


def train_accuracy(X, S, b):
    """Fraction of points (all labelled -1) with f(x_i) <= 0."""
    return (margins(X, S, b) <= 0.0).mean(axis=-1)


def gradient(X, S, b, loss: str = "logistic"):
    """(grad_S L, dL/db) = ((1/N) X^T p, mean p) with p = ell'(S.x_i + b) (expit or exp)."""
    p = loss_derivative(loss)(margins(X, S, b))
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


def gen_loss(b, a, loss: str = "logistic"):
    """L_gen = E_{y~N(0,1)} ell(a y + b): ``log_gen_loss`` (logistic) or exp(b + a^2/2) (exponential)."""
    _check_loss(loss)
    if loss == "exponential":
        return np.exp(np.asarray(b, dtype=float) + 0.5 * np.asarray(a, dtype=float) ** 2)
    return np.exp(log_gen_loss(b, a))


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


def labelled_log_gen_loss_exponential(b, s1, a_perp, tau):
    """log L_gen of the exponential loss with label fraction r (notation of ``labelled_gen_accuracy``):
    E[1{u > tau} e^f] + E[1{u <= tau} e^-f] = e^{a^2/2} (e^b Phi(s1 - tau) + e^-b Phi(tau + s1)), using
    int_tau^inf phi(u) e^{s u} du = e^{s^2/2} Phi(s - tau)."""
    b, s1, a_perp = (np.asarray(v, dtype=float) for v in (b, s1, a_perp))
    return 0.5 * (s1**2 + a_perp**2) + np.logaddexp(b + log_ndtr(s1 - tau), -b + log_ndtr(tau + s1))
