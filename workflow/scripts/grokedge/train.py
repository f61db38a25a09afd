"""Training: full-batch gradient descent (the paper's method), Adam, and the gradient-flow limit.

All solvers advance the realisations of a cell together (the flow in cache-sized groups): X has shape
(R, N, d), the state is (S, b) with S (R, d) and b (R,). The bias multiplies a per-point feature c_i, 1 by default; the
two-Gaussian model of the paper's App. H with sigma_A > 0 is c_i = 1 + eps xi_i (``grokedge.data``).
They return the state at the requested checkpoint epochs, from which ``grokedge.metrics`` computes the curves.

GD step:   S <- S - eta (1/N) X^T p,  b <- b - eta mean(p),  p = ell'(X S + b): expit for the logistic loss,
           exp for the exponential one (``loss``, see ``grokedge.model``)
Flow:      d(S, b)/dt = -g - (c eta / 2) H g, t = eta * epoch, with g = grad L and H the Hessian.
           c = 0 is the gradient flow, the eta -> 0 limit of GD. c = 1 is GD's first-order modified
           equation: GD's iterates stay within O(eta^2) of it instead of O(eta), which matters in the first
           ~1/(eta lambda_max(H)) epochs, where a GD step is not small. The default is c = 1 up to epoch
           10^4 and c = 0 after it, where eta lambda_max(H) has fallen with the loss. Integrated with an
           adaptive, error-controlled Runge-Kutta method (DOP853) whose step grows as the loss flattens, so
           its cost grows with log(horizon), not with the horizon.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from .model import loss_derivative, loss_second_derivative

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


def _bias_feature(c, R: int, N: int) -> np.ndarray:
    return np.ones((R, N)) if c is None else np.asarray(c, dtype=float).reshape(R, N)


# GD kernel. Each realisation's data is stacked as U = [X, c] (N, d + 1) and its state as w = (S, b), so a step is
# two gemv (z = U w, then p U with p = expit(z)) and an axpy: the bias rides along in both passes over the data.
# Matrices of at least _RESIDENT_MIN_ELEMENTS elements: one realisation at a time runs all its steps up to the
# next checkpoint, so its U stays in the core's cache across steps instead of being streamed from memory twice a
# step (realisations do not interact). Smaller ones, and Adam, go step by step with one batched call per operation
# over the chunk (Python overhead dominates there). Both call the same gemv per realisation and all other
# operations are elementwise or per row, so neither this choice nor the chunking over threads changes a bit.
# (np.dot and the batched np.matmul reach the same OpenBLAS gemv for a realisation: the tests check the bits.)
_RESIDENT_MIN_ELEMENTS = 16384


class _Failures:
    """Divergences found by the chunks of one ``gradient_descent`` call. The one reported is the one a single pass
    over all realisations raises: the smallest (checkpoint, kind, chunk) with kind 0 for non-finite weights
    (checked first) and 1 for a rising loss; within a chunk the first bad realisation is named. Chunks stop once
    they are past the checkpoint of a recorded failure (they cannot produce an earlier one) or on ``abort``."""

    def __init__(self, K: int):
        self.k = K  # checkpoint index of the earliest failure so far (K: none; -1: abort)
        self._best = None
        self._lock = threading.Lock()

    def record(self, key: tuple, exc: Exception) -> None:
        with self._lock:
            if self._best is None or key < self._best[0]:
                self._best = (key, exc)
                self.k = min(self.k, key[0])

    def abort(self) -> None:
        self.k = -1

    def raise_first(self) -> None:
        if self._best is not None:
            raise self._best[1]


def _split(R: int, threads: int) -> list[tuple[int, int]]:
    """Contiguous chunks of range(R), sizes differing by at most one."""
    if int(threads) < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    n = max(1, min(int(threads), R))
    edges = [R * i // n for i in range(n + 1)]
    return [(edges[i], edges[i + 1]) for i in range(n)]


def _loss_u(U, w, loss="logistic"):
    """Mean loss of every realisation, U (R, N, d + 1), w (R, d + 1)."""
    z = np.matmul(U, w[..., None])[..., 0]
    return np.logaddexp(0.0, z).mean(axis=-1) if loss == "logistic" else np.exp(z).mean(axis=-1)


def _gd_chunk(U, w, lr, epochs, adam, betas, adam_eps, rise_factor, lo, first_realisation, w_out,
              failures: _Failures, loss: str = "logistic") -> None:
    """GD/Adam for realisations lo .. lo + len(U) - 1 (one chunk) over all checkpoints: U (Rc, N, d + 1), the
    state w (Rc, d + 1) updated in place, w_out (Rc, K, d + 1) this chunk's rows of the output."""
    try:
        _gd_chunk_loop(U, w, lr, epochs, adam, betas, adam_eps, rise_factor, lo, first_realisation, w_out, failures,
                       loss)
    except BaseException:
        failures.abort()  # the other chunks stop at their next step
        raise


def _gd_chunk_loop(U, w, lr, epochs, adam, betas, adam_eps, rise_factor, lo, first_realisation, w_out, failures,
                   loss="logistic"):
    Rc, N, d1 = U.shape
    d, K, first = d1 - 1, len(epochs), first_realisation + lo
    total = int(epochs[-1]) if K else 0
    loss0 = _loss_u(U, w, loss)
    deriv = loss_derivative(loss)  # ell'(z), a ufunc: expit or exp
    p = np.empty((Rc, N))  # z = U w, then p = ell'(z), in place
    g = np.empty((Rc, d1))  # p U, then the step
    scale = lr / N
    resident = not adam and N * d1 >= _RESIDENT_MIN_ELEMENTS
    rows = [(U[i], w[i], p[i], g[i]) for i in range(Rc)]
    if adam:
        m, v = np.zeros_like(w), np.zeros_like(w)
        b1, b2 = betas
    dot, matmul, multiply, subtract = np.dot, np.matmul, np.multiply, np.subtract
    step = 0
    for k, target in enumerate(epochs):
        target = int(target)
        if resident and target > step:
            n = target - step
            for Ui, wi, pi, gi in rows:
                if failures.k < k:
                    return
                for _ in range(n):  # np.dot, not matmul: matmul keeps the GIL for outputs of <= 500 elements
                    dot(Ui, wi, out=pi)
                    deriv(pi, out=pi)
                    dot(pi, Ui, out=gi)
                    multiply(gi, scale, out=gi)
                    subtract(wi, gi, out=wi)
            step = target
        while step < target:
            if failures.k < k:
                return
            matmul(U, w[..., None], out=p[..., None])
            deriv(p, out=p)
            matmul(p[:, None, :], U, out=g[:, None, :])
            step += 1
            if adam:
                g /= N
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g**2
                c1, c2 = 1 - b1**step, 1 - b2**step
                w -= lr * (m / c1) / (np.sqrt(v / c2) + adam_eps)
            else:
                multiply(g, scale, out=g)
                subtract(w, g, out=w)
        if failures.k < k:
            return
        try:
            _check_finite(w[:, :d], w[:, d], target, first)
        except TrainingDiverged as exc:
            failures.record((k, 0, lo), exc)
            return
        if not adam and target > 0:
            rising = _loss_u(U, w, loss) > rise_factor * loss0
            if rising.any():
                r = int(np.flatnonzero(rising)[0]) + first
                failures.record((k, 1, lo), TrainingDiverged(
                    f"realisation {r}: training loss rose above {rise_factor:g}x its initial value by epoch "
                    f"{target}: GD diverges, the learning rate {lr:g} is above the stability bound 2/L"))
                return
        w_out[:, k] = w
        if k and (k % max(1, K // 10) == 0 or k == K - 1):
            log.info("realisations %d-%d: epoch %d of %d", first, first + Rc - 1, target, total)


def gradient_descent(X, S0, b0, lr: float, epochs: np.ndarray, optimizer: str = "gd",
                     betas=(0.9, 0.999), adam_eps: float = 1e-8, first_realisation: int = 0,
                     rise_factor: float = 10.0, c=None, threads: int = 1, loss: str = "logistic") -> Trajectory:
    """Full-batch GD (or Adam) on the mean logistic (or exponential, ``loss``) loss for every realisation at once.

    Adam is torch.optim.Adam's update: m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
    w <- w - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), eps outside the square root.

    ``epochs``: increasing integer checkpoints starting at 0. A GD step never raises a smooth convex loss
    when lr is below the stability bound 2/L; a training loss above ``rise_factor`` times its initial value
    therefore means lr is too large, and the run stops with ``TrainingDiverged`` naming realisation and epoch.

    ``threads``: the realisations (which do not interact) are split into that many contiguous chunks, each run
    through all its steps in its own thread (the gemv calls release the GIL). Results are bitwise the same for
    every value. BLAS itself should be single-threaded (callers pin it with threadpoolctl).
    """
    X = np.asarray(X, dtype=float)
    R, N, d = X.shape
    U = np.empty((R, N, d + 1))
    U[..., :d] = X
    U[..., d] = _bias_feature(c, R, N)
    w = np.empty((R, d + 1))
    w[:, :d] = np.asarray(S0, dtype=float).reshape(R, d)
    w[:, d] = np.broadcast_to(np.asarray(b0, dtype=float), (R,))
    K = len(epochs)
    w_out = np.empty((R, K, d + 1))
    adam = optimizer == "adam"
    chunks = _split(R, threads)
    failures = _Failures(K)

    def run(lo, hi):
        _gd_chunk(U[lo:hi], w[lo:hi], lr, epochs, adam, betas, adam_eps, rise_factor, lo, first_realisation,
                  w_out[lo:hi], failures, loss)

    if len(chunks) == 1:
        run(*chunks[0])
    else:
        with ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="grokedge-gd") as pool:
            futures = [pool.submit(run, lo, hi) for lo, hi in chunks]
            try:
                for f in futures:
                    f.result()
            except BaseException:  # e.g. KeyboardInterrupt while waiting: stop the workers at their next step
                failures.abort()
                raise
    failures.raise_first()
    return Trajectory(np.asarray(epochs, dtype=float), np.ascontiguousarray(w_out[..., :d]),
                      np.ascontiguousarray(w_out[..., d]))


# The flow integrates a block's realisations in groups whose data fit in a typical last-level cache (about
# 6 MiB of X per group): a group is one ODE system with one error norm, so its step is that of its stiffest
# member, and the RHS streams the group's data several times per step. Measured at N = 400, d = 220,
# 40 realisations: groups of 8 run 2.7x faster than one 40-realisation system. A constant, not the machine's
# cache size, so that the groups, and hence the results, are the same on every machine.
FLOW_GROUP_BYTES = 6 * 2**20


def flow_groups(R: int, N: int, d: int) -> list[tuple[int, int]]:
    """Contiguous realisation ranges [lo, hi) of at most FLOW_GROUP_BYTES of float64 data each (>= 1)."""
    size = max(1, FLOW_GROUP_BYTES // (8 * N * (d + 1)))
    return [(lo, min(lo + size, R)) for lo in range(0, R, size)]


def gradient_flow(X, S0, b0, lr: float, epochs: np.ndarray, correction_epochs: float = 1e4, rtol: float = 1e-8,
                  atol: float = 1e-10, first_realisation: int = 0, c=None, loss: str = "logistic") -> Trajectory:
    """Integrate the gradient flow in t = lr * epoch with DOP853, with the modified-equation correction (see
    the module docstring) up to epoch ``correction_epochs`` and without it afterwards.

    With u_i = (x_i, c_i) and w = (S, b): g = (1/N) U^T p and H v = (1/N) U^T (p (1 - p) * (U v)).
    Why the correction can stop: it is (eta/2) H g against g, and lambda_max(H) falls like the training loss,
    i.e. like 1/t, once every point is classified; what it still adds to w after epoch E is of order
    1/E relative to its early effect (tests/test_train.py checks the switch against GD and against a flow
    corrected throughout). Dropping it halves the cost of each RHS (2 passes over X instead of 4).
    Realisations are integrated in groups (``flow_groups``); each group's error norm covers all its members,
    so every realisation is integrated to the requested tolerance.
    """
    X = np.asarray(X, dtype=float)
    R, N, d = X.shape
    S0 = np.array(S0, dtype=float).reshape(R, d)
    b0 = np.array(np.broadcast_to(b0, (R,)), dtype=float)
    c = _bias_feature(c, R, N)
    epochs = np.asarray(epochs, dtype=float)
    Y = np.empty((R, len(epochs), d + 1))
    for lo, hi in flow_groups(R, N, d):
        y0 = np.concatenate([S0[lo:hi], b0[lo:hi, None]], axis=1)
        Y[lo:hi] = _flow_group(X[lo:hi], c[lo:hi], y0, lr, epochs, correction_epochs, rtol, atol,
                               first_realisation + lo, loss)
    _check_finite(Y[:, -1, :d], Y[:, -1, d], epochs[-1], first_realisation)
    return Trajectory(epochs, Y[..., :d].copy(), Y[..., d].copy())


def _flow_group(X, c, y0, lr, epochs, correction_epochs, rtol, atol, first, loss="logistic") -> np.ndarray:
    """One group as one ODE system: (R, d + 1) initial state -> (R, K, d + 1) states at ``epochs``."""
    R, N, d = X.shape
    last = first + R - 1
    next_report = [10.0]

    def back(v):  # (1/N) U^T v for v (R, N) -> (R, d + 1)
        out = np.empty((R, d + 1))
        out[:, :d] = np.matmul(v[:, None, :], X)[:, 0, :] / N
        out[:, d] = (v * c).mean(axis=1)
        return out

    def forward(w):  # U w for w (R, d + 1) -> (R, N)
        return np.matmul(X, w[:, :d, None])[..., 0] + w[:, d, None] * c

    def rhs(t, y, half_eta):
        w = y.reshape(R, d + 1)
        p = loss_derivative(loss)(forward(w))  # ell'(z); ell''(z) = loss_second_derivative(p) below
        g = back(p)
        if half_eta:
            g += half_eta * back(loss_second_derivative(p, loss) * forward(g))
        if t / lr >= next_report[0]:
            log.info("realisations %d-%d: epoch %.3g of %.3g", first, last, t / lr, epochs[-1])
            next_report[0] *= 10.0
        return -g.ravel()

    # the corrected stretch [0, switch] and the plain one [switch, end], each checkpoint in exactly one
    switch = float(np.clip(correction_epochs, epochs[0], epochs[-1]))
    out = np.empty((R, len(epochs), d + 1))
    y, k = y0.ravel(), 0
    for a, b, half_eta in ((epochs[0], switch, 0.5 * lr), (switch, epochs[-1], 0.0)):
        if b <= a:
            continue
        seg = epochs[((epochs >= a) if k == 0 else (epochs > a)) & (epochs <= b)]
        sol = solve_ivp(rhs, (lr * a, lr * b), y, method="DOP853", t_eval=lr * np.unique(np.append(seg, b)),
                        rtol=rtol, atol=atol, args=(half_eta,))
        if sol.status != 0:
            raise TrainingDiverged(f"realisations {first}-{last}: gradient flow failed at epoch "
                                   f"{sol.t[-1] / lr:.3g}: {sol.message}")
        out[:, k:k + len(seg)] = sol.y[:, :len(seg)].T.reshape(len(seg), R, d + 1).transpose(1, 0, 2)
        y, k = sol.y[:, -1], k + len(seg)
    return out


SOLVERS = ("gd", "adam", "flow")


def train(X, S0, b0, lr: float, epochs: np.ndarray, solver: str = "flow", gd_warmup: int = 100,
          correction_epochs: float = 1e4, betas=(0.9, 0.999), first_realisation: int = 0, c=None,
          threads: int = 1, adam_eps: float = 1e-8, loss: str = "logistic") -> Trajectory:
    """Run one solver over the checkpoint epochs.

    ``flow`` takes the first ``gd_warmup`` epochs as exact GD steps (there a step of size eta is not small
    against the fastest time scale 1/lambda_max(H), and the GD iterates are cheap), then integrates the
    modified gradient flow from the GD state up to epoch ``correction_epochs`` and the plain flow after it:
    the result tracks GD to better than 1e-3 at every checkpoint.
    ``threads`` splits the realisations of the GD steps (``gd``, ``adam`` and the ``flow`` warm-up) over that many
    threads; results are bitwise independent of it.
    """
    epochs = np.asarray(epochs, dtype=float)
    if solver in ("gd", "adam"):
        return gradient_descent(X, S0, b0, lr, epochs, optimizer=solver, betas=betas, adam_eps=adam_eps,
                                first_realisation=first_realisation, c=c, threads=threads, loss=loss)
    if solver != "flow":
        raise ValueError(f"unknown solver {solver!r}; expected one of {SOLVERS}")
    warm = min(int(gd_warmup), int(epochs[-1]))
    early = epochs[epochs <= warm]
    head = gradient_descent(X, S0, b0, lr, np.unique(np.append(early, warm)), first_realisation=first_realisation, c=c,
                            threads=threads, loss=loss)
    late = epochs[epochs > warm]
    if len(late) == 0:
        keep = np.isin(head.epochs, epochs)
        return Trajectory(epochs, head.S[:, keep], head.b[:, keep])
    tail = gradient_flow(X, head.S[:, -1], head.b[:, -1], lr, np.concatenate([[0.0], late - warm]),
                         correction_epochs=correction_epochs - warm, first_realisation=first_realisation, c=c,
                         loss=loss)
    keep = np.isin(head.epochs, early)
    return Trajectory(epochs, np.concatenate([head.S[:, keep], tail.S[:, 1:]], axis=1),
                      np.concatenate([head.b[:, keep], tail.b[:, 1:]], axis=1))
