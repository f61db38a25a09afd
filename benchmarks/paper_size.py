"""One realisation of Fig. 1 left at the paper's size (N = 4*10^4, lambda = 0.48 -> d = 19200) to 5*10^5 epochs,
and the GD and Adam steps at that size against their memory floor.

``python -m benchmarks.paper_size [--N 40000] [--lam 0.48] [--horizon 5e5] [--float64] [--out curves.parquet]``
``python -m benchmarks.paper_size --steps [--N 40000]``: GD and Adam steps on float64 X (as the pipeline holds it)
against the two-pass memory floor (``benchmarks.kernel.run_streamed``).

X is drawn row block by row block from the realisation's data stream (the same numbers as
``grokedge.data.realisation``, which draws them in one call) and stored in float32 (3.1 GB instead of 6.1 GB; all
products accumulate in float64; tests/test_train*.py bound the effect of the storage). Training is
``grokedge.train.train`` with the pipeline's defaults on two threads: 100 GD steps, then the flow solver on the
streamed data. Printed: wall and CPU time, passes over X, seconds per pass against the floor (one bare
single-precision matrix-vector product over X, rows split over the same threads, timed in the same run), peak RSS.
The curves (train loss and accuracy, closed-form A_gen and L_gen, sigma|S|, b) are written to ``--out``.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from grokedge import model
from grokedge.data import isotropic_vector
from grokedge.losses import LOSSES
from grokedge.seeds import streams
from grokedge.train import Problem, Schedule, checkpoint_epochs, train

from ._util import Report, load_average
from .kernel import memory_floor, run_streamed

SIGMA, LR = 5.0, 0.01


def draw(N: int, d: int, sigma: float, seed: int, dtype=np.float32, rows: int = 1000):
    """(X (N, d) of ``dtype``, S0) of realisation ``seed``: X = sigma * (the data stream's normals, row-major)."""
    rng_data, rng_init, _ = streams(seed)
    X = np.empty((N, d), dtype=dtype)
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


def flow_run(args, log) -> int:
    N, d = args.N, round(args.lam * args.N)
    t0, c0 = time.perf_counter(), time.process_time()
    X, S0 = draw(N, d, SIGMA, args.seed, np.float64 if args.float64 else np.float32)
    log.info("drew X (%d x %d, %s, %.2f GB) in %.1f s; %s", N, d, X.dtype, X.nbytes / 1e9,
             time.perf_counter() - t0, load_average())
    epochs = checkpoint_epochs(args.horizon, 20)
    passes = {}

    class Count(logging.Handler):
        def emit(self, record):
            if "passes over the data" in record.getMessage():
                passes["flow"] = int(record.getMessage().split(": ")[1].split()[0])

    logging.getLogger("grokedge.train").addHandler(Count())
    with threadpool_limits(limits=1):
        t1, c1 = time.perf_counter(), time.process_time()
        tr = train(Problem(X[None], S0[None], threads=args.threads), Schedule(LR, epochs), "flow")
        t_train, c_train = time.perf_counter() - t1, time.process_time() - c1
        floor, floor_cpu = memory_floor(X, args.threads, products=1, cpu=True)
        S, b = tr.S[0], tr.b[0]
        z = margins_at(X, S, b)
    n_pass = passes.get("flow", 0) + 100
    a = SIGMA * np.linalg.norm(S, axis=1)
    curves = pd.DataFrame({"epoch": epochs, "N": N, "d": d, "lam": args.lam, "seed": args.seed,
                           "train_loss": LOSSES["logistic"].mean(z, axis=0), "train_acc": (z <= 0).mean(axis=0),
                           "gen_acc": model.gen_accuracy(b, a), "gen_loss": LOSSES["logistic"].population(b, a),
                           "sigma_s": a, "b": b})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    curves.to_parquet(args.out)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"training to {args.horizon:.0e} epochs ({args.threads} threads): wall {t_train:.1f} s, CPU {c_train:.1f} s; "
          f"goal 300 s wall")
    print(f"passes over X: {n_pass} (100 GD steps + the flow's); {t_train / n_pass:.3f} s per pass; floor "
          f"(one bare {X.dtype} matrix-vector product over X, {args.threads} threads) {floor:.3f} s: "
          f"ratio {t_train / n_pass / floor:.2f}x; CPU seconds per pass {c_train / n_pass:.3f} against the floor's "
          f"{floor_cpu:.3f}: {c_train / n_pass / floor_cpu:.2f}x (comparable under other load)")
    print(f"whole run (draw, train, metrics) wall {time.perf_counter() - t0:.1f} s, CPU "
          f"{time.process_time() - c0:.1f} s; peak RSS {rss:.2f} GB (goal 12); {load_average()} at end")
    with pd.option_context("display.width", 160, "display.max_rows", 100):
        print(curves.iloc[::10].to_string(index=False))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.paper_size", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--N", type=int, default=40000)
    ap.add_argument("--lam", type=float, default=0.48)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--horizon", type=float, default=5e5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--float64", action="store_true", help="store X in float64 instead of float32")
    ap.add_argument("--steps", action="store_true", help="time GD and Adam steps against the floor instead")
    ap.add_argument("--out", default="results/benchmarks/paper_size_curves.parquet")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    log = logging.getLogger("grokedge.paper_size")
    if args.steps:
        with threadpool_limits(limits=1):
            run_streamed(Report(), N=args.N, lam=args.lam, threads=args.threads)
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB (goal 16); "
              f"{load_average()} at end")
        return 0
    return flow_run(args, log)


if __name__ == "__main__":
    raise SystemExit(main())
