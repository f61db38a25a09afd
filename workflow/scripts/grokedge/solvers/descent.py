"""Full-batch gradient descent (the paper's method) and Adam: the solvers ``gd`` and ``adam``.

GD step:   S <- S - eta (1/N) X^T p,  b <- b - eta mean(p c),  p = ell'(X S + b c), ell the loss
           (``grokedge.losses``: expit for the logistic loss, exp for the exponential one).
Adam:      torch.optim.Adam's update on the same gradient g: m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
           w <- w - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), eps outside the square root.

Both share one loop over the checkpoints (``_Chunk``) and differ only in the update (``_GDUpdate``,
``_AdamUpdate``); GD alone stops on a rising training loss (Adam's loss need not fall monotonically).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .. import losses, model, validate
from ..losses import Loss
from .base import Problem, Schedule, Solver, TrainingDiverged, TrainJob, Trajectory, check_finite, names
from .operators import Streamed, stack_bias, streamed

log = logging.getLogger("grokedge.train")

# GD kernel. Each realisation's data is stacked as U = [X, c] (N, d + 1) and its state as w = (S, b), so a step is
# two gemv (z = U w, then p U with p = ell'(z)) and an axpy: the bias rides along in both passes over the data.
# Matrices of at least _RESIDENT_MIN_ELEMENTS elements: one realisation at a time runs all its steps up to the
# next checkpoint, so its U stays in the core's cache across steps instead of being streamed from memory twice a
# step (realisations do not interact). Smaller ones, and Adam, go step by step with one batched call per operation
# over the chunk (Python overhead dominates there). Both call the same gemv per realisation and all other
# operations are elementwise or per row, so neither this choice nor the chunking over threads changes a bit.
# (np.dot and the batched np.matmul reach the same OpenBLAS gemv for a realisation: the tests check the bits.)
_RESIDENT_MIN_ELEMENTS = 16384
RISE_FACTOR = 10.0  # GD stops once the training loss passes this multiple of its start


@dataclass(frozen=True)
class GDOptions:
    """Plain GD. A GD step never raises a smooth convex loss when lr is below the stability bound 2/L; a training
    loss above ``rise_factor`` times its initial value therefore means lr is too large, and the run stops with
    ``TrainingDiverged`` naming realisation and epoch (np.inf: never)."""

    rise_factor: float = RISE_FACTOR

    def update(self, lr: float, w: np.ndarray) -> _GDUpdate:
        return _GDUpdate(lr)


@dataclass(frozen=True)
class AdamOptions:
    """Adam's decay rates ``betas`` = (b1, b2) and ``eps`` (see the module docstring)."""

    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8
    rise_factor = None  # no rising-loss stop

    def update(self, lr: float, w: np.ndarray) -> _AdamUpdate:
        return _AdamUpdate(lr, w, self)


class _GDUpdate:
    """w <- w - lr g. ``resident``: the kernel may run a realisation's steps on its own (no state across rows)."""

    resident = True

    def __init__(self, lr):
        self.lr = lr

    def summed(self, w, g, N, step) -> None:
        """From g = sum_i p_i u_i (g is overwritten): w <- w - (lr / N) g."""
        np.multiply(g, self.lr / N, out=g)
        np.subtract(w, g, out=w)

    def mean(self, w, g, step) -> None:
        """From the mean gradient g."""
        w -= self.lr * g


class _AdamUpdate:
    """Adam's moments m, v of the chunk's states w, and its update (torch.optim.Adam)."""

    resident = False

    def __init__(self, lr, w, options: AdamOptions):
        self.lr, (self.b1, self.b2), self.eps = lr, options.betas, options.eps
        self.m, self.v = np.zeros_like(w), np.zeros_like(w)

    def summed(self, w, g, N, step) -> None:
        g /= N
        self.mean(w, g, step)

    def mean(self, w, g, step) -> None:
        b1, b2 = self.b1, self.b2
        self.m = b1 * self.m + (1 - b1) * g
        self.v = b2 * self.v + (1 - b2) * g**2
        c1, c2 = 1 - b1**step, 1 - b2**step
        w -= self.lr * (self.m / c1) / (np.sqrt(self.v / c2) + self.eps)


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


@dataclass
class _Run:
    """What the chunks of one ``gradient_descent`` call share."""

    schedule: Schedule
    options: GDOptions | AdamOptions
    loss: Loss
    first_realisation: int
    failures: _Failures


class _Chunk:
    """Realisations lo .. lo + R - 1 of one call, stepped over all checkpoints: the state w (R, d + 1) is updated
    in place and written into ``out`` (R, K, d + 1) at each checkpoint. Subclasses step (``advance``) and measure
    the training loss (``losses``) on their data."""

    def __init__(self, run: _Run, w, out, lo: int):
        self.run, self.w, self.out, self.lo = run, w, out, lo
        self.first = run.first_realisation + lo
        self.update = run.options.update(run.schedule.lr, w)
        self.step = 0

    def descend(self) -> None:
        """All checkpoints; a divergence is recorded in ``run.failures`` and ends the chunk."""
        failures, epochs = self.run.failures, self.run.schedule.epochs
        rise = self.run.options.rise_factor
        loss0 = self.losses() if rise is not None else None
        total = int(epochs[-1]) if len(epochs) else 0
        for k, target in enumerate(epochs):
            target = int(target)
            if not self.advance(k, target) or failures.k < k:
                return
            if not self._healthy(k, target, loss0):
                return
            self.out[:, k] = self.w
            if k and (k % max(1, len(epochs) // 10) == 0 or k == len(epochs) - 1):
                log.info("%s: epoch %d of %d", names(self.first, len(self.w)), target, total)

    def _healthy(self, k: int, target: int, loss0) -> bool:
        """Check the state at checkpoint k; record the failure and return False if it diverged."""
        d, rise, lr = self.w.shape[1] - 1, self.run.options.rise_factor, self.run.schedule.lr
        try:
            check_finite(self.w[:, :d], self.w[:, d], target, self.first)
        except TrainingDiverged as exc:
            self.run.failures.record((k, 0, self.lo), exc)
            return False
        if rise is not None and target > 0:
            rising = self.losses() > rise * loss0
            if rising.any():
                r = int(np.flatnonzero(rising)[0]) + self.first
                self.run.failures.record((k, 1, self.lo), TrainingDiverged(
                    f"realisation {r}: training loss rose above {rise:g}x its initial value by epoch "
                    f"{target}: GD diverges, the learning rate {lr:g} is above the stability bound 2/L"))
                return False
        return True


class _BatchedChunk(_Chunk):
    """A chunk of realisations whose U = [X, c] (R, N, d + 1) is a working copy: batched matmuls step by step, or,
    for GD on large enough U, each realisation resident in cache up to the next checkpoint."""

    def __init__(self, run: _Run, U, w, out, lo: int):
        super().__init__(run, w, out, lo)
        self.U = U
        Rc, N, d1 = U.shape
        self.deriv = run.loss.derivative  # ell'(z), writes into out=
        self.p = np.empty((Rc, N))  # z = U w, then p = ell'(z), in place
        self.g = np.empty((Rc, d1))  # p U, then the step
        self.resident = self.update.resident and N * d1 >= _RESIDENT_MIN_ELEMENTS

    def losses(self) -> np.ndarray:
        return self.run.loss.mean(model.margins(self.U, self.w, 0.0))  # the bias rides in the product

    def advance(self, k: int, target: int) -> bool:
        """Step to epoch ``target``; False if another chunk's failure (or an abort) ends this one first."""
        failures, U, w, p, g, N = self.run.failures, self.U, self.w, self.p, self.g, self.U.shape[1]
        if self.resident and target > self.step:
            if not self._resident(k, target - self.step):
                return False
            self.step = target
        while self.step < target:
            if failures.k < k:
                return False
            np.matmul(U, w[..., None], out=p[..., None])
            self.deriv(p, out=p)
            np.matmul(p[:, None, :], U, out=g[:, None, :])
            self.step += 1
            self.update.summed(w, g, N, self.step)
        return True

    def _resident(self, k: int, n: int) -> bool:
        """n GD steps of each realisation in turn, its U in cache (inlined: this is the hot loop)."""
        dot, multiply, subtract, deriv = np.dot, np.multiply, np.subtract, self.deriv
        scale = self.run.schedule.lr / self.U.shape[1]
        for Ui, wi, pi, gi in zip(self.U, self.w, self.p, self.g, strict=True):
            if self.run.failures.k < k:
                return False
            for _ in range(n):  # np.dot, not matmul: matmul keeps the GIL for outputs of <= 500 elements
                dot(Ui, wi, out=pi)
                deriv(pi, out=pi)
                dot(pi, Ui, out=gi)
                multiply(gi, scale, out=gi)
                subtract(wi, gi, out=wi)
        return True


class _StreamedChunk(_Chunk):
    """One realisation on its streamed operator (``Streamed``: no copy of X, one pass over it per step)."""

    def __init__(self, run: _Run, op: Streamed, w, out, lo: int):
        super().__init__(run, w, out, lo)
        self.op = op

    def losses(self) -> np.ndarray:
        return np.atleast_1d(self.run.loss.mean(self.op.margins(self.w)))

    def advance(self, k: int, target: int) -> bool:
        if self.run.failures.k < k:
            return False
        while self.step < target:
            g = self.op.grad(self.w)
            self.step += 1
            self.update.mean(self.w, g, self.step)
        return True


def gradient_descent(problem: Problem, schedule: Schedule, options: GDOptions | AdamOptions | None = None
                     ) -> Trajectory:
    """Full-batch GD, or Adam (``options``: ``GDOptions``, the default, or ``AdamOptions``), on the mean loss of
    every realisation at once; ``schedule.epochs``: increasing integer checkpoints starting at 0.

    ``problem.threads``: the realisations (which do not interact) are split into that many contiguous chunks, each
    run through all its steps in its own thread (the gemv calls release the GIL). Results are bitwise the same for
    every value. BLAS itself should be single-threaded (callers pin it with threadpoolctl).

    Data of at least STREAM_MIN_BYTES per realisation, or stored in float32, are not copied: each realisation
    is stepped on its streamed operator (``Streamed``: one pass over X per step, the rows split over the threads),
    with the same update, checks and error messages, one realisation after the other.

    Shapes: X (R, N, d), S0 (R, d), b0 a number or (R,), epochs (K,) -> Trajectory with S (R, K, d), b (R, K).
    """
    p, epochs = problem, schedule.epochs
    validate.training_inputs(p.X, p.S0, p.b0, schedule.lr, epochs)
    X = p.data()
    chunks = _split(X.shape[0], p.threads)
    R, N, d = X.shape
    c, w = p.bias_feature(), p.state()
    out = np.empty((R, len(epochs), d + 1))
    run = _Run(schedule, options or GDOptions(), losses.get(p.loss), p.first_realisation, _Failures(len(epochs)))
    if streamed(X):
        _descend_streamed(run, X, c, w, out, p.threads)
    else:
        _descend_batched(run, stack_bias(X, c), w, out, chunks)
    run.failures.raise_first()
    return Trajectory(np.asarray(epochs, dtype=float), np.ascontiguousarray(out[..., :d]),
                      np.ascontiguousarray(out[..., d]))


def _descend_batched(run: _Run, U, w, out, chunks) -> None:
    """Each chunk [lo, hi) of realisations in its own thread (one: in this one)."""

    def one(lo, hi):
        try:
            _BatchedChunk(run, U[lo:hi], w[lo:hi], out[lo:hi], lo).descend()
        except BaseException:
            run.failures.abort()  # the other chunks stop at their next step
            raise

    if len(chunks) == 1:
        one(*chunks[0])
        return
    with ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="grokedge-gd") as pool:
        futures = [pool.submit(one, lo, hi) for lo, hi in chunks]
        try:
            for f in futures:
                f.result()
        except BaseException:  # e.g. KeyboardInterrupt while waiting: stop the workers at their next step
            run.failures.abort()
            raise


def _descend_streamed(run: _Run, X, c, w, out, threads: int) -> None:
    """Each realisation in turn on its streamed operator, its rows split over ``threads`` (bitwise independent
    of it); a divergence is recorded as for the batched chunks (each realisation one chunk)."""
    for r in range(X.shape[0]):
        op = Streamed(X[r], c[r], run.loss.name, threads)
        try:
            _StreamedChunk(run, op, w[r:r + 1], out[r:r + 1], r).descend()
        finally:
            op.close()


class _Descent(Solver):
    """GD or Adam on every step (costs: one gradient per epoch)."""

    threads = 2  # the realisations split over 2 threads (bitwise identical for any count)

    def run(self, problem: Problem, schedule: Schedule, options) -> Trajectory:
        return gradient_descent(problem, schedule, options)

    def copy_elements(self, job: TrainJob) -> float:
        """The working copy U = [X, c] (R, N, d + 1), unless the data are streamed."""
        return 0.0 if job.streamed else job.realisations * job.N * (job.d + 1)

    def train_seconds(self, job: TrainJob, grad_s: float) -> float:
        return job.horizon * grad_s


class GD(_Descent):
    gd_first_step = True
    name, Options = "gd", GDOptions


class Adam(_Descent):
    name, Options = "adam", AdamOptions
    cell_options = {"adam_betas": "betas", "adam_eps": "eps"}
