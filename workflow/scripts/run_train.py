"""Snakemake adapter: train one block of realisations and record its curves."""
from grokedge.io import read_table
from grokedge.runner import Job
from grokedge.stages import train_block

with Job(snakemake, "train") as job:
    manifest = read_table(snakemake.input[0], "dataset")
    curves, state = train_block(job.params, manifest, threads=snakemake.threads)
    job.write(curves, snakemake.output.curves, "curves_block")
    job.write(state, snakemake.output.state, "state")
