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
           adaptive, error-controlled, stabilised explicit Runge-Kutta method (RKS3; RKC on request) whose step
           grows as the loss flattens, so its cost grows with log(horizon), not with the horizon.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from . import model, validate

log = logging.getLogger("grokedge.train")


class TrainingDiverged(RuntimeError):
    """Raised when a run leaves the numerically meaningful region (NaN/inf, or a rising loss under GD)."""


def checkpoint_epochs(horizon: float, per_decade: int) -> np.ndarray:
    """0 and the distinct integers round(10^(k/per_decade)) up to ``horizon`` (which is always included): shape
    (K,). ``horizon`` >= 1 epochs, ``per_decade`` a whole number >= 1."""
    validate.horizon(horizon), validate.whole("per_decade", per_decade)
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
    loss0 = model.train_loss(U, w, 0.0, loss)  # U = [X, c] and w = (S, b): the bias rides in the product
    deriv = model.loss_derivative(loss)  # ell'(z), a ufunc: expit or exp
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
            rising = model.train_loss(U, w, 0.0, loss) > rise_factor * loss0
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

    Data of at least STREAM_MIN_BYTES per realisation, or stored in float32, are not copied: each realisation
    is stepped on its streamed operator (``_Streamed``: one pass over X per step, the rows split over
    ``threads``), with the same update, checks and error messages (``_streamed_descent``).

    Shapes: X (R, N, d), S0 (R, d), b0 a number or (R,), epochs (K,) -> Trajectory with S (R, K, d), b (R, K).
    """
    validate.training_inputs(X, S0, b0, lr, epochs)
    X = np.asarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(float)
    chunks = _split(X.shape[0], threads)
    if _streamed(X):
        return _streamed_descent(X, S0, b0, lr, np.asarray(epochs), optimizer == "adam", betas, adam_eps,
                                 rise_factor, c, threads, first_realisation, loss)
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


# Pointwise loss of a point labelled -1, given through its derivatives: the gradient's weights l'(z) and the
# Hessian's l''(z) (used by the modified-equation correction), the latter as a function of z and p = l'(z).
# The flow is written only in terms of these two (grokedge.model: logistic and exponential).
FLOW_LOSSES = {name: (model.loss_derivative(name), lambda z, p, name=name: model.loss_second_derivative(p, name))
               for name in ("logistic", "exponential")}

# Data of at least this many bytes per realisation (more than a cache-sized group) are streamed in row blocks by
# ``_Streamed`` (no bias column appended, one memory pass per gradient, split over threads); smaller data use
# batched matmuls over a group. Measured at N = 4000, d = 1920 to 10^6 epochs: streamed 1.4x faster than
# batched on one thread, and 1.8x faster again on two.
STREAM_MIN_BYTES = 6 * 2**20
# float64 bytes of one row block: it stays in cache between its two gemv. 4 MiB (last-level cache, ~27 rows at
# d = 19200) rather than 1 MiB (a core's L2): the Python cost per block is then ~5% of the block's memory time.
_STREAM_BLOCK_BYTES = 4 * 2**20
# The row blocks are summed in this many contiguous chunks whatever the thread count, each chunk's partial sum
# kept apart and the partial sums added in order: results are bitwise independent of ``threads``.
_STREAM_CHUNKS = 8


class _Batched:
    """U = [X, c] of a group of realisations that fits in cache: X (R, N, d), c (R, N), w (R, d + 1). U is stored
    once as (R, N, d + 1), so that U w and p U are one batched matmul each with the bias riding along (as in the
    GD kernel), written into preallocated buffers."""

    def __init__(self, X, c, loss):
        self.dl, self.d2l = FLOW_LOSSES[loss]
        self.R, self.N, self.d = X.shape
        self.U = np.empty((self.R, self.N, self.d + 1))
        self.U[..., :self.d] = X
        self.U[..., self.d] = c
        self.z, self.p = np.empty((self.R, self.N)), np.empty((self.R, self.N))

    def grad(self, w, half_eta=0.0):
        """g = (1/N) U^T l'(U w), plus half_eta H g with H = (1/N) U^T diag(l''(U w)) U; a new (R, d + 1) array."""
        U, z, p = self.U, self.z, self.p
        g = np.empty((self.R, self.d + 1))
        np.matmul(U, w[..., None], out=z[..., None])
        self.dl(z, out=p)
        np.matmul(p[:, None, :], U, out=g[:, None, :])
        g *= 1.0 / self.N
        if half_eta:
            g += half_eta * self.hess(g)
        return g

    def hess(self, v):
        """H v at the point of the last ``grad`` call (its p = l'(U w)); a new (R, d + 1) array."""
        U, z, p = self.U, self.z, self.p
        hv = np.empty((self.R, self.d + 1))
        np.matmul(U, v[..., None], out=z[..., None])  # U v
        z *= self.d2l(z, p)
        np.matmul(z[:, None, :], U, out=hv[:, None, :])
        hv *= 1.0 / self.N
        return hv


class _Streamed:
    """The operations of ``_Batched`` for one large realisation, X (N, d) in float64 or float32 and never copied.

    One fused pass over X computes, for a vector (v, v_b) and a pointwise map q(u, rows),
        u_i = x_i.v + v_b c_i,   q_i = q(u_i),   sum_i q_i x_i  (and q is kept for sum_i q_i c_i):
    the rows are taken in blocks of about _STREAM_BLOCK_BYTES, each used for both products while it is in cache
    (float32 rows are converted to float64 in a per-thread buffer first, so products accumulate in float64).
    The gradient is one such pass (q = l'(u)); the Hessian-vector product of the O(eta) correction another
    (q = l''(z) u). ``passes`` counts the passes made (one memory sweep over X each)."""

    def __init__(self, X, c, loss, threads=1):
        self.X, self.c, (self.dl, self.d2l) = X, c, FLOW_LOSSES[loss]
        self.N, self.d = X.shape
        self.R = 1
        rows = max(1, _STREAM_BLOCK_BYTES // (8 * self.d))
        blocks = [(lo, min(lo + rows, self.N)) for lo in range(0, self.N, rows)]
        n = min(_STREAM_CHUNKS, len(blocks))
        cut = [len(blocks) * i // n for i in range(n + 1)]
        self.chunks = [blocks[cut[i]:cut[i + 1]] for i in range(n)]
        self.threads = max(1, min(int(threads), n))
        self.pool = (ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="grokedge-stream")
                     if self.threads > 1 else None)
        convert = X.dtype != np.float64
        self.bufs = [np.empty((rows, self.d)) if convert else None for _ in range(self.threads)]
        self.tmps = [np.empty(self.d) for _ in range(self.threads)]
        self.partial = np.empty((n, self.d))
        self.z, self.p, self.q = np.empty(self.N), np.empty(self.N), np.empty(self.N)
        self.passes = 0

    def _pass(self, v, vb, weights) -> np.ndarray:
        """sum_i q_i x_i / N (a new (d,) array) with q_i = weights(u, lo, hi) written into ``self.q``."""
        X, c, q, partial = self.X, self.c, self.q, self.partial

        def work(i):
            buf, tmp = self.bufs[i], self.tmps[i]
            for k in range(i, len(self.chunks), self.threads):
                acc = partial[k]
                acc[:] = 0.0
                for lo, hi in self.chunks[k]:
                    xb = X[lo:hi]
                    if buf is not None:
                        xb = buf[:hi - lo]
                        np.copyto(xb, X[lo:hi])
                    u = q[lo:hi]
                    np.dot(xb, v, out=u)
                    u += vb * c[lo:hi]
                    weights(u, lo, hi)
                    np.dot(u, xb, out=tmp)
                    acc += tmp

        if self.pool is None:
            work(0)
        else:
            for f in [self.pool.submit(work, i) for i in range(self.threads)]:
                f.result()
        self.passes += 1
        out = partial[0].copy()
        for k in range(1, len(partial)):
            out += partial[k]
        return out / self.N

    def grad(self, w, half_eta=0.0):
        """As ``_Batched.grad`` for this one realisation: g (plus half_eta H g), shape (1, d + 1)."""
        w = w.reshape(self.d + 1)
        d, z, p, dl = self.d, self.z, self.p, self.dl

        def first(u, lo, hi):
            z[lo:hi] = u
            dl(u, out=u)

        g = np.empty(d + 1)
        g[:d] = self._pass(w[:d], w[d], first)
        p[:] = self.q
        g[d] = np.dot(p, self.c) / self.N
        if half_eta:
            g += half_eta * self.hess(g)[0]
        return g[None]

    def hess(self, v):
        """H v at the point of the last ``grad`` call, shape (1, d + 1): one more pass."""
        v = v.reshape(self.d + 1)
        hz = self.d2l(self.z, self.p)

        def second(u, lo, hi):
            u *= hz[lo:hi]

        hv = np.empty(self.d + 1)
        hv[:self.d] = self._pass(v[:self.d], v[self.d], second)
        hv[self.d] = np.dot(self.q, self.c) / self.N
        return hv[None]

    def margins(self, w) -> np.ndarray:
        """u_i = x_i.S + b c_i for every point (one pass over X, products only); w = (S, b)."""
        w = w.reshape(self.d + 1)
        out = np.empty(self.N)
        for lo, hi in (blk for chunk in self.chunks for blk in chunk):
            np.dot(np.asarray(self.X[lo:hi], dtype=float), w[:self.d], out=out[lo:hi])
        out += w[self.d] * self.c
        self.passes += 1
        return out

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()


# Tolerances of the corrected stretch under method "auto" (see gradient_flow).
EARLY_TOL = (1e-4, 1e-7)


def _rms(v, scale):
    return float(np.sqrt(np.mean((v / scale) ** 2)))


def _spectral_radius(f, t, y, fy, v, iters):
    """Largest |eigenvalue| of the Jacobian of f at y by the nonlinear power method on differences of f
    (f(y + e v) - f(y)) / e, warm-started from the direction v; returns (radius, direction)."""
    ynorm = np.linalg.norm(y)
    dy = np.sqrt(np.finfo(float).eps) * max(ynorm, 1e-3)
    v = v / np.linalg.norm(v)
    rho = 0.0
    for _ in range(iters):
        df = f(t, y + dy * v) - fy
        dn = np.linalg.norm(df)
        if dn == 0:
            break
        rho, v = dn / dy, df / dn
    return rho, v


def _stabilised_start(f, t0, t1, y0, t_out, rtol, atol, magnitude, h_rho):
    """The start shared by ``_rkc`` and ``_rks3``: the output array with every t_out <= t0 set to y0, f(t0, y0),
    rho(H) from 12 power iterations (1.2x safety), and the first step: the smaller of the stability bound
    h_rho / rho and 1% of |y| / |f| in the error norm. -> (out, k, f0, rho, v, h, nfev)."""
    out = np.empty((len(t_out), y0.size))
    fn = f(t0, y0)
    rho, v = _spectral_radius(f, t0, y0, fn, np.random.default_rng(0).standard_normal(y0.size), 12)
    rho *= 1.2
    scale = atol + rtol * magnitude(y0)
    h = min(t1 - t0, h_rho / max(rho, 1e-30), 0.01 * max(_rms(y0, scale), 1.0) / max(_rms(fn, scale), 1e-30))
    k = 0
    while k < len(t_out) and t_out[k] <= t0:
        out[k] = y0
        k += 1
    return out, k, fn, rho, v, h, 13


def _step_factor(err, errold, h, hold, safety) -> float:
    """Step-size factor of a third-order error estimate: safety err^(-1/3), limited by rkc.f's step-size
    history (a PI-like controller) once there is a previous accepted step."""
    fac = safety * err ** (-1.0 / 3.0)
    if errold is not None:
        fac = min(fac, safety * (h / hold) * errold ** (1.0 / 3.0) / err ** (2.0 / 3.0))
    return fac


def _rkc(f, t0, t1, y0, t_out, rtol, atol, rho_every=10, magnitude=np.abs):
    """Integrate y' = f(t, y) from t0 to t1 with the second-order Runge-Kutta-Chebyshev method (Sommeijer,
    Shampine & Verwer 1997) and return y at the times ``t_out`` (in [t0, t1], increasing).

    Why RKC: here f = -grad L, whose Jacobian -H is symmetric negative semi-definite, so its spectrum lies on
    the negative real axis, where an s-stage RKC step is stable up to h rho(H) ~ 0.65 s^2. Steps are taken as
    long as accuracy allows, with s ~ sqrt(h rho) right-hand sides each, instead of the O(h rho) of a classical
    explicit method whose step the stiffness caps. rho is re-estimated every ``rho_every`` steps by a few
    warm-started power iterations on differences of f (1.2x safety). Error estimate per step (RKC's):
    0.8 (y_n - y_{n+1}) + 0.4 h (f_n + f_{n+1}), in the RMS norm weighted by atol + rtol magnitude(y) (by
    default |y| componentwise). Between steps the
    solution is the cubic Hermite interpolant of (y, f) at both ends."""
    t_out = np.asarray(t_out, dtype=float)
    y, t = y0.copy(), float(t0)
    out, k, fn, rho, v, h, nfev = _stabilised_start(f, t, t1, y, t_out, rtol, atol, magnitude, 1.0)
    steps, errold, hold = 0, None, None
    while t < t1:
        h = min(h, t1 - t)
        s = max(2, 1 + int(np.sqrt(1.0 + 1.54 * h * rho)))
        if s > 250:
            s = 250
            h = (s * s - 1) / (1.54 * rho)
        w0 = 1.0 + 2.0 / (13.0 * s * s)
        t1_, t2_ = w0 * w0 - 1.0, np.sqrt(w0 * w0 - 1.0)
        arg = s * np.log(w0 + t2_)
        w1 = np.sinh(arg) * t1_ / (np.cosh(arg) * s * t2_ - w0 * np.sinh(arg))
        bjm1 = bjm2 = 1.0 / (2.0 * w0) ** 2
        mus = w1 * bjm1
        yjm2, yjm1 = y, y + h * mus * fn
        thjm2, thjm1 = 0.0, mus
        zjm1, zjm2, dzjm1, dzjm2, d2zjm1, d2zjm2 = w0, 1.0, 1.0, 0.0, 0.0, 0.0
        for _ in range(2, s + 1):
            zj = 2.0 * w0 * zjm1 - zjm2
            dzj = 2.0 * w0 * dzjm1 - dzjm2 + 2.0 * zjm1
            d2zj = 2.0 * w0 * d2zjm1 - d2zjm2 + 4.0 * dzjm1
            bj = d2zj / dzj ** 2
            ajm1 = 1.0 - zjm1 * bjm1
            mu, nu = 2.0 * w0 * bj / bjm1, -bj / bjm2
            mus = mu * w1 / w0
            fj = f(t + h * thjm1, yjm1)
            yj = mu * yjm1 + nu * yjm2 + (1.0 - mu - nu) * y + h * mus * (fj - ajm1 * fn)
            thj = mu * thjm1 + nu * thjm2 + mus * (1.0 - ajm1)
            yjm2, yjm1, thjm2, thjm1 = yjm1, yj, thjm1, thj
            zjm2, zjm1, dzjm2, dzjm1, d2zjm2, d2zjm1 = zjm1, zj, dzjm1, dzj, d2zjm1, d2zj
            bjm2, bjm1 = bjm1, bj
        ynew = yjm1
        if not np.all(np.isfinite(ynew)):
            err = np.inf
            fnew = None
        else:
            fnew = f(t + h, ynew)
            scale = atol + rtol * np.maximum(magnitude(y), magnitude(ynew))
            err = _rms(0.8 * (y - ynew) + 0.4 * h * (fn + fnew), scale)
        nfev += s
        if err > 1.0:  # reject
            h *= max(0.1, 0.8 * err ** (-1.0 / 3.0)) if np.isfinite(err) else 0.1
            if h < 1e-14 * max(1.0, abs(t)):
                raise FloatingPointError(f"step size underflow at t = {t:.6g}")
            continue
        k = _hermite(t_out, k, out, t, h, y, ynew, fn, fnew)
        err = max(err, 1e-10)
        fac = _step_factor(err, errold, h, hold, 0.8)
        errold, hold = err, h
        t, y, fn = t + h, ynew, fnew
        h *= min(10.0, max(0.1, fac))
        steps += 1
        if steps % rho_every == 0:
            r, v = _spectral_radius(f, t, y, fn, v, 3)
            nfev += 3
            rho = 1.2 * r
    return out, nfev


# A 5-stage, third-order explicit Runge-Kutta method with a long real stability interval (``_rks3``), designed
# for this flow: its stability polynomial P(z) = 1 + z + z^2/2 + z^3/6 + a4 z^4 + a5 z^5 keeps |P| <= 1 on
# [-RKS3_BETA, 0] (|P| <= 0.95 beyond z = -1), the longest interval a third-order 5-stage polynomial reaches
# (a linear programme), against 2.51 for Bogacki-Shampine with 3 stages. The tableau solves the order-3
# conditions (b.1 = 1, b.c = 1/2, b.c^2 = 1/3, b.Ac = 1/6) and b.A^2c = a4, b.A^3c = a5, and among those
# solutions keeps every stage's polynomial within 1 on the same interval (internal stability; found by SLSQP).
# The error estimate h sum_j RKS3_E[j] F_j (F_6 = f(y_{n+1})) is that of an embedded second-order solution,
# ~ z^3/24 on slow modes and below 0.24 in magnitude on stiff ones (a linear programme).
RKS3_A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [0.10074986164501426, 0.0, 0.0, 0.0, 0.0],
    [0.06045334921486728, 0.5660287549518486, 0.0, 0.0, 0.0],
    [0.05668629205535163, 0.3928792230293141, 0.1538806760155458, 0.0, 0.0],
    [0.0757733983892782, 0.191394451055113, 0.17300318891309208, 0.2976005855762871, 0.0]])
RKS3_B = np.array([0.07732759880232222, 0.22971098101441367, 0.02214476415757448, 0.23767756414906402,
                   0.4331390918766254])
RKS3_E = np.array([-0.00447962226498948, 0.09099674476289554, -0.0922190449446704, -0.17287314769865275,
                   0.09781456961968489, 0.08076050052573219])
RKS3_BETA = 10.39
RKS3_C = RKS3_A.sum(axis=1)  # the stages' nodes


def _hermite(t_out, k, out, t, h, y, ynew, fn, fnew) -> int:
    """Write the cubic Hermite interpolant of (y, fn) at t and (ynew, fnew) at t + h into out[k:] for the
    t_out in (t, t + h]; return the next index."""
    while k < len(t_out) and t_out[k] <= t + h:
        th = (t_out[k] - t) / h
        out[k] = ((1 + 2 * th) * (1 - th) ** 2 * y + th * th * (3 - 2 * th) * ynew
                  + h * th * (1 - th) ** 2 * fn - h * th * th * (1 - th) * fnew)
        k += 1
    return k


def _rks3(f, t0, t1, y0, t_out, rtol, atol, rho_every=3, magnitude=np.abs, slow=None, rho_iters=1):
    """Integrate y' = f(t, y) from t0 to t1 with the stabilised third-order method RKS3 (above) and return
    (y at ``t_out``, number of f evaluations).

    Why: the Jacobian of the flow, -H (minus the Hessian, plus O(eta H^2) with the correction), has its
    spectrum on the negative real axis, up to rho(H) ~ 100 / t here: a step is stable for h rho <= RKS3_BETA,
    4x Bogacki-Shampine's bound for 5/3 of its evaluations, and third order keeps it accurate at those steps.
    The step is the smaller of that bound, with rho from ``rho_iters`` warm-started power iterations every
    ``rho_every`` steps (1.2x safety, as in ``_rkc``; rho falls with the loss, by ~2x over 10 late steps, so an
    estimate is conservative while it ages and a fresh one lengthens the steps: one iteration every 3 steps
    takes 652 evaluations to 5e5 epochs at N = 1000, lambda = 0.48, where three every 10 took 743, with the same
    agreement with GD), and the error-controlled one (embedded second-order
    estimate in the RMS norm weighted by atol + rtol magnitude(y); a PI controller); the solution advances with
    the third-order result and is the cubic Hermite interpolant of (y, f) between steps.

    ``slow``: an optional further term of the right-hand side, y' = f(t, y) + slow(t, y, f(t, y)), called right
    after f at the same point (so an operator may reuse that evaluation), small and far less stiff than f (the
    O(eta) correction (eta/2) H g: its Jacobian is ~ (eta rho / 2) rho, eta rho <= 0.12 after the warm-up). It
    is evaluated where a step ends only and held at its value there over the next step's stages, so a step
    costs one evaluation of it instead of five (first order in slow: its change over a step enters the local
    error, which the estimate, made with slow at the new point, sees and controls); rho is estimated on f."""
    t_out = np.asarray(t_out, dtype=float)
    y, t = y0.copy(), float(t0)
    stages = len(RKS3_B)
    F = np.empty((stages + 1, y.size))
    out, k, F[0], rho, v, h, nfev = _stabilised_start(f, t, t1, y, t_out, rtol, atol, magnitude, RKS3_BETA)
    s_held = 0.0
    if slow is not None:  # f again at y0 (the start's power iterations moved on), then slow right after it
        F[0] = f(t, y)
        s_held = slow(t, y, F[0])
        F[0] += s_held
        nfev += 2
    steps, errold, hold, mag_y = 0, None, None, magnitude(y)
    while t < t1:
        h = min(h, t1 - t, RKS3_BETA / max(rho, 1e-30))
        for j in range(1, stages):
            F[j] = f(t + h * RKS3_C[j], y + (h * RKS3_A[j, :j]) @ F[:j])
            F[j] += s_held
        ynew = y + (h * RKS3_B) @ F[:stages]
        nfev += stages
        if not np.all(np.isfinite(ynew)):
            err = np.inf
        else:
            F[stages] = f(t + h, ynew)
            if slow is not None:
                s_new = slow(t + h, ynew, F[stages])
                F[stages] += s_new
                nfev += 1
            mag_new = magnitude(ynew)
            scale = atol + rtol * np.maximum(mag_y, mag_new)
            err = _rms((h * RKS3_E) @ F, scale)
        if err > 1.0:  # reject
            h *= max(0.2, 0.9 * err ** (-1.0 / 3.0)) if np.isfinite(err) else 0.1
            if h < 1e-14 * max(1.0, abs(t)):
                raise FloatingPointError(f"step size underflow at t = {t:.6g}")
            continue
        k = _hermite(t_out, k, out, t, h, y, ynew, F[0], F[stages])
        err = max(err, 1e-10)
        fac = _step_factor(err, errold, h, hold, 0.9)
        errold, hold = err, h
        t, y, F[0], mag_y = t + h, ynew, F[stages], mag_new
        if slow is not None:
            s_held = s_new
        h *= min(5.0, max(0.2, fac))
        steps += 1
        if steps % rho_every == 0:
            r, v = _spectral_radius(f, t, y, F[0] - s_held, v, rho_iters)
            rho, nfev = 1.2 * r, nfev + rho_iters
    return out, nfev


def gradient_flow(X, S0, b0, lr: float, epochs: np.ndarray, correction_epochs: float = 1e4, rtol: float = 3e-6,
                  atol: float = 3e-9, first_realisation: int = 0, c=None, loss: str = "logistic",
                  epoch_offset: float = 0.0, horizon: float | None = None, threads: int = 1,
                  method: str = "auto", norm: str = "state") -> Trajectory:
    """Integrate the gradient flow in t = lr * epoch with RKS3 (``_rks3``), with the modified-equation correction
    (see the module docstring) up to epoch ``correction_epochs`` and without it afterwards.

    With u_i = (x_i, c_i), w = (S, b) and a pointwise loss l (``FLOW_LOSSES``): g = (1/N) U^T l'(U w) and
    H v = (1/N) U^T (l''(U w) * (U v)). Why the correction can stop: it is (eta/2) H g against g, and
    lambda_max(H) falls like the training loss, i.e. like 1/t, once every point is classified; what it still
    adds to w after epoch E is of order 1/E relative to its early effect (tests/test_train.py checks the switch
    against GD and against a flow corrected throughout). Dropping it halves the cost of each RHS.
    Realisations are integrated in groups (``flow_groups``); each group's error norm covers all its members,
    so every realisation is integrated to the requested tolerance. X may be float32 (then it is not copied
    and products accumulate in float64); a realisation of at least STREAM_MIN_BYTES is streamed in row blocks
    over ``threads`` threads. ``epoch_offset`` and ``horizon`` only label the progress log (epochs of the whole
    run, e.g. after a GD warm-up). ``method``: "rkc", "rks3" (``STABILISED``, the correction evaluated in every
    stage); "auto" (default): RKS3 on both stretches (``EARLY_TOL`` on the corrected one, rtol/atol after it),
    with the correction as RKS3's held ``slow`` term (one Hessian-vector product per step, not five: the
    corrected stretch costs ~1.2 instead of 2 passes over X per right-hand side). RKS3's steps are set by
    stability, not accuracy, where it takes ~0.6x the right-hand sides of Bogacki-Shampine RK23 or RKC and is
    ~10x more accurate than RKC. The stiffness, rho(H) ~ 120 / t late, does not depend on N at fixed lambda, so
    this holds for streamed data too. Measured at N = 1000, lambda = 0.48, to 5e5 epochs, passes over X (GD
    warm-up included) and largest relative disagreement with GD in b, |S|, L_gen: RKC 1580 and 5e-5; RKS3 with the
    correction in every stage 1085 and 8e-6; "auto" ~760 and 7e-5 (the tests require 1e-3). Or a
    ``scipy.integrate.solve_ivp`` method (e.g. "DOP853", the solver before RKC, kept for comparison).
    ``norm``: "state" (``_flow_group``) or "abs" (componentwise).
    Shapes: X (R, N, d), S0 (R, d), b0 a number or (R,), epochs (K,) -> Trajectory with S (R, K, d), b (R, K).
    """
    validate.training_inputs(X, S0, b0, lr, epochs, whole_epochs=False)
    if loss not in FLOW_LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {sorted(FLOW_LOSSES)}")
    X = np.asarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(float)
    R, N, d = X.shape
    S0 = np.array(S0, dtype=float).reshape(R, d)
    b0 = np.array(np.broadcast_to(b0, (R,)), dtype=float)
    c = _bias_feature(c, R, N)
    epochs = np.asarray(epochs, dtype=float)
    horizon = epoch_offset + epochs[-1] if horizon is None else horizon
    Y = np.empty((R, len(epochs), d + 1))
    streamed = _streamed(X)
    groups = [(r, r + 1) for r in range(R)] if streamed else flow_groups(R, N, d)
    for lo, hi in groups:
        if streamed:
            op = _Streamed(X[lo], c[lo], loss, threads)
        else:
            op = _Batched(np.asarray(X[lo:hi], dtype=float), c[lo:hi], loss)
        y0 = np.concatenate([S0[lo:hi], b0[lo:hi, None]], axis=1)
        try:
            Y[lo:hi] = _flow_group(op, y0, lr, epochs, correction_epochs, rtol, atol, first_realisation + lo,
                                   epoch_offset, horizon, method, norm)
        finally:
            if streamed:
                op.close()
                log.info("realisation %d: %d passes over the data in the flow", first_realisation + lo, op.passes)
    _check_finite(Y[:, -1, :d], Y[:, -1, d], epoch_offset + epochs[-1], first_realisation)
    return Trajectory(epochs, Y[..., :d].copy(), Y[..., d].copy())


def _flow_group(op, y0, lr, epochs, correction_epochs, rtol, atol, first, epoch_offset, horizon,
                method="auto", norm="state") -> np.ndarray:
    """One group as one ODE system: (R, d + 1) initial state -> (R, K, d + 1) states at ``epochs``."""
    R, d1 = y0.shape
    last = first + R - 1
    names = f"realisation {first}" if R == 1 else f"realisations {first}-{last}"
    next_report = [epochs[0] + 10.0]

    def rhs(t, y, half_eta):
        epoch = t / lr
        if epoch >= next_report[0]:
            log.info("%s: flow at epoch %.3g of %.3g", names, epoch_offset + epoch, horizon)
            next_report[0] = max(next_report[0] * 10.0, epoch)
        return -op.grad(y.reshape(R, d1), half_eta).ravel()

    def magnitude(y):
        """Error weights per realisation: |S| / sqrt(d) for every component of S (the error of S relative to
        its norm, not to each component), and min(|b|, 1) for b: where |b| > 1 b's error is absolute, because
        the population loss ~ e^(b + a^2/2) sees b's absolute error as its relative one."""
        w = y.reshape(R, d1)
        out = np.empty_like(w)
        s2 = np.sum(w[:, :-1] ** 2, axis=1)
        out[:, :-1] = np.sqrt(s2 / (d1 - 1))[:, None]
        out[:, -1] = np.minimum(np.abs(w[:, -1]), 1.0)
        return out.ravel()

    # the corrected stretch [0, switch] and the plain one [switch, end], each checkpoint in exactly one
    switch = float(np.clip(correction_epochs, epochs[0], epochs[-1]))
    out = np.empty((R, len(epochs), d1))
    y, k = y0.ravel(), 0
    for a, b, half_eta in ((epochs[0], switch, 0.5 * lr), (switch, epochs[-1], 0.0)):
        if b <= a:
            continue
        seg = epochs[((epochs >= a) if k == 0 else (epochs > a)) & (epochs <= b)]
        t_eval = lr * np.unique(np.append(seg, b))
        seg_method, seg_rtol, seg_atol, split = method, rtol, atol, {}
        if method == "auto":  # see gradient_flow
            seg_method, seg_rtol, seg_atol = ("rks3", *EARLY_TOL) if half_eta else ("rks3", rtol, atol)
            if half_eta:  # the correction -half_eta H g = half_eta H f, held over each step's stages
                split = {"slow": lambda t, y, fy, h=half_eta: h * op.hess(fy.reshape(R, d1)).ravel()}
        try:
            if seg_method in STABILISED:
                mag = magnitude if norm == "state" else np.abs
                f = (lambda t, y: rhs(t, y, 0.0)) if split else (lambda t, y, h=half_eta: rhs(t, y, h))
                ys, nfev = STABILISED[seg_method](f, lr * a, lr * b, y, t_eval, seg_rtol, seg_atol, magnitude=mag,
                                                  **split)
            else:
                sol = solve_ivp(rhs, (lr * a, lr * b), y, method=seg_method, t_eval=t_eval, rtol=seg_rtol,
                                atol=seg_atol, args=(half_eta,))
                if sol.status != 0:
                    raise FloatingPointError(sol.message)
                ys, nfev = sol.y.T, sol.nfev
        except FloatingPointError as exc:
            raise TrainingDiverged(f"{names}: gradient flow failed in epochs {epoch_offset + a:.3g}-"
                                   f"{epoch_offset + b:.3g}: {exc}") from exc
        log.debug("%s: %d right-hand sides for epochs %.3g-%.3g", names, nfev, epoch_offset + a, epoch_offset + b)
        out[:, k:k + len(seg)] = ys[:len(seg)].reshape(len(seg), R, d1).transpose(1, 0, 2)
        y, k = ys[-1], k + len(seg)
    log.info("%s: flow reached epoch %.3g of %.3g", names, epoch_offset + epochs[-1], horizon)
    return out


# The methods of this module, by ``method`` name; any other name goes to ``scipy.integrate.solve_ivp``.
STABILISED = {"rkc": _rkc, "rks3": _rks3}


def _streamed(X) -> bool:
    """Whether the flow streams this block's data (float32 storage, or a realisation of STREAM_MIN_BYTES)."""
    X = np.asarray(X)
    return X.dtype == np.float32 or 8 * X.shape[-2] * X.shape[-1] >= STREAM_MIN_BYTES


def _streamed_descent(X, S0, b0, lr, epochs, adam, betas, adam_eps, rise_factor, c, threads, first_realisation,
                      loss="logistic") -> Trajectory:
    """``gradient_descent`` on the streamed operator of each realisation (``_Streamed``), without its (N, d + 1)
    copy of the data: the same update (GD or Adam) up to the order of floating-point sums, one pass over X per
    step, bitwise independent of ``threads``. Realisations run one after the other; a divergence is recorded
    and reported as ``_Failures`` does for the threaded kernel's chunks (each realisation one chunk)."""
    R, N, d = X.shape
    c = _bias_feature(c, R, N)
    w = np.empty((R, d + 1))
    w[:, :d] = np.asarray(S0, dtype=float).reshape(R, d)
    w[:, d] = np.broadcast_to(np.asarray(b0, dtype=float), (R,))
    K = len(epochs)
    out = np.empty((R, K, d + 1))
    failures = _Failures(K)
    total = int(epochs[-1]) if K else 0
    for r in range(R):
        op = _Streamed(X[r], c[r], loss, threads)
        try:
            _streamed_steps(op, w[r:r + 1], lr, epochs, adam, betas, adam_eps, rise_factor, r, first_realisation,
                            out[r], failures, loss, total)
        finally:
            op.close()
    failures.raise_first()
    return Trajectory(np.asarray(epochs, dtype=float), out[..., :d].copy(), out[..., d].copy())


def _streamed_steps(op, w, lr, epochs, adam, betas, adam_eps, rise_factor, r, first_realisation, w_out, failures,
                    loss, total) -> None:
    """One realisation of ``_streamed_descent``: w (1, d + 1) updated in place, w_out (K, d + 1)."""
    d, name = op.d, first_realisation + r
    loss0 = None if adam else model.mean_loss(op.margins(w), loss)
    if adam:
        m, v = np.zeros_like(w), np.zeros_like(w)
        b1, b2 = betas
    step = 0
    for k, target in enumerate(epochs):
        target = int(target)
        if failures.k < k:
            return
        while step < target:
            g = op.grad(w)
            step += 1
            if adam:  # as in _gd_chunk_loop
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g**2
                c1, c2 = 1 - b1**step, 1 - b2**step
                w -= lr * (m / c1) / (np.sqrt(v / c2) + adam_eps)
            else:
                w -= lr * g
        try:
            _check_finite(w[:, :d], w[:, d], target, name)
        except TrainingDiverged as exc:
            failures.record((k, 0, r), exc)
            return
        if not adam and target > 0 and model.mean_loss(op.margins(w), loss)[()] > rise_factor * loss0:
            failures.record((k, 1, r), TrainingDiverged(
                f"realisation {name}: training loss rose above {rise_factor:g}x its initial value by epoch "
                f"{target}: GD diverges, the learning rate {lr:g} is above the stability bound 2/L"))
            return
        w_out[k] = w[0]
        if k and (k % max(1, len(epochs) // 10) == 0 or k == len(epochs) - 1):
            log.info("realisation %d: epoch %d of %d", name, target, total)


SOLVERS = ("gd", "adam", "flow")


def train(X, S0, b0, lr: float, epochs: np.ndarray, solver: str = "flow", gd_warmup: int = 100,
          correction_epochs: float = 1e4, betas=(0.9, 0.999), first_realisation: int = 0, c=None,
          threads: int = 1, adam_eps: float = 1e-8, loss: str = "logistic", flow_options: dict | None = None
          ) -> Trajectory:
    """Run one solver over the checkpoint epochs.

    ``flow`` takes the first ``gd_warmup`` epochs as exact GD steps (there a step of size eta is not small
    against the fastest time scale 1/lambda_max(H), and the GD iterates are cheap), then integrates the
    modified gradient flow from the GD state up to epoch ``correction_epochs`` and the plain flow after it:
    the result tracks GD to better than 1e-3 at every checkpoint.
    ``threads`` splits the realisations of the GD steps (``gd``, ``adam`` and the ``flow`` warm-up) over that many
    threads; results are bitwise independent of it. ``flow_options``: further keywords of ``gradient_flow``
    (rtol, atol, method, norm).

    Shapes: X (R, N, d) (one realisation: X[None]), S0 (R, d), b0 a number or (R,), epochs (K,) whole numbers
    increasing from 0 (``checkpoint_epochs``), lr > 0 -> Trajectory with S (R, K, d), b (R, K).
    """
    validate.training_inputs(X, S0, b0, lr, epochs)
    epochs = np.asarray(epochs, dtype=float)
    if solver in ("gd", "adam"):
        return gradient_descent(X, S0, b0, lr, epochs, optimizer=solver, betas=betas, adam_eps=adam_eps,
                                first_realisation=first_realisation, c=c, threads=threads, loss=loss)
    if solver != "flow":
        raise ValueError(f"unknown solver {solver!r}; expected one of {SOLVERS}")
    warm = min(int(gd_warmup), int(epochs[-1]))
    early = epochs[epochs <= warm]
    head_epochs = np.unique(np.append(early, warm))
    head = gradient_descent(X, S0, b0, lr, head_epochs, first_realisation=first_realisation, c=c, threads=threads,
                            loss=loss)
    log.info("realisations %d-%d: GD warm-up reached epoch %d of %.3g; the flow takes over", first_realisation,
             first_realisation + len(head.b) - 1, warm, epochs[-1])
    late = epochs[epochs > warm]
    if len(late) == 0:
        keep = np.isin(head.epochs, epochs)
        return Trajectory(epochs, head.S[:, keep], head.b[:, keep])
    tail = gradient_flow(X, head.S[:, -1], head.b[:, -1], lr, np.concatenate([[0.0], late - warm]),
                         correction_epochs=correction_epochs - warm, first_realisation=first_realisation, c=c,
                         epoch_offset=warm, horizon=epochs[-1], threads=threads, loss=loss, **(flow_options or {}))
    keep = np.isin(head.epochs, early)
    return Trajectory(epochs, np.concatenate([head.S[:, keep], tail.S[:, 1:]], axis=1),
                      np.concatenate([head.b[:, keep], tail.b[:, 1:]], axis=1))
