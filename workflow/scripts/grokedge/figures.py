"""The main figures, as functions of the runs and curves tables (``grokedge.plotting.save`` writes them)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .separability import wendel_probability


def _quantiles_with_censoring(times: np.ndarray, censored: np.ndarray) -> tuple[float, float, float]:
    """25/50/75% quantiles with censored runs counted as +inf (never reached): a quantile that falls on a
    censored run is itself inf, i.e. only bounded below by the horizon."""
    t = np.where(censored, np.inf, times)
    return tuple(float(np.quantile(t, q, method="lower")) for q in (0.25, 0.5, 0.75))


def grokking_time_figure(runs: pd.DataFrame, name: str, definition: dict):
    """Left: median grokking time (IQR bars) against 1 - 2 lambda, log-log, inseparable side; cells whose
    median is censored are drawn as upward arrows at the horizon. Right: each realisation against
    sigma |S_inf|, censored runs as open triangles at the horizon."""
    col, cens = f"grok_{name}", f"grok_{name}_censored"
    r = runs[runs.trained & (runs.lam < 0.5)].copy()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (N, sigma), g in r.groupby(["N", "sigma"]):
        rows = []
        for lam, c in g.groupby("lam"):
            valid = c[col].notna() | c[cens]
            q1, med, q3 = _quantiles_with_censoring(c.loc[valid, col].to_numpy(), c.loc[valid, cens].to_numpy())
            rows.append((1 - 2 * lam, q1, med, q3, int(c[cens].sum()), len(c), c.horizon.max()))
        s = pd.DataFrame(rows, columns=["x", "q1", "med", "q3", "ncens", "n", "horizon"])
        ok = np.isfinite(s.med) & (s.med > 0)
        line = ax1.errorbar(s.x[ok], s.med[ok], yerr=[s.med[ok] - s.q1[ok].clip(lower=1e-300),
                            np.where(np.isfinite(s.q3[ok]), s.q3[ok] - s.med[ok], 0)], fmt="o-", capsize=3,
                            label=f"N={N}, $\\sigma$={sigma:g} (median, IQR)")
        colour = line[0].get_color()
        up = ~np.isfinite(s.med)
        if up.any():
            ax1.scatter(s.x[up], s.horizon[up], marker="^", color=colour, s=60,
                        label="median censored (> horizon)")
        for x, k, n in zip(s.x, s.ncens, s.n, strict=True):
            if k:
                ax1.annotate(f"{k}/{n}", (x, s.horizon.max()), textcoords="offset points", xytext=(0, 6),
                             ha="center", fontsize=7, color=colour)
        g = g[~g.separable & g.s_inf_norm.notna()]  # the per-dataset distance |S_inf| exists for these only
        ok_r = g[~g[cens] & (g[col] > 0)]
        pts = ax2.scatter(ok_r.sigma * ok_r.s_inf_norm, ok_r[col], c=ok_r.lam, cmap="viridis", s=12,
                          vmin=r.lam.min(), vmax=0.5)
        cg = g[g[cens]]
        ax2.scatter(cg.sigma * cg.s_inf_norm, cg.horizon, marker="^", facecolors="none", edgecolors="crimson",
                    s=25, label=f"censored ({len(cg)})")
    ax1.set(xscale="log", yscale="log", xlabel=r"distance to threshold $1-2\lambda$",
            ylabel="grokking time [epochs]", title=f"Grokking time ({_describe(definition)})")
    ax1.xaxis.set_minor_formatter(plt.NullFormatter())  # after set_xscale, which resets the formatters
    ax1.axhline(r.horizon.max(), color="grey", ls=":", lw=1)
    ax1.legend(fontsize=8)
    ax2.set(yscale="log", xlabel=r"$\sigma\,|S_\infty|$ (per dataset)", ylabel="grokking time [epochs]",
            title="Per realisation, inseparable sets")
    if len(r):
        fig.colorbar(pts, ax=ax2, label=r"$\lambda$")
    ax2.legend(fontsize=8, loc="upper left")
    return fig


def _describe(definition: dict) -> str:
    kind, th = definition["kind"], definition["threshold"]
    return {"gen_accuracy": f"$A_{{gen}}$ reaches {th:g}",
            "accuracy_delay": f"delay between train and gen accuracy {th:g}",
            "loss_delay": f"delay between train and gen loss {th:g}"}[kind]


def loss_curves_figure(curves: pd.DataFrame, runs: pd.DataFrame, lams: list[float]):
    """Left: median (over realisations) L_gen (solid) and L_train (dashed) against epochs for the cells
    nearest the requested lambdas, with the 25-75% band of L_gen. Right: height of the L_gen bump above its
    initial value against lambda (median and IQR)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    have = np.array(sorted(curves.lam.unique()))
    chosen = sorted({float(have[np.argmin(np.abs(have - lam))]) for lam in lams})
    for lam in chosen:
        c = curves[(curves.lam == lam) & (curves.epoch > 0)]
        g = c.groupby("epoch")
        med = g.gen_loss.median()
        line, = ax1.plot(med.index, med.values, label=f"$\\lambda$={lam:.3g}: $L_{{gen}}$")
        ax1.fill_between(med.index, g.gen_loss.quantile(0.25), g.gen_loss.quantile(0.75), alpha=0.2,
                         color=line.get_color())
        ax1.plot(med.index, g.train_loss.median().values, ls="--", color=line.get_color(),
                 label=f"$\\lambda$={lam:.3g}: $L_{{train}}$")
    ax1.set(xscale="log", yscale="log", xlabel="epoch", ylabel="loss (median over realisations)",
            title="Generalisation loss rises, then falls; training loss falls")
    ax1.legend(fontsize=7, ncol=2)
    t = runs[runs.trained]
    for (N, sigma), g in t.groupby(["N", "sigma"]):
        q = g.groupby("lam").gen_loss_bump_initial.quantile([0.25, 0.5, 0.75]).unstack()
        ax2.errorbar(q.index, q[0.5], yerr=[q[0.5] - q[0.25], q[0.75] - q[0.5]], fmt="o-", capsize=3,
                     label=f"N={N}, $\\sigma$={sigma:g}")
    ax2.axvline(0.5, color="grey", ls=":", lw=1)
    ax2.set(yscale="symlog", xlabel=r"$\lambda = d/N$", ylabel=r"$\max_t L_{gen} - L_{gen}(0)$",
            title="Height of the generalisation-loss bump")
    ax2.legend(fontsize=8)
    return fig


def separable_fraction_figure(runs: pd.DataFrame):
    """Fraction of realisations the LP finds separable from the origin against lambda (binomial standard
    errors), with Wendel's exact probability for each N."""
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for N, g in runs.groupby("N"):
        f = g.groupby("lam").separable.agg(["mean", "count"])
        err = np.sqrt(f["mean"] * (1 - f["mean"]) / f["count"])
        pts = ax.errorbar(f.index, f["mean"], yerr=err, fmt="o", capsize=3, label=f"LP, N={N}")
        d = np.arange(1, int(g.d.max() * 1.1) + 2)
        ax.plot(d / N, [wendel_probability(N, k) for k in d], color=pts[0].get_color(), lw=1,
                label=f"Wendel, N={N}")
    ax.axvline(0.5, color="grey", ls=":", lw=1)
    ax.set(xlabel=r"$\lambda = d/N$", ylabel="P(separable from the origin)", title="Separability transition")
    ax.legend(fontsize=8)
    return fig


def final_accuracy_figure(runs: pd.DataFrame):
    """Final A_gen of every realisation against lambda, with Prop. 3.2's limit Phi(1/(sigma M)) computed
    from each separable set's margin (1 for inseparable sets)."""
    t = runs[runs.trained]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.004, 0.004, len(t))
    ax.scatter(t.lam + jitter, t.final_gen_acc, s=8, alpha=0.5, c=np.where(t.separable, "C3", "C0"),
               label="final $A_{gen}$ (blue inseparable, red separable)")
    sep = t[t.separable]
    if len(sep):
        q = sep.groupby("lam").margin_acc_limit.median()
        ax.plot(q.index, q.values, "k_", markersize=14, mew=2, label=r"margin limit $\Phi(1/\sigma M)$, median")
    med = t.groupby("lam").final_gen_acc.median()
    ax.plot(med.index, med.values, "o-", color="C2", ms=4, label="median final $A_{gen}$")
    ax.axvline(0.5, color="grey", ls=":", lw=1)
    ax.set(xlabel=r"$\lambda = d/N$", ylabel="generalisation accuracy at the horizon",
           title=f"Final accuracy (horizon {t.horizon.max():.3g} epochs)")
    ax.legend(fontsize=7)
    return fig
