"""What a run will cost, before it starts: ``make plan [PRESET=...]`` (``python -m grokedge.plan``).

The plan is read from Snakemake's own dry run of the whole workflow (in a scratch working directory, so every job
is planned as for a cold run): each job's rule, ``threads`` and ``resources`` (``mem_mb`` and ``runtime``, the
requests a cluster sees, and ``model_core_s``, the cost model's core-seconds, grokedge.resources, which train and
separability rules declare; see workflow/rules/common.smk). Per experiment it prints the jobs, the modelled and
the requested core-hours (requested = runtime x threads, the model's time with the rules' safety margin), the
largest memory request and the largest job; jobs of no experiment (aggregation, plots, claims, toy models) are
one line, and the total closes the table.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OTHER = "(tables, figures, claims, toy models)"
_RULE = re.compile(r"^(?:local)?rule (\S+):$")
_EXPERIMENT_RULE = re.compile(r"^(?:separability|train)_(.+)_\d+$")


@dataclass(frozen=True)
class PlannedJob:
    """One job of the dry run: its rule and requests (``model_core_s`` is None where the rule has no cost model)."""

    rule: str
    threads: int
    mem_mb: float
    runtime_min: float
    model_core_s: float | None

    @property
    def experiment(self) -> str:
        m = _EXPERIMENT_RULE.match(self.rule)
        return m.group(1) if m else OTHER

    @property
    def requested_core_h(self) -> float:
        return self.runtime_min * self.threads / 60.0


def dry_run(snakemake_args: list[str] = (), snakefile: Path = ROOT / "Snakefile") -> str:
    """Text of ``snakemake --dry-run`` (all jobs, their threads and resources) in a scratch working directory."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", "-s", str(snakefile), "-d", tmp,
                               *snakemake_args], capture_output=True, text=True, cwd=snakefile.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake --dry-run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def parse_jobs(text: str) -> list[PlannedJob]:
    """The jobs of a dry run's text: every ``rule NAME:`` block with its ``threads:`` (1 when absent) and its
    ``resources:`` line (``runtime`` in minutes, ``mem_mb``, ``model_core_s``)."""
    jobs, block = [], None

    def close():
        if block is not None:
            res = block["resources"]
            jobs.append(PlannedJob(block["rule"], block["threads"], float(res.get("mem_mb", 0.0)),
                                   float(res.get("runtime", 0.0)),
                                   float(res["model_core_s"]) if "model_core_s" in res else None))

    for line in text.splitlines():
        m = _RULE.match(line.strip())
        if m and not line.startswith(" "):
            close()
            block = {"rule": m.group(1), "threads": 1, "resources": {}}
            continue
        if block is None:
            continue
        key, _, value = line.strip().partition(": ")
        if key == "threads":
            block["threads"] = int(value)
        elif key == "resources":
            for item in value.split(", "):
                name, eq, val = item.partition("=")
                if eq and re.fullmatch(r"-?\d+(\.\d+)?", val):
                    block["resources"][name] = float(val)
    close()
    return jobs


def job_counts(text: str) -> dict[str, int]:
    """The dry run's own "Job stats" table: jobs per rule (without the total)."""
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", text, re.M)}
    counts.pop("total", None)
    return counts


@dataclass(frozen=True)
class PlanRow:
    name: str
    jobs_list: list[PlannedJob]
    model_core_h: float
    requested_core_h: float
    peak_mem_mb: float
    largest: PlannedJob

    @property
    def jobs(self) -> int:
        return len(self.jobs_list)


def summarise(jobs: list[PlannedJob]) -> list[PlanRow]:
    """One row per experiment (in order of modelled cost, largest first), then the jobs of no experiment, then
    the total. The largest job is the one of most modelled core-seconds (requested, where nothing is modelled)."""
    def row(name, group):
        return PlanRow(name, group, sum(j.model_core_s or 0.0 for j in group) / 3600.0,
                       sum(j.requested_core_h for j in group), max(j.mem_mb for j in group),
                       max(group, key=lambda j: (j.model_core_s or 0.0, j.requested_core_h)))

    groups: dict[str, list[PlannedJob]] = {}
    for j in jobs:
        groups.setdefault(j.experiment, []).append(j)
    rows = sorted((row(k, v) for k, v in groups.items() if k != OTHER), key=lambda r: -r.model_core_h)
    if OTHER in groups:
        rows.append(row(OTHER, groups[OTHER]))
    return rows + [row("total", jobs)] if jobs else rows


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 360 else f"{seconds / 60:.1f} min" if seconds >= 60 else \
        f"{seconds:.0f} s"


def _hours(h: float) -> str:
    return f"{h:9.1f}" if h >= 0.95 else f"{h:9.2f}" if h >= 0.0095 else f"{h:9.4f}"


def format_plan(rows: list[PlanRow], title: str) -> str:
    name_w = max(len(r.name) for r in rows)
    head = (f"{'experiment':<{name_w}}  {'jobs':>5}  {'core-h model':>12}  {'core-h requested':>16}  "
            f"{'peak mem':>9}  largest job (model core-h, mem)")
    lines = [title, head, "-" * len(head)]
    for r in rows:
        if r.name == "total":
            lines.append("-" * len(head))
        big = r.largest
        big_model = "-" if big.model_core_s is None else _duration(big.model_core_s)
        model = _hours(r.model_core_h) if any(j.model_core_s is not None for j in r.jobs_list) else "-"
        lines.append(f"{r.name:<{name_w}}  {r.jobs:5d}  {model:>12}  {_hours(r.requested_core_h):>16}  "
                     f"{r.peak_mem_mb / 1024:7.1f} G  {big.rule} ({big_model}, {big.mem_mb / 1024:.1f} G)")
    lines.append("core-h model: the cost model's core-hours on idle cores (grokedge.resources); requested: runtime x "
                 "threads as submitted (3x the model + 10 min per job); peak mem: the largest request.")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m grokedge.plan", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.epilog = "Any other arguments go to snakemake --dry-run (e.g. --configfile workflow/presets/paper.yaml)."
    _, snakemake_args = ap.parse_known_args(argv)
    jobs = parse_jobs(dry_run(snakemake_args))
    if not jobs:
        print("nothing to run")
        return 0
    what = " ".join(snakemake_args) or "config.yaml"
    print(format_plan(summarise(jobs), f"Plan of a cold run ({what}): {len(jobs)} jobs"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
