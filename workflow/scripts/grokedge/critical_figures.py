"""Beyond the paper: finite-size scaling at lambda = 1/2 (``grokedge.critical``), one figure.

The figure function follows the project's contract ``<name>_figure(runs, curves, spec) -> Figure``; ``runs``
is already filtered to the figure's experiments (columns N, lam, sigma, separable, s_inf_norm, margin; for the
grokking-time panel also lr, horizon, trained and grok_<name>[_censored]).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

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


def _log_axes(ax, y: bool = True) -> None:
    ax.set(xscale="log", yscale="log" if y else "linear")
    for axis in (ax.xaxis, ax.yaxis) if y else (ax.xaxis,):
        axis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(mticker.NullFormatter())


def _grokking_panel(ax, runs: pd.DataFrame, definition: dict | None, fit_min_x: float) -> None:
    """log t_grok against eps = 1 - 2 lambda (inseparable side) for each N: medians over the sets of a cell with
    censored runs as +inf (bars ~68% intervals; a median that is censored is drawn as a lower bound at the
    horizon), with the N -> infinity log t_a = z_a r - log(eta m), its essential-singularity expansion
    z_a C eps^{-1/2} + z_a D - log(eta m0), and the toy model's form log^2(eps)/2 + log 2 with its offset fitted
    to the cells with x >= fit_min_x (critical.log_time_growth, whose beta the panel states)."""
    col = None if definition is None else f"grok_{definition['name']}"
    if col is None or col not in runs or not runs.get("trained", pd.Series(dtype=bool)).astype(bool).any():
        ax.text(0.5, 0.5, "no trained experiment with an 'A_gen reaches a' grokking time\n(config: figures."
                "critical_scaling, grokking)", ha="center", va="center", transform=ax.transAxes, fontsize=9,
                color="crimson")
        ax.set_axis_off()
        return
    level = float(definition["threshold"])
    tab = critical.grokking_table(runs, col, level)
    tab = tab[tab.eps > 0]
    _draw_grokking_medians(ax, tab, fit_min_x)
    fit = critical.log_time_growth(tab, fit_min_x)
    _draw_grokking_laws(ax, tab, level, fit)
    ax.text(0.98, 0.98, _grokking_notes(tab, fit, fit_min_x), transform=ax.transAxes, fontsize=7.5, va="top",
            ha="right")
    _log_axes(ax, y=False)
    ax.set(xlabel=r"$\epsilon = 1-2\lambda$", ylabel=rf"$\ln t_{{grok}}$ (epochs to $A_{{gen}} \geq {level:g}$)",
           title=r"Grokking time: $e^{z_a C \epsilon^{-1/2}}$ (theory) or $e^{\log^2\epsilon/2}$ (toy)?")
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2)


def _draw_grokking_medians(ax, tab: pd.DataFrame, fit_min_x: float) -> None:
    """Draws each N's median ln t_grok against eps (sizes dodged side by side): filled where x >= fit_min_x,
    open inside the finite-size window, a censored median as an open triangle at the horizon."""
    n_sizes = tab.N.nunique()
    for i, (N, g) in enumerate(tab.groupby("N")):
        dodge = 1.04 ** (i - (n_sizes - 1) / 2)  # sizes side by side at each eps
        for window, sub in ((False, g[g.x >= fit_min_x]), (True, g[g.x < fit_min_x])):
            fin = sub[np.isfinite(sub.log_t_median)]
            hi = np.where(np.isfinite(fin.log_t_hi), fin.log_t_hi, np.log(fin.horizon))  # upper end among the censored
            med = fin.log_t_median
            ax.errorbar(fin.eps * dodge, med, yerr=[med - fin.log_t_lo, hi - med],
                        fmt="o", ms=5, capsize=2, color=f"C{i}", mfc="white" if window else f"C{i}",
                        label="_nolegend_" if window else f"N = {N}")
        cen = g[~np.isfinite(g.log_t_median)]
        ax.plot(cen.eps * dodge, np.log(cen.horizon), "^", ms=8, mfc="none", color=f"C{i}", ls="none",
                label=f"N = {N}: median censored (> horizon)" if len(cen) else "_nolegend_")
    ax.plot([], [], "o", mfc="white", color="0.4", ls="none",
            label=f"open: x < {fit_min_x:g}, in the finite-size window (not fitted)")


def _draw_grokking_laws(ax, tab: pd.DataFrame, level: float, fit) -> None:
    """Draws the N -> infinity ln t_a and its expansion in eps (one pair per learning rate), the toy model's
    form with its fitted offset (``fit``: critical.log_time_growth; None: the mean offset) and the horizons."""
    k = critical.CONSTANTS
    ee = np.geomspace(tab.eps.min() / 1.4, min(tab.eps.max() * 1.4, 0.5), 60)
    for lr in sorted(tab.lr.unique()):
        tag = f", $\\eta$ = {lr:g}" if tab.lr.nunique() > 1 else ""
        ax.plot(ee, theory.log_grokking_time_large_n((1 - ee) / 2, lr, level), "k-", lw=1.5,
                label=r"$N\to\infty$: $z_a r - \log(\eta m)$" + tag)
        ax.plot(ee, critical.log_grokking_time_asymptotics(ee, lr, level), "k--", lw=1.2,
                label=rf"$z_a C\epsilon^{{-1/2}} + z_a D - \log(\eta m_0)$, $z_a C$ = {ndtri(level) * k.C:.2f}" + tag)
    toy = critical.toy_log_time_form(tab.eps)
    offset = fit.toy_offset if fit is not None else float(np.nanmean(tab.log_t_median - toy))
    ax.plot(ee, critical.toy_log_time_form(ee) + offset, "-.", color="0.45", lw=1.5,
            label=r"toy model: $\frac{1}{2}\log^2\epsilon + \log 2$ + offset (fitted)")
    for h in sorted(tab.horizon.unique()):
        ax.axhline(np.log(h), color="0.6", ls=":", lw=1)


def _grokking_notes(tab: pd.DataFrame, fit, fit_min_x: float) -> str:
    """The grokking panel's notes: the censored count, and the growth fit's beta (or why there is none)."""
    n_cens, n = int(tab.censored.sum()), int(tab.n.sum())
    notes = [f"censored runs (incl. separable sets): {n_cens} of {n}; dotted: the horizon"]
    if fit is None:
        notes.append(f"growth fit: fewer than 3 cells with x >= {fit_min_x:g} and a finite median")
    else:
        notes.append(f"median ln t = a + beta (theory's ln t) over {fit.n} cells with x >= {fit_min_x:g}:\n"
                     f"beta = {fit.beta:.2f} ± {fit.beta_se:.2f} (theory 1; the toy form's: {fit.toy_slope:.2f})")
    return "\n".join(notes)


def critical_scaling_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Top left: the separable fraction against x = eps N^{1/2} (eps = 1 - 2 lambda) for each N, with Wendel's
    large-N law Phi(-x). Top right: sigma|S_inf| N^{-1/4} against x > 0 (medians over all sets, separable ones
    counted as infinite; bars the ~68% order-statistic interval), with the critical law C x^{-1/2} and, dotted,
    the N -> infinity solution at each N's eps = x/N^{1/2}. Bottom left: the margin kappa N^{1/2} = M N^{1/2}/sigma
    against -x > 0 (inseparable sets count as 0), with Gardner's sqrt(pi/8)|x|. These three panels state the
    collapse quality (grokedge.critical.collapse_quality) and a free power-law fit of the scaled medians against
    |x|, pooled over N, over the cells with |x| >= ``spec["fit_min_x"]`` (default 1), next to the same fit of the
    N -> infinity solution at those cells. Bottom right: the grokking time against eps (_grokking_panel). They
    draw the experiments ``spec["scaling"]`` and ``spec["grokking"]`` (all rows when the spec names none), the
    grokking time of ``spec["definition"]`` (an A_gen-reaches-a definition: name, threshold)."""
    del curves
    fit_min_x = float(spec.get("fit_min_x", 1.0))

    def rows_of(key):
        name = spec.get(key)
        return runs if name is None or "experiment" not in runs else runs[runs.experiment == name]

    tab = critical.scaling_table(rows_of("scaling"))
    fig, ((a0, a1), (a2, a3)) = plt.subplots(2, 2, figsize=(13.5, 10), layout="constrained")
    colour = {N: f"C{i}" for i, N in enumerate(sorted(tab.N.unique()) if len(tab) else [])}
    _separable_panel(a0, tab, colour)
    _s_inf_panel(a1, tab, colour, fit_min_x)
    _margin_panel(a2, tab, colour, fit_min_x)
    _grokking_panel(a3, rows_of("grokking"), spec.get("definition"), fit_min_x)
    fig.suptitle("Beyond the paper: finite-size scaling at the separability threshold $\\lambda = 1/2$ "
                 "(medians; bars ~68% intervals)")
    return fig


def _separable_panel(ax, tab: pd.DataFrame, colour: dict) -> None:
    """Draws the separable fraction of each N (``colour``: N -> colour) against x, with Wendel's Phi(-x)."""
    for N in colour:
        g = tab[tab.N == N].sort_values("x")
        ax.plot(g.x, g.separable_fraction, "o-", ms=4, color=colour[N], label=f"N = {N}")
    xs = np.linspace(min(tab.x.min(), -1) if len(tab) else -3, max(tab.x.max(), 1) if len(tab) else 3, 200)
    ax.plot(xs, ndtr(-xs), "k--", lw=1.5, label=r"$\Phi(-x)$ (Wendel, large $N$)")
    ax.set(xlabel=r"$x = (1-2\lambda)\,N^{1/2}$", ylabel="separable fraction",
           title="Wendel's step: width $N^{-1/2}$ in $1-2\\lambda$")
    ax.legend(fontsize=8)


def _s_inf_panel(ax, tab: pd.DataFrame, colour: dict, fit_min_x: float) -> None:
    """Draws sigma|S_inf| N^{-1/4} against x > 0 for each N, dotted the N -> infinity solution at that N's eps,
    the critical law C x^{-1/2}, and the panel's notes (_notes)."""
    pos = tab[(tab.x > 0) & tab.r_median.notna()]
    for N in colour:
        g = pos[pos.N == N].sort_values("x")
        if not len(g):
            continue
        s = float(N) ** -0.25
        hi = np.where(np.isfinite(g.r_hi), g.r_hi, g.r_median)  # no upper bar: it ends among separable sets
        ax.errorbar(g.x, g.r_median * s, yerr=[(g.r_median - g.r_lo) * s, (hi - g.r_median) * s], fmt="o",
                    ms=4, capsize=2, color=colour[N], label=f"N = {N}")
        xx = np.geomspace(g.x.min() / 1.3, g.x.max() * 1.3, 60)
        ax.plot(xx, theory.s_inf_large_n(0.5 * (1 - xx / np.sqrt(N))).sigma_s_norm * s, ":", color=colour[N], lw=1)
    if len(pos):
        k = critical.CONSTANTS
        xx = np.geomspace(pos.x.min() / 1.5, pos.x.max() * 1.5, 50)
        ax.plot(xx, k.C / np.sqrt(xx), "k--", lw=1.5, label=rf"$C x^{{-1/2}}$, C = {k.C:.4f}")
        ax.text(0.02, 0.02, _notes(tab, "r", fit_min_x, "-1/2"), transform=ax.transAxes, fontsize=7.5, va="bottom")
    _log_axes(ax)
    ax.set(xlabel=r"$x = (1-2\lambda)\,N^{1/2}$", ylabel=r"$\sigma|S_\infty|\,N^{-1/4}$",
           title=r"Inseparable side: $\sigma|S_\infty| \sim C\,\epsilon^{-1/2}$")
    ax.legend(fontsize=8, title=r"dotted: $N\to\infty$ at $\epsilon = x/\sqrt{N}$", title_fontsize=7.5)


def _margin_panel(ax, tab: pd.DataFrame, colour: dict, fit_min_x: float) -> None:
    """Draws the margin kappa N^{1/2} against -x > 0 for each N, Gardner's sqrt(pi/8)|x| and the panel's notes."""
    neg = tab[(tab.x < 0) & (tab.kappa_median > 0)]
    for N in colour:
        g = neg[neg.N == N].sort_values("x")
        if not len(g):
            continue
        s = float(N) ** 0.5
        lo = np.maximum(g.kappa_lo, g.kappa_median / 30)  # a lower end at 0 (an inseparable set) is drawn cut
        ax.errorbar(-g.x, g.kappa_median * s, yerr=[(g.kappa_median - lo) * s, (g.kappa_hi - g.kappa_median) * s],
                    fmt="s", ms=4, capsize=2, color=colour[N], label=f"N = {N}")
    if len(neg):
        k = critical.CONSTANTS
        xx = np.geomspace((-neg.x).min() / 1.5, (-neg.x).max() * 1.5, 50)
        ax.plot(xx, k.kappa_slope * xx, "k--", lw=1.5, label=rf"$\sqrt{{\pi/8}}\,|x|$ = {k.kappa_slope:.4f} |x|")
        ax.text(0.02, 0.98, _notes(tab, "kappa", fit_min_x, "1"), transform=ax.transAxes, fontsize=7.5, va="top")
    _log_axes(ax)
    ax.set(xlabel=r"$-x = (2\lambda-1)\,N^{1/2}$", ylabel=r"$\kappa\,N^{1/2}$ ($\kappa = M/\sigma$)",
           title=r"Separable side: margin $\kappa \sim \sqrt{\pi/8}\,|\epsilon|$")
    ax.legend(fontsize=8, loc="lower right")
