"""Figures of Davies' (2022) linear-model toy grokking, from the ``blog_points`` and ``blog_curves`` tables.

Registry signature (grokedge.registry): ``f(points, curves, spec)`` with ``spec = {"blog": <the blog config>}``.

data:   the training clusters and the near-boundary test band, with the max-margin (SVM) boundary and the
        learned boundary w.x = 0 at several epochs; right panel zooms on the test band.
curves: train/test accuracy and summed exponential loss vs epochs (log x), both test variants.
angle:  angle between w and the max-margin direction w* vs epochs (log-log), with the two angles at which
        the test accuracy must change: below atan(band_max / central_cut) the reduced test set can leave
        chance; below atan(band_min / half_length) every test point is classified correctly.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Polygon

from . import blog
from .ledger.readoffs import paper_values

VARIANT_LABEL = {"full": "test (all near-boundary points)", "no_central": "test (central points removed)"}
VARIANT_COLOR = {"full": "C2", "no_central": "C1"}
CLASS_COLOR = {1: "C0", -1: "C3"}


def boundary(ax, w, half, **kw):
    """Draw the line w.x = 0 through the origin, |x| <= half."""
    t = np.array([-w[1], w[0]]) / np.linalg.norm(w)
    return ax.plot([-half * t[0], half * t[0]], [-half * t[1], half * t[1]], **kw)


def snapshot_epochs(curves, summ):
    """Checkpoints for the learned boundaries: decades from 10^2, the train-fit epoch and the horizon."""
    ep = curves.loc[curves.variant == "full", "epoch"].to_numpy()
    wanted = [10.0**k for k in range(2, int(np.log10(ep[-1])) + 1)] + [ep[-1]]
    fit = summ.loc[summ.variant == "full", "train_acc_1"].iloc[0]
    if np.isfinite(fit):
        wanted.append(fit)
    return sorted({int(ep[np.argmin(np.abs(np.log(ep[1:]) - np.log(e))) + 1]) for e in wanted})


def _svm(points: pd.DataFrame) -> np.ndarray:
    tr = points[(points.split == "train") & (points.variant == "full")]
    return blog.svm_direction(tr[["x0", "x1"]].to_numpy(), tr.y.to_numpy().astype(float))


def blog_data_figure(points: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """The training clusters, the test band, the max-margin boundary and learned boundaries at a few epochs."""
    test_cfg, w_star, summ = spec["blog"]["test"], _svm(points), blog.summary(curves)
    tr = points[(points.split == "train") & (points.variant == "full")]
    te = points[(points.split == "test") & (points.variant == "full")]
    n = w_star / np.linalg.norm(w_star)
    t = np.array([-n[1], n[0]])
    central = np.abs(te[["x0", "x1"]].to_numpy() @ t) < float(test_cfg["central_cut"])  # dropped in the variant
    S, bmax = float(test_cfg["half_length"]), float(test_cfg["band_max"])
    full = curves[curves.variant == "full"].set_index("epoch")
    snaps = snapshot_epochs(curves, summ)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.6), gridspec_kw={"width_ratios": [1.25, 1]})
    for k, ax in enumerate(axes):
        half = 1.5 * np.abs(tr[["x0", "x1"]].to_numpy()).max() if k == 0 else 3 * S
        lines = _draw_boundaries(ax, full, snaps, w_star, half)
        if k == 0:
            fig.legend(handles=lines, loc="lower center", ncol=3, fontsize="small", bbox_to_anchor=(0.5, -0.13))
            _draw_training_panel(ax, tr, w_star, half, S, bmax, skip=len(lines))
        else:
            _draw_test_band_panel(ax, te, central, S, bmax, skip=len(lines))
        ax.set_xlabel("$x_0$")
        ax.set_ylabel("$x_1$")
    fig.suptitle("Toy grokking with a linear model (Davies 2022): GD on $\\sum_n e^{-y_n w\\cdot x_n}$ "
                 "turns the boundary towards the max-margin one only logarithmically slowly")
    return fig


def _draw_boundaries(ax, full: pd.DataFrame, snaps: list[int], w_star: np.ndarray, half: float) -> list:
    """Draws the learned boundary w.x = 0 at each epoch of ``snaps`` (viridis, early to late; ``full``: the
    full variant's curves indexed by epoch) and the max-margin one dashed; returns their lines."""
    cmap = plt.get_cmap("viridis")
    lines = []
    for j, e in enumerate(snaps):
        row = full.loc[e]
        lines += boundary(ax, np.array([row.w0, row.w1]), half, color=cmap(j / max(1, len(snaps) - 1)), lw=1.3,
                          label=f"w.x = 0 at epoch {e:,}: θ = {np.degrees(row.angle):.1f}°, "
                                f"train acc {row.train_acc:.2f}, test acc {row.test_acc:.2f}")
    return lines + boundary(ax, w_star, half, color="k", lw=1.8, ls="--", label="max-margin boundary w*.x = 0")


def _draw_training_panel(ax, tr: pd.DataFrame, w_star: np.ndarray, half: float, S: float, bmax: float,
                         skip: int) -> None:
    """Draws the training clusters, the margin lines w*.x = +-1 and the test band (half-length S along the
    boundary, half-width bmax across it), framed on the clusters, with a legend of what it drew (the first
    ``skip`` entries, the boundaries, are in the figure's legend)."""
    n = w_star / np.linalg.norm(w_star)
    t = np.array([-n[1], n[0]])
    box = np.array([s * S * t + d * bmax * n for s, d in ((-1, -1), (1, -1), (1, 1), (-1, 1))])
    for lab in (1, -1):
        d = tr[tr.y == lab]
        ax.scatter(d.x0, d.x1, s=14, color=CLASS_COLOR[lab], label=f"train, y = {lab:+d}", zorder=3)
    for m in (1, -1):  # margin lines w*.x = +-1
        off = m * n / np.linalg.norm(w_star)
        ax.plot(off[0] + np.array([-half, half]) * t[0], off[1] + np.array([-half, half]) * t[1],
                color="k", lw=0.6, ls=":", label="margin lines w*.x = ±1" if m == 1 else None)
    ax.add_patch(Polygon(box, closed=True, facecolor="0.6", alpha=0.45, edgecolor="0.3", label="test band", zorder=2))
    lim = np.abs(tr[["x0", "x1"]].to_numpy()).max(axis=0) * 1.08
    ax.set_xlim(-lim[0], lim[0])
    ax.set_ylim(-lim[1], lim[1])
    ax.set_title("training clusters, test band (grey) and decision boundaries")
    ax.legend(handles=ax.get_legend_handles_labels()[0][skip:], loc="upper left", fontsize="small", framealpha=0.9)


def _draw_test_band_panel(ax, te: pd.DataFrame, central: np.ndarray, S: float, bmax: float, skip: int) -> None:
    """Draws the test points (open: the central ones, dropped in the reduced set), framed on the test band of
    half-length S and half-width bmax, with a legend of the points (the first ``skip`` entries are left out)."""
    for lab in (1, -1):
        d = te[(te.y == lab) & ~central]
        ax.scatter(d.x0, d.x1, s=10, color=CLASS_COLOR[lab], label=f"test, y = {lab:+d}", zorder=3)
        d = te[(te.y == lab) & central]
        ax.scatter(d.x0, d.x1, s=10, facecolors="none", edgecolors=CLASS_COLOR[lab], lw=0.7, zorder=3,
                   label=f"test, y = {lab:+d}, central (dropped in the reduced set)")
    ax.set_xlim(-1.15 * S, 1.15 * S)
    ax.set_ylim(-4 * bmax, 4 * bmax)
    ax.set_title("zoom on the test band")
    ax.legend(handles=ax.get_legend_handles_labels()[0][skip:], loc="lower left", fontsize="x-small",
              framealpha=0.9)


def blog_curves_figure(points: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """Train and test accuracy and loss against epochs, both test variants; dotted lines mark the epoch train
    accuracy reaches 1 and each variant's test accuracy stays >= 0.95."""
    summ = blog.summary(curves)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.0), layout="constrained")
    c = curves[curves.epoch > 0]
    tr = c[c.variant == "full"]
    fit = summ.loc[summ.variant == "full", "train_acc_1"].iloc[0]
    ax = axes[0]
    ax.plot(tr.epoch, tr.train_acc, color="k", lw=1.6, label="train")
    for v, g in c.groupby("variant", sort=False):
        ax.plot(g.epoch, g.test_acc, color=VARIANT_COLOR[v], lw=1.6, label=VARIANT_LABEL[v])
        solved = summ.loc[summ.variant == v, "test_solved"].iloc[0]
        if np.isfinite(solved):
            ax.axvline(solved, color=VARIANT_COLOR[v], lw=0.8, ls=":")
    if np.isfinite(fit):
        ax.axvline(fit, color="k", lw=0.8, ls=":", label="train acc = 1 / test acc ≥ 0.95 (dotted)")
    ax.axhline(0.5, color="0.5", lw=0.8, ls="--", label="chance")
    _mark_blog_epochs(ax)
    ax.set_xscale("log")
    ax.set_ylim(0.4, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title("accuracy")
    ax.legend(loc="center left", fontsize="small")
    ax = axes[1]
    ax.plot(tr.epoch, tr.train_loss, color="k", lw=1.6, label="train")
    for v, g in c.groupby("variant", sort=False):
        ax.plot(g.epoch, g.test_loss, color=VARIANT_COLOR[v], lw=1.6, label=VARIANT_LABEL[v])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("summed exponential loss $\\sum_n e^{-y_n w\\cdot x_n}$")
    ax.set_title("loss (summed over each set)")
    ax.legend(loc="lower left", fontsize="small")
    fig.suptitle(f"Linear-model toy grokking\n{_timeline(summ)}", fontsize="medium")
    return fig


#: accuracy level at which each of Davies' read-off epochs is drawn (grokedge.paper_values, figure "blog")
BLOG_MARK_LEVEL = {"train_acc_1_epoch": 1.0, "test_solved_epoch": 1.0, "test_leaves_chance_epoch": 0.5}


def _mark_blog_epochs(ax) -> None:
    """Davies' read-off epochs as grey open diamonds on the accuracy panel: train accuracy 1 and test accuracy
    solved at accuracy 1, test accuracy leaving chance at 0.5 (both test variants)."""
    rows = paper_values("blog")
    rows = rows[rows.quantity.isin(BLOG_MARK_LEVEL)]
    ax.plot(rows.value, rows.quantity.map(BLOG_MARK_LEVEL), ls="none", marker="D", ms=7, mfc="none", mec="0.45",
            mew=1.4, zorder=5, label="Davies (2022), read off")


def _epoch(e: float) -> str:
    return f"{e:.2g}" if np.isfinite(e) else "never (within the horizon)"


def _timeline(summ: pd.DataFrame) -> str:
    """What the curves show, read off the summary: train accuracy 1 at ..., test accuracy >= 0.95 at ..."""
    s = summ.set_index("variant")
    parts = [f"train accuracy 1 from epoch {_epoch(s.loc['full', 'train_acc_1'])}"]
    which = {"full": "all points", "no_central": "central removed"}
    parts += [f"test ≥ 0.95 from {_epoch(s.loc[v, 'test_solved'])} ({which.get(v, v)})" for v in s.index]
    return "; ".join(parts)


def blog_angle_figure(points: pd.DataFrame, curves: pd.DataFrame, spec: dict):
    """The angle between w and the max-margin direction against epochs, with the two critical angles."""
    test_cfg = spec["blog"]["test"]
    c = curves[(curves.variant == "full") & (curves.epoch > 0)]
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    ax.plot(c.epoch, c.angle, color="C4", lw=1.8, label="angle(w, w*)")
    a_nc = np.arctan(float(test_cfg["band_max"]) / float(test_cfg["central_cut"]))
    a_all = np.arctan(float(test_cfg["band_min"]) / float(test_cfg["half_length"]))
    ax.axhline(a_nc, color="C1", lw=0.9, ls="--",
               label="atan(band_max / central_cut): reduced test set can leave chance below")
    ax.axhline(a_all, color="C2", lw=0.9, ls="--",
               label="atan(band_min / half_length): every test point correct below")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("angle between w and max-margin direction (rad)")
    ax.set_title("w/|w| creeps towards the max-margin direction (Soudry et al.: angle = O(1/log t))",
                 fontsize="medium")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize="small")
    return fig
