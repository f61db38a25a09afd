"""Figures of the model options (paper Figs. 2 middle, 3 left, 10-16) and the computations behind two of them.

Figure functions follow the project's contract ``f(runs, curves, spec) -> Figure`` (runs and curves already
filtered to the figure's experiments). ``curves_by_axis_figure`` serves Figs. 10-16: training curves with one
model option varied. ``conformal_time_figure`` (Fig. 2 middle) and ``toy_svm_geometry_figure`` (Fig. 3 left)
compute what they draw from ``spec`` (small, deterministic runs), since no pipeline table holds it.

Conformal time (exponential loss). L(S, b) = e^b L0(S) with L0(S) = (1/N) sum_i exp(S.x_i), so the gradient
flow dS/dt = -e^b grad L0(S), db/dt = -e^b L0(S) becomes, in tau = int_0^t e^{b(t')} dt', dS/dtau = -grad L0(S):
the bias-free flow. |S| of the run with a bias, drawn against tau, is |S| of the bias-free run against t,
exactly (``conformal_time_comparison``; tests/test_options.py checks it to the integration tolerance).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.integrate import cumulative_simpson

from . import data, separability, toy, train
from .figures import _tidy_log
from .ledger.readoffs import mark_paper_values
from .seeds import realisation_seed

AXIS_LABELS = {"sigma": r"$\sigma$", "s0_norm": r"$|S_0|$", "b0": r"$b_0$", "label_fraction": r"$r$",
               "input_law": "input law", "loss": "loss", "lam": r"$\lambda$", "lr": r"$\eta$", "solver": "solver",
               "experiment": "experiment"}


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float | int | np.floating | np.integer) else str(v)


# ------------------------------------------------------------------------------------------ Figs. 10 - 16
def curves_by_axis_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Training curves with one option varied. Columns: the lambda values of ``curves`` (or ``spec["lams"]``);
    rows: losses (log y), accuracies, sigma|S| (log y) and b, against epochs (log x). Colour = the value of
    ``spec["axis"]`` (a curves column: sigma, s0_norm, b0, label_fraction, input_law, ...; None: one colour per
    experiment). Median over realisations; training dashed, generalisation solid (closed form, or the sampled
    test set where the law has none), sampled test set dotted. spec: axis, lams, title, note (a line below the
    title saying what differs from the paper), coordinate_sd ({input law: sqrt(tr C / d)}: the weight-scale row
    then draws that times |S|, sigma |S| for the isotropic law, comparable across laws)."""
    axis = spec.get("axis") or "experiment"
    cur = curves[curves.epoch > 0]
    lams = spec.get("lams") or sorted(cur.lam.unique())
    lams = [min(cur.lam.unique(), key=lambda v, t=t: abs(v - t)) for t in lams]
    values = sorted(cur[axis].unique(), key=lambda v: (isinstance(v, str), v))
    cols = [c for c in ("train_loss", "gen_loss", "test_loss", "train_acc", "gen_acc", "test_acc",
                        "s_norm", "sigma_s_norm", "b") if c in cur]
    coordinate_sd = spec.get("coordinate_sd")
    med = cur.groupby(["lam", axis, "epoch"])[cols].median().reset_index()
    if len(lams) == 1:  # one lambda: a 2 x 2 grid, seen as one column of four panels
        fig, grid = plt.subplots(2, 2, figsize=(9.5, 6.6), sharex=True)
        axes = grid.reshape(4, 1)
    else:
        fig, axes = plt.subplots(4, len(lams), figsize=(3.6 * len(lams) + 0.8, 10), squeeze=False, sharex=True)
    for j, lam in enumerate(lams):
        for i, v in enumerate(values):
            g = med[(med.lam == lam) & (med[axis] == v)]
            if not g.empty:
                label = spec.get("labels", {}).get(v, f"{AXIS_LABELS.get(axis, axis)} = {_fmt(v)}")
                _draw_option_curves(axes[:, j], g, f"C{i}", label, coordinate_sd[v] if coordinate_sd else None)
        _style_option_column(axes[:, j], rf"$\lambda$ = {lam:.3g}" if len(lams) > 1 else None)
    scale_label = r"$\sqrt{\mathrm{tr}\,C/d}\;|S|$" if coordinate_sd else r"$\sigma|S|$"
    for row, name in enumerate(("loss", "accuracy", scale_label, "$b$")):
        axes[row, 0].set_ylabel(name)
    for ax in axes[2]:
        _tidy_log(ax, "y")  # sigma|S| spans little more than a decade in some columns: no crowded minor labels
    _option_legend(fig, axes, cur, spec.get("paper", []))
    fig.suptitle(_option_title(cur, axis, lams, spec), fontsize=10)
    fig.tight_layout()
    return fig


def _draw_option_curves(col, g: pd.DataFrame, colour: str, label: str, coordinate_sd: float | None) -> None:
    """Draws one option value's median curves in one column of four panels (``col``): losses and accuracies
    (train dashed, gen solid, sampled test set dotted where it exists), the weight scale (sigma|S|, or
    coordinate_sd |S| when given) and b."""
    for row, key in ((0, "loss"), (1, "acc")):
        ax = col[row]
        ax.plot(g.epoch, g[f"train_{key}"], ls="--", color=colour, lw=1.2)
        ax.plot(g.epoch, g[f"gen_{key}"], color=colour, lw=1.6, label=label)
        if f"test_{key}" in g and g[f"test_{key}"].notna().any():
            ax.plot(g.epoch, g[f"test_{key}"], ls=":", color=colour, lw=2.2)
    scale = g.sigma_s_norm if coordinate_sd is None else g.s_norm * coordinate_sd
    col[2].plot(g.epoch, scale, color=colour, label=label)
    col[3].plot(g.epoch, g.b, color=colour, label=label)


def _style_option_column(col, title: str | None) -> None:
    """The axes of one column of four panels: log epochs, log losses and weight scale, accuracies in [0, 1],
    the lambda as title (None: one lambda, whose 2 x 2 grid labels the epochs of both bottom panels)."""
    if title is not None:
        col[0].set_title(title)
    col[0].set_yscale("log")
    col[2].set_yscale("log")
    col[1].set_ylim(-0.02, 1.02)
    for row in (2, 3) if title is None else (3,):  # the bottom panels
        col[row].set_xlabel("epoch")
    for ax in col:
        ax.set_xscale("log")


def _option_legend(fig, axes, cur: pd.DataFrame, marks: list[dict]) -> None:
    """Draws the paper's read-off values (``marks``: figure, quantity, panel row; epoch 0 drawn at the first
    epoch shown) in every column, and one legend right of the panels: colours, then line styles."""
    paper = []
    rows = {"loss": 0, "acc": 1, "sigma_s_norm": 2, "b": 3}
    first = float(cur.epoch.min())
    for mark in marks:
        for j in range(axes.shape[1]):
            paper += mark_paper_values(axes[rows[mark["panel"]], j], mark["figure"], mark["quantity"],
                                       x_transform=lambda x: np.maximum(x, first), label=False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if paper:
        handles, labels = handles + paper[:1], labels + ["paper (read off)"]
    has_test = "test_loss" in cur and cur.test_loss.notna().any()
    kinds = [("--", 1.2, "train"), ("-", 1.6, "gen"), (":", 2.2, "test set")][:3 if has_test else 2]
    style = [plt.Line2D([], [], color="k", ls=ls, lw=lw) for ls, lw, _ in kinds]
    fig.legend(handles + style, labels + [k[2] for k in kinds], loc="center left",
               bbox_to_anchor=(1.0, 0.5), fontsize=9, frameon=False)


def _option_title(cur: pd.DataFrame, axis: str, lams: list, spec: dict) -> str:
    """The figure's title: spec's title, then N, the lambda (if one), how many realisations, spec's note and
    the weight scale of each input law (when spec has coordinate_sd)."""
    n_real = int(cur.groupby(["lam", axis]).realisation.nunique().min())
    title = spec.get("title", f"Training curves by {AXIS_LABELS.get(axis, axis)}")
    sub = (f"N = {'/'.join(_fmt(v) for v in sorted(cur.N.unique()))}"
           + (rf", $\lambda$ = {lams[0]:.3g}" if len(lams) == 1 else "")
           + (", one realisation" if n_real == 1 else f", median of {n_real} realisations"))
    if spec.get("note"):
        sub += "\n" + spec["note"]
    if spec.get("coordinate_sd"):
        sub += "; weight scale: rms std of a coordinate times |S| (" + ", ".join(
            f"{k} {v:.3g}" for k, v in sorted(spec["coordinate_sd"].items())) + ")"
    return f"{title}\n{sub}"


# ------------------------------------------------------------------------------------------ Fig. 2 middle
def conformal_time_comparison(lam: float, N: int = 400, sigma: float = 5.0, lr: float = 0.01,
                              horizon: float = 3e4, points_per_decade: int = 100, s0_norm: float = 0.1,
                              root_seed: int = 0, realisation: int = 0, rtol: float = 1e-10,
                              atol: float = 1e-12) -> pd.DataFrame:
    """Two gradient flows (no GD steps, no modified-equation term) of the exponential loss on one Gaussian
    realisation: with a bias (b0 = 0) and without (bias feature c = 0, so b stays 0 and L = L0(S)).

    Returns one row per checkpoint epoch t: s_norm and b of the biased run, tau = int_0^t e^b dt' (in epochs;
    Simpson's rule on the dense log-spaced checkpoints), s_norm_free (the bias-free run at epoch t) and
    s_norm_free_at_tau (the bias-free run at epoch tau), which equals s_norm up to the integration error.
    """
    d = round(lam * N)
    seed = realisation_seed(root_seed, "gaussian", N, d, realisation)
    real = data.realisation(N, d, sigma, seed, s0_norm)
    top = np.log10(horizon)
    epochs = np.unique(np.concatenate([np.linspace(0.0, 1.0, 21),
                                       10.0 ** np.linspace(0.0, top, int(top * points_per_decade) + 1)]))
    X, S0 = real.X[None], real.S0[None]
    plain = train.FlowOptions(correction_epochs=0.0, rtol=rtol, atol=atol)
    biased = train.gradient_flow(train.Problem(X, S0, loss="exponential"), train.Schedule(lr, epochs), plain)
    b = biased.b[0]
    tau = cumulative_simpson(np.exp(b), x=epochs, initial=0.0)
    no_bias = train.Problem(X, S0, c=np.zeros((1, N)), loss="exponential")
    free = train.gradient_flow(no_bias, train.Schedule(lr, epochs), plain)
    free_tau = train.gradient_flow(no_bias, train.Schedule(lr, np.unique(tau)), plain)
    at_tau = np.interp(tau, np.unique(tau), np.linalg.norm(free_tau.S[0], axis=-1))
    return pd.DataFrame({"lam": d / N, "N": N, "d": d, "sigma": sigma, "lr": lr, "epoch": epochs,
                         "s_norm": np.linalg.norm(biased.S[0], axis=-1), "b": b, "tau": tau,
                         "s_norm_free": np.linalg.norm(free.S[0], axis=-1), "s_norm_free_at_tau": at_tau})


def log_time_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """d|S|/dlog t and db/dlog t of a ``conformal_time_comparison`` frame (central differences in log t)."""
    f = frame[frame.epoch >= 1.0]
    lt = np.log(f.epoch.to_numpy())
    return pd.DataFrame({"epoch": f.epoch.to_numpy(), "ds_dlogt": np.gradient(f.s_norm.to_numpy(), lt),
                         "db_dlogt": np.gradient(f.b.to_numpy(), lt)})


def conformal_time_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 2 middle. |S| of the exponential-loss flow with a bias against conformal time tau, and of the
    bias-free flow against t: one curve (the bias factors out of the S equation). Inset: d|S|/dlog t and
    db/dlog t of the biased run at ``inset_lam`` (separable side), tending to constants. Computed here from
    spec: lam (0.48), inset_lam (0.55), N (400), sigma (5), lr (0.01), horizon (3e4), inset_horizon (1e6),
    root_seed; ``runs`` and ``curves`` are not used."""
    kw = {k: spec[k] for k in ("N", "sigma", "lr", "root_seed") if k in spec}
    main = conformal_time_comparison(spec.get("lam", 0.48), horizon=spec.get("horizon", 3e4), **kw)
    inset = log_time_rates(conformal_time_comparison(spec.get("inset_lam", 0.55), points_per_decade=20,
                                                     horizon=spec.get("inset_horizon", 1e6), **kw))
    m = main[main.epoch > 0]
    fig, ax = plt.subplots(figsize=(6.2, 4.4))
    ax.plot(m.epoch, m.s_norm_free, lw=4, color="C0", alpha=0.45, label="no bias, against $t$")
    ax.plot(m.tau, m.s_norm, lw=1.4, color="C3", ls="--", label=r"with bias, against $\tau=\int e^{b}dt$")
    ax.plot(m.epoch, m.s_norm, lw=1.0, color="0.4", ls=":", label="with bias, against $t$")
    ax.set(xscale="log", xlabel=r"$t$ or $\tau$ (epochs)", ylabel="$|S|$")
    gap = float(np.max(np.abs(m.s_norm - m.s_norm_free_at_tau) / m.s_norm))
    ax.set_title(rf"Exponential loss, $\lambda$ = {m.lam.iloc[0]:.3g}, N = {int(m.N.iloc[0])}, "
                 rf"$\sigma$ = {m.sigma.iloc[0]:g} (one realisation)" + f"\nmax relative gap {gap:.1e}",
                 fontsize=10)
    mark_paper_values(ax, "2 middle", "s_norm")  # the paper's N = 4e4 run: |S| ~ 0.88 by t ~ 3e4
    ax.legend(loc="lower right", fontsize=8)
    ins = ax.inset_axes([0.1, 0.5, 0.36, 0.36])
    ins.plot(inset.epoch, inset.ds_dlogt, color="C2", label=r"$d|S|/d\log t$")
    ins.plot(inset.epoch, inset.db_dlogt, color="C4", label=r"$db/d\log t$")
    ins.set_xscale("log")
    ins.set_title(rf"$\lambda$ = {spec.get('inset_lam', 0.55):g}", fontsize=8)
    ins.tick_params(labelsize=7)
    ins.legend(fontsize=6, loc="center right")
    return fig


# ------------------------------------------------------------------------------------------ Fig. 3 left
def toy_extended_max_margin(lam: float, sigma: float = 1.0) -> tuple[np.ndarray, float]:
    """The toy model in the extended (S, b) plane: data vectors u_i = (x_i, 1) (``toy.train_points``), and
    w* = argmin |w|^2 s.t. w.u_i <= -1 (``separability.max_margin`` on the u_i), returned with its margin
    1/|w*|. w* = (0, 0) when the origin is in the hull of the u_i (never for these points; see the figure)."""
    U = np.column_stack([toy.train_points(lam, sigma), np.ones(2)])
    mm = separability.max_margin(U)
    return mm.separator, mm.margin


def toy_svm_geometry_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Paper Fig. 3 left: the toy model's two points u_i = (x_i, 1) in the extended (S, b) plane, x_1 = -1,
    x_2 = 1 - 2 lambda, for spec["lams"] (0.75, 0.5, 0). GD's (S, b) grows along the max-margin direction w* of
    the u_i (the hard-margin SVM through the origin): for lambda > 1/2 it has S > 0 (the bias-free margin
    M = 2 lambda - 1 > 0: overfitting, b/S -> -1/M); for lambda <= 1/2 it is (0, -1) (S stays finite, b -> -inf:
    generalisation). The shaded cone holds the w with w.u_i < 0 for both points. ``runs``/``curves`` unused."""
    lams = spec.get("lams", [0.75, 0.5, 0.0])
    fig, axes = plt.subplots(1, len(lams), figsize=(3.8 * len(lams), 3.9), squeeze=False)
    for ax, lam in zip(axes[0], lams, strict=True):
        w, margin = toy_extended_max_margin(lam)
        U = np.column_stack([toy.train_points(lam, 1.0), np.ones(2)])
        g = np.linspace(-2.0, 2.0, 401)
        SS, BB = np.meshgrid(g, g)
        ok = np.all([SS * u[0] + BB * u[1] < 0 for u in U], axis=0)
        ax.contourf(SS, BB, ok, levels=[0.5, 1.5], colors=["C0"], alpha=0.12)
        for i, u in enumerate(U):
            ax.plot(*u, "o", color="C3", ms=7)
            ax.annotate(f"$u_{i + 1}$ = ({u[0]:g}, 1)", u, textcoords="offset points", fontsize=8,
                        xytext=(-20, 8) if i == 0 else (2, -14))
            ax.plot(g, -u[0] * g, color="C3", lw=0.6, alpha=0.5)  # w.u_i = 0 in the (S, b) plane
        direction = w / np.linalg.norm(w)
        ax.annotate("", 1.6 * direction, (0, 0), arrowprops={"arrowstyle": "->", "lw": 2, "color": "k"})
        M = 2 * lam - 1
        text = (f"$w^*$ ∝ ({direction[0]:.2f}, {direction[1]:.2f}): "
                + (f"$M$ = {M:g}, overfits ($b/S\\to-1/M$)" if M > 0 else "$S$ finite, $b\\to-\\infty$"))
        ax.axhline(0, color="0.5", lw=0.5)
        ax.axvline(0, color="0.5", lw=0.5)
        ax.set(xlim=(-2, 2), ylim=(-2, 2), aspect="equal", xlabel="$S$", ylabel="$b$",
               title=rf"$\lambda$ = {lam:g}, $x_2$ = {1 - 2 * lam:g}" + "\n" + text)
    fig.suptitle("Toy model: max-margin direction $w^*$ of $(S, b)$; shaded: $w\\cdot u_i<0$ for both points",
                 fontsize=10)
    fig.tight_layout()
    return fig
