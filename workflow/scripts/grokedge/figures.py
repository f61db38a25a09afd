"""The paper-model figures, as functions of the runs and curves tables (``grokedge.plotting.save`` writes them).

Every function has the registry signature ``f(runs, curves, spec)`` (grokedge.registry): runs and curves are
already filtered to the figure's experiments, spec holds the figure's settings from the config."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.special import ndtr

from .separability import wendel_large_n, wendel_probability


def _quantiles_with_censoring(times: np.ndarray, censored: np.ndarray) -> tuple[float, float, float]:
    """25/50/75% quantiles with censored runs counted as +inf (never reached): a quantile that falls on a
    censored run is itself inf, i.e. only bounded below by the horizon."""
    t = np.where(censored, np.inf, times)
    return tuple(float(np.quantile(t, q, method="lower")) for q in (0.25, 0.5, 0.75))


def grokking_time_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Left: median grokking time (IQR bars) against 1 - 2 lambda, log-log, inseparable side; cells whose
    median is censored are drawn as upward arrows at the horizon. Right: each realisation against
    sigma |S_inf|, censored runs as open triangles at the horizon."""
    name, definition = spec["headline"], spec["definition"]
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


def loss_curves_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Left: median (over realisations) L_gen (solid) and L_train (dashed) against epochs for the cells
    nearest the requested lambdas, with the 25-75% band of L_gen. Right: height of the L_gen bump above its
    initial value against lambda (median and IQR)."""
    lams = spec["curve_lams"]
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


def _median_curves(curves: pd.DataFrame, by: str, columns: list[str]) -> pd.DataFrame:
    return curves[curves.epoch > 0].groupby([by, "epoch"])[columns].median().reset_index()


def training_curves_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 1 (left): losses, accuracies, sigma|S| and b against epochs for a few lambdas (median over
    realisations): closed-form generalisation metrics solid, the sampled test set dotted, training dashed."""
    cols = [c for c in ("train_loss", "gen_loss", "test_loss", "train_acc", "gen_acc", "test_acc",
                        "sigma_s_norm", "b") if c in curves]
    med = _median_curves(curves, "lam", cols)
    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    for i, (lam, g) in enumerate(med.groupby("lam")):
        colour = f"C{i}"
        for ax, key in zip(axes[:2], ("loss", "acc"), strict=True):
            ax.plot(g.epoch, g[f"train_{key}"], ls="--", color=colour, label=f"$\\lambda$={lam:.3g} train")
            ax.plot(g.epoch, g[f"gen_{key}"], color=colour, label=f"$\\lambda$={lam:.3g} gen (closed form)")
            if f"test_{key}" in g:
                ax.plot(g.epoch, g[f"test_{key}"], ls=":", lw=2.5, color=colour, label=f"$\\lambda$={lam:.3g} test set")
        axes[2].plot(g.epoch, g.sigma_s_norm, color=colour, label=f"$\\lambda$={lam:.3g}")
        axes[3].plot(g.epoch, g.b, color=colour, label=f"$\\lambda$={lam:.3g}")
    axes[0].set(yscale="log", ylabel="loss", title="Loss")
    axes[1].set(ylabel="accuracy", title="Accuracy")
    axes[2].set(yscale="log", ylabel=r"$\sigma|S|$", title=r"Weight scale $\sigma|S|$")
    axes[3].set(ylabel="$b$", title="Bias")
    for ax in axes:
        ax.set(xscale="log", xlabel="epoch")
    axes[0].legend(fontsize=6)
    axes[2].legend(fontsize=8)
    n = curves.N.iloc[0]
    fig.suptitle(f"Training dynamics, N = {n}, $\\sigma$ = {curves.sigma.iloc[0]:g}, $\\eta$ = {curves.lr.iloc[0]:g} "
                 f"(median of {curves.realisation.nunique()} realisations per $\\lambda$)", y=1.02)
    return fig


def projections_and_paths_figure(projections: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 2. Left: histograms of S.x_i/|S| over the training points at the end of training, per lambda.
    Right: each realisation's path in the (sigma|S|, b) plane over the map of A_gen = Phi(-b/(sigma|S|)),
    whose iso-accuracy lines are the rays b = -z_a sigma|S|."""

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, (lam, g) in enumerate(projections.groupby("lam")):
        ax1.hist(g.projection, bins=60, histtype="step", lw=1.5, density=True, color=f"C{i}",
                 label=f"$\\lambda$={lam:.3g}")
    ax1.axvline(0, color="grey", lw=1)
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
    ax2.legend(fontsize=8, loc="lower left")
    return fig


def s_inf_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 1 (right): |S_inf| of inseparable sets against the distance 1 - 2 lambda, log-log."""
    r = runs[~runs.separable & runs.s_inf_norm.notna()]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for (N, sigma), g in r.groupby(["N", "sigma"]):
        ax.scatter(1 - 2 * g.lam, g.s_inf_norm, s=10, alpha=0.5)
        med = g.groupby("lam").s_inf_norm.median()
        ax.plot(1 - 2 * med.index, med.values, "o-", label=f"N={N}, $\\sigma$={sigma:g} (median)")
    ax.set(xscale="log", yscale="log", xlabel=r"$1-2\lambda$", ylabel=r"$|S_\infty|$",
           title=r"$|S_\infty|$ diverges as the data approach separability")
    ax.legend(fontsize=8)
    return fig


def two_gaussian_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 4: two Gaussian classes with first-coordinate noise sigma_A (bias feature 1 + eps xi,
    eps = sigma_A/mu). Median train and gen accuracy against epochs. For b < 0,
    A_gen = Phi(-b / sqrt(sigma^2 |S|^2 + eps^2 b^2)) <= Phi(1/eps) (dotted): the bound is reached only if
    b -> -inf, which fails once some points have 1 + eps xi_i < 0; the limit drops below 1, the delay stays."""

    med = _median_curves(curves, "bias_noise", ["train_acc", "gen_acc"])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (eps, g) in enumerate(med.groupby("bias_noise")):
        ax.plot(g.epoch, g.gen_acc, color=f"C{i}", label=f"$\\sigma_A/\\mu$={eps:g}: gen")
        ax.plot(g.epoch, g.train_acc, color=f"C{i}", ls="--", lw=1, label=f"$\\sigma_A/\\mu$={eps:g}: train")
        if eps > 0:
            ax.axhline(ndtr(1 / eps), color=f"C{i}", ls=":", lw=1)
    ax.set(xscale="log", xlabel="epoch", ylabel="accuracy",
           title=f"Two Gaussian classes, $\\lambda$={curves.lam.iloc[0]:.3g} (dotted: bound $\\Phi(\\mu/\\sigma_A)$)")
    ax.legend(fontsize=7, ncol=2)
    return fig


def adam_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 5: Adam against GD (its flow limit) on the same datasets: median accuracies and losses."""
    labels = spec.get("labels", {})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    for i, (exp, g) in enumerate(curves[curves.epoch > 0].groupby("experiment")):
        m = g.groupby("epoch")[["train_acc", "gen_acc", "train_loss", "gen_loss"]].median()
        lab = labels.get(exp, exp)
        ax1.plot(m.index, m.gen_acc, color=f"C{i}", label=f"{lab}: gen")
        ax1.plot(m.index, m.train_acc, color=f"C{i}", ls="--", label=f"{lab}: train")
        ax2.plot(m.index, m.gen_loss, color=f"C{i}", label=f"{lab}: gen")
        ax2.plot(m.index, m.train_loss, color=f"C{i}", ls="--", label=f"{lab}: train")
    ax1.set(xscale="log", xlabel="epoch", ylabel="accuracy (median)", title="Accuracy")
    ax2.set(xscale="log", yscale="log", xlabel="epoch", ylabel="loss (median)", title="Loss")
    ax1.legend(fontsize=8)
    fig.suptitle(f"Adam vs GD, $\\lambda$={curves.lam.iloc[0]:.3g}, N={curves.N.iloc[0]}, "
                 f"$\\sigma$={curves.sigma.iloc[0]:g}", y=1.02)
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
    measured time falls below the prediction."""
    name, definition = spec["headline"], spec["definition"]
    col, pred, cens = f"grok_{name}", f"grok_{name}_pred", f"grok_{name}_censored"
    r = runs[runs.trained & runs[pred].notna() & ~runs[cens]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.4))
    sc = ax1.scatter(r[pred], r[col], c=r.sigma * r.s_inf_norm, cmap="viridis", s=12)
    lo, hi = float(np.nanmin([r[pred].min(), r[col].min()])), 100 * float(r[col].max())
    ax1.plot([lo, hi], [lo, hi], "k--", lw=1, label="measured = predicted")
    ax1.set_xlim(lo / 2, hi)  # predictions beyond are far off the measured range; the right panel shows them
    ax1.set(xscale="log", yscale="log", xlabel="predicted [epochs]", ylabel="measured [epochs]",
            title=f"Grokking time ({_describe(definition)})")
    fig.colorbar(sc, ax=ax1, label=r"$\sigma|S_\infty|$")
    ax1.legend(fontsize=8)
    ax2.scatter(r.sigma * r.s_inf_norm, r[col] / r[pred], s=12, c=r.lam, cmap="viridis")
    ax2.axhline(1, color="k", ls="--", lw=1)
    ax2.set(xscale="log", yscale="log", xlabel=r"$\sigma|S_\infty|$", ylabel="measured / predicted",
            title="Where the asymptotic prediction holds")
    return fig
