"""The large-N limit (``grokedge.theory``) drawn on the figures: overlay helpers that the main figures call
with one line each, and three figures of their own (paper Figs. 6 and 7, and a finite-size study).

Figure functions follow the project's contract ``<name>_figure(runs, curves, spec) -> Figure``: ``runs`` and
``curves`` are already filtered to the figure's experiments. Columns used from runs.parquet: N, d, lam, sigma,
separable, s_inf_norm, s_inf_m, margin, and (from ``theory.projection_summary`` in the separability stage)
s_inf_pos_frac, s_inf_pos_mean.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import theory
from .critical import fit_power_law
from .ledger.readoffs import mark_paper_values
from .separability import wendel_probability

LIMIT_LABEL = r"$N\to\infty$"
LIMIT_STYLE = {"color": "k", "ls": "--", "lw": 1.5, "zorder": 5}


def _inseparable_grid(lams, n: int = 80) -> np.ndarray:
    """lambda values log-spaced in 1 - 2 lambda, covering the data's inseparable lambdas with a margin."""
    lams = np.asarray([x for x in lams if 0 < x < 0.5], dtype=float)
    if not len(lams):
        return lams
    x = np.geomspace(max((1 - 2 * lams.max()) / 1.5, 1e-3), min((1 - 2 * lams.min()) * 1.2, 0.999), n)
    return (1 - x) / 2


def _label(sigmas, sigma) -> str:
    return LIMIT_LABEL + (f", $\\sigma$={sigma:g}" if len(sigmas) > 1 else "")


# --- overlays on the existing figures ------------------------------------------------------------------------

def overlay_s_inf(ax, runs: pd.DataFrame) -> None:
    """On |S_inf| against 1 - 2 lambda: the limit r(lambda)/sigma for every sigma of the data."""
    lam = _inseparable_grid(runs.lam.unique())
    if not len(lam):
        return
    r = theory.s_inf_large_n(lam).sigma_s_norm
    sigmas = sorted(runs.sigma.unique())
    for sigma in sigmas:
        ax.plot(1 - 2 * lam, r / sigma, **LIMIT_STYLE, label=_label(sigmas, sigma))
    ax.legend(fontsize=8)


def overlay_final_accuracy(ax, runs: pd.DataFrame) -> None:
    """On final A_gen against lambda: 1 below 1/2, Phi(1/(sigma^2 kappa(lambda))) above."""
    if not len(runs):
        return
    lam = np.linspace(max(0.0, runs.lam.min() - 0.02), min(1.5, runs.lam.max() + 0.02), 400)
    sigmas = sorted(runs.sigma.unique())
    for sigma in sigmas:
        ax.plot(lam, theory.gen_accuracy_limit(lam, sigma), **LIMIT_STYLE, label=_label(sigmas, sigma))
    ax.legend(fontsize=7)


def overlay_grokking_time(ax, runs: pd.DataFrame, definition: dict, name: str | None = None) -> None:
    """On the median grokking time. Definition 'A_gen reaches a' (against 1 - 2 lambda): the large-N limit
    exp(z_a r)/(eta m) for each learning rate. A delay between the train and gen crossings (against lambda):
    the large-N theory predicts the gen crossing only, so no N -> infinity curve is drawn; instead the median
    over the sets of each cell of the run's own per-set prediction ``grok_<name>_pred`` (predicted gen
    crossing exp(z_a sigma|S_inf|)/(eta m) of that set minus its measured train crossing), where it exists
    (inseparable sets)."""
    if definition["kind"] != "gen_accuracy":
        pred = f"grok_{name}_pred"
        if name is None or pred not in runs or not runs[pred].notna().any():
            return
        p = runs[runs[pred].notna() & (runs[pred] > 0)]
        for i, (_, g) in enumerate(p.groupby(["N", "sigma"])):
            q = g.groupby("lam")[pred].median()
            ax.plot(q.index, q.values, color="k", ls="--", lw=1.2, marker="x", ms=4, zorder=4,
                    label="prediction, median over inseparable sets" if i == 0 else "_nolegend_")
        return
    lam = _inseparable_grid(runs.lam.unique())
    if not len(lam):
        return
    lim = theory.s_inf_large_n(lam)
    lrs = sorted(runs.lr.unique())
    for lr in lrs:
        t = theory.grokking_time_large_n(lam, lr=lr, level=definition["threshold"], limit=lim)
        ax.plot(1 - 2 * lam, t, **LIMIT_STYLE,
                label=LIMIT_LABEL + r": $e^{z r}/(\eta m)$" + (f", $\\eta$={lr:g}" if len(lrs) > 1 else ""))


def overlay_projections(ax, lams, sigma: float) -> None:
    """On the histograms of S.x_i/|S| (colour C<i> for the i-th sorted lambda): the limit density of
    sigma h / r for lambda < 1/2, and a dotted line at -sigma kappa(lambda), the large-N margin, above 1/2."""
    lams = sorted(lams)
    lo, hi = ax.get_xlim()
    t = np.linspace(lo, hi, 600)
    inside = [x for x in lams if 0 < x < 0.5]
    lim = theory.s_inf_large_n(inside) if inside else None
    for i, lam in enumerate(lams):
        if 0 < lam < 0.5:
            ax.plot(t, lim.normalised_projection_pdf(t, sigma, inside.index(lam)), color=f"C{i}", ls="--", lw=1.4,
                    zorder=4)
        elif lam > 0.5:
            ax.axvline(-sigma * float(theory.margin_large_n(lam)), color=f"C{i}", ls=":", lw=1.5)
    ax.plot([], [], color="grey", ls="--", lw=1.2, label=LIMIT_LABEL + " density")
    if any(x > 0.5 for x in lams):
        ax.plot([], [], color="grey", ls=":", lw=1.5, label=LIMIT_LABEL + r" margin $-\sigma\kappa$")
    ax.legend(fontsize=8)


# --- figures of their own ------------------------------------------------------------------------------------

def _quartiles(g: pd.DataFrame, col: str, by: str = "lam") -> pd.DataFrame:
    q = g.groupby(by)[col].quantile([0.25, 0.5, 0.75]).unstack()
    q.columns = ["q1", "med", "q3"]
    return q


def _missing(ax, col: str) -> None:
    ax.text(0.5, 0.5, f"no '{col}' column in runs.parquet\n(recorded by the separability stage)",
            ha="center", va="center", transform=ax.transAxes, fontsize=9, color="crimson")


def positive_fraction_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 6. Left: fraction of training points with S_inf.x_i > 0 (inseparable sets) against
    1 - 2 lambda, per realisation and median (IQR), with the limit Phi(-c/r). Right: fraction of
    realisations that are inseparable (the ones S_inf exists for), with Wendel's exact law for each N and its
    N -> infinity limit, a step at lambda = 1/2."""
    del curves, spec
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ins = runs[runs.separable.eq(False) & (runs.lam < 0.5)]
    col = "s_inf_pos_frac"
    if col in runs and ins[col].notna().any():
        for i, (N, g) in enumerate(ins.groupby("N")):
            g = g[g[col].notna()]
            ax1.scatter(1 - 2 * g.lam, g[col], s=6, alpha=0.25, color=f"C{i}")
            q = _quartiles(g, col)
            ax1.errorbar(1 - 2 * q.index, q.med, yerr=[q.med - q.q1, q.q3 - q.med], fmt="o-", ms=4, capsize=2,
                         color=f"C{i}", label=f"N={N} (median, IQR)")
        lam = _inseparable_grid(ins.lam.unique())
        ax1.plot(1 - 2 * lam, theory.s_inf_large_n(lam).positive_fraction, **LIMIT_STYLE,
                 label=LIMIT_LABEL + r": $\Phi(-c/r)$")
        ax1.legend(fontsize=8)
    else:
        _missing(ax1, col)
    ax1.set(xscale="log", xlabel=r"$1-2\lambda$", ylabel=r"fraction of $S_\infty\cdot x_i > 0$",
            title="Training points on the wrong side at the end")
    below = runs[runs.lam < 0.5]
    for i, (N, g) in enumerate(below.groupby("N")):
        f = g.groupby("d").separable.agg(["mean", "count"])
        keep = 1 - f["mean"]
        err = np.sqrt(keep * (1 - keep) / f["count"])
        ax2.errorbar(1 - 2 * f.index / N, keep, yerr=err, fmt="o", ms=4, capsize=2, color=f"C{i}",
                     label=f"N={N}: inseparable fraction")
        d = np.arange(max(1, int(g.d.min() * 0.9)), int(np.ceil(N / 2)))
        ax2.plot(1 - 2 * d / N, [1 - wendel_probability(N, k) for k in d], color=f"C{i}", lw=1,
                 label=f"N={N}: Wendel")
    ax2.axhline(1.0, **LIMIT_STYLE, label=LIMIT_LABEL + " (step at 1/2)")
    ax2.set_xscale("log")
    paper = mark_paper_values(ax2, "6", "kept_fraction", label=False)  # N = 2400, d = 1191 (Wendel: 0.64)
    if paper:
        paper[0].set_label("paper, N=2400 (read off)")
    ax2.set(xscale="log", xlabel=r"$1-2\lambda$", ylabel="fraction of realisations inseparable",
            title="Realisations that have an $S_\\infty$", ylim=(0, 1.05))
    ax2.legend(fontsize=8, loc="lower right")
    return fig


def margin_projection_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 7, in unit-variance units (divided by sigma): below 1/2 the mean of the positive projections
    S_inf.x_i/|S_inf| of each inseparable set, above 1/2 the margin M of each separable set, against
    1 - 2 lambda; with the limits E[h | h > 0]/r and Gardner's kappa(lambda), both vanishing at lambda = 1/2."""
    del curves, spec
    fig, ax = plt.subplots(figsize=(7, 4.4))
    col = "s_inf_pos_mean"
    ins = runs[runs.separable.eq(False) & (runs.lam < 0.5)]
    sep = runs[runs.separable.eq(True) & (runs.lam > 0.5) & runs.margin.notna()]
    for i, N in enumerate(sorted(runs.N.unique())):
        gi, gs = ins[ins.N == N], sep[sep.N == N]
        label = f"N={N} (median, IQR)"
        if col in runs and gi[col].notna().any():
            gi = gi.assign(y=gi[col] / gi.sigma)
            ax.scatter(1 - 2 * gi.lam, gi.y, s=5, alpha=0.2, color=f"C{i}")
            q = _quartiles(gi, "y")
            ax.errorbar(1 - 2 * q.index, q.med, yerr=[q.med - q.q1, q.q3 - q.med], fmt="o", ms=4, capsize=2,
                        color=f"C{i}", label=label)
            label = None
        if len(gs):
            gs = gs.assign(y=gs.margin / gs.sigma)
            ax.scatter(1 - 2 * gs.lam, gs.y, s=5, alpha=0.2, color=f"C{i}")
            q = _quartiles(gs, "y")
            ax.errorbar(1 - 2 * q.index, q.med, yerr=[q.med - q.q1, q.q3 - q.med], fmt="s", ms=4, capsize=2,
                        color=f"C{i}", label=label)
    if col not in runs:
        _missing(ax, col)
    lo = min(-0.3, float(1 - 2 * runs.lam.max()) - 0.02)
    hi = max(0.22, float(1 - 2 * runs.lam.min()) + 0.02)
    lam_in = np.linspace(max(0.5 - hi / 2, 1e-3), 0.4995, 200)
    ax.plot(1 - 2 * lam_in, theory.s_inf_large_n(lam_in).mean_positive_projection, **LIMIT_STYLE,
            label=LIMIT_LABEL + r": mean positive $\hat S_\infty\cdot x_i$ ($\lambda<1/2$)")
    lam_out = np.linspace(0.5, 0.5 - lo / 2, 200)
    ax.plot(1 - 2 * lam_out, theory.margin_large_n(lam_out), color="k", ls="-.", lw=1.5,
            label=LIMIT_LABEL + r": margin $\kappa(\lambda)$ (Gardner, $\lambda>1/2$)")
    ax.axvline(0, color="grey", ls=":", lw=1)
    ax.set(xlim=(lo, hi), xlabel=r"$1-2\lambda$", ylabel=r"distance / $\sigma$",
           title="Mean positive projection (circles) and margin (squares)")
    ax.legend(fontsize=8)
    return fig


def finite_size_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (quantity, lambda, N): count, median, quartiles, IQR, the median's standard error
    (~ 1.2533 sd/sqrt(n) with sd ~ IQR/1.349, robust to the heavy tail of near-separable sets), mean and the
    limit, for sigma|S_inf| and m (inseparable sets, lambda < 1/2) and margin/sigma (separable sets, > 1/2)."""
    rows = []
    lims = {}
    for lam in sorted(runs.lam.unique()):
        if 0 < lam < 0.5:
            lim = theory.s_inf_large_n(lam)
            lims[lam] = {"sigma|S_inf|": float(lim.sigma_s_norm), "m": float(lim.m)}
        elif lam > 0.5:
            lims[lam] = {"margin/sigma": float(theory.margin_large_n(lam))}
    for (lam, N), g in runs.groupby(["lam", "N"]):
        if lam < 0.5:
            g = g[g.separable.eq(False) & g.s_inf_norm.notna()]
            values = {"sigma|S_inf|": g.sigma * g.s_inf_norm, "m": g.s_inf_m}
        elif lam > 0.5:
            g = g[g.separable.eq(True) & g.margin.notna()]
            values = {"margin/sigma": g.margin / g.sigma}
        else:
            continue
        for q, v in values.items():
            v = v.to_numpy(dtype=float)
            if len(v) < 4:
                continue
            q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
            rows.append({"quantity": q, "lam": lam, "N": N, "n": len(v), "median": med, "q1": q1, "q3": q3,
                         "iqr": q3 - q1, "se_median": 1.2533 * (q3 - q1) / 1.349 / np.sqrt(len(v)),
                         "mean": v.mean(), "limit": lims[lam][q]})
    return pd.DataFrame(rows)


def finite_size_convergence_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Beyond the paper: approach to the N -> infinity limit. Top row: median and IQR of sigma|S_inf|, m
    (inseparable sets) and margin/sigma (separable sets) against 1/N (spec ``x``: "1/N", default, or
    "1/sqrt(N)"), each lambda with its limit (star at 0, dotted line). Bottom row, log-log against N, relative
    to the limit: the IQR (circles, fitted power law N^p over all N, with N^-1/2 for reference) and
    |median - limit| (squares, bars one standard error of the median; open triangles with an upper bar only
    where it lies within one standard error of 0; mostly within two, so no exponent is fitted to it)."""
    del curves
    xkind = spec.get("x", "1/N")
    tab = finite_size_table(runs)
    quantities = [q for q in ("sigma|S_inf|", "m", "margin/sigma") if len(tab) and q in set(tab.quantity)]
    ncol = max(len(quantities), 1)
    fig, axes = plt.subplots(2, ncol, figsize=(4.8 * ncol, 8), squeeze=False, layout="constrained")
    for j, q in enumerate(quantities):
        top, bot = axes[0, j], axes[1, j]
        t = tab[tab.quantity == q]
        lows = []
        for i, (lam, g) in enumerate(t.groupby("lam")):
            _draw_median_and_limit(top, g, lam, f"C{i}", xkind)
            lows += _draw_relative_spread(bot, g, lam, f"C{i}")
        _style_convergence_column(top, bot, t, q, xkind, lows)
    if not quantities:
        _missing(axes[0, 0], "s_inf_norm / margin")
    return fig


def _draw_median_and_limit(ax, g: pd.DataFrame, lam: float, colour: str, xkind: str) -> None:
    """Draws one lambda's median and IQR against 1/N (or 1/sqrt(N)), its limit as a star at 0 and a dotted line."""
    x = 1 / g.N if xkind == "1/N" else 1 / np.sqrt(g.N)
    ax.errorbar(x, g["median"], yerr=[g["median"] - g.q1, g.q3 - g["median"]], fmt="o-", ms=4,
                capsize=2, color=colour, label=f"$\\lambda$={lam:g}")
    lim = float(g.limit.iloc[0])
    ax.plot([0], [lim], marker="*", ms=13, color=colour, mec="k", ls="none", zorder=6)
    ax.axhline(lim, color=colour, ls=":", lw=1)


def _draw_relative_spread(ax, g: pd.DataFrame, lam: float, colour: str) -> list[float]:
    """Draws one lambda's IQR / limit against N (with the exponent of a power-law fit when there are 3 or more
    N) and |median - limit| / limit with one standard error; returns the lowest ends of what it drew (every
    positive one must lie inside the axes)."""
    lim = float(g.limit.iloc[0])
    spread = g.iqr / lim
    label = f"$\\lambda$={lam:g}: IQR"
    if g.N.nunique() >= 3 and (spread > 0).all():
        fit = fit_power_law(g.N.to_numpy(), spread.to_numpy())
        label += f" $\\propto N^{{{fit.exponent:.2f}\\pm{fit.exponent_se:.2f}}}$"
    ax.plot(g.N, spread, "o-", ms=4, color=colour, label=label)
    dev = ((g["median"] - lim).abs() / lim).to_numpy()
    se = (g.se_median / lim).to_numpy()
    # a deviation within one standard error of 0 has no lower bar on a log axis: its upper bar and an
    # open downward triangle (an upper bound); the others, bars of one standard error both ways
    zero = se >= dev
    ax.plot(g.N, dev, "--", color=colour, lw=1)
    ax.errorbar(g.N[~zero], dev[~zero], yerr=se[~zero], fmt="s", ms=4, capsize=2, color=colour, mfc="none")
    ax.errorbar(g.N[zero], dev[zero], yerr=[np.zeros(zero.sum()), se[zero]], fmt="v", ms=5, capsize=2,
                color=colour, mfc="none")
    return [*(dev - se)[~zero], *dev[zero], *spread]


def _style_convergence_column(top, bot, t: pd.DataFrame, q: str, xkind: str, lows: list[float]) -> None:
    """One quantity's two panels: the limit's legend entry and the axes of the top panel; the N^-1/2 reference
    (through the largest relative IQR at the smallest N), every N labelled and the legend below the bottom one."""
    ylabels = {"sigma|S_inf|": r"$\sigma|S_\infty|$", "m": r"$m$", "margin/sigma": r"margin $M/\sigma$"}
    n = np.array(sorted(t.N.unique()), dtype=float)
    ref = (t.iqr / t.limit)[t.N == n[0]].max()
    bot.plot(n, ref * (n / n[0]) ** -0.5, color="grey", ls=":", lw=1.5, label=r"$\propto N^{-1/2}$")
    top.plot([], [], "k*", ms=10, ls="none", label=LIMIT_LABEL)
    top.set(xlabel=xkind, ylabel=ylabels[q], title=ylabels[q] + " (median, IQR)")
    top.set_xlim(left=-0.002 if xkind == "1/N" else -0.005)
    top.legend(fontsize=9, loc="best")
    bot.set(xscale="log", yscale="log", xlabel="N", ylabel="relative to the limit",
            title="IQR (circles), |median - limit| (squares;\n" + r"$\triangledown$: within one s.e. of 0)")
    bot.set_xticks(n, [f"{v:g}" for v in n])  # N spans less than a decade: label every N
    positive = [v for v in lows if v > 0]
    if positive:  # every point and bar end inside the axes
        bot.set_ylim(bottom=0.5 * min(positive))
    bot.xaxis.set_minor_formatter(plt.NullFormatter())
    bot.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2))  # below the axis, off the data
