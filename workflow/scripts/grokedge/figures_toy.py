"""Figures of the 1-D toy model (paper Sec. 4, App. E), from the ``toy_times`` and ``toy_curves`` tables.

Registry signature (grokedge.registry): ``f(times, curves, spec)`` with ``spec = {"toy": <the toy config>}``.

fig8: train/gen exponential loss and accuracy vs log10 epoch, one column per lambda (below, at, above 1/2);
      right: the delay (t*_gen - t*_tr) eps against 1 - 2 lambda (paper Fig. 8 right), with the prediction.
fig9: sqrt(log(t*_gen/t*_tr)) vs log(1 - 2 lambda) per sigma, with the asymptotic slope -1/sqrt(2).
fig3: log10 epochs until A_gen >= threshold over (sigma, 1 - 2 lambda) (the paper's Fig. 3, right).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import toy
from .ledger.readoffs import mark_paper_values

LOSS_CLIP = 20.0  # log10 gen loss above this is not drawn (for lambda > 1/2 it grows like log^2 t)


def _thresholds(spec: dict) -> tuple[float, float]:
    cfg = spec["toy"]
    return float(cfg["acc_threshold"]), float(cfg["loss_threshold"])


def toy_fig8_figure(times: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 8. Left: losses (top) and accuracies (bottom) against log10 t for each lambda of the curves.
    Right: (t*_gen - t*_tr) eps against 1 - 2 lambda for the largest sigma of ``times`` (the paper: 20), from
    log10 t*: log10((t_gen - t_tr) eps) = log10 t_gen + log10(1 - 10^(log10 t_tr - log10 t_gen)) + log10 eps;
    filled where the asymptotic regime holds, with the prediction of ``toy.predicted_log10_epoch_gen``."""
    thr, eps = _thresholds(spec)
    lams = sorted(curves.lam.unique())
    n = len(lams)
    fig = plt.figure(figsize=(3.2 * n + 5.0, 5.6))
    gs = fig.add_gridspec(2, n + 1, width_ratios=[1.0] * n + [1.7], wspace=0.12)
    axes = np.empty((2, n), dtype=object)
    for j in range(n):
        axes[0, j] = fig.add_subplot(gs[0, j], sharex=axes[0, 0] if j else None, sharey=axes[0, 0] if j else None)
        axes[1, j] = fig.add_subplot(gs[1, j], sharex=axes[0, 0], sharey=axes[1, 0] if j else None)
        axes[0, j].tick_params(labelbottom=False)
        if j:
            axes[0, j].tick_params(labelleft=False)
            axes[1, j].tick_params(labelleft=False)
    for j, lam in enumerate(lams):
        d = curves[curves.lam == lam]
        ax = axes[0, j]
        ax.plot(d.log10_epoch, d.log10_train_loss, "--", color="C0", label="train")
        ax.plot(d.log10_epoch, d.log10_gen_loss.where(d.log10_gen_loss <= LOSS_CLIP), color="C3", label="gen")
        ax.axhline(math.log10(eps), color="grey", lw=0.8, ls=":", label=f"ε = {eps:.0e}")
        ax.set_title(f"λ = {lam:g}\n(1 − 2λ = {1 - 2 * lam:.2g})", fontsize=10)
        ax = axes[1, j]
        ax.plot(d.log10_epoch, d.train_acc, "--", color="C0", label="train")
        ax.plot(d.log10_epoch, d.gen_acc, color="C3", label="gen")
        ax.axhline(thr, color="grey", lw=0.8, ls=":", label=f"A = {thr:g}")
        ax.set_xlabel("log10 t  [epochs]")
        ax.set_ylim(0.4, 1.02)
    axes[0, 0].set_ylabel("log10 exponential loss")
    axes[1, 0].set_ylabel("accuracy")
    axes[0, -1].legend(loc="upper right", fontsize="small")
    axes[1, -1].legend(loc="lower right", fontsize="small")
    right = fig.add_subplot(gs[:, n])
    _delay_panel(right, times, eps)
    fig.suptitle(f"1-D toy model: train/gen loss and accuracy under gradient flow, σ = {curves.sigma.iloc[0]:g} "
                 f"(gen loss > 1e{LOSS_CLIP:g} not drawn); right: the delay against 1 − 2λ", y=1.0)
    return fig


def _delay_panel(ax, times: pd.DataFrame, eps: float) -> None:
    """(t*_gen - t*_tr) eps against 1 - 2 lambda for the largest sigma, log-log (see toy_fig8_figure)."""
    ok_t = times[~times.tr_censored & ~times.gen_censored]
    if ok_t.empty:
        ax.text(0.5, 0.5, "no uncensored crossings", transform=ax.transAxes, ha="center")
        return
    sigma = float(ok_t.sigma.max())
    g = ok_t[ok_t.sigma == sigma].sort_values("one_minus_2lam")
    le = math.log10(eps)

    def delay(tr, gen):  # log10 of (10^gen - 10^tr) eps, in log space
        tr, gen = np.asarray(tr, dtype=float), np.asarray(gen, dtype=float)
        return gen + np.log10(-np.expm1((tr - gen) * np.log(10.0))) + le

    y = 10.0 ** delay(g.log10_epoch_tr, g.log10_epoch_gen)
    good = g.asymptotic_ok.to_numpy()
    ax.plot(g.one_minus_2lam[good], y[good], "o", color="C3", label=f"measured, σ = {sigma:g}")
    ax.plot(g.one_minus_2lam[~good], y[~good], "o", mfc="none", color="C3",
            label="measured, S not yet at S_inf")
    x = np.geomspace(g.one_minus_2lam.min(), g.one_minus_2lam.max(), 100)
    pred_tr = toy.predicted_log10_epoch_tr(eps)
    pred = [10.0 ** delay(pred_tr, toy.predicted_log10_epoch_gen((1 - v) / 2, eps)) for v in x]
    ax.plot(x, pred, "k--", lw=1, label="prediction (S at S_inf)")
    mark_paper_values(ax, "8 right", "delay_times_eps")
    ax.set(xscale="log", yscale="log", xlabel="1 − 2λ", ylabel="(t*_gen − t*_tr) ε   [epochs]",
           title=f"Delay to reach ε = {eps:.0e}, σ = {sigma:g}")
    ax.yaxis.set_label_position("right")
    ax.yaxis.tick_right()
    ax.legend(fontsize="small", loc="upper right")


def toy_fig9_figure(times: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 9: the generalisation delay against 1 - 2 lambda, one marker colour per sigma."""
    _, eps = _thresholds(spec)
    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    for k, (sigma, g) in enumerate(times[~times.tr_censored & ~times.gen_censored].groupby("sigma")):
        X, Y = toy.fig9_coordinates(g.one_minus_2lam, g.log10_epoch_tr, g.log10_epoch_gen)
        ok = g.asymptotic_ok.to_numpy()
        ax.plot(X[ok], Y[ok], "o", color=f"C{k}", label=f"σ = {sigma:g}")
        ax.plot(X[~ok], Y[~ok], "o", mfc="none", color=f"C{k}")
    d = np.logspace(np.log10(times.one_minus_2lam.min()), np.log10(times.one_minus_2lam.max()), 200)
    ax.plot(np.log(d), -np.log(d) / math.sqrt(2), "k-", lw=1, label="slope −1/√2: |log(1−2λ)|/√2")
    ax.plot(np.log(d), np.sqrt([toy.log_gen_train_ratio(v) for v in d]), "k--", lw=1,
            label="asymptotic √(u²/2 − log c)")
    ax.set_xlabel("log(1 − 2λ)")
    ax.set_ylabel("√ log(t*_gen / t*_tr)   (dimensionless)")
    mark_paper_values(ax, "9 right", "sqrt_log_ratio", x_transform=np.log)
    ax.set_title(f"Toy model: generalisation delay, ε = {eps:.0e}\n(open: S not yet at S_inf, σ²(1−2λ)log(1/ε) < 6)")
    ax.legend(fontsize="small")
    return fig


def toy_fig3_figure(times: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 3 (right): log10 epochs until A_gen >= threshold over (sigma, 1 - 2 lambda), one cell per
    simulated pair, ticks at the simulated values; "n/r": not reached by the horizon."""
    thr, _ = _thresholds(spec)
    grid = times.pivot_table(index="sigma", columns="one_minus_2lam", values="log10_epoch_acc")
    cens = times.pivot_table(index="sigma", columns="one_minus_2lam", values="acc_censored").astype(bool)
    Z = np.ma.masked_where(cens.to_numpy() | ~np.isfinite(grid.to_numpy()), grid.to_numpy())
    xs, ys = np.log10(grid.columns.to_numpy(float)), grid.index.to_numpy(float)
    fig, ax = plt.subplots(figsize=(6.6, 4.6))
    mesh = ax.pcolormesh(_edges(xs), _edges(ys), Z, cmap="viridis", shading="flat")
    ax.grid(False)
    mask, mid = np.ma.getmaskarray(Z), (Z.min() + Z.max()) / 2 if Z.count() else 0.0
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            txt = "n/r" if mask[i, j] else f"{Z[i, j]:.1f}"
            dark = mask[i, j] or Z[i, j] > mid  # viridis is light at the top of the range
            ax.text(x, y, txt, ha="center", va="center", fontsize=7, color="k" if dark else "w")
    fig.colorbar(mesh, ax=ax, label=f"log10 epochs until A_gen ≥ {thr:g}")
    ax.set_yticks(ys, [f"{y:g}" for y in ys])  # one tick per simulated sigma row (rows need not be evenly spaced)
    ax.set_xticks(xs, [f"{x:.2g}" for x in xs], rotation=45 if len(xs) > 6 else 0)
    ax.set_xlabel("log10(1 − 2λ)")
    ax.set_ylabel("σ  (input noise scale)")
    title = "Toy model: grokking time over (σ, 1 − 2λ)"
    ax.set_title(title + ("\n(n/r: threshold not reached by the horizon)" if mask.any() else ""))
    return fig


def _edges(c):
    """Cell edges around centres c (midpoints; end cells mirrored)."""
    c = np.asarray(c, dtype=float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])
