"""Checks at the boundary of the library's public functions: each names the argument, what was given and what is
expected, and raises ValueError (the notebook path: a wrong shape or range fails here, with a reason, instead of
deep inside numpy or, worse, not at all)."""

from __future__ import annotations

import math

import numpy as np


def positive(name: str, value) -> float:
    """A positive finite number (a learning rate, sigma)."""
    try:
        ok = isinstance(value, int | float | np.number) and not isinstance(value, bool) and \
            math.isfinite(value) and value > 0
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def non_negative(name: str, value) -> float:
    """A finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def whole(name: str, value, minimum: int = 1) -> int:
    """A whole number >= ``minimum`` (40 or 40.0, not 40.5 or True)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not math.isfinite(value) \
            or value != int(value) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def horizon(value) -> float:
    """A horizon in epochs: a finite number >= 1."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not math.isfinite(value) \
            or value < 1:
        raise ValueError(f"horizon must be a finite number of epochs >= 1, got {value!r}")
    return float(value)


def training_inputs(X, S0, b0, lr, epochs, whole_epochs: bool = True) -> None:
    """Arguments of ``grokedge.train.train`` and the solvers: X (R, N, d), S0 (R, d), b0 a number or (R,), a
    positive finite lr, and epochs a 1-D array strictly increasing from 0, of whole numbers where GD steps
    (``whole_epochs``; the gradient flow takes any epoch)."""
    shape = np.shape(X)
    if len(shape) != 3:
        raise ValueError(f"X must have shape (R, N, d) (R realisations of N points in d dimensions), got {shape}; "
                         "for one realisation pass X[None] and S0[None]")
    R, _, d = shape
    if np.shape(S0) != (R, d):
        raise ValueError(f"S0 must have shape (R, d) = {(R, d)}, got {np.shape(S0)}")
    if np.ndim(b0) and np.shape(b0) != (R,):
        raise ValueError(f"b0 must be a number or one per realisation {(R,)}, got shape {np.shape(b0)}")
    positive("lr", lr)
    ep = np.asarray(epochs, dtype=float)
    if ep.ndim != 1 or len(ep) == 0:
        raise ValueError(f"epochs must be a 1-D array of checkpoint epochs, got shape {ep.shape}")
    if ep[0] != 0:
        raise ValueError(f"epochs must start at 0 (the initial state), got {ep[0]:g} first "
                         "(grokedge.train.checkpoint_epochs makes a schedule)")
    if np.any(np.diff(ep) <= 0):
        raise ValueError("epochs must be strictly increasing")
    if not np.all(np.isfinite(ep)):
        raise ValueError("epochs must be finite")
    if whole_epochs and np.any(ep != np.round(ep)):
        raise ValueError("epochs must be whole numbers (GD takes whole steps)")


def points(name: str, X, ndim: int = 3) -> tuple[int, ...]:
    """X of ``ndim`` axes: (R, N, d) for a block of realisations."""
    shape = np.shape(X)
    if len(shape) != ndim:
        raise ValueError(f"{name} must have shape (R, N, d) (R realisations of N points in d dimensions), got "
                         f"{shape}; for one realisation pass {name}[None]")
    return shape


def curve(name: str, values, epochs) -> None:
    """One realisation's curve: shape (K,), K = len(epochs)."""
    shape, K = np.shape(values), len(epochs)
    if len(shape) != 1:
        raise ValueError(f"curves[{name!r}] has shape {shape}: one realisation's curve of shape ({K},) is expected "
                         "(from curve_metrics of a block, take one realisation: {k: v[0] for k, v in curves.items()})")
    if shape[0] != K:
        raise ValueError(f"curves[{name!r}] has {shape[0]} values but epochs has {K}")
