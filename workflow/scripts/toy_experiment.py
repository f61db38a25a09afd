"""Snakemake adapter: integrate the 1-D toy model (grokedge.toy) for the Fig. 8 curves and the (sigma, 1 - 2 lambda)
sweep behind Figs 9 and 3 (right). Writes the ``toy_curves`` and ``toy_times`` tables.

params.toy (defaults filled from the schema): horizon_log10 (flow time t = lr * epoch), loss_threshold, lr,
            acc_threshold, checkpoints_per_decade, sigmas, one_minus_2lam,
            curves: {sigma, lambdas}.
"""

import logging
import math
import time

import pandas as pd

from grokedge import toy
from grokedge.io import write_table

smk = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=smk.log[0], level=logging.INFO, force=True,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("grokedge.toy_experiment")

cfg = dict(smk.params.toy)
H, eps, eta = float(cfg["horizon_log10"]), float(cfg["loss_threshold"]), float(cfg["lr"])
thr, ppd = float(cfg["acc_threshold"]), int(cfg["checkpoints_per_decade"])
common = dict(log10_eps=math.log10(eps), eta=eta, acc_threshold=thr)
t0 = time.perf_counter()
log.info("toy config: %s", cfg)


def curves_table() -> pd.DataFrame:
    """Trajectories at log-spaced checkpoints for curves.sigma and each of curves.lambdas."""
    sigma, frames = float(cfg["curves"]["sigma"]), []
    for lam in map(float, cfg["curves"]["lambdas"]):
        df, cross = toy.simulate(lam, sigma, H, points_per_decade=ppd, **common)
        frames.append(df.assign(sigma=sigma, lam=lam, one_minus_2lam=1.0 - 2.0 * lam))
        log.info("curve sigma=%g lambda=%g: %s", sigma, lam, cross)
    cols = ["sigma", "lam", "one_minus_2lam"]
    out = pd.concat(frames, ignore_index=True)
    return out[cols + [c for c in out.columns if c not in cols]]


def times_row(sigma: float, delta: float) -> dict:
    """Threshold-crossing epochs of one sweep point, with the asymptotic predictions beside them."""
    lam = 0.5 * (1.0 - delta)
    run = toy.integrate(lam, sigma, H, log10_eps=common["log10_eps"], acc_threshold=thr)
    return {"sigma": sigma, "lam": lam, "one_minus_2lam": delta, **toy.crossing_times(run, eta),
            "pred_log10_epoch_tr": toy.predicted_log10_epoch_tr(eps, eta),
            "pred_log10_epoch_gen": toy.predicted_log10_epoch_gen(lam, eps, eta),
            "pred_log10_epoch_gen_small_delta": toy.predicted_log10_epoch_gen(lam, eps, eta, exact=False),
            "s_inf": toy.s_inf(lam, sigma), "S_final": float(run.sol.y[0, -1]),
            # S has relaxed to S_inf before L = eps (module docstring): sigma^2 delta log(1/eps) >= 6
            "asymptotic_ok": bool(sigma**2 * delta * -math.log(eps) >= 6.0)}


def times_table() -> pd.DataFrame:
    rows = [times_row(float(s), float(d)) for s in cfg["sigmas"] for d in cfg["one_minus_2lam"]]
    df = pd.DataFrame(rows)
    for sigma, g in df.groupby("sigma"):
        ok = g[g.asymptotic_ok & ~g.tr_censored & ~g.gen_censored]
        if len(ok) >= 2:
            slope, _ = toy.fig9_slope(ok.one_minus_2lam, ok.log10_epoch_tr, ok.log10_epoch_gen)
            pred, _ = toy.fig9_slope(ok.one_minus_2lam, ok.pred_log10_epoch_tr, ok.pred_log10_epoch_gen)
            log.info("sigma=%g: Fig. 9 slope %.4f over %d converged points, 1 - 2 lambda in [%.1e, %.1e] "
                     "(asymptotic formula on the same points: %.4f; delta -> 0 limit -1/sqrt2 = %.4f)", sigma,
                     slope, len(ok), ok.one_minus_2lam.min(), ok.one_minus_2lam.max(), pred, -1 / math.sqrt(2))
    return df


try:
    meta = {"toy": cfg}
    write_table(curves_table(), smk.output.curves, "toy_curves", meta)
    log.info("wrote %s", smk.output.curves)
    write_table(times_table(), smk.output.times, "toy_times", meta)
    log.info("wrote %s; done in %.2f s", smk.output.times, time.perf_counter() - t0)
except Exception:
    log.exception("toy_simulate failed")
    raise
