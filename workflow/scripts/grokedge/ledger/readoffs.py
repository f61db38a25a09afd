"""Values read off the published figures of Beck, Levi & Bar Sinai (ICML 2025) and Davies (2022), in one place.

Every number here was read from a plotted curve or a caption of the published figures, so it carries the
precision of a read-off: about a factor 2 on a logarithmic axis that spans many decades, about +-0.03 on a linear
accuracy axis. The claims ledger (``grokedge.ledger``) compares the run's tables with them, and
``mark_paper_values`` draws them on the project's figures as reference marks.

Columns of ``PAPER_VALUES``:

* ``figure``   key such as ``"1 right bottom"`` or ``"blog"``;
* ``quantity`` what the value is (the y quantity of the panel, e.g. ``"delay90"``, ``"gen_acc"``);
* ``x_name``, ``x`` the abscissa of the point on the panel (``lam``, ``one_minus_2lam``, ``epoch``), NaN when
  the value is not tied to one abscissa;
* ``value``    the read-off value;
* ``selection`` a dict of the panel's parameters that single out the curve (e.g. ``{"lam": 0.48}``);
* ``note``     where on the figure it comes from.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

NAN = math.nan

#: (figure, quantity, x_name, x, value, selection, note)
_ROWS = [
    # Fig. 1 left: N = 4e4, sigma = 5, eta = 0.01, 3 lambdas
    ("1 left", "train_acc_1_epoch", "lam", 0.48, 1.0e3, {"lam": 0.48}, "train accuracy reaches 1 at ~1e3 epochs"),
    ("1 left", "gen_acc", "epoch", 5.0e5, 0.95, {"lam": 0.48}, "gen accuracy ~0.95 at the end (~5e5 epochs)"),
    ("1 left", "sigma_s_norm", "epoch", 5.0e5, 4.5, {"lam": 0.48}, "sigma|S| levels off near 4.5"),
    ("1 left", "b", "epoch", 5.0e5, -7.5, {"lam": 0.48}, "b near -7.5 at the end"),
    ("1 left", "gen_acc", "epoch", 5.0e5, 0.73, {"lam": 0.52}, "gen accuracy ~0.73 at the end"),
    ("1 left", "gen_loss_peak_epoch", "lam", 0.48, 3.0e2, {"lam": 0.48}, "gen-loss bump between 1e2 and 1e3"),
    # Fig. 1 right, top: |S_inf| at N = 2400, sigma = 1
    ("1 right top", "s_inf_norm", "one_minus_2lam", 0.22, 2.5, {"sigma": 1.0}, "left end of the curve"),
    ("1 right top", "s_inf_norm", "one_minus_2lam", 7.0e-3, 33.0, {"sigma": 1.0}, "right end, next to 1/2"),
    # Fig. 1 right, middle: final gen accuracy, N = 400, 100 realisations
    ("1 right middle", "final_gen_acc", "lam", 0.45, 1.0, {}, "~1 up to lambda ~0.45"),
    ("1 right middle", "final_gen_acc", "lam", 0.9, 0.55, {}, "~0.55 at lambda = 0.9"),
    # Fig. 1 right, bottom: delay between train and gen accuracy passing 0.9
    ("1 right bottom", "delay90", "lam", 0.05, 3.0, {}, "~3 epochs at lambda = 0.05"),
    ("1 right bottom", "delay90", "lam", 0.5, 3.0e5, {}, "peak ~3e5 epochs near (just above) 1/2"),
    # Fig. 2 middle: exponential loss at lambda = 0.48
    ("2 middle", "s_norm", "epoch", 3.0e4, 0.88, {"lam": 0.48}, "|S| from 0.1 to ~0.88 by t ~ 3e4"),
    # Fig. 2 right: paths in the (sigma|S|, b) plane
    ("2 right", "sigma_s_norm", "lam", 0.48, 4.5, {"lam": 0.48}, "path runs out to sigma|S| ~ 4.5"),
    ("2 right", "sigma_s_norm", "lam", 0.52, 11.0, {"lam": 0.52}, "path bends at sigma|S| ~ 11"),
    ("2 right", "b", "lam", 0.52, -7.0, {"lam": 0.52}, "path bends at b ~ -7"),
    # Fig. 3 right: toy grokking time (A_gen reaching 0.95) over sigma in [8, 16], 1 - 2 lambda in [1e-6, 1e-2]
    ("3 right", "gen95_epoch_max", "one_minus_2lam", NAN, 1.0e8, {},
     "colour scale x1e8 with contours 1e7 ... 9e7: the largest time lies above 9e7 and near 1e8"),
    # Fig. 4: two-Gaussian model, lambda = 0.4, eta = 0.1, ~5e3 epochs
    ("4", "gen_loss_peak_epoch", "epoch", NAN, 5.0e2, {}, "test-loss bump near 5e2 epochs"),
    ("4", "gen_acc", "epoch", 5.0e3, 0.8, {}, "test accuracy ~0.8 at the end (~5e3 epochs)"),
    # Fig. 5: Adam (0.8, 0.9), lambda = 0.495, N = 4000, sigma = 1
    ("5", "gen_loss_peak", "epoch", 7.0e2, 4.5, {}, "test-loss spike ~4.5 near 7e2 epochs"),
    ("5", "gen_acc_leaves_chance_epoch", "epoch", NAN, 1.0e3, {}, "test accuracy ~0.5 until ~1e3 epochs"),
    ("5", "gen95_epoch", "epoch", NAN, 1.0e4, {}, "test accuracy 1 by ~1e4 epochs"),
    ("5", "s_norm_max", "epoch", NAN, 8.0, {}, "|S| overshoots to ~8"),
    ("5", "s_norm_final", "epoch", NAN, 6.5, {}, "|S| settles near 6.5"),
    # Fig. 6: from the Fig. 1 right-top runs
    ("6", "s_inf_positive_fraction", "one_minus_2lam", NAN, 0.15, {}, "tends to ~0.15 as lambda -> 1/2"),
    ("6", "kept_fraction", "one_minus_2lam", 1 - 2 * 1191 / 2400, 0.83, {"N": 2400, "d": 1191},
     "plotted kept fraction at d = 1191 (Wendel gives 0.64)"),
    # Fig. 8 right: (t*_gen - t*_tr) eps, sigma = 20, eps = 1e-50
    ("8 right", "delay_times_eps", "one_minus_2lam", 1.0e-4, 1.0e20, {"sigma": 20.0}, "left end"),
    ("8 right", "delay_times_eps", "one_minus_2lam", 1.0e-1, 1.0e4, {"sigma": 20.0}, "right end"),
    # Fig. 9 right: sqrt(log(t*_gen/t*_tr)) against log(1 - 2 lambda)
    ("9 right", "sqrt_log_ratio", "one_minus_2lam", math.exp(-6.9), 4.9, {}, "left end, log(1-2lambda) = -6.9"),
    ("9 right", "sqrt_log_ratio", "one_minus_2lam", math.exp(-4.6), 3.3, {}, "right end, log(1-2lambda) = -4.6"),
    ("9 right", "slope", "one_minus_2lam", NAN, -1 / math.sqrt(2), {}, "fitted slope, magnitude ~1/sqrt 2"),
    # Fig. 13: b0 = -1 at lambda = 0.48
    ("13", "gen_acc", "epoch", 0.0, 0.97, {"b0": -1.0}, "test accuracy starts ~0.97"),
    ("13", "gen_acc", "epoch", 3.0e2, 0.77, {"b0": -1.0}, "dips to ~0.77 near 3e2 epochs, then recovers"),
    # Fig. 15: other input laws at lambda = 0.45, d = 180, N = 400
    ("15", "gen_loss_peak", "epoch", 3.0e2, 1.2, {}, "test-loss peaks ~1.0-1.4 near 1e2-1e3 epochs"),
    # Davies (2022)
    ("blog", "train_acc_1_epoch", "epoch", NAN, 3.0e3, {"variant": "full"}, "train accuracy 1 after ~3e3 epochs"),
    ("blog", "test_leaves_chance_epoch", "epoch", NAN, 1.0e4, {"variant": "full"},
     "test accuracy near chance until ~1e4"),
    ("blog", "test_solved_epoch", "epoch", NAN, 2.0e5, {"variant": "full"}, "test accuracy 1 near 2e5 epochs"),
    ("blog", "test_leaves_chance_epoch", "epoch", NAN, 1.5e5, {"variant": "no_central"},
     "without the central test points: chance until ~1.5e5, then a jump"),
]

PAPER_VALUES = pd.DataFrame(_ROWS, columns=["figure", "quantity", "x_name", "x", "value", "selection", "note"])


def paper_values(figure: str, quantity: str | None = None, **selection) -> pd.DataFrame:
    """The read-off rows of one figure, optionally of one quantity, whose ``selection`` agrees with every
    keyword given (a row that does not mention a keyword matches it)."""
    df = PAPER_VALUES[PAPER_VALUES.figure == figure]
    if df.empty:
        raise KeyError(f"no read-off values for figure {figure!r}; have {sorted(PAPER_VALUES.figure.unique())}")
    if quantity is not None:
        df = df[df.quantity == quantity]
    def matches(row, k, v) -> bool:
        sel = row.selection
        if k in sel:
            return math.isclose(float(sel[k]), float(v)) if isinstance(v, (int, float)) else sel[k] == v
        if k == row.x_name:  # the keyword names the panel's abscissa: match the point's x
            return isinstance(v, (int, float)) and math.isclose(float(row.x), float(v))
        return True

    keep = [all(matches(row, k, v) for k, v in selection.items()) for row in df.itertuples()]
    return df[keep]


def paper_value(figure: str, quantity: str, **selection) -> float:
    """The single read-off value of (figure, quantity, selection); KeyError if there is not exactly one."""
    df = paper_values(figure, quantity, **selection)
    if len(df) != 1:
        raise KeyError(f"figure {figure!r}, {quantity!r}, {selection}: {len(df)} read-off values, expected one")
    return float(df.value.iloc[0])


def mark_paper_values(ax, figure: str, quantity: str | None = None, x_transform=None, label: bool = True,
                      **selection) -> list:
    """Draw the read-off values of ``figure`` (and ``quantity``/``selection``) on ``ax`` as grey open diamonds
    at (x, value), labelled "paper (read off)" once. ``x_transform`` maps the stored x to the panel's abscissa
    (e.g. ``lambda lam: 1 - 2 * lam`` for a panel against 1 - 2 lambda); points it sends to a non-finite or,
    on a log axis, non-positive abscissa are skipped. Rows without an abscissa whose value is itself an epoch
    (quantity ``*_epoch``) are drawn as grey dotted vertical lines at that epoch. Returns the artists drawn."""
    df = paper_values(figure, quantity, **selection)
    artists = []
    pts = df[df.x.notna()]
    if len(pts):
        x = pts.x.to_numpy(dtype=float)
        x = np.asarray(x_transform(x) if x_transform is not None else x, dtype=float)
        y = pts.value.to_numpy(dtype=float)
        ok = np.isfinite(x) & ((x > 0) | (ax.get_xscale() != "log"))
        if ok.any():
            artists += ax.plot(x[ok], y[ok], linestyle="none", marker="D", markersize=7, markerfacecolor="none",
                               markeredgecolor="0.45", markeredgewidth=1.4, zorder=5,
                               label="paper (read off)" if label else "_nolegend_")
    for i, row in enumerate(df[df.x.isna() & df.quantity.str.endswith("_epoch")].itertuples()):
        artists.append(ax.axvline(row.value, color="0.45", linestyle=":", linewidth=1.2, zorder=1,
                                  label="paper (read off)" if label and not artists and i == 0 else "_nolegend_"))
    return artists
