"""Beyond the paper: finite-size scaling at lambda = 1/2 (``grokedge.critical``), one figure.

The figure function follows the project's contract ``<name>_figure(runs, curves, spec) -> Figure``; ``runs``
is already filtered to the figure's experiments (columns N, lam, sigma, separable, s_inf_norm, margin).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from scipy.special import ndtr

from . import critical, theory


def _notes(tab: pd.DataFrame, quantity: str, fit_min_x: float, asymptote: str) -> str:
    """The collapse quality and the free fit (pooled over N, |x| >= fit_min_x) of one panel, as text."""
    s = critical.scaling_summary(tab, quantity, fit_min_x)
    lines = [f"collapse quality S = {s.collapse:.2g} ({s.collapse_points} points; ~1: within errors)"
             if s.collapse_points else "collapse: fewer than 2 overlapping sizes with finite intervals"]
    if s.fit is None:
        lines.append(f"free fit: fewer than 3 cells with |x| >= {fit_min_x:g}")
    else:
        lines += [f"free fit ~ |x|^p over the cells with |x| >= {fit_min_x:g}: p = {s.fit.exponent:.2f} "
                  f"± {s.fit.exponent_se:.2f}",
                  f"(N→∞ solution at the same cells: {s.limit_fit.exponent:.3f}; asymptote {asymptote})"]
    return "\n".join(lines)


def _log_axes(ax) -> None:
    ax.set(xscale="log", yscale="log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(mticker.NullFormatter())


def critical_scaling_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Left: the separable fraction against x = eps N^{1/2} (eps = 1 - 2 lambda) for each N, with Wendel's
    large-N law Phi(-x). Middle: sigma|S_inf| N^{-1/4} against x > 0 (medians over all sets, separable ones
    counted as infinite; bars the ~68% order-statistic interval), with the critical law C x^{-1/2} and, dotted,
    the N -> infinity solution at each N's eps = x/N^{1/2}. Right: the margin kappa N^{1/2} = M N^{1/2}/sigma
    against -x > 0 (inseparable sets count as 0), with Gardner's sqrt(pi/8)|x|. Each panel states the collapse
    quality (grokedge.critical.collapse_quality) and a free power-law fit of the scaled medians against |x|,
    pooled over N, over the cells with |x| >= ``spec["fit_min_x"]`` (default 1), next to the same fit of the
    N -> infinity solution at those cells."""
    del curves
    tab = critical.scaling_table(runs)
    fit_min_x = float(spec.get("fit_min_x", 1.0))
    k = critical.CONSTANTS
    fig, (a0, a1, a2) = plt.subplots(1, 3, figsize=(16, 4.9), layout="constrained")
    Ns = sorted(tab.N.unique()) if len(tab) else []
    colour = {N: f"C{i}" for i, N in enumerate(Ns)}

    for N in Ns:
        g = tab[tab.N == N].sort_values("x")
        a0.plot(g.x, g.separable_fraction, "o-", ms=4, color=colour[N], label=f"N = {N}")
    xs = np.linspace(min(tab.x.min(), -1) if len(tab) else -3, max(tab.x.max(), 1) if len(tab) else 3, 200)
    a0.plot(xs, ndtr(-xs), "k--", lw=1.5, label=r"$\Phi(-x)$ (Wendel, large $N$)")
    a0.set(xlabel=r"$x = (1-2\lambda)\,N^{1/2}$", ylabel="separable fraction",
           title="Wendel's step: width $N^{-1/2}$ in $1-2\\lambda$")
    a0.legend(fontsize=8)

    pos = tab[(tab.x > 0) & tab.r_median.notna()]
    for N in Ns:
        g = pos[pos.N == N].sort_values("x")
        if not len(g):
            continue
        s = float(N) ** -0.25
        hi = np.where(np.isfinite(g.r_hi), g.r_hi, g.r_median)  # no upper bar: it ends among separable sets
        a1.errorbar(g.x, g.r_median * s, yerr=[(g.r_median - g.r_lo) * s, (hi - g.r_median) * s], fmt="o",
                    ms=4, capsize=2, color=colour[N], label=f"N = {N}")
        xx = np.geomspace(g.x.min() / 1.3, g.x.max() * 1.3, 60)
        a1.plot(xx, theory.s_inf_large_n(0.5 * (1 - xx / np.sqrt(N))).sigma_s_norm * s, ":", color=colour[N], lw=1)
    if len(pos):
        xx = np.geomspace(pos.x.min() / 1.5, pos.x.max() * 1.5, 50)
        a1.plot(xx, k.C / np.sqrt(xx), "k--", lw=1.5, label=rf"$C x^{{-1/2}}$, C = {k.C:.4f}")
        notes = _notes(tab, "r", fit_min_x, "-1/2")
        a1.text(0.02, 0.02, notes, transform=a1.transAxes, fontsize=7.5, va="bottom")
    _log_axes(a1)
    a1.set(xlabel=r"$x = (1-2\lambda)\,N^{1/2}$", ylabel=r"$\sigma|S_\infty|\,N^{-1/4}$",
           title=r"Inseparable side: $\sigma|S_\infty| \sim C\,\epsilon^{-1/2}$")
    a1.legend(fontsize=8, title=r"dotted: $N\to\infty$ at $\epsilon = x/\sqrt{N}$", title_fontsize=7.5)

    neg = tab[(tab.x < 0) & (tab.kappa_median > 0)]
    for N in Ns:
        g = neg[neg.N == N].sort_values("x")
        if not len(g):
            continue
        s = float(N) ** 0.5
        lo = np.maximum(g.kappa_lo, g.kappa_median / 30)  # a lower end at 0 (an inseparable set) is drawn cut
        a2.errorbar(-g.x, g.kappa_median * s, yerr=[(g.kappa_median - lo) * s, (g.kappa_hi - g.kappa_median) * s],
                    fmt="s", ms=4, capsize=2, color=colour[N], label=f"N = {N}")
    if len(neg):
        xx = np.geomspace((-neg.x).min() / 1.5, (-neg.x).max() * 1.5, 50)
        a2.plot(xx, k.kappa_slope * xx, "k--", lw=1.5, label=rf"$\sqrt{{\pi/8}}\,|x|$ = {k.kappa_slope:.4f} |x|")
        notes = _notes(tab, "kappa", fit_min_x, "1")
        a2.text(0.02, 0.98, notes, transform=a2.transAxes, fontsize=7.5, va="top")
    _log_axes(a2)
    a2.set(xlabel=r"$-x = (2\lambda-1)\,N^{1/2}$", ylabel=r"$\kappa\,N^{1/2}$ ($\kappa = M/\sigma$)",
           title=r"Separable side: margin $\kappa \sim \sqrt{\pi/8}\,|\epsilon|$")
    a2.legend(fontsize=8, loc="lower right")
    fig.suptitle("Beyond the paper: finite-size scaling at the separability threshold $\\lambda = 1/2$ "
                 "(medians; bars ~68% intervals)")
    return fig
