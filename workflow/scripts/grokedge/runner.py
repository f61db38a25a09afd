"""What every Snakemake script adapter does: log to the rule's log file, pin BLAS threads, time the job,
and write its tables atomically with provenance."""

from __future__ import annotations

import logging
import time

from threadpoolctl import threadpool_limits

from .io import write_table
from .provenance import provenance


class Job:
    """Context for one script job: ``with Job(snakemake, "train") as job: ...; job.write(df, path, kind)``."""

    def __init__(self, smk, name: str):
        self.smk, self.name = smk, name
        self.params = dict(smk.params.get("cell", {})) if hasattr(smk.params, "get") else {}

    def __enter__(self):
        logging.basicConfig(filename=self.smk.log[0], level=logging.INFO, force=True,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.log = logging.getLogger(f"grokedge.{self.name}")
        wc = dict(self.smk.wildcards.items()) if hasattr(self.smk.wildcards, "items") else {}
        self.log.info("start %s %s", self.name, wc)
        # One BLAS thread per job: results are then bitwise independent of the core count, and Snakemake
        # runs jobs side by side to use the cores.
        self._limits = threadpool_limits(limits=1)
        self.t0 = time.perf_counter()
        return self

    def write(self, df, path, kind: str) -> None:
        meta = provenance(self.params or None, wall_time_s=round(time.perf_counter() - self.t0, 3))
        write_table(df, path, kind, {"provenance": meta, "rule": self.name})
        self.log.info("wrote %s (%d rows)", path, len(df))

    def __exit__(self, exc_type, exc, tb):
        self._limits.unregister()
        if exc is not None:
            self.log.error("%s failed: %s", self.name, exc)
        else:
            self.log.info("done in %.2f s", time.perf_counter() - self.t0)
        return False
