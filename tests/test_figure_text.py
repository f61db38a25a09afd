"""What the figures and the README say about them (issue 21): each figure drawn from small synthetic tables, and
its text, limits and scales checked against the data it was given."""

import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import yaml

matplotlib.use("Agg")

from grokedge import figures, option_figures, registry, theory  # noqa: E402
from grokedge.config import validate_config  # noqa: E402
from grokedge.theory_figures import finite_size_convergence_figure  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _curves(experiment="e", realisations=1, lams=(0.05, 0.48), **cols):
    ep = np.array([0.0, 1.0, 10.0, 100.0, 1000.0])
    rows = []
    for lam in lams:
        for r in range(realisations):
            rows.append(pd.DataFrame({
                "experiment": experiment, "cell": f"c{lam}", "realisation": r, "epoch": ep, "N": 400, "d": 20,
                "lam": lam, "sigma": 5.0, "lr": 0.01, "input_law": "gaussian",
                "train_loss": np.exp(-ep / 10) * 0.69 + 1e-12, "gen_loss": 0.69 / (1 + ep / 100),
                "test_loss": 0.69 / (1 + ep / 100), "train_acc": 0.5 + ep / 2000, "gen_acc": 0.5 + ep / 2000,
                "test_acc": 0.5 + ep / 2000, "s_norm": 0.1 + ep / 1000, "sigma_s_norm": 0.5 + ep / 200,
                "b": -np.log1p(ep), **cols}))
    return pd.concat(rows, ignore_index=True)


def test_training_curves_of_one_realisation_say_so():
    """(was: 'median of 1 realisations')"""
    title = figures.training_curves_figure(pd.DataFrame(), _curves(), {})._suptitle.get_text()
    assert "one realisation per" in title and "median" not in title
    title = figures.training_curves_figure(pd.DataFrame(), _curves(realisations=3), {})._suptitle.get_text()
    assert "median of 3 realisations" in title


def test_adam_losses_stay_inside_the_axes():
    """(was: Adam's training loss ran out of the bottom of the loss panel, under the legend)"""
    ref = _curves("ref", 2, (0.495,), solver="flow")
    ref["epoch"] = ref.epoch**3  # GD to 1e9 epochs, Adam to 1e3 (as the laptop default: 1e9 and 1e5)
    c = pd.concat([_curves("adam", 2, (0.495,), solver="adam"), ref], ignore_index=True)
    fig = figures.adam_figure(pd.DataFrame(), c, {"labels": {"adam": "Adam", "ref": "GD"}})
    ax = fig.axes[1]
    med = c[c.epoch > 0].groupby(["experiment", "epoch"])[["train_loss", "gen_loss"]].median()
    assert ax.get_ylim()[0] < med.to_numpy().min() and med.to_numpy().max() < ax.get_ylim()[1]
    # no legend over the data: the end of Adam's training loss (the lowest point) is not under it
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    end = med.loc["adam"].iloc[-1]
    assert not box.contains(*ax.transData.transform((med.loc["adam"].index[-1], end["train_loss"])))


def test_finite_size_convergence_bars_inside_the_log_axes():
    """(was: error bars of deviations consistent with 0 ran off the bottom of the log axes; 7-pt legends)"""
    rng = np.random.default_rng(0)
    rows = []
    for N in (100, 200, 400, 800):
        for r in range(20):
            lim = theory.s_inf_large_n(0.3)
            rows.append({"lam": 0.3, "N": N, "realisation": r, "sigma": 1.0, "separable": False, "margin": np.nan,
                         "s_inf_norm": float(lim.sigma_s_norm) * (1 + 0.3 * rng.standard_normal()),
                         "s_inf_m": float(lim.m) * (1 + 0.1 * rng.standard_normal())})
    fig = finite_size_convergence_figure(pd.DataFrame(rows), pd.DataFrame(), {})
    for ax in fig.axes:
        lo, hi = ax.get_ylim()
        for coll in ax.collections:  # the error bars (LineCollections)
            for seg in coll.get_segments():
                assert lo <= seg[:, 1].min() and seg[:, 1].max() <= hi, (ax.get_title(), seg, lo, hi)
        legend = ax.get_legend()
        if legend:
            assert min(t.get_fontsize() for t in legend.get_texts()) >= 9


def test_input_laws_weight_scale_is_comparable_across_laws():
    """(was: sigma|S| of the power law started near 1 against ~0.5 for the others: its sigma is a mean variance)"""
    config = validate_config(yaml.safe_load((ROOT / "config.yaml").read_text()))
    spec = registry._input_laws(config)
    sd = spec["coordinate_sd"]
    assert sd["gaussian"] == 5.0 and abs(sd["powerlaw"] - np.sqrt(10.0)) < 1e-12  # eigenvalues sum to sigma d
    c = pd.concat([_curves(lams=(0.45,), input_law=law, sigma=s) for law, s in
                   (("gaussian", 5.0), ("powerlaw", 10.0), ("mixture", 5.0))])
    fig = option_figures.curves_by_axis_figure(pd.DataFrame(), c, spec)
    ax = fig.axes[2]
    assert "tr" in ax.get_ylabel()
    starts = {line.get_label(): line.get_ydata()[0] for line in ax.get_lines()}
    want = {f"input law = {law}": 0.101 * sd[law] for law in sd}  # |S| at epoch 1 times the coordinate sd
    for label, y in want.items():
        assert abs(starts[label] - y) < 1e-9, (label, starts[label], y)


def test_gallery_states_the_grokking_time_axis():
    """(was: the README said 'against 1 - 2 lambda' where the headline delay figure's axis is lambda; the gallery
    with every figure's description is docs/results.md)"""
    config = validate_config(yaml.safe_load((ROOT / "config.yaml").read_text()))
    kind = config["grokking"][config["headline_grokking"]]["kind"]
    row = next(line for line in (ROOT / "docs/results.md").read_text().splitlines() if "grokking_time.png" in line)
    axis = re.search(r"\) against (\S+)", row).group(1)
    assert axis == ("λ" if kind != "gen_accuracy" else "1")


def test_asymptotic_figure_without_a_comparable_run_says_so():
    """Every inseparable run censored (or no prediction): the figure says why it is empty instead of failing on
    log axes with no data; with one comparable run the note is absent."""
    runs = pd.DataFrame({"trained": True, "grok_gen95": [np.nan, 300.0], "grok_gen95_pred": [1e4, np.nan],
                         "grok_gen95_censored": [True, False], "sigma": 5.0, "s_inf_norm": [2.0, np.nan],
                         "lam": [0.4, 0.6]})
    spec = {"headline": "gen95", "definition": {"kind": "gen_accuracy", "threshold": 0.95}}
    texts = [t.get_text() for t in figures.asymptotic_figure(runs, pd.DataFrame(), spec).texts]
    assert any("no trained inseparable run" in t for t in texts)
    runs.loc[0, ["grok_gen95", "grok_gen95_censored"]] = [2e3, False]
    texts = [t.get_text() for t in figures.asymptotic_figure(runs, pd.DataFrame(), spec).texts]
    assert not any("no trained inseparable run" in t for t in texts)
