"""Part 1: the GD kernel against its floor (the bare BLAS gemv it cannot avoid) and against plain-numpy loops; GD and
Adam on large (streamed) data against the two-pass memory floor."""

from __future__ import annotations

import time

import numpy as np
from scipy.special import expit

from grokedge.data import realisation
from grokedge.solvers.operators import Streamed
from grokedge.train import AdamOptions, GDOptions, Problem, Schedule, gradient_descent

from ._util import Report, fmt_time, per_step, split_run

N, LAM, SIGMA, LR, R = 400, 0.48, 5.0, 0.01, 64


def _data(R: int = R, N: int = N, lam: float = LAM):
    d = round(lam * N)
    reals = [realisation(N, d, SIGMA, 1000 + s) for s in range(R)]
    return np.stack([r.X for r in reals]), np.stack([r.S0 for r in reals])


def _floor(X, S0, threads: int, resident: bool):
    """The two bare gemv per realisation and step, X[r] @ S[r] and p[r] @ X[r] (np.dot into preallocated outputs).
    ``resident``: one realisation runs all its steps before the next (the order of the kernel, which keeps X[r]
    in cache); else every step sweeps all realisations (X streamed from memory twice a step)."""
    Rn, Nn, d = X.shape
    p = np.random.default_rng(0).random((Rn, Nn))
    z, g = np.empty((Rn, Nn)), np.empty((Rn, d))
    rows = [(X[r], S0[r], z[r], p[r], g[r]) for r in range(Rn)]
    dot = np.dot  # releases the GIL around BLAS (np.matmul keeps it for outputs of <= 500 elements)

    def chunk(lo, hi, steps):
        if resident:
            for Xr, Sr, zr, pr, gr in rows[lo:hi]:
                for _ in range(steps):
                    dot(Xr, Sr, out=zr)
                    dot(pr, Xr, out=gr)
        else:
            for _ in range(steps):
                for Xr, Sr, zr, pr, gr in rows[lo:hi]:
                    dot(Xr, Sr, out=zr)
                    dot(pr, Xr, out=gr)

    return lambda steps: split_run(lambda lo, hi: chunk(lo, hi, steps), Rn, threads)


def memory_floor(X, threads: int, products: int = 2, repeat: int = 3, cpu: bool = False):
    """Best seconds of ``products`` bare BLAS matrix-vector products over X (X v, then p X; 1: X v only), the rows
    split over ``threads``: ``products`` passes over X in memory, with no pointwise work and no Python per block.
    ``cpu``: (best wall, best CPU seconds of the process), the latter comparable under other load."""
    Nn, d = X.shape
    v, p = np.ones(d, dtype=X.dtype), np.ones(Nn, dtype=X.dtype)
    z, g = np.empty(Nn, dtype=X.dtype), np.empty((threads, d), dtype=X.dtype)
    edges = [Nn * i // threads for i in range(threads + 1)]

    def chunk(i, _hi):
        lo, hi = edges[i], edges[i + 1]
        np.dot(X[lo:hi], v, out=z[lo:hi])
        if products == 2:
            np.dot(p[lo:hi], X[lo:hi], out=g[i])

    best, best_cpu = np.inf, np.inf
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        split_run(chunk, threads, threads)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    return (best, best_cpu) if cpu else best


def run_streamed(rep: Report, N: int = 10000, lam: float = LAM, threads: int = 2, steps: int = 5) -> dict:
    """GD and Adam steps on one large realisation (float64 X, streamed: no [X, c] copy) against the two-pass floor
    (goal: within 1.5x). Per step: (T(1 + steps) - T(1)) / steps, which cancels set-up and checkpoint checks."""
    d = round(lam * N)
    r = realisation(N, d, SIGMA, 1)
    X, S0 = r.X, r.S0
    rep.section(f"1b. GD and Adam on streamed data vs the memory floor (N={N}, d={d}, float64 "
                f"{X.nbytes / 1e9:.2f} GB, {threads} threads)")
    floor = memory_floor(X, threads)
    t = {}
    for opt, lr in (("gd", LR), ("adam", 1e-3)):
        best = [np.inf, np.inf]
        for _ in range(2):
            for i, n in enumerate((1, 1 + steps)):
                t0 = time.perf_counter()
                gradient_descent(Problem(X[None], S0[None], threads=threads), Schedule(lr, np.array([0.0, float(n)])),
                                 AdamOptions() if opt == "adam" else GDOptions())
                best[i] = min(best[i], time.perf_counter() - t0)
        t[opt] = (best[1] - best[0]) / steps
    op = Streamed(X, r.c, "logistic", threads)
    w = np.append(S0, 0.0)[None]
    t0 = time.perf_counter()
    for _ in range(steps):
        op.grad(w)
    t["pass"] = (time.perf_counter() - t0) / steps
    op.close()
    rep.row("floor: two bare BLAS matrix-vector passes (X v, p X)", fmt_time(floor))
    rep.row("GD step", fmt_time(t["gd"]))
    rep.row("Adam step", fmt_time(t["adam"]))
    rep.row("one fused gradient pass (the streamed operator alone)", fmt_time(t["pass"]))
    rep.ratio("GD step / floor", t["gd"] / floor)
    rep.ratio("Adam step / floor", t["adam"] / floor)
    rep.note("no copy of X is made: the working memory is X plus O(threads x 4 MiB)")
    rep.key("kernel", f"GD / Adam step on streamed data (N = {N}, d = {d}, float64, {threads} threads) / two-pass "
            "memory floor; goal <= 1.5x", f"{t['gd'] / floor:.2f}x / {t['adam'] / floor:.2f}x")
    return {"floor": floor, **t}


def naive_gd(X, S0, lr: float, steps: int):
    """The textbook loop: one realisation after the other, numpy expressions, new arrays every step."""
    Rn, Nn, _ = X.shape
    out = []
    for r in range(Rn):
        S, b = S0[r].copy(), 0.0
        for _ in range(steps):
            p = expit(X[r] @ S + b)
            S = S - lr * (X[r].T @ p) / Nn
            b = b - lr * p.mean()
        out.append((S, b))
    return out


def batched_gd(X, S0, lr: float, steps: int):
    """The project's kernel before the threaded rewrite: every step one batched matmul over all realisations for
    X S and one for X^T p (with a transposed copy of X), so X is streamed from memory twice a step."""
    Rn, Nn, d = X.shape
    XT = np.ascontiguousarray(np.swapaxes(X, 1, 2))
    S, b = S0.copy(), np.zeros(Rn)
    z, gS = np.empty((Rn, Nn, 1)), np.empty((Rn, d, 1))
    for _ in range(steps):
        np.matmul(X, S[..., None], out=z)
        p = expit(z[..., 0] + b[:, None])
        np.matmul(XT, p[..., None], out=gS)
        S -= lr * (gS[..., 0] / Nn)
        b -= lr * p.mean(axis=1)
    return S, b


def run(rep: Report, repeat: int = 3) -> dict:
    X, S0 = _data()
    d = X.shape[2]
    rep.section(f"1. GD kernel vs its floor (N={N}, d={d}, R={R}, float64)")
    mb = X.nbytes / 2**20
    rep.note(f"X is {mb:.0f} MiB ({X[0].nbytes / 2**10:.0f} KiB per realisation); times are per GD step for all "
             f"{R} realisations")

    def kernel(threads):
        return lambda steps: gradient_descent(Problem(X, S0, threads=threads),
                                              Schedule(LR, np.array([0.0, float(steps)])))

    # correctness first: the threads give identical bits, and the kernel is GD
    a = gradient_descent(Problem(X, S0, threads=1), Schedule(LR, np.array([0.0, 50.0])))
    b = gradient_descent(Problem(X, S0, threads=2), Schedule(LR, np.array([0.0, 50.0])))
    same = np.array_equal(a.S, b.S) and np.array_equal(a.b, b.b)
    ref = naive_gd(X[:4], S0[:4], LR, 50)
    err = max(np.max(np.abs(a.S[r, -1] - s)) / np.max(np.abs(s)) for r, (s, _) in enumerate(ref))
    rep.row("threads=1 and threads=2 bitwise identical", "yes" if same else "NO")
    rep.row("max rel. difference to the naive loop (50 steps)", f"{err:8.1e}")

    t = per_step({
        "kernel1": kernel(1), "kernel2": kernel(2),
        "floor1_res": _floor(X, S0, 1, True), "floor1_str": _floor(X, S0, 1, False),
        "floor2_res": _floor(X, S0, 2, True), "floor2_str": _floor(X, S0, 2, False),
    }, 20, 220, repeat)
    t |= per_step({"naive": lambda s: naive_gd(X, S0, LR, s), "batched": lambda s: batched_gd(X, S0, LR, s)},
                  10, 110, repeat)
    floor1, floor2 = min(t["floor1_res"], t["floor1_str"]), min(t["floor2_res"], t["floor2_str"])
    rep.row("floor, 1 thread: gemv pair, realisation-resident order", fmt_time(t["floor1_res"]))
    rep.row("floor, 1 thread: gemv pair, streaming order", fmt_time(t["floor1_str"]))
    rep.row("floor, 2 threads: gemv pair, realisation-resident order", fmt_time(t["floor2_res"]))
    rep.row("floor, 2 threads: gemv pair, streaming order", fmt_time(t["floor2_str"]))
    rep.row("gradient_descent, threads=1", fmt_time(t["kernel1"]))
    rep.row("gradient_descent, threads=2", fmt_time(t["kernel2"]))
    rep.row("baseline: naive per-realisation Python loop", fmt_time(t["naive"]))
    rep.row("baseline: batched step-by-step numpy (previous kernel)", fmt_time(t["batched"]))
    rep.note("ratios (floor = the faster order of the bare gemv pair, same thread count):")
    rep.ratio("kernel / floor, threads=1", t["kernel1"] / floor1)
    rep.ratio("kernel / floor, threads=2", t["kernel2"] / floor2)
    rep.ratio("naive / kernel, threads=1", t["naive"] / t["kernel1"])
    rep.ratio("naive / kernel, threads=2", t["naive"] / t["kernel2"])
    rep.ratio("previous kernel / kernel, threads=1", t["batched"] / t["kernel1"])
    rep.ratio("kernel threads=1 / threads=2 (parallel speed-up)", t["kernel1"] / t["kernel2"])
    rep.ratio("floor 1 thread / 2 threads (the machine's 2-core gain)", floor1 / floor2)
    rep.ratio("streaming / resident floor, 1 thread (cache gain)", t["floor1_str"] / t["floor1_res"])
    rep.key("kernel", "GD step (N = 400, d = 192, 64 realisations) / its floor, two bare BLAS matrix-vector passes",
            f"{t['kernel1'] / floor1:.2f}x with 1 thread, {t['kernel2'] / floor2:.2f}x with 2")
    rep.key("kernel", "naive per-realisation Python GD loop / project GD kernel",
            f"{t['naive'] / t['kernel1']:.2f}x (1 thread), {t['naive'] / t['kernel2']:.2f}x (2 threads)")
    out = {"per_step": t, "kernel_over_floor_2": t["kernel2"] / floor2, "kernel_over_floor_1": t["kernel1"] / floor1}
    return out | {"streamed": run_streamed(rep)}
