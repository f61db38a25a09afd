"""Snakemake adapter: record the run's configuration and hash, moving aside figures of another configuration."""
from grokedge.config import record_run
from grokedge.runner import Job

with Job(snakemake, "run_config") as job:
    for src, dest in record_run(snakemake.output[0], snakemake.config, snakemake.params.config_hash,
                                 snakemake.params.figures):
        job.log.warning("moved %s (not drawn by this configuration) to %s", src, dest)
