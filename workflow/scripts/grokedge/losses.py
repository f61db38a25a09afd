"""The losses of a point labelled -1, by name: the registry ``LOSSES`` (the config's ``loss``).

Every row comes flipped to label -1 (``grokedge.data``), so a loss is a function ell(z) of the margin
z = S.x + b c alone, and the training loss is L(S, b) = (1/N) sum_i ell(z_i). A ``Loss`` holds its maths:

* ``logistic`` (the paper): ell(z) = softplus(z) = log(1 + e^z), ell'(z) = expit(z), ell'' = ell' (1 - ell').
* ``exponential`` (paper Figs. 2 middle and 14): ell(z) = e^z = ell'(z) = ell''(z).

For a fresh point, f = S.x + b c is N(b, a^2) for a Gaussian law (``grokedge.model.gen_scale``), so the
population ("generalisation") loss is E ell(b + a xi), xi ~ N(0, 1), a function of (b, a) only (``population``).
With a label fraction r < 1 (App. I) it needs the label's correlation with f (``labelled_population``; None where
no closed form is known: the metrics then use the sampled test set).

Adding a loss is one entry of ``LOSSES`` plus its maths (docs/contributing.md, "A new loss"). All functions
broadcast over leading axes and work in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_ndtr, logsumexp


@dataclass(frozen=True)
class Loss:
    """One entry of ``LOSSES``: the maths of a pointwise loss ell(z) of a point labelled -1.

    ``short``: its cell-id tag (``grokedge.spec``); ``pointwise(z)``: ell(z); ``derivative(z, out=None)``: ell'(z),
    the gradient's weights (a ufunc or a function taking ``out=``, as the solvers write into buffers);
    ``second_derivative(z, p)``: ell''(z) given p = ell'(z) (the Hessian's weights, where p makes it cheaper);
    ``mean(z, axis)``: (1/n) sum_i ell(z_i) along ``axis``, without overflow; ``population(b, a)``:
    E ell(b + a xi), xi ~ N(0, 1); ``labelled_population(b, s1, a_perp, tau)``: the population loss with label
    fraction r (notation of ``grokedge.model.labelled_gen_accuracy``), None where no closed form is known."""

    name: str
    short: str
    pointwise: Callable
    derivative: Callable
    second_derivative: Callable
    mean: Callable
    population: Callable
    labelled_population: Callable | None = None


def get(name: str) -> Loss:
    """The loss of this name; an unknown name is an error that lists the known ones."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)}") from None


# -- logistic ------------------------------------------------------------------------------------------------------
def softplus(z):
    """log(1 + e^z) = logaddexp(0, z), without overflow."""
    return np.logaddexp(0.0, z)


def log_softplus(z):
    """log(log(1 + e^z)), accurate also where log(1 + e^z) underflows (z << 0, where it equals z - e^z/2 + ...)."""
    z = np.asarray(z, dtype=float)
    deep = z < -30.0
    with np.errstate(divide="ignore"):
        shallow = np.log(softplus(np.where(deep, 0.0, z)))
    return np.where(deep, z - 0.5 * np.exp(np.minimum(z, 0.0)), shallow)


def _logistic_second_derivative(z, p):
    """ell''(z) = expit(z) (1 - expit(z)) = p (1 - p)."""
    return p * (1.0 - p)


def _logistic_mean(z, axis: int = -1):
    """(1/n) sum_i softplus(z_i)."""
    return softplus(z).mean(axis=axis)


# Trapezoid rule for the logistic population loss: the integrand g(y) = softplus(a y + b) phi(y) is log-concave
# with (log g)'' <= -1, so all but e^-72 of its mass lies within 12 of its mode y*. It is analytic in the strip
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


def _log_trapezoid(k: int, h, y0, a, b, width: int):
    """log sum_{j=-k..k} g(y0 + j h) h for rows of (h, y0, a, b), g the integrand, in slices of ``width`` grid
    points (one slice unless a lone row's grid is too long to hold at once)."""
    parts = []
    for lo in range(-k, k + 1, width):
        grid = np.arange(lo, min(lo + width, k + 1))[None, :] * h[:, None] + y0[:, None]
        parts.append(logsumexp(_log_integrand(grid, a[:, None], b[:, None]), axis=1))
    return (parts[0] if len(parts) == 1 else logsumexp(np.stack(parts), axis=0)) + np.log(h)


def logistic_log_population(b, a, max_chunk: int = 2_000_000):
    """log E_{y~N(0,1)} softplus(a y + b), to about 1e-13 relative accuracy for all a >= 0 and b: a trapezoid
    rule on the log integrand centred on its mode (see the comment above ``_HALF_WIDTH``), summed by logsumexp."""
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
        # a lone row longer than max_chunk (a huge a) is summed in slices, so that its grid need not fit in memory
        width = 2 * kmax + 1 if rows > 1 else max_chunk
        out[idx] = _log_trapezoid(kmax, h[idx], y0[idx], a[idx], b[idx], width)
        start += rows
    return out.reshape(shape)


def _logistic_population(b, a):
    """E softplus(b + a xi) = exp(``logistic_log_population``)."""
    return np.exp(logistic_log_population(b, a))


# -- exponential ---------------------------------------------------------------------------------------------------
def _exponential_second_derivative(z, p):
    """ell''(z) = e^z = p (p itself, not a copy)."""
    return p


def _exponential_mean(z, axis: int = -1):
    """(1/n) sum_i e^{z_i} = exp(logsumexp(z) - log n): no overflow of a single term."""
    return np.exp(logsumexp(z, axis=axis) - np.log(np.shape(z)[axis]))


def _exponential_population(b, a):
    """E e^{b + a xi} = e^{b + a^2/2} (a log-normal mean)."""
    return np.exp(np.asarray(b, dtype=float) + 0.5 * np.asarray(a, dtype=float) ** 2)


def _exponential_labelled_population(b, s1, a_perp, tau):
    """E[1{u > tau} e^f] + E[1{u <= tau} e^-f] = e^{a^2/2} (e^b Phi(s1 - tau) + e^-b Phi(tau + s1)), a^2 = s1^2 +
    a_perp^2, using int_tau^inf phi(u) e^{s u} du = e^{s^2/2} Phi(s - tau); summed in log space."""
    b, s1, a_perp = (np.asarray(v, dtype=float) for v in (b, s1, a_perp))
    return np.exp(0.5 * (s1**2 + a_perp**2) + np.logaddexp(b + log_ndtr(s1 - tau), -b + log_ndtr(tau + s1)))


LOSSES: dict[str, Loss] = {
    "logistic": Loss("logistic", "logistic", softplus, expit, _logistic_second_derivative, _logistic_mean,
                     _logistic_population),
    "exponential": Loss("exponential", "exp", np.exp, np.exp, _exponential_second_derivative, _exponential_mean,
                        _exponential_population, _exponential_labelled_population),
}
