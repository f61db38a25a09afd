"""The claims ledger beyond its per-claim falsification cases (tests/test_ledger_falsifiable.py): the defects an
audit found in the earlier ledger, each with the table that exposed it; errors that must fail loudly; 'not run'
with its reason; the Markdown and Parquet round trips; and the paper's read-off table."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from ledger_tables import (  # noqa: E402
    SPEC,
    blog_curves,
    input_law_runs,
    main_sweep,
    runs,
    s_inf_panel,
    tables,
    toy_times,
    verdict,
    wendel_table,
)

from grokedge import ledger  # noqa: E402
from grokedge.io import write_table  # noqa: E402
from grokedge.ledger import readoffs  # noqa: E402
from grokedge.ledger.__main__ import main as ledger_main  # noqa: E402


# ----------------------------------------------------------------------------- defects of the earlier ledger
def test_every_input_law_of_fig15_is_judged_on_its_own():
    # only the power law lacks the bump (its L_gen peaks at epoch 0): that row differs, the others hold
    r = pd.concat([input_law_runs("gaussian"), input_law_runs("powerlaw", peak=0.71, epoch=0.0),
                   input_law_runs("mixture")], ignore_index=True)
    led = ledger.evaluate_claims(tables(runs=r)).set_index("id").verdict
    assert (led["fig15_gaussian"], led["fig15_powerlaw"], led["fig15_mixture"]) == ("holds", "differs", "holds")


def test_fig15_needs_a_bump_above_the_initial_loss():
    # a peak of 0.72 at epoch 0 lies inside the old window's value range but is the initial L_gen, not a bump
    assert verdict("fig15_gaussian", tables(runs=input_law_runs("gaussian", peak=0.8, epoch=300.0, initial=0.78))) \
        == "differs"


def test_s_inf_panel_judges_both_reference_points_or_says_which_it_cannot():
    bad_near = s_inf_panel(near_scale=10.0)
    assert verdict("fig1_s_inf_near", tables(runs=bad_near)) == "differs"
    assert verdict("fig1_s_inf_far", tables(runs=bad_near)) == "holds"
    coarse = s_inf_panel()
    coarse = coarse[coarse.lam < 0.49]  # the grid stops at 1 - 2 lambda = 0.04
    led = ledger.evaluate_claims(tables(runs=coarse)).set_index("id")
    assert led.loc["fig1_s_inf_near", "verdict"] == "not run" and "0.007" in led.loc["fig1_s_inf_near", "note"]
    assert led.loc["fig1_s_inf_far", "verdict"] == "holds"


def test_wendel_ignores_uninformative_cells_and_sees_a_shift():
    # cells where Wendel's law is ~0 or ~1 add no degrees of freedom; a +0.25 shift of the informative ones differs
    certain = runs([{"N": 20, "d": d, "lam": d / 20, "seed": 1000 + k, "separable": d >= 18}
                    for k, d in enumerate([2] * 200 + [19] * 200)])
    led = ledger.evaluate_claims(tables(runs=pd.concat([wendel_table(), certain], ignore_index=True)))
    row = led.set_index("id").loc["wendel"]
    assert row.verdict == "holds" and "on 8 informative cells" in row.measured
    shifted = pd.concat([wendel_table(shift=0.25), certain], ignore_index=True)
    assert verdict("wendel", tables(runs=shifted)) == "differs"


def test_wendel_rare_outcome_seen_too_often_differs():
    # P(separable) ~ 2e-4 at N = 20, d = 3: three separable sets of 60 is impossible under the law
    r = runs([{"N": 20, "d": 3, "lam": 0.15, "seed": k, "separable": k < 3} for k in range(60)])
    assert verdict("wendel", tables(runs=pd.concat([wendel_table(), r], ignore_index=True))) == "differs"


def test_delay_peak_counts_censored_sets():
    # half the sets at 1/2 never grok: the median there is censored, not the median of those that grok
    r = main_sweep()
    half = np.isclose(r.lam, 0.5) & (r.realisation < 6)
    r.loc[half, ["grok_delay90", "grok_delay90_censored"]] = [np.nan, True]
    row = ledger.evaluate_claims(tables(runs=r)).set_index("id").loc["fig1_delay_peak"]
    assert row.verdict == "differs" and row.measured.startswith("> horizon")


def test_an_evaluator_error_fails_the_ledger_naming_the_claim():
    (c,) = [c for c in ledger.CLAIMS if c.id == "fig5_adam"]

    def broken(t):
        return t.runs["no_such_column"]
    k = ledger.CLAIMS.index(c)
    ledger.CLAIMS[k] = ledger.Claim(c.id, c.source, c.statement, broken)
    try:
        with pytest.raises(ledger.ClaimError, match="fig5_adam.*KeyError"):
            ledger.evaluate_claims(tables(runs=main_sweep()))
    finally:
        ledger.CLAIMS[k] = c


def test_a_missing_column_is_not_run_with_its_name():
    r = main_sweep().drop(columns=["gen_loss_bump_initial"])
    row = ledger.evaluate_claims(tables(runs=r)).set_index("id").loc["nonmonotone_gen_loss"]
    assert row.verdict == "not run" and "gen_loss_bump_initial" in row.note


def test_selections_are_stated_in_the_rows_they_affect():
    led = ledger.evaluate_claims(tables(runs=main_sweep(), blog_curves=None)).set_index("id")
    for cid in ("fig1_delay_005", "fig1_delay_peak"):
        assert "eta = 0.1" in led.loc[cid, "note"] and "grokedge.evidence.eta" in led.loc[cid, "note"]
    blog = ledger.evaluate_claims(tables(blog_curves=blog_curves())).set_index("id")
    assert all("seed 2" in blog.loc[c, "note"] for c in blog.index if c.startswith("blog_"))


# ------------------------------------------------------------------------------------------- not run
def test_empty_run_gives_every_claim_a_not_run_row_with_a_reason():
    led = ledger.evaluate_claims(ledger.Tables(spec=SPEC))
    assert len(led) == len(ledger.CLAIMS) and led.id.is_unique
    assert (led.verdict == "not run").all()
    assert (led.note.str.len() > 0).all()
    assert list(led.columns) == ledger.LEDGER_COLUMNS


def test_grids_that_cannot_decide_say_not_run():
    near = main_sweep().assign(lam=lambda r: np.where(r.lam >= 0.6, 0.52, r.lam))
    assert verdict("prop32_separable", tables(runs=near)) == "not run"
    single = runs([{"experiment": "fig10", "sigma": 5.0, "realisation": i, "seed": i, "grok_gen95": 1e5}
                   for i in range(3)])
    assert verdict("prop35_large_sigma", tables(runs=single)) == "not run"


def test_toy_fig9_slope_is_the_exact_asymptotics():
    led = ledger.evaluate_claims(tables(toy_times=toy_times())).set_index("id")
    assert abs(led.loc["toy_slope_sqrt2", "measured_value"] + 1 / math.sqrt(2)) < 1e-3


# ----------------------------------------------------------------------------------------- text and files
def test_ledger_table_roundtrip_and_markdown(tmp_path):
    led = ledger.evaluate_claims(tables(runs=wendel_table(), toy_times=toy_times()))
    path = tmp_path / "claims.parquet"
    write_table(led, path, "claims")
    back = ledger.read_ledger(path)
    pd.testing.assert_frame_equal(back, led)
    md = ledger.ledger_markdown(back)
    counts = ledger.verdict_counts(led)
    assert md.startswith(f"{len(led)} claims: {counts['holds']} holds, {counts['differs']} differs")
    assert md.count("\n| `") == len(led)
    # publishing copies the ledger (provenance kept) and rewrites the README's counts table from the files
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{ledger.README_START}\nold\n{ledger.README_END}\nafter\n")
    docs = tmp_path / "docs"
    assert ledger_main(["publish", str(path), "laptop", "--docs", str(docs), "--readme", str(readme)]) == 0
    assert ledger_main(["publish", str(path), "paper_scale", "--docs", str(docs), "--readme", str(readme)]) == 0
    assert md in (docs / "laptop.md").read_text()
    pd.testing.assert_frame_equal(ledger.read_ledger(docs / "paper_scale.parquet"), led)
    section = readme.read_text().split(ledger.README_START)[1].split(ledger.README_END)[0]
    for name in ("laptop", "paper_scale"):
        assert f"| {name} | {len(led)} | {counts['holds']} | {counts['differs']} | {counts['not run']} |" in section
    with pytest.raises(ValueError, match="ledger name"):
        ledger.publish(path, "../escape", docs)


def test_comparison_lists_first_the_claims_whose_verdict_changes_with_the_run(tmp_path):
    led = ledger.evaluate_claims(tables(runs=wendel_table(), toy_times=toy_times()))
    judged = led[led.verdict != "not run"]
    flipped = led.copy()
    first = judged.index[0]
    flipped.loc[first, "verdict"] = "differs" if led.loc[first, "verdict"] == "holds" else "holds"
    for name, table in (("laptop", led), ("paper_scale", flipped)):
        write_table(table, tmp_path / f"{name}.parquet", "claims")
    page = ledger.comparison_markdown(tmp_path)
    changed = page.split("## Claims whose verdict depends on the run (1)")[1].split("## All claims")[0]
    assert f"`{led.loc[first, 'id']}`" in changed and changed.count("\n| `") == 1
    assert page.split(f"## All claims ({len(led)})")[1].count("\n| `") == len(led)
    with pytest.raises(ValueError, match="no published ledger"):
        ledger.comparison_markdown(tmp_path / "empty")


def test_section_replacement_round_trips_and_refuses_missing_markers():
    text = f"# Title\n\n{ledger.README_START}\nold typed numbers\n{ledger.README_END}\n\nafter\n"
    once = ledger.replace_section(text, "new")
    assert "old typed numbers" not in once and ledger.replace_section(once, "new") == once
    with pytest.raises(ValueError, match="claims:start"):
        ledger.replace_section("no markers", "new")


def test_paper_values_lookup_and_marks():
    assert readoffs.paper_value("1 right bottom", "delay90", lam=0.05) == 3.0
    assert readoffs.paper_value("blog", "test_leaves_chance_epoch", variant="no_central") == 1.5e5
    with pytest.raises(KeyError):
        readoffs.paper_values("99")
    fig, ax = plt.subplots()
    drawn = readoffs.mark_paper_values(ax, "1 right top", x_transform=lambda x: x)
    assert len(drawn) == 1 and drawn[0].get_label() == "paper (read off)"
    assert np.allclose(sorted(drawn[0].get_xdata()), [7e-3, 0.22])
    plt.close(fig)


def test_paper_marks_skip_unplottable_points_and_draw_epoch_lines():
    fig, ax = plt.subplots()
    ax.set_xscale("log")
    # lambda = 0.5 maps to 1 - 2 lambda = 0: not drawable on a log axis, the lambda = 0.05 point is
    drawn = readoffs.mark_paper_values(ax, "1 right bottom", x_transform=lambda lam: 1 - 2 * lam)
    assert len(drawn) == 1 and np.allclose(drawn[0].get_xdata(), [0.9])
    lines = readoffs.mark_paper_values(ax, "blog", variant="full")
    assert sorted(ln.get_xdata()[0] for ln in lines) == [3e3, 1e4, 2e5]
    plt.close(fig)


@pytest.mark.parametrize("p_separable, expected", [(6e-16, "differs"), (0.3, "not run")])
def test_prop35_counts_undecided_sets_by_wendel_only_where_a_separable_set_is_unlikely(p_separable, expected):
    """At the paper's N = 4e4 Fig. 10 runs without the LP (separable is NA): its set counts as inseparable when
    Wendel's probability of a separable one is negligible (then the sigma = 10 time a factor 10 off says
    differs), and not otherwise (the claim is about inseparable data: not run)."""
    rows = [{"experiment": "fig10", "N": 40000, "d": 19200, "lam": 0.48, "sigma": s, "separable": pd.NA,
             "wendel_p_separable": p_separable, "grok_gen95": g} for s, g in ((1.0, 1e2), (5.0, 1e6), (10.0, 1e7))]
    table = runs(rows).astype({"separable": "boolean"})
    assert verdict("prop35_large_sigma", tables(runs=table)) == expected
