"""The operators a solver steps with: the gradient and the Hessian-vector product of the mean loss over one group
of realisations, either batched over a group whose data fit in cache (``Batched``) or streamed in row blocks over
one large realisation (``Streamed``). With u_i = (x_i, c_i) and w = (S, b): g = (1/N) U^T l'(U w) and
H v = (1/N) U^T (l''(U w) * (U v)), l the pointwise loss of a point labelled -1 (``grokedge.losses``): the
operators use only its derivative l' (the gradient's weights) and its second derivative l'' given z and p = l'(z)
(the Hessian's, for the modified-equation correction).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import losses

# Data of at least this many bytes per realisation (more than a cache-sized group) are streamed in row blocks by
# ``Streamed`` (no bias column appended, one memory pass per gradient, split over threads); smaller data use
# batched matmuls over a group. Measured at N = 4000, d = 1920 to 10^6 epochs: streamed 1.4x faster than
# batched on one thread, and 1.8x faster again on two.
STREAM_MIN_BYTES = 6 * 2**20
# float64 bytes of one row block: it stays in cache between its two gemv. 4 MiB (last-level cache, ~27 rows at
# d = 19200) rather than 1 MiB (a core's L2): the Python cost per block is then ~5% of the block's memory time.
_STREAM_BLOCK_BYTES = 4 * 2**20
# The row blocks are summed in this many contiguous chunks whatever the thread count, each chunk's partial sum
# kept apart and the partial sums added in order: results are bitwise independent of ``threads``.
_STREAM_CHUNKS = 8


def streams(N: int, d: int, float32: bool = False) -> bool:
    """Whether a realisation of N x d data is streamed (``Streamed``): stored in float32, or of at least
    STREAM_MIN_BYTES in float64."""
    return float32 or 8 * N * d >= STREAM_MIN_BYTES


def streamed(X) -> bool:
    """``streams`` for the data X (R, N, d) (or (N, d))."""
    X = np.asarray(X)
    return streams(X.shape[-2], X.shape[-1], X.dtype == np.float32)



def stack_bias(X, c) -> np.ndarray:
    """The working copy U = [X, c] of (R, N, d) points and their (R, N) bias features: (R, N, d + 1)."""
    R, N, d = X.shape
    U = np.empty((R, N, d + 1))
    U[..., :d] = X
    U[..., d] = c
    return U

class Batched:
    """U = [X, c] of a group of realisations that fits in cache: X (R, N, d), c (R, N), w (R, d + 1). U is stored
    once as (R, N, d + 1), so that U w and p U are one batched matmul each with the bias riding along (as in the
    GD kernel, grokedge.solvers.descent), written into preallocated buffers."""

    def __init__(self, X, c, loss: str):
        ell = losses.get(loss)
        self.dl, self.d2l = ell.derivative, ell.second_derivative
        self.R, self.N, self.d = X.shape
        self.U = stack_bias(X, c)
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
        weights = self.d2l(z, p)  # l''(U w), before z is overwritten by U v
        np.matmul(U, v[..., None], out=z[..., None])  # U v
        z *= weights
        np.matmul(z[:, None, :], U, out=hv[:, None, :])
        hv *= 1.0 / self.N
        return hv


class Streamed:
    """The operations of ``Batched`` for one large realisation, X (N, d) in float64 or float32 and never copied.

    One fused pass over X computes, for a vector (v, v_b) and a pointwise map q(u, rows),
        u_i = x_i.v + v_b c_i,   q_i = q(u_i),   sum_i q_i x_i  (and q is kept for sum_i q_i c_i):
    the rows are taken in blocks of about _STREAM_BLOCK_BYTES, each used for both products while it is in cache
    (float32 rows are converted to float64 in a per-thread buffer first, so products accumulate in float64).
    The gradient is one such pass (q = l'(u)); the Hessian-vector product of the O(eta) correction another
    (q = l''(z) u). ``passes`` counts the passes made (one memory sweep over X each)."""

    def __init__(self, X, c, loss: str, threads=1):
        ell = losses.get(loss)
        self.X, self.c, self.dl, self.d2l = X, c, ell.derivative, ell.second_derivative
        self.N, self.d = X.shape
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
        """As ``Batched.grad`` for this one realisation: g (plus half_eta H g), shape (1, d + 1)."""
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

