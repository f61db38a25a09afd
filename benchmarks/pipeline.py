"""Part 4: the whole default pipeline, cold and as a no-op rerun, in a scratch copy of the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import ROOT
from ._util import Report, fmt_time


def _tracked_files(root: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, check=True,
                         capture_output=True).stdout.decode()
    return [f for f in out.split("\0") if f and not f.startswith("results/") and (root / f).is_file()]


def _snakemake(work: Path, cores: int, log: Path) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores)], cwd=work, stdout=fh,
                              stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    return wall, proc.returncode, log.read_text(errors="replace")


def run(rep: Report, cores: int = 2, keep: bool = False) -> dict:
    rep.section(f"4. Whole default pipeline (snakemake --cores {cores}, default config)")
    tmp = Path(tempfile.mkdtemp(prefix="grokedge-bench-"))
    work = tmp / "repo"
    try:
        files = _tracked_files(ROOT)
        for f in files:
            (work / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, work / f)
        rep.note(f"copied {len(files)} tracked files (results/ excluded) to {work}")
        cold, rc, text = _snakemake(work, cores, tmp / "cold.log")
        if rc != 0:
            rep.row(f"cold run FAILED (exit code {rc}), log tail:", "")
            print("\n".join("      " + line for line in text.splitlines()[-25:]))
            keep = True
            return {"cold": cold, "failed": True}
        jobs = next((ln.strip() for ln in text.splitlines() if "steps (100%) done" in ln), "")
        noop, rc2, text2 = _snakemake(work, cores, tmp / "noop.log")
        nothing = "Nothing to be done" in text2
        rep.row("cold run" + (f" ({jobs})" if jobs else ""), fmt_time(cold))
        state = "nothing to be done" if nothing else "RAN JOBS" if rc2 == 0 else "FAILED"
        rep.row(f"no-op rerun ({state})", fmt_time(noop))
        rep.ratio("cold / no-op rerun", cold / noop)
        rep.key("pipeline", f"whole default pipeline (snakemake --cores {cores}, {jobs or 'all jobs'}), cold / no-op "
                "rerun; goals 4 min / 3 s", f"{fmt_time(cold).strip()} / {fmt_time(noop).strip()}")
        return {"cold": cold, "noop": noop, "nothing_to_do": nothing}
    finally:
        if keep:
            rep.note(f"kept {tmp} (logs cold.log, noop.log)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
