"""Snakemake adapter: dataset manifest of one block (seeds and checksums)."""
from grokedge.runner import Job
from grokedge.stages import dataset_manifest

with Job(snakemake, "dataset") as job:
    job.write(dataset_manifest(job.params, int(snakemake.wildcards.block)), snakemake.output[0], "dataset")
