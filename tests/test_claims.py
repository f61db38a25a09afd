"""The claims ledger's verdict logic on constructed tables (holds / differs / not run), its Markdown rendering
and README round trip, and the paper's read-off table."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.special import bdtr, ndtr  # noqa: E402

from grokedge import claims, paper_values, toy  # noqa: E402
from grokedge.io import write_table  # noqa: E402

SPEC = {"figures": {"main_experiment": "lambda_sweep"},
        "grokking": {"delay90": {"kind": "accuracy_delay", "threshold": 0.9},
                     "gen95": {"kind": "gen_accuracy", "threshold": 0.95}}}


def verdict(ledger, cid):
    return ledger.set_index("id").loc[cid, "verdict"]


def one(cid, tables):
    (c,) = [c for c in claims.CLAIMS if c.id == cid]
    try:
        return c.evaluate(tables)["verdict"]
    except claims.NotRun:
        return "not run"


def runs_frame(rows):
    base = {"experiment": "lambda_sweep", "cell": "c", "N": 400, "d": 20, "lam": 0.05, "sigma": 5.0, "lr": 0.01,
            "bias_noise": 0.0, "realisation": 0, "seed": 0, "separable": False, "trained": True, "horizon": 1e9,
            "margin": np.nan, "margin_acc_limit": np.nan, "s_inf_norm": np.nan, "final_gen_acc": 1.0,
            "grok_delay90": np.nan, "grok_delay90_censored": False, "grok_gen95": np.nan,
            "grok_gen95_censored": False}
    return pd.DataFrame([base | r for r in rows])


def wendel_runs(rng, flip=False):
    """Separability drawn from Wendel's law itself (or with the outcome flipped at one cell)."""
    rows, k = [], 0
    for d in (8, 10, 12):
        p = float(bdtr(d - 1, 19, 0.5))
        for _ in range(400):
            sep = bool(rng.random() < p)
            if flip and d == 8:
                sep = True
            rows.append({"N": 20, "d": d, "lam": d / 20, "seed": k, "separable": sep})
            k += 1
    return runs_frame(rows)


def test_wendel_holds_on_draws_from_the_law_and_differs_otherwise():
    rng = np.random.default_rng(1)
    assert one("wendel", claims.Tables(runs=wendel_runs(rng), spec=SPEC)) == "holds"
    assert one("wendel", claims.Tables(runs=wendel_runs(rng, flip=True), spec=SPEC)) == "differs"


def test_wendel_certain_cell_violated_differs():
    # d >= N: Wendel's probability is exactly 1, one inseparable set contradicts it
    runs = runs_frame([{"N": 5, "d": 6, "lam": 1.2, "seed": 0, "separable": False}])
    assert one("wendel", claims.Tables(runs=runs, spec=SPEC)) == "differs"


def separable_runs(offset):
    rows = []
    for r, M in enumerate((0.05, 0.08, 0.1, 0.12)):
        lim = float(ndtr(1 / (5.0 * M)))
        rows.append({"lam": 0.8, "d": 320, "realisation": r, "seed": r, "separable": True, "margin": M,
                     "margin_acc_limit": lim, "final_gen_acc": lim + offset})
    return runs_frame(rows)


def test_prop32_separable_margin_limit():
    assert one("prop32_separable", claims.Tables(runs=separable_runs(0.001), spec=SPEC)) == "holds"
    assert one("prop32_separable", claims.Tables(runs=separable_runs(0.1), spec=SPEC)) == "differs"
    # only sets close to 1/2: the grid cannot decide
    near = separable_runs(0.0).assign(lam=0.52)
    assert one("prop32_separable", claims.Tables(runs=near, spec=SPEC)) == "not run"


def growth_runs(slope_decades):
    rows = []
    for i, lam in enumerate((0.05, 0.2, 0.3, 0.4, 0.45, 0.48)):
        for r in range(5):
            t = 3.0 * 10 ** (slope_decades * lam / 0.48) * (1 + 0.1 * r)
            rows.append({"lam": lam, "d": int(lam * 400), "cell": f"c{i}", "realisation": r, "seed": 10 * i + r,
                         "grok_delay90": t})
    return runs_frame(rows)


def test_grokking_time_growth():
    assert one("grok_time_growth", claims.Tables(runs=growth_runs(5.0), spec=SPEC)) == "holds"
    assert one("grok_time_growth", claims.Tables(runs=growth_runs(0.5), spec=SPEC)) == "differs"
    # censored runs count as infinitely long, not as missing
    r = growth_runs(0.5)
    r.loc[r.lam == 0.48, ["grok_delay90", "grok_delay90_censored"]] = [np.nan, True]
    assert one("grok_time_growth", claims.Tables(runs=r, spec=SPEC)) == "holds"


def sigma_runs(ratio):
    rows = []
    for s, f in ((1.0, 30.0), (5.0, 1.0), (10.0, ratio)):
        for r in range(6):
            rows.append({"experiment": "fig10", "lam": 0.48, "d": 192, "sigma": s, "realisation": r, "seed": r,
                         "grok_gen95": 1e5 * f * (1 + 0.05 * r)})
    return runs_frame(rows)


def test_prop35_saturation_detected_from_any_experiment_with_several_sigma():
    assert one("prop35_large_sigma", claims.Tables(runs=sigma_runs(1.2), spec=SPEC)) == "holds"
    assert one("prop35_large_sigma", claims.Tables(runs=sigma_runs(10.0), spec=SPEC)) == "differs"
    single = sigma_runs(1.0).query("sigma == 5.0").assign(experiment="lambda_sweep")
    assert one("prop35_large_sigma", claims.Tables(runs=single, spec=SPEC)) == "not run"


def toy_times(perturb=0.0):
    """A toy sweep whose crossing times are the exact asymptotics (plus a perturbation of the gen time)."""
    eps, rows = 1e-50, []
    for d in (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1):
        lam = 0.5 * (1 - d)
        rows.append({"sigma": 20.0, "lam": lam, "one_minus_2lam": d, "tr_censored": False, "gen_censored": False,
                     "asymptotic_ok": True, "log10_epoch_tr": toy.predicted_log10_epoch_tr(eps),
                     "log10_epoch_gen": toy.predicted_log10_epoch_tr(eps) + (1 + perturb) * (
                         toy.predicted_log10_epoch_gen(lam, eps) - toy.predicted_log10_epoch_tr(eps)),
                     "pred_log10_epoch_tr": toy.predicted_log10_epoch_tr(eps),
                     "pred_log10_epoch_gen": toy.predicted_log10_epoch_gen(lam, eps),
                     "pred_log10_epoch_gen_small_delta": toy.predicted_log10_epoch_gen(lam, eps, exact=False)})
    return pd.DataFrame(rows)


def test_toy_slope_and_times():
    good = claims.Tables(toy_times=toy_times(), spec=SPEC)
    led = claims.evaluate_claims(good)
    for cid in ("toy_slope_sqrt2", "toy_slope_range", "toy_t_train", "toy_t_gen"):
        assert verdict(led, cid) == "holds", led.set_index("id").loc[cid].to_dict()
    bad = claims.evaluate_claims(claims.Tables(toy_times=toy_times(perturb=0.1), spec=SPEC))
    assert verdict(bad, "toy_slope_range") == "differs"
    assert verdict(bad, "toy_slope_sqrt2") == "differs"
    # the paper's Fig. 9 slope: -1/sqrt 2 in the limit, -0.7070 over [1e-3, 1e-2] from the exact asymptotics
    m = led.set_index("id").loc["toy_slope_sqrt2", "measured_value"]
    assert abs(m + 1 / math.sqrt(2)) < 1e-3


def blog_curves(bump):
    ep = np.unique(np.round(np.logspace(0, 5.7, 80)))
    train_loss = 100 * np.exp(-np.log(ep))
    test_loss = 50 / (1 + np.log(ep)) + bump * np.exp(-(np.log10(ep) - 3) ** 2)
    acc = np.clip((np.log10(ep) - 3.0) / 2.3, 0.5, 1.0)
    full = pd.DataFrame({"variant": "full", "epoch": ep, "train_acc": (ep >= 3e3).astype(float),
                         "test_acc": acc, "train_loss": train_loss, "test_loss": test_loss})
    return pd.concat([full, full.assign(variant="no_central")], ignore_index=True)


def test_blog_monotone_losses():
    led = claims.evaluate_claims(claims.Tables(blog_curves=blog_curves(0.0), spec=SPEC))
    assert verdict(led, "blog_train_loss_monotone") == "holds"
    assert verdict(led, "blog_test_loss_monotone") == "holds"
    assert verdict(led, "blog_train_acc") == "holds"
    led = claims.evaluate_claims(claims.Tables(blog_curves=blog_curves(5.0), spec=SPEC))
    assert verdict(led, "blog_test_loss_monotone") == "differs"


def test_empty_run_gives_every_claim_a_not_run_row():
    led = claims.evaluate_claims(claims.Tables(spec=SPEC))
    assert len(led) == len(claims.CLAIMS) and led.id.is_unique
    assert (led.verdict == "not run").all()
    assert (led.note.str.len() > 0).all()
    assert list(led.columns) == claims.LEDGER_COLUMNS


def test_ledger_table_roundtrip_and_markdown(tmp_path):
    rng = np.random.default_rng(2)
    led = claims.evaluate_claims(claims.Tables(runs=wendel_runs(rng), toy_times=toy_times(),
                                               blog_curves=blog_curves(5.0), spec=SPEC))
    path = tmp_path / "claims.parquet"
    write_table(led, path, "claims")
    back = claims.read_ledger(path)
    pd.testing.assert_frame_equal(back, led)
    md = claims.ledger_markdown(back)
    counts = claims.verdict_counts(led)
    assert md.startswith(f"{len(led)} claims: {counts['holds']} holds, {counts['differs']} differs")
    assert md.count("\n| `") == len(led) and "**differs**" in md


def test_readme_section_regeneration_round_trips(tmp_path):
    led = claims.evaluate_claims(claims.Tables(blog_curves=blog_curves(5.0), spec=SPEC))
    md = claims.ledger_markdown(led)
    text = f"# Title\n\nbefore\n\n{claims.README_START}\nold typed numbers\n{claims.README_END}\n\nafter\n"
    once = claims.replace_readme_section(text, md)
    assert once.startswith("# Title\n\nbefore\n\n") and once.endswith("\n\nafter\n")
    assert "old typed numbers" not in once and md.strip() in once
    assert claims.replace_readme_section(once, md) == once  # idempotent
    inner = once.split(claims.README_START)[1].split(claims.README_END)[0]
    assert inner.strip() == md.strip()
    with pytest.raises(ValueError, match="claims:start"):
        claims.replace_readme_section("no markers", md)
    # the command line does the same on a file
    path = tmp_path / "claims.parquet"
    write_table(led, path, "claims")
    readme = tmp_path / "README.md"
    readme.write_text(text)
    assert claims.main([str(path), "--readme", str(readme)]) == 0
    assert readme.read_text() == once


def test_paper_values_lookup_and_marks():
    assert paper_values.paper_value("1 right bottom", "delay90", lam=0.05) == 3.0
    assert paper_values.paper_value("blog", "test_leaves_chance_epoch", variant="no_central") == 1.5e5
    with pytest.raises(KeyError):
        paper_values.paper_values("99")
    fig, ax = plt.subplots()
    drawn = paper_values.mark_paper_values(ax, "1 right top", x_transform=lambda x: x)
    assert len(drawn) == 1 and drawn[0].get_label() == "paper (read off)"
    assert np.allclose(sorted(drawn[0].get_xdata()), [7e-3, 0.22])
    plt.close(fig)


def test_paper_marks_skip_unplottable_points_and_draw_epoch_lines():
    fig, ax = plt.subplots()
    ax.set_xscale("log")
    # lambda = 0.5 maps to 1 - 2 lambda = 0: not drawable on a log axis, the lambda = 0.05 point is
    drawn = paper_values.mark_paper_values(ax, "1 right bottom", x_transform=lambda lam: 1 - 2 * lam)
    assert len(drawn) == 1 and np.allclose(drawn[0].get_xdata(), [0.9])
    lines = paper_values.mark_paper_values(ax, "blog", variant="full")
    assert sorted(ln.get_xdata()[0] for ln in lines) == [3e3, 1e4, 2e5]
    plt.close(fig)


@pytest.mark.parametrize("delay, expected", [(2.5, "holds"), (25.0, "differs")])
def test_fig1_delay_against_the_read_off(delay, expected):
    runs = runs_frame([{"realisation": r, "seed": r, "grok_delay90": delay * (1 + 0.1 * r)} for r in range(5)])
    assert one("fig1_delay_005", claims.Tables(runs=runs, spec=SPEC)) == expected


def test_prop32_inseparable_needs_every_predicted_set_to_generalise():
    rows = [{"realisation": r, "seed": r, "grok_gen95_pred": 1e4, "final_gen_acc": 0.999} for r in range(5)]
    rows.append({"realisation": 9, "seed": 9, "grok_gen95_pred": 1e12, "final_gen_acc": 0.6})  # beyond horizon
    assert one("prop32_inseparable", claims.Tables(runs=runs_frame(rows), spec=SPEC)) == "holds"
    rows[0]["final_gen_acc"] = 0.7
    assert one("prop32_inseparable", claims.Tables(runs=runs_frame(rows), spec=SPEC)) == "differs"
