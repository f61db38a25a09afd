"""Snakemake adapter: LP separability, margin and S_inf of one block."""
from grokedge.io import read_table
from grokedge.runner import Job
from grokedge.stages import separability_block

with Job(snakemake, "separability") as job:
    manifest = read_table(snakemake.input[0], "dataset")
    job.write(separability_block(job.params, manifest), snakemake.output[0], "separability")
