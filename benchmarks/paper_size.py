"""One realisation of Fig. 1 left at the paper's size (N = 4*10^4, lambda = 0.48 -> d = 19200) to 10^6 epochs.

``python -m benchmarks.paper_size [--N 40000] [--lam 0.48] [--horizon 1e6] [--out curves.parquet]``

X is drawn row block by row block from the realisation's data stream (the same numbers as
``grokedge.data.realisation``, which draws them in one call) and stored in float32 (3.1 GB instead of 6.1 GB; the
flow accumulates in float64). 100 exact GD steps, then the flow solver (``grokedge.train.gradient_flow``) on the
streamed data with two threads, the O(eta) correction up to epoch ``--correction``. The curves (train loss and
accuracy over the training points, closed-form A_gen and L_gen, sigma|S|, b) are written to ``--out``.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from grokedge import model
from grokedge.data import isotropic_vector
from grokedge.seeds import streams
from grokedge.train import _Streamed, checkpoint_epochs, gradient_flow

SIGMA, LR = 5.0, 0.01


def draw_float32(N: int, d: int, sigma: float, seed: int, rows: int = 1000):
    """(X float32 (N, d), S0) of realisation ``seed``: X = sigma * (the data stream's normals, row-major)."""
    rng_data, rng_init, _ = streams(seed)
    X = np.empty((N, d), dtype=np.float32)
    for lo in range(0, N, rows):
        hi = min(lo + rows, N)
        X[lo:hi] = sigma * rng_data.standard_normal((hi - lo, d))
    return X, isotropic_vector(rng_init, d, 0.1)


def margins_at(X, S, b, rows: int = 2000):
    """S.x_i + b for every point and checkpoint: X (N, d) any float dtype, S (K, d), b (K,) -> (N, K) float64,
    one pass over X."""
    out = np.empty((X.shape[0], S.shape[0]))
    for lo in range(0, X.shape[0], rows):
        out[lo:lo + rows] = X[lo:lo + rows].astype(float) @ S.T
    return out + b


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.paper_size", description=__doc__)
    ap.add_argument("--N", type=int, default=40000)
    ap.add_argument("--lam", type=float, default=0.48)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--horizon", type=float, default=1e6)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--correction", type=float, default=1e3)
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--float64", action="store_true", help="store X in float64 instead of float32")
    ap.add_argument("--out", default="paper_size_curves.parquet")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    log = logging.getLogger("grokedge.paper_size")
    N, d = args.N, round(args.lam * args.N)
    t0 = time.perf_counter()
    X, S0 = draw_float32(N, d, SIGMA, args.seed)
    if args.float64:
        X = X.astype(float)  # (not the float64 draw itself: only for comparing storage precisions)
    log.info("drew X (%d x %d, %s, %.2f GB) in %.1f s", N, d, X.dtype, X.nbytes / 1e9, time.perf_counter() - t0)
    epochs = checkpoint_epochs(args.horizon, 10)
    c = np.ones(N)
    with threadpool_limits(limits=1):
        op = _Streamed(X, c, "logistic", args.threads)
        w = np.concatenate([S0, [0.0]])[None]
        early = epochs[epochs <= args.warmup]
        states = {}
        t1 = time.perf_counter()
        for step in range(args.warmup + 1):
            if step in early:
                states[step] = w[0].copy()
            if step < args.warmup:
                w = w - LR * op.grad(w)
        op.close()
        log.info("GD warm-up: %d steps in %.1f s", args.warmup, time.perf_counter() - t1)
        late = epochs[epochs > args.warmup]
        t2 = time.perf_counter()
        tr = gradient_flow(X[None], w[:, :d], w[:, d], LR, np.concatenate([[0.0], late - args.warmup]),
                           correction_epochs=args.correction - args.warmup, rtol=args.rtol, atol=args.rtol * 1e-3,
                           epoch_offset=args.warmup, horizon=args.horizon, threads=args.threads)
        log.info("flow: epochs %d-%g in %.1f s", args.warmup, args.horizon, time.perf_counter() - t2)
        S = np.concatenate([np.stack([states[e][:d] for e in early]), tr.S[0, 1:]])
        b = np.concatenate([np.array([states[e][d] for e in early]), tr.b[0, 1:]])
        z = margins_at(X, S, b)
    a = SIGMA * np.linalg.norm(S, axis=1)
    curves = pd.DataFrame({"epoch": epochs, "N": N, "d": d, "lam": args.lam, "seed": args.seed,
                           "train_loss": model.softplus(z).mean(axis=0), "train_acc": (z <= 0).mean(axis=0),
                           "gen_acc": model.gen_accuracy(b, a), "gen_loss": model.gen_loss(b, a),
                           "sigma_s": a, "b": b})
    curves.to_parquet(args.out)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    log.info("total %.1f s, peak RSS %.2f GB; wrote %s", wall, rss, args.out)
    with pd.option_context("display.width", 160, "display.max_rows", 100):
        print(curves.iloc[::5].to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
