"""Snakemake adapter: train one block of realisations and record its curves."""
from grokedge.runner import Job
from grokedge.stages import train_block

with Job(snakemake, "train") as job:
    curves, state = train_block(job.params, int(snakemake.wildcards.block), threads=snakemake.threads)
    job.write(curves, snakemake.output.curves, "curves_block")
    job.write(state, snakemake.output.state, "state")
