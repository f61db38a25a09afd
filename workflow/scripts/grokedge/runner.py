"""What every Snakemake script adapter does: log to the rule's log file, pin BLAS threads, use matplotlib's
file-only backend, time the job, and write its tables atomically with provenance.

An adapter (workflow/scripts/*.py) is then a few lines over the library::

    with Job(snakemake, "toy_simulate") as job:
        curves, times = toy.experiment_tables(job.params["toy"])
        job.write(curves, snakemake.output.curves, "toy_curves")
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from .io import write_table
from .provenance import provenance


class Job:
    """Context for one script job: ``with Job(snakemake, "train") as job: ...; job.write(df, path, kind)``."""

    def __init__(self, smk, name: str):
        self.smk, self.name = smk, name
        # a cell's parameters for per-cell jobs; all params (hashed into the provenance) for the others
        params = smk.params
        self.params = dict(params.cell) if "cell" in params.keys() else dict(params.items())

    def __enter__(self):
        logging.basicConfig(filename=self.smk.log[0], level=logging.INFO, force=True,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.log = logging.getLogger(f"grokedge.{self.name}")
        wc = dict(self.smk.wildcards.items()) if hasattr(self.smk.wildcards, "items") else {}
        # what the job is, for the error line: "train of lambda_sweep/N40_d18_sigma5_lr50 block 0 failed: ..."
        self.what = " ".join(filter(None, ["/".join(filter(None, (wc.get("experiment"), wc.get("cell")))),
                                           f"block {wc['block']}" if "block" in wc else ""]))
        self.log.info("start %s %s", self.name, wc)
        # jobs are headless: figures go to files only (grokedge.plotting itself leaves the backend alone)
        os.environ["MPLBACKEND"] = "Agg"
        if "matplotlib" in sys.modules:
            sys.modules["matplotlib"].use("Agg")
        self._remove_stale_temporaries()
        # One BLAS thread per job: results are then bitwise independent of the core count, and Snakemake
        # runs jobs side by side to use the cores.
        self._limits = threadpool_limits(limits=1)
        self.t0 = time.perf_counter()
        return self

    def _remove_stale_temporaries(self) -> None:
        """A job killed while writing (SIGKILL, power loss) leaves its ``write_table`` temporary beside the
        output; the final name never holds a half-written table. Snakemake reruns the job (rerun-incomplete),
        and this rerun removes those leftovers: only this job's, as no other job writes its outputs."""
        for out in getattr(self.smk, "output", []):
            out = Path(out)
            for tmp in out.parent.glob(f".{out.name}.*.tmp"):
                tmp.unlink(missing_ok=True)
                self.log.warning("removed %s, left by an interrupted earlier attempt", tmp)

    def write(self, df, path, kind: str, metadata: dict | None = None) -> None:
        """Write ``df`` atomically with the provenance stamp (and any extra ``metadata`` keys)."""
        meta = provenance(self.params or None, wall_time_s=round(time.perf_counter() - self.t0, 3))
        write_table(df, path, kind, {**(metadata or {}), "provenance": meta, "rule": self.name})
        self.log.info("wrote %s (%d rows)", path, len(df))

    def __exit__(self, exc_type, exc, tb):
        self._limits.unregister()
        if exc is not None:
            self.log.error("%s%s failed: %s", self.name, f" of {self.what}" if self.what else "", exc)
        else:
            self.log.info("done in %.2f s", time.perf_counter() - self.t0)
        return False
