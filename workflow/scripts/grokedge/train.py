"""Training: full-batch gradient descent (the paper's method), Adam, and the gradient-flow limit.

All solvers advance every realisation of a cell together: X has shape (R, N, d), the state is
(S, b) with S (R, d) and b (R,). The bias multiplies a per-point feature c_i, 1 by default; the
two-Gaussian model of the paper's App. H with sigma_A > 0 is c_i = 1 + eps xi_i (``grokedge.data``).
They return the state at the requested checkpoint epochs, from which ``grokedge.metrics`` computes the curves.

GD step:   S <- S - eta (1/N) X^T p,  b <- b - eta mean(p),  p = expit(X S + b)
Flow:      d(S, b)/dt = -g - (c eta / 2) H g, t = eta * epoch, with g = grad L and H the Hessian.
           c = 0 is the gradient flow, the eta -> 0 limit of GD. c = 1 (the default) is GD's first-order
           modified equation: GD's iterates stay within O(eta^2) of it instead of O(eta), which matters in
           the first ~1/(eta lambda_max(H)) epochs, where a GD step is not small. Integrated with an
           adaptive, error-controlled Runge-Kutta method (DOP853) whose step grows as the loss flattens, so
           its cost grows with log(horizon), not with the horizon.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import expit

log = logging.getLogger("grokedge.train")


class TrainingDiverged(RuntimeError):
    """Raised when a run leaves the numerically meaningful region (NaN/inf, or a rising loss under GD)."""


def checkpoint_epochs(horizon: float, per_decade: int) -> np.ndarray:
    """0 and the distinct integers round(10^(k/per_decade)) up to ``horizon`` (which is always included)."""
    top = np.log10(horizon)
    exps = np.arange(0, int(np.floor(top * per_decade)) + 1) / per_decade
    ep = np.unique(np.round(10.0**exps))
    ep = np.unique(np.concatenate([[0.0], ep[ep <= horizon], [float(horizon)]]))
    return ep


@dataclass
class Trajectory:
    """States at the checkpoint epochs: S (R, K, d), b (R, K); epochs (K,)."""

    epochs: np.ndarray
    S: np.ndarray
    b: np.ndarray


def _check_finite(S, b, epoch, first_realisation: int = 0):
    bad = ~(np.isfinite(b) & np.isfinite(S).all(axis=-1))
    if bad.any():
        r = int(np.flatnonzero(bad)[0]) + first_realisation
        raise TrainingDiverged(f"realisation {r}: non-finite weights at epoch {int(epoch)}")


def _batched_loss(X, S, b, c):
    z = np.matmul(X, S[..., None])[..., 0] + b[:, None] * c
    return np.logaddexp(0.0, z).mean(axis=-1)


def _bias_feature(c, R: int, N: int) -> np.ndarray:
    return np.ones((R, N)) if c is None else np.asarray(c, dtype=float).reshape(R, N)


def gradient_descent(X, S0, b0, lr: float, epochs: np.ndarray, optimizer: str = "gd",
                     betas=(0.9, 0.999), adam_eps: float = 1e-8, first_realisation: int = 0,
                     rise_factor: float = 10.0, c=None) -> Trajectory:
    """Full-batch GD (or Adam) on the mean logistic loss for every realisation at once.

    ``epochs``: increasing integer checkpoints starting at 0. A GD step never raises a smooth convex loss
    when lr is below the stability bound 2/L; a training loss above ``rise_factor`` times its initial value
    therefore means lr is too large, and the run stops with ``TrainingDiverged`` naming realisation and epoch.
    """
    X = np.asarray(X, dtype=float)
    R, N, d = X.shape
    XT = np.ascontiguousarray(np.swapaxes(X, 1, 2))
    S = np.array(S0, dtype=float).reshape(R, d)
    b = np.array(np.broadcast_to(b0, (R,)), dtype=float)
    K = len(epochs)
    S_out, b_out = np.empty((R, K, d)), np.empty((R, K))
    c = _bias_feature(c, R, N)
    plain_bias = bool(np.all(c == 1.0))
    loss0 = _batched_loss(X, S, b, c)
    adam = optimizer == "adam"
    if adam:
        mS, vS, mb, vb = np.zeros_like(S), np.zeros_like(S), np.zeros_like(b), np.zeros_like(b)
    z = np.empty((R, N, 1))
    gS = np.empty((R, d, 1))
    step = 0
    for k, target in enumerate(epochs):
        target = int(target)
        while step < target:
            np.matmul(X, S[..., None], out=z)
            p = expit(z[..., 0] + (b[:, None] if plain_bias else b[:, None] * c))
            np.matmul(XT, p[..., None], out=gS)
            grad_S = gS[..., 0] / N
            grad_b = p.mean(axis=1) if plain_bias else (p * c).mean(axis=1)
            step += 1
            if adam:
                b1, b2 = betas
                mS = b1 * mS + (1 - b1) * grad_S
                vS = b2 * vS + (1 - b2) * grad_S**2
                mb = b1 * mb + (1 - b1) * grad_b
                vb = b2 * vb + (1 - b2) * grad_b**2
                c1, c2 = 1 - b1**step, 1 - b2**step
                S -= lr * (mS / c1) / (np.sqrt(vS / c2) + adam_eps)
                b -= lr * (mb / c1) / (np.sqrt(vb / c2) + adam_eps)
            else:
                S -= lr * grad_S
                b -= lr * grad_b
        _check_finite(S, b, target, first_realisation)
        if not adam and target > 0:
            rising = _batched_loss(X, S, b, c) > rise_factor * loss0
            if rising.any():
                r = int(np.flatnonzero(rising)[0]) + first_realisation
                raise TrainingDiverged(
                    f"realisation {r}: training loss rose above {rise_factor:g}x its initial value by epoch "
                    f"{target}: GD diverges, the learning rate {lr:g} is above the stability bound 2/L")
        S_out[:, k], b_out[:, k] = S, b
        if k and (k % max(1, K // 10) == 0 or k == K - 1):
            log.info("realisations %d-%d: epoch %d of %d", first_realisation, first_realisation + R - 1,
                     target, int(epochs[-1]))
    return Trajectory(np.asarray(epochs, dtype=float), S_out, b_out)


def gradient_flow(X, S0, b0, lr: float, epochs: np.ndarray, eta_correction: bool = True, rtol: float = 1e-8,
                  atol: float = 1e-10, first_realisation: int = 0, c=None) -> Trajectory:
    """Integrate the (modified, see the module docstring) gradient flow in t = lr * epoch with DOP853.

    With u_i = (x_i, c_i) and w = (S, b): g = (1/N) U^T p and H v = (1/N) U^T (p (1 - p) * (U v)).
    All realisations form one ODE system; the solver's error norm covers all of them, so every one is
    integrated to the requested tolerance.
    """
    X = np.asarray(X, dtype=float)
    R, N, d = X.shape
    XT = np.ascontiguousarray(np.swapaxes(X, 1, 2))
    S0 = np.array(S0, dtype=float).reshape(R, d)
    b0 = np.array(np.broadcast_to(b0, (R,)), dtype=float)
    y0 = np.concatenate([S0, b0[:, None]], axis=1).ravel()
    c = _bias_feature(c, R, N)
    t_eval = lr * np.asarray(epochs, dtype=float)
    half_eta = 0.5 * lr if eta_correction else 0.0
    next_report = [10.0]

    def back(v):  # (1/N) U^T v for v (R, N) -> (R, d + 1)
        out = np.empty((R, d + 1))
        out[:, :d] = np.matmul(XT, v[..., None])[..., 0] / N
        out[:, d] = (v * c).mean(axis=1)
        return out

    def forward(w):  # U w for w (R, d + 1) -> (R, N)
        return np.matmul(X, w[:, :d, None])[..., 0] + w[:, d, None] * c

    def rhs(t, y):
        w = y.reshape(R, d + 1)
        p = expit(forward(w))
        g = back(p)
        if half_eta:
            g += half_eta * back(p * (1.0 - p) * forward(g))
        if t / lr >= next_report[0]:
            log.info("realisations %d-%d: epoch %.3g of %.3g", first_realisation, first_realisation + R - 1,
                     t / lr, epochs[-1])
            next_report[0] *= 10.0
        return -g.ravel()

    sol = solve_ivp(rhs, (0.0, t_eval[-1]), y0, method="DOP853", t_eval=t_eval, rtol=rtol, atol=atol)
    if sol.status != 0:
        raise TrainingDiverged(f"realisations {first_realisation}-{first_realisation + R - 1}: gradient flow "
                               f"failed at epoch {sol.t[-1] / lr:.3g}: {sol.message}")
    Y = sol.y.T.reshape(len(t_eval), R, d + 1).transpose(1, 0, 2)
    _check_finite(Y[:, -1, :d], Y[:, -1, d], epochs[-1], first_realisation)
    return Trajectory(np.asarray(epochs, dtype=float), Y[..., :d].copy(), Y[..., d].copy())


SOLVERS = ("gd", "adam", "flow")


def train(X, S0, b0, lr: float, epochs: np.ndarray, solver: str = "flow", gd_warmup: int = 100,
          eta_correction: bool = True, betas=(0.9, 0.999), first_realisation: int = 0, c=None) -> Trajectory:
    """Run one solver over the checkpoint epochs.

    ``flow`` takes the first ``gd_warmup`` epochs as exact GD steps (there a step of size eta is not small
    against the fastest time scale 1/lambda_max(H), and the GD iterates are cheap), then integrates the
    modified gradient flow from the GD state: the result tracks GD to better than 1e-3 at every checkpoint.
    """
    epochs = np.asarray(epochs, dtype=float)
    if solver in ("gd", "adam"):
        return gradient_descent(X, S0, b0, lr, epochs, optimizer=solver, betas=betas,
                                first_realisation=first_realisation, c=c)
    if solver != "flow":
        raise ValueError(f"unknown solver {solver!r}; expected one of {SOLVERS}")
    warm = min(int(gd_warmup), int(epochs[-1]))
    early = epochs[epochs <= warm]
    head = gradient_descent(X, S0, b0, lr, np.unique(np.append(early, warm)), first_realisation=first_realisation, c=c)
    late = epochs[epochs > warm]
    if len(late) == 0:
        keep = np.isin(head.epochs, epochs)
        return Trajectory(epochs, head.S[:, keep], head.b[:, keep])
    tail = gradient_flow(X, head.S[:, -1], head.b[:, -1], lr, np.concatenate([[0.0], late - warm]),
                         eta_correction=eta_correction, first_realisation=first_realisation, c=c)
    keep = np.isin(head.epochs, early)
    return Trajectory(epochs, np.concatenate([head.S[:, keep], tail.S[:, 1:]], axis=1),
                      np.concatenate([head.b[:, keep], tail.b[:, 1:]], axis=1))
