"""The paper-model figures, as functions of the runs and curves tables (``grokedge.plotting.save`` writes them).

Every function has the registry signature ``f(runs, curves, spec)`` (grokedge.registry): runs and curves are
already filtered to the figure's experiments, spec holds the figure's settings from the config."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.special import ndtr

from . import theory_figures
from .ledger.readoffs import mark_paper_values
from .separability import wendel_large_n, wendel_probability


def _quantiles_with_censoring(times: np.ndarray, censored: np.ndarray) -> tuple[float, float, float]:
    """25/50/75% quantiles with censored runs counted as +inf (never reached): a quantile that falls on a
    censored run is itself inf, i.e. only bounded below by the horizon. (This is why the grokking-time
    figures aggregate by hand: seaborn's estimators would need a number for a censored run.)"""
    t = np.where(censored, np.inf, times)
    return tuple(float(np.quantile(t, q, method="lower")) for q in (0.25, 0.5, 0.75))


def _group_label(N, sigma) -> str:
    return f"N={N}, $\\sigma$={sigma:g}"


def _tidy_log(ax, axis: str = "x") -> None:
    """Log-axis tick labels that never collide: no minor labels; over less than two decades, majors at
    1, 2, 5 x 10^k (under half a decade: about five evenly spaced values), printed as plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    target.set_minor_formatter(NullFormatter())
    if lo > 0 and np.log10(hi / lo) < 2:
        few = np.log10(hi / lo) < 0.5
        target.set_major_locator(MaxNLocator(5) if few else LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))


def grokking_time_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Left: median grokking time (IQR bars), log y. For the definition 'A_gen reaches a' (kind gen_accuracy)
    against 1 - 2 lambda (log x), inseparable side, with the large-N limit; for a delay between the train and
    gen crossings (kinds accuracy_delay, loss_delay; the paper's Fig. 1 right bottom) against lambda (linear x)
    on both sides of 1/2, as in the paper. Censored runs (threshold not reached by the horizon) count as later
    than the horizon and are never numbers: a median that falls on them is drawn as an upward triangle at the
    horizon, and the table under the axis gives the censored count k of the n runs of every cell. Right: each
    inseparable realisation against sigma |S_inf|, censored runs as open triangles at the horizon."""
    import seaborn as sns

    name, definition = spec["headline"], spec["definition"]
    col, cens = f"grok_{name}", f"grok_{name}_censored"
    delay = definition["kind"] != "gen_accuracy"
    r = runs[runs.trained].copy() if delay else runs[runs.trained & (runs.lam < 0.5)].copy()
    xof = (lambda lam: lam) if delay else (lambda lam: 1 - 2 * lam)
    groups = list(r.groupby(["N", "sigma"]))
    palette = sns.color_palette(n_colors=max(1, len(groups)))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11.5, 4.6))
    table, xs_all = [], sorted({xof(lam) for lam in r.lam.unique()})
    horizon = float(r.horizon.max()) if len(r) else np.nan
    lam_top = max(0.5, float(r.loc[r.separable.eq(False) & r.s_inf_norm.notna(), "lam"].max())) if len(r) else 0.5
    pts = None
    for colour, ((N, sigma), g) in zip(palette, groups, strict=False):
        s = _median_times(g, col, cens, xof)
        # one group: (N, sigma) is in the table's row label, not in the legend
        _draw_median_times(ax1, s, colour, f"{_group_label(N, sigma)}: " if len(groups) > 1 else "")
        table.append(_censored_counts(s, xs_all, _group_label(N, sigma)))
        pts = _draw_realisation_times(ax2, g, col, cens, vmin=r.lam.min(), vmax=lam_top)
    if np.isfinite(horizon):
        for ax in (ax1, ax2):
            ax.axhline(horizon, color="grey", ls=":", lw=1, label=f"horizon ({horizon:.3g} epochs)")
    _style_median_panel(ax1, r, definition, name)
    if table:
        _censored_table(ax1, xs_all, table, delay)
    ax2.set(yscale="log", xlabel=r"$\sigma\,|S_\infty|$ (per dataset)", ylabel="grokking time [epochs]",
            title="Per realisation, inseparable sets")
    if pts is not None:
        fig.colorbar(pts, ax=ax2, label=r"$\lambda$")
    ax2.legend(fontsize=8, loc="lower right")
    return fig


def _median_times(g: pd.DataFrame, col: str, cens: str, xof) -> pd.DataFrame:
    """One (N, sigma) group's grokking times per lambda: x = xof(lambda), the censored quartiles q1, med, q3
    (_quantiles_with_censoring), the censored count ncens of the n runs with a time or a censoring, horizon."""
    rows = []
    for lam, c in g.groupby("lam"):
        valid = c[col].notna() | c[cens]
        if not valid.any():
            continue
        q1, med, q3 = _quantiles_with_censoring(c.loc[valid, col].to_numpy(), c.loc[valid, cens].to_numpy())
        rows.append((xof(lam), q1, med, q3, int(c[cens].sum()), int(valid.sum()), c.horizon.max()))
    return pd.DataFrame(rows, columns=["x", "q1", "med", "q3", "ncens", "n", "horizon"])


def _draw_median_times(ax, s: pd.DataFrame, colour, prefix: str) -> None:
    """Draws one group's medians with IQR bars (an upper quartile beyond the horizon: no upper bar), and a
    median that is censored as an upward triangle at the horizon; ``prefix`` starts the legend labels."""
    ok = np.isfinite(s.med) & (s.med > 0)
    ax.errorbar(s.x[ok], s.med[ok], yerr=[s.med[ok] - s.q1[ok].clip(lower=1e-300),
                np.where(np.isfinite(s.q3[ok]), s.q3[ok] - s.med[ok], 0)], fmt="o-", capsize=3, color=colour,
                label=f"{prefix}median, IQR")
    up = ~np.isfinite(s.med)
    if up.any():
        ax.scatter(s.x[up], s.horizon[up], marker="^", color=colour, s=60,
                   label=f"{prefix}median censored (> horizon)")


def _censored_counts(s: pd.DataFrame, xs_all: list, group: str) -> tuple[list[str], str]:
    """One row of the censored-count table (one entry per x of ``xs_all``) and its row label."""
    same_n = s.n.nunique() == 1  # then the row gives k only, and n once in its label (narrow cells)
    counts = dict(zip(s.x, (f"{k}" if same_n else f"{k}/{n}" for k, n in zip(s.ncens, s.n, strict=True)),
                      strict=True))
    label = f"censored k of n = {s.n.iloc[0]}, {group}" if same_n and len(s) else f"censored k/n, {group}"
    return [counts.get(x, "") for x in xs_all], label


def _draw_realisation_times(ax, g: pd.DataFrame, col: str, cens: str, vmin: float, vmax: float):
    """Draws each inseparable realisation's grokking time against sigma |S_inf| (colour: lambda) and its
    censored runs as open triangles at the horizon; returns the colour-mapped scatter (for the colour bar)."""
    g = g[g.separable.eq(False) & g.s_inf_norm.notna()]  # the per-dataset distance |S_inf| exists for these only
    ok = g[~g[cens] & (g[col] > 0)]
    pts = ax.scatter(ok.sigma * ok.s_inf_norm, ok[col], c=ok.lam, cmap="viridis", s=12, vmin=vmin, vmax=vmax)
    cg = g[g[cens]]
    if len(cg):
        ax.scatter(cg.sigma * cg.s_inf_norm, cg.horizon, marker="^", facecolors="none", edgecolors="crimson",
                   s=25, label=f"censored ({len(cg)}), drawn at the horizon")
    return pts


def _style_median_panel(ax, r: pd.DataFrame, definition: dict, name: str) -> None:
    """Draws the theory (large-N limit or per-set prediction) and the paper's read-off values on the median
    panel, then its axes: lambda (linear, with 1/2 marked) for a delay, else 1 - 2 lambda (log)."""
    delay = definition["kind"] != "gen_accuracy"
    theory_figures.overlay_grokking_time(ax, r, definition, name)  # large-N limit / per-set prediction
    if definition["kind"] == "accuracy_delay" and np.isclose(definition["threshold"], 0.9):
        mark_paper_values(ax, "1 right bottom", "delay90")  # the paper's own definition: its read-off values
    if delay:
        ax.axvline(0.5, color="grey", ls="--", lw=0.8)
        ax.set(yscale="log", xlabel=r"$\lambda = d/N$")
    else:
        ax.set(xscale="log", yscale="log", xlabel=r"distance to threshold $1-2\lambda$")
        _tidy_log(ax, "x")
    ax.set(ylabel="grokking time [epochs]", title=f"Grokking time ({_describe(definition)})")
    ax.legend(fontsize=7.5, loc="lower right" if delay else "lower left")


def _censored_table(ax, xs_all: list, table: list[tuple[list[str], str]], delay: bool) -> None:
    """Draws the censored counts under the axis (never on the data): one column per cell, one row per group,
    with a note on what k and n mean."""
    n_rows = len(table) + 1
    xfmt = "{:.3g}" if delay else "{:.2g}"
    tab = ax.table(cellText=[[xfmt.format(x) for x in xs_all], *(row for row, _ in table)],
                   rowLabels=[r"$\lambda$" if delay else r"$1-2\lambda$", *(label for _, label in table)],
                   cellLoc="center", loc="bottom", bbox=[0.0, -0.2 - 0.07 * n_rows, 1.0, 0.07 * n_rows])
    tab.auto_set_font_size(False)
    tab.set_fontsize(6 if len(xs_all) > 12 else 7)
    ax.text(0.0, -0.24 - 0.07 * n_rows, "k of the n runs of a cell did not reach the threshold by the "
            "horizon;\nthey count as later than the horizon in the median and IQR, never as numbers.",
            transform=ax.transAxes, fontsize=7, va="top")


def _describe(definition: dict) -> str:
    kind, th = definition["kind"], definition["threshold"]
    return {"gen_accuracy": f"$A_{{gen}}$ reaches {th:g}",
            "accuracy_delay": f"delay between train and gen accuracy {th:g}",
            "loss_delay": f"delay between train and gen loss {th:g}"}[kind]


def _long(curves: pd.DataFrame, columns: dict[str, str], by: str, fmt: str = "{:.3g}") -> pd.DataFrame:
    """Curves in long form for seaborn: one row per (realisation, epoch, quantity), with the grouping column
    ``by`` as text (a categorical hue) and the quantity's label in ``quantity``."""
    c = curves[curves.epoch > 0]
    long = c.melt(id_vars=[by, "epoch", "realisation"], value_vars=[k for k in columns if k in c],
                  var_name="quantity", value_name="value")
    long["quantity"] = long["quantity"].map(columns)
    long[by] = long[by].map(fmt.format)
    return long


MEDIAN_IQR = {"estimator": "median", "errorbar": ("pi", 50)}  # seaborn: median line, 25-75 % band


def over_realisations(n: int, each: str = "") -> str:
    """What a curve of ``n`` realisations (``each``: of what, e.g. " per lambda") shows: the run itself, or
    their median with the IQR band."""
    return f"one realisation{each}" if n == 1 else f"median of {n} realisations{each}, band: IQR"


def loss_curves_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Left: median (over realisations) L_gen and L_train against epochs, with their 25-75% bands, for the
    cells nearest the requested lambdas. Right: height of the L_gen bump above its initial value against
    lambda (median and IQR)."""
    import seaborn as sns

    lams = spec["curve_lams"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11.5, 4.4))
    have = np.array(sorted(curves.lam.unique()))
    chosen = sorted({float(have[np.argmin(np.abs(have - lam))]) for lam in lams})
    long = _long(curves[curves.lam.isin(chosen)], {"gen_loss": "$L_{gen}$", "train_loss": "$L_{train}$"}, "lam")
    sns.lineplot(long.rename(columns={"lam": "λ", "quantity": "loss"}), x="epoch", y="value", hue="λ",
                 style="loss", ax=ax1, **MEDIAN_IQR)
    ax1.set(xscale="log", yscale="log", xlabel="epoch", ylabel="loss (median over realisations)",
            title="Losses against epochs (band: interquartile range)")
    ax1.legend(fontsize=8, ncol=2)
    t = runs[runs.trained].assign(group=lambda d: [_group_label(N, s) for N, s in zip(d.N, d.sigma, strict=True)])
    sns.lineplot(t, x="lam", y="gen_loss_bump_initial", hue="group", marker="o", err_style="bars", ax=ax2,
                 **MEDIAN_IQR)
    ax2.axvline(0.5, color="grey", ls=":", lw=1, label=r"$\lambda = 1/2$")
    ax2.set(yscale="symlog", xlabel=r"$\lambda = d/N$", ylabel=r"$\max_t L_{gen} - L_{gen}(0)$",
            title="Height of the generalisation-loss bump (median, IQR)")
    ax2.legend(fontsize=8, title=None)
    return fig


def separable_fraction_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
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


def final_accuracy_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Final A_gen of every realisation against lambda, with Prop. 3.2's limit Phi(1/(sigma M)) computed
    from each separable set's margin (1 for inseparable sets)."""
    t = runs[runs.trained]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.004, 0.004, len(t))
    ax.scatter(t.lam + jitter, t.final_gen_acc, s=8, alpha=0.5, c=np.where(t.separable.eq(True), "C3", "C0"),
               label="final $A_{gen}$ (blue inseparable, red separable)")
    sep = t[t.separable.eq(True)]
    if len(sep):
        q = sep.groupby("lam").margin_acc_limit.median()
        ax.plot(q.index, q.values, "k_", markersize=14, mew=2, label=r"margin limit $\Phi(1/\sigma M)$, median")
    med = t.groupby("lam").final_gen_acc.median()
    ax.plot(med.index, med.values, "o-", color="C2", ms=4, label="median final $A_{gen}$")
    theory_figures.overlay_final_accuracy(ax, t)  # large-N limit (grokedge.theory)
    mark_paper_values(ax, "1 right middle", "final_gen_acc")
    ax.axvline(0.5, color="grey", ls=":", lw=1)
    ax.set(xlabel=r"$\lambda = d/N$", ylabel="generalisation accuracy at the horizon",
           title=f"Final accuracy (horizon {t.horizon.max():.3g} epochs)")
    ax.legend(fontsize=7)
    return fig



def training_curves_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 1 (left): losses, accuracies, sigma|S| and b against epochs for a few lambdas (median over
    realisations, band: IQR): training dashed, closed-form generalisation solid, the sampled test set dotted.
    One legend under the panels: colour = lambda, line style = which set."""
    import seaborn as sns

    sets = {"train": "train", "gen": "gen (closed form)", "test": "sampled test set"}
    lam_order = [f"{v:.3g}" for v in sorted(curves.lam.unique())]
    palette = dict(zip(lam_order, sns.color_palette(n_colors=len(lam_order)), strict=True))
    dashes = {"train": (4, 2), "gen (closed form)": "", "sampled test set": (1, 1.5)}
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    for ax, key in zip(axes[:2], ("loss", "acc"), strict=True):
        long = _long(curves, {f"{k}_{key}": lab for k, lab in sets.items()}, "lam").rename(columns={"lam": "λ"})
        sns.lineplot(long, x="epoch", y="value", hue="λ", hue_order=lam_order, palette=palette, style="quantity",
                     style_order=[v for v in sets.values() if v in set(long.quantity)], dashes=dashes, ax=ax,
                     **MEDIAN_IQR)
    for ax, col in zip(axes[2:], ("sigma_s_norm", "b"), strict=True):
        long = _long(curves, {col: col}, "lam").rename(columns={"lam": "λ"})
        sns.lineplot(long, x="epoch", y="value", hue="λ", hue_order=lam_order, palette=palette, ax=ax,
                     legend=False, **MEDIAN_IQR)
    # the paper's read-off values at lambda = 0.48 (and gen accuracy at 0.52), at its last epoch (~5e5)
    paper = mark_paper_values(axes[1], "1 left", "gen_acc")
    mark_paper_values(axes[2], "1 left", "sigma_s_norm", label=False)
    mark_paper_values(axes[3], "1 left", "b", label=False)
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[:2]:
        ax.get_legend().remove()
    handles, labels = handles + paper[:1], labels + ["paper (read off; N = 4e4)"] * bool(paper)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(labels), frameon=False)
    fig.subplots_adjust(wspace=0.3)
    axes[0].set(yscale="log", ylabel="loss", title="Loss")
    axes[1].set(ylabel="accuracy", title="Accuracy")
    axes[2].set(yscale="log", ylabel=r"$\sigma|S|$", title=r"Weight scale $\sigma|S|$")
    axes[3].set(ylabel="$b$", title="Bias")
    for ax in axes:
        ax.set(xscale="log", xlabel="epoch")
    _tidy_log(axes[2], "y")
    shown = over_realisations(curves.realisation.nunique(), r" per $\lambda$")
    fig.suptitle(f"Training dynamics, N = {curves.N.iloc[0]}, $\\sigma$ = {curves.sigma.iloc[0]:g}, "
                 f"$\\eta$ = {curves.lr.iloc[0]:g} ({shown})", y=1.02)
    return fig


def projections_and_paths_figure(projections: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 2. Left: histograms of S.x_i/|S| over the training points at the end of training, per lambda.
    Right: each realisation's path in the (sigma|S|, b) plane over the map of A_gen = Phi(-b/(sigma|S|)),
    whose iso-accuracy lines are the rays b = -z_a sigma|S|."""

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, (lam, g) in enumerate(projections.groupby("lam")):
        ax1.hist(g.projection, bins=60, histtype="step", lw=1.5, density=True, color=f"C{i}", alpha=0.55,
                 label=f"$\\lambda$={lam:.3g}")
    ax1.axvline(0, color="grey", lw=1)
    theory_figures.overlay_projections(ax1, projections.lam.unique(), float(curves.sigma.iloc[0]))  # large-N limit
    ax1.set(xlabel=r"$S\cdot x_i/|S|$ at the horizon", ylabel="density", title="Training points along S")
    ax1.legend(fontsize=8)
    xmax = float(curves.sigma_s_norm.max()) * 1.05
    bmin = float(curves.b.min()) * 1.05
    a, b = np.meshgrid(np.linspace(1e-6, xmax, 300), np.linspace(bmin, max(1.0, -0.1 * bmin), 300))
    acc = ndtr(-b / a)
    im = ax2.pcolormesh(a, b, acc, cmap="Greys", vmin=0.5, vmax=1.0, shading="auto", alpha=0.6)
    levels = [0.6, 0.9, 0.99, 0.999]
    cs = ax2.contour(a, b, acc, levels=levels, colors="k", linewidths=0.7)
    ax2.clabel(cs, fmt=lambda v: f"{v:g}", fontsize=7)
    for i, (lam, g) in enumerate(curves.groupby("lam")):
        for _, path in g.groupby("realisation"):
            ax2.plot(path.sigma_s_norm, path.b, color=f"C{i}", lw=1.2)
        ax2.plot([], [], color=f"C{i}", label=f"$\\lambda$={lam:.3g}")
    fig.colorbar(im, ax=ax2, label="$A_{gen}$")
    ax2.set(xlabel=r"$\sigma|S|$", ylabel="$b$", title="Training paths over the generalisation-accuracy map")
    ax2.legend(fontsize=8, loc="upper right")
    return fig


def s_inf_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 1 (right): |S_inf| of inseparable sets against the distance 1 - 2 lambda, log-log: every
    realisation (points) and the median with its IQR per lambda."""
    import seaborn as sns

    r = runs[runs.separable.eq(False) & runs.s_inf_norm.notna()]
    r = r.assign(distance=1 - 2 * r.lam, group=[_group_label(N, s) for N, s in zip(r.N, r.sigma, strict=True)])
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    sns.scatterplot(r, x="distance", y="s_inf_norm", hue="group", s=10, alpha=0.4, legend=False, ax=ax)
    sns.lineplot(r, x="distance", y="s_inf_norm", hue="group", marker="o", err_style="bars", ax=ax, **MEDIAN_IQR)
    theory_figures.overlay_s_inf(ax, r)  # large-N limit (grokedge.theory)
    ax.set(xscale="log", yscale="log", xlabel=r"$1-2\lambda$", ylabel=r"$|S_\infty|$",
           title=r"$|S_\infty|$ of inseparable sets against the distance to $\lambda = 1/2$")
    if np.isclose(r.sigma, 1.0).any():  # the paper's curve is at sigma = 1 (N = 2400)
        mark_paper_values(ax, "1 right top", "s_inf_norm")
    handles, labels = ax.get_legend_handles_labels()
    labels = [f"{x}: median, IQR" if x in set(r.group) else x for x in labels]
    ax.legend(handles, labels, fontsize=8)
    return fig


def two_gaussian_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 4: two Gaussian classes with first-coordinate noise sigma_A (bias feature 1 + eps xi,
    eps = sigma_A/mu). Median train and gen accuracy against epochs (band: IQR). For b < 0,
    A_gen = Phi(-b / sqrt(sigma^2 |S|^2 + eps^2 b^2)) <= Phi(1/eps) (dotted): the bound is reached only if
    b -> -inf, which fails once some points have 1 + eps xi_i < 0; the limit drops below 1, the delay stays."""
    import seaborn as sns

    long = _long(curves, {"gen_acc": "gen", "train_acc": "train"}, "bias_noise", "{:g}")
    long = long.rename(columns={"bias_noise": "$\\sigma_A/\\mu$", "quantity": "set"})
    order = [f"{v:g}" for v in sorted(curves.bias_noise.unique())]
    palette = dict(zip(order, sns.color_palette(n_colors=len(order)), strict=True))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sns.lineplot(long, x="epoch", y="value", hue="$\\sigma_A/\\mu$", hue_order=order, palette=palette, style="set",
                 ax=ax, **MEDIAN_IQR)
    for eps in sorted(curves.bias_noise.unique()):
        if eps > 0:
            ax.axhline(ndtr(1 / eps), color=palette[f"{eps:g}"], ls=":", lw=1)
    ax.set(xscale="log", xlabel="epoch", ylabel="accuracy",
           title=f"Two Gaussian classes, $\\lambda$={curves.lam.iloc[0]:.3g} (dotted: bound $\\Phi(\\mu/\\sigma_A)$)")
    ax.legend(fontsize=8, ncol=2)
    return fig


def adam_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 5: Adam against GD (its flow limit) on the same datasets: median accuracies and losses
    (band: IQR). Each run stops at its own horizon, which its legend entry states."""
    import seaborn as sns

    labels = spec.get("labels", {})
    ends = curves.groupby("experiment").epoch.max()
    name = {e: f"{labels.get(e, e)} (to {ends[e]:.0e} epochs)" for e in ends.index}
    c = curves.assign(run=curves.experiment.map(name))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.4))
    for ax, key in ((ax1, "acc"), (ax2, "loss")):
        long = _long(c, {f"gen_{key}": "gen", f"train_{key}": "train"}, "run", "{}")
        sns.lineplot(long.rename(columns={"quantity": "set"}), x="epoch", y="value", hue="run", style="set",
                     ax=ax, legend=ax is ax1, **MEDIAN_IQR)
    ax1.set(xscale="log", xlabel="epoch", ylabel="accuracy (median)", title="Accuracy")
    ax2.set(xscale="log", yscale="log", xlabel="epoch", ylabel="loss (median)", title="Loss")
    ax1.legend(fontsize=8)
    paper = mark_paper_values(ax2, "5", "gen_loss_peak")  # paper: N = 4000, learning rate not stated
    if paper:
        # upper right: the empty corner (Adam's training loss ends at the bottom left, GD's at the bottom right)
        ax2.legend(paper, ["paper Fig. 5 gen-loss spike (read off)"], fontsize=8, loc="upper right")
    medians = c[c.train_loss > 0].groupby(["experiment", "epoch"])[["train_loss", "gen_loss"]].median()
    low = float(np.nanmin(medians.to_numpy()))
    ax2.set_ylim(bottom=low / 5)  # every median inside the axes, with room below the lowest
    horizons = "; ".join(name[e] for e in ends.index) if ends.nunique() > 1 else f"horizon {ends.iloc[0]:.0e} epochs"
    fig.suptitle(f"Adam vs GD, $\\lambda$={curves.lam.iloc[0]:.3g}, N={curves.N.iloc[0]}, "
                 f"$\\sigma$={curves.sigma.iloc[0]:g}; {horizons}", y=1.02)
    return fig


def finite_size_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Left: LP separable fraction against lambda for several N, with Wendel's exact law. Right: the same data
    against x = sqrt(d) (sqrt(2 lambda) - 1/sqrt(2 lambda)), collapsing onto the large-N form 1/2 (1 + erf x)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    for i, (N, g) in enumerate(runs.groupby("N")):
        f = g.groupby("d").separable.agg(["mean", "count"])
        lam = f.index / N
        err = np.sqrt(f["mean"] * (1 - f["mean"]) / f["count"])
        ax1.errorbar(lam, f["mean"], yerr=err, fmt="o", color=f"C{i}", capsize=2, label=f"N={N}")
        dd = np.arange(max(1, int(0.35 * N)), int(0.65 * N) + 1)
        ax1.plot(dd / N, [wendel_probability(N, k) for k in dd], color=f"C{i}", lw=1)
        x = np.sqrt(f.index) * (np.sqrt(2 * lam) - 1 / np.sqrt(2 * lam))
        ax2.errorbar(x, f["mean"], yerr=err, fmt="o", color=f"C{i}", capsize=2, label=f"N={N}")
    xs = np.linspace(-3, 3, 200)
    ax2.plot(xs, _wendel_large_n_of_x(xs), "k-", lw=1.5, label=r"$\frac{1}{2}(1+\mathrm{erf}\,x)$")
    ax1.set(xlabel=r"$\lambda = d/N$", ylabel="separable fraction", title="LP (points) and Wendel (lines)")
    ax2.set(xlabel=r"$x=\sqrt{d}\,(\sqrt{2\lambda}-1/\sqrt{2\lambda})$", ylabel="separable fraction",
            title="Finite-size collapse", xlim=(-3, 3))
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    return fig


def _wendel_large_n_of_x(x: np.ndarray, d: float = 1e6) -> np.ndarray:
    """separability.wendel_large_n as a function of its scaling variable x = sqrt(d) (u - 1/u), u = sqrt(2 lambda):
    u = (c + sqrt(c^2 + 4)) / 2 with c = x / sqrt(d), lambda = u^2 / 2 (the result does not depend on d)."""
    c = np.asarray(x, dtype=float) / np.sqrt(d)
    u = (c + np.sqrt(c**2 + 4)) / 2
    return wendel_large_n(u**2 / 2, d)


def asymptotic_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Measured grokking time of each inseparable realisation against the asymptotic prediction
    exp(z_a sigma|S_inf|)/(eta m), which assumes S has reached S_inf by the crossing. Where sigma|S_inf| is
    large, A_gen crosses while |S| is still far below |S_inf| (a smaller |S| means a higher accuracy), so the
    measured time falls below the prediction. For a delay definition (accuracy_delay, loss_delay) the prediction
    is the run table's ``grok_<name>_pred``: the predicted gen crossing minus the measured train crossing."""
    name, definition = spec["headline"], spec["definition"]
    col, pred, cens = f"grok_{name}", f"grok_{name}_pred", f"grok_{name}_censored"
    r = runs[runs.trained & runs[pred].notna() & ~runs[cens]]
    r = r[(r[pred] > 0) & (r[col] > 0)]  # log axes; a delay prediction is (predicted gen - measured train) crossing
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12.5, 4.6), layout="constrained")
    if r.empty:  # e.g. every inseparable run censored: say so instead of failing on empty log axes
        fig.text(0.5, 0.5, f"no trained inseparable run with a finite prediction and an uncensored time "
                 f"({_describe(definition)})", ha="center", va="center", fontsize=10, color="crimson")
        for ax in (ax1, ax2):
            ax.set_axis_off()
        return fig
    from matplotlib.colors import LogNorm

    dist = r.sigma * r.s_inf_norm  # spans decades: a log colour scale keeps the small distances apart
    sc = ax1.scatter(r[pred], r[col], c=dist, cmap="viridis", s=12,
                     norm=LogNorm(vmin=float(dist.min()), vmax=float(dist.max())) if len(r) else None)
    lo, hi = float(np.nanmin([r[pred].min(), r[col].min()])), 100 * float(r[col].max())
    ax1.plot([lo, hi], [lo, hi], "k--", lw=1, label="measured = predicted")
    ax1.set_xlim(lo / 2, hi)  # predictions beyond are far off the measured range; the right panel shows them
    ax1.set(xscale="log", yscale="log", xlabel="predicted [epochs]", ylabel="measured [epochs]",
            title=f"Grokking time ({_describe(definition)})")
    fig.colorbar(sc, ax=ax1, label=r"$\sigma|S_\infty|$", pad=0.02)
    ax1.legend(fontsize=8, loc="upper left")
    sc2 = ax2.scatter(r.sigma * r.s_inf_norm, r[col] / r[pred], s=12, c=r.lam, cmap="viridis")
    ax2.axhline(1, color="k", ls="--", lw=1, label="measured = predicted")
    ax2.set(xscale="log", yscale="log", xlabel=r"$\sigma|S_\infty|$", ylabel="measured / predicted",
            title="Where the asymptotic prediction holds")
    fig.colorbar(sc2, ax=ax2, label=r"$\lambda$", pad=0.02)
    ax2.legend(fontsize=8, loc="lower left")
    for ax in (ax1, ax2):
        _tidy_log(ax, "x")
        _tidy_log(ax, "y")
    return fig
