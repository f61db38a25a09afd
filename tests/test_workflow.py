"""The workflow end to end on the smoke grid, in a fresh copy of the repository: outputs, caching, determinism."""

import hashlib
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from helpers import SMOKE, copy_repo, preset_config, snakemake

from grokedge import registry
from grokedge.io import read_table, table_metadata

pytestmark = pytest.mark.workflow  # every test here runs snakemake on the smoke grid

RUNS_COLUMNS = {"experiment", "cell", "N", "d", "lam", "sigma", "lr", "realisation", "seed", "separable", "margin",
                "margin_gap", "s_inf_norm", "final_gen_acc", "final_train_loss", "grok_gen95", "grok_gen95_censored",
                "grok_delay90", "grok_delay90_censored", "gen_loss_peak", "gen_loss_peak_epoch",
                "gen_loss_bump_initial", "gen_loss_bump_final", "train_loss_monotone", "margin_acc_limit"}
CURVES_COLUMNS = {"experiment", "cell", "realisation", "seed", "epoch", "train_loss", "train_acc", "gen_loss",
                  "gen_acc", "s_norm", "sigma_s_norm", "b"}


def planned_jobs(workdir: Path, *args: str) -> list[tuple[str, str]]:
    """(rule, cell wildcard or '') of every job a dry run would execute."""
    out = snakemake(workdir, "-n", *SMOKE, *args)
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if m and m.group(1) != "all":
            cell = re.search(r"cell=([^,\s]+)", block)
            rule = "plot" if m.group(1).startswith("plot_") else m.group(1)  # one plot_<figure> rule per figure
            jobs.append((rule, cell.group(1) if cell else ""))
    return jobs


def checkout_files(work: Path) -> dict[str, str]:
    """SHA-256 of every file of a copied checkout outside what a run may write (results/, .snakemake/)."""
    return {path.relative_to(work).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in work.rglob("*") if path.is_file()
            and not path.relative_to(work).as_posix().startswith(("results/", ".snakemake/"))
            and "__pycache__" not in path.parts}


BEFORE_RUN: dict[Path, dict[str, str]] = {}  # checkout_files of each smoke copy, taken before snakemake ran


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    work = copy_repo(tmp_path_factory.mktemp("smoke"))
    BEFORE_RUN[work] = checkout_files(work)
    snakemake(work, "--cores", "2", *SMOKE)
    return work


def test_tables_and_figures(smoke_run):
    runs = read_table(smoke_run / "results/tables/runs.parquet", "runs")
    curves = read_table(smoke_run / "results/tables/curves.parquet", "curves")
    assert RUNS_COLUMNS <= set(runs.columns), RUNS_COLUMNS - set(runs.columns)
    assert CURVES_COLUMNS <= set(curves.columns), CURVES_COLUMNS - set(curves.columns)
    assert len(runs) == 3 * 4 and runs.groupby("cell").size().eq(4).all()
    assert runs.seed.is_unique
    assert curves.groupby(["cell", "realisation"]).epoch.apply(lambda e: e.is_monotonic_increasing).all()
    # censored runs have no number, uncensored ones do
    assert runs.loc[runs.grok_gen95_censored, "grok_gen95"].isna().all()
    assert runs.loc[~runs.grok_gen95_censored, "grok_gen95"].notna().all()
    made = {f.name for f in registry.active(preset_config("smoke", smoke_run))}
    assert {"grokking_time", "loss_nonmonotone", "separable_fraction", "final_accuracy", "asymptotic",
            "toy_fig8", "toy_fig9", "toy_fig3", "blog_data", "blog_curves", "blog_angle"} <= made
    for name in made:
        for ext in ("png", "pdf"):
            assert (smoke_run / f"results/figures/{name}.{ext}").stat().st_size > 1000, name
    # a train job's log names each block it trains, then the realisations and epochs reached
    log = "".join(p.read_text() for p in sorted((smoke_run / "results/logs/train").glob("lambda_sweep_*.log")))
    assert re.search(r"lambda_sweep/N40_d18_sigma5_lr0.01 block 1\n(.*\n)*.*realisations 2-3: epoch [\d.e+]+ of",
                     log), log[-2000:]


def test_the_run_writes_under_results_only(smoke_run):
    """A run never rewrites the README (its counts table is written only by `python -m grokedge.ledger publish`),
    docs/ or any other file of the checkout: everything it writes is under results/ (and Snakemake's .snakemake/)."""
    after, before = checkout_files(smoke_run), BEFORE_RUN[smoke_run]
    assert after == before, sorted(k for k in after.keys() | before.keys() if after.get(k) != before.get(k))


def test_every_table_carries_provenance(smoke_run):
    """Every Parquet file the pipeline wrote (blocks, aggregates, toy, blog) is stamped by grokedge.runner.Job:
    the rule, the git commit, package versions and the hash of the job's parameters."""
    tables = sorted((smoke_run / "results").rglob("*.parquet"))
    assert {"toy", "blog", "tables", "cells"} <= {t.relative_to(smoke_run / "results").parts[0] for t in tables}
    for path in tables:
        meta = table_metadata(path)
        assert meta.get("rule") and meta.get("kind"), path
        prov = meta.get("provenance") or {}
        assert prov.get("params_hash") and prov.get("seed_scheme") and prov.get("versions", {}).get("numpy"), path
        assert "git_commit" in prov and isinstance(prov.get("wall_time_s"), float), path


def test_second_run_does_nothing(smoke_run):
    assert planned_jobs(smoke_run) == []


def test_changing_one_cell_reruns_only_that_cell(smoke_run, tmp_path):
    preset = tmp_path / "changed.yaml"
    text = (smoke_run / "workflow/presets/smoke.yaml").read_text()
    text = text.replace("lam: [0.1, 0.45, 0.55]", "lam: [0.1, 0.45, 0.6]")
    preset.write_text(text)
    jobs = planned_jobs(smoke_run, "--configfile", str(preset))
    # one grouped job writes the experiment's manifests and separability tables, one trains its blocks
    assert {r for r, _ in jobs} == {"separability_lambda_sweep_0", "train_lambda_sweep_0", "aggregate", "plot",
                                    "claims", "run_config"}
    # run it (in a copy: the other tests need the smoke state): the grouped jobs compute the new cell's LPs and
    # training only and read every other block from their caches; afterwards nothing is left to do
    work = tmp_path / "changed"
    subprocess.run(["cp", "-a", str(smoke_run), str(work)], check=True)
    snakemake(work, "--cores", "2", *SMOKE, "--configfile", str(preset))
    for stage, done in (("separability", "computed"), ("train", "trained")):
        log = (work / f"results/logs/{stage}/lambda_sweep_0.log").read_text()
        assert set(re.findall(rf"(N\S+) block \d+: {done}", log)) == {"N40_d24_sigma5_lr0.01"}, log[-2000:]
        cached = set(re.findall(r"(N\S+) block \d+: from cache", log))
        assert cached == {"N40_d4_sigma5_lr0.01", "N40_d18_sigma5_lr0.01"}, log[-2000:]
    assert planned_jobs(work, "--configfile", str(preset)) == []


def test_deleting_one_block_restores_it_and_its_cache_entry_retrains_it(smoke_run):
    target = smoke_run / "results/cells/lambda_sweep/N40_d4_sigma5_lr0.01/block0/curves.parquet"
    before = pd.read_parquet(target)
    target.unlink()
    jobs = planned_jobs(smoke_run)
    assert {r for r, _ in jobs} == {"train_lambda_sweep_0", "aggregate", "plot", "claims", "run_config"}
    snakemake(smoke_run, "--cores", "2", *SMOKE)
    log = (smoke_run / "results/logs/train/lambda_sweep_0.log").read_text()
    assert not re.findall(r"(N\S+) block \d+: trained", log), log[-2000:]  # every block from the cache
    pd.testing.assert_frame_equal(pd.read_parquet(target), before, check_exact=True)
    # deleting the block's cache entry too retrains exactly that block, to the same table
    target.unlink()
    for f in (smoke_run / "results/cache/train/lambda_sweep/N40_d4_sigma5_lr0.01").glob("block0.*"):
        f.unlink()
    snakemake(smoke_run, "--cores", "2", *SMOKE)
    log = (smoke_run / "results/logs/train/lambda_sweep_0.log").read_text()
    assert set(re.findall(r"(N\S+ block \d+): trained", log)) == {"N40_d4_sigma5_lr0.01 block 0"}, log[-2000:]
    pd.testing.assert_frame_equal(pd.read_parquet(target), before, check_exact=True)


def test_same_tables_on_one_core(smoke_run, tmp_path):
    """Determinism: a fresh copy run with a single core (another job order) gives identical tables."""
    work = copy_repo(tmp_path)
    snakemake(work, "results/tables/runs.parquet", "results/tables/curves.parquet", "--cores", "1", *SMOKE)
    for name in ("runs", "curves"):
        a = pd.read_parquet(smoke_run / f"results/tables/{name}.parquet")
        b = pd.read_parquet(work / f"results/tables/{name}.parquet")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
