"""``make plan``: the summary against the dry run's own jobs and resource requests, and the cost model."""

import re
from collections import Counter

import pytest
from helpers import preset_config

from grokedge import plan, resources
from grokedge.config import cells, validate_config


@pytest.fixture(scope="module")
def smoke_dry_run():
    return plan.dry_run(["--configfile", "workflow/presets/smoke.yaml"])


def test_plan_holds_every_job_and_request_of_the_dry_run(smoke_dry_run):
    text = smoke_dry_run
    jobs = plan.parse_jobs(text)
    # rule by rule, the jobs of Snakemake's own "Job stats" table
    assert Counter(j.rule for j in jobs) == plan.job_counts(text)
    # the requests as printed, read independently of the parser
    lines = re.findall(r"^\s+resources: (.*)$", text, re.M)
    assert len(lines) == len(jobs)
    mems = sorted(float(m.group(1)) if (m := re.search(r"\bmem_mb=(\d+)", ln)) else 0.0 for ln in lines)
    assert sorted(j.mem_mb for j in jobs) == mems
    threads = [int(t) for t in re.findall(r"^\s+threads: (\d+)$", text, re.M)]
    runtimes = [float(m.group(1)) if (m := re.search(r"\bruntime=(\d+)", ln)) else 0.0 for ln in lines]
    assert sum(j.runtime_min * j.threads for j in jobs) >= sum(runtimes)  # threads >= 1
    assert sum(j.threads for j in jobs) == len(jobs) - len(threads) + sum(threads)
    model = sum(float(m) for m in re.findall(r"\bmodel_core_s=(\d+)", text))
    rows = plan.summarise(jobs)
    total = rows[-1]
    assert total.name == "total" and total.jobs == len(jobs) == sum(r.jobs for r in rows[:-1])
    assert total.model_core_h == pytest.approx(model / 3600)
    assert total.requested_core_h == pytest.approx(sum(j.runtime_min * j.threads for j in jobs) / 60)
    assert total.peak_mem_mb == mems[-1]
    assert "total" in plan.format_plan(rows, "smoke")


def test_separability_requests_are_the_cost_model(smoke_dry_run):
    """The separability job's modelled core-seconds and memory request are the cost model's for the preset's cells
    (computed here from the merged config, not from the rules)."""
    cfg = preset_config("smoke")
    validate_config(cfg)
    bs = cfg["block_size"]
    jobs = [resources.SeparabilityJob(c["N"], c["d"], min(bs, c["realisations"] - b * bs))
            for c in cells(cfg) for b in range(c["n_blocks"])]
    work = sum(resources.separability_runtime_s(job) for job in jobs)
    mem = max(resources.separability_mem_mb(job) for job in jobs)
    sep_jobs = [j for j in plan.parse_jobs(smoke_dry_run) if j.rule.startswith("separability_")]
    assert len(sep_jobs) == 1 and sep_jobs[0].experiment == "lambda_sweep"
    assert sep_jobs[0].model_core_s == round(work)
    assert sep_jobs[0].mem_mb == int(1.25 * mem)


def test_experiment_of_a_rule():
    job = plan.PlannedJob("separability_s_inf_paper_12", 1, 100.0, 10.0, 3600.0)
    assert job.experiment == "s_inf_paper"
    assert plan.PlannedJob("train_fig15_gaussian_0", 2, 1.0, 1.0, 1.0).experiment == "fig15_gaussian"
    assert plan.PlannedJob("plot_sweep", 1, 1.0, 1.0, None).experiment == plan.OTHER
