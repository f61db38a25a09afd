"""Snakemake adapter: gather every block into runs.parquet and curves.parquet."""
import pandas as pd

from grokedge.io import read_table
from grokedge.runner import Job
from grokedge.stages import summarise_runs

with Job(snakemake, "aggregate") as job:
    seps = pd.concat([read_table(p, "separability") for p in snakemake.input.separability], ignore_index=True)
    blocks = [read_table(p, "curves_block") for p in snakemake.input.curves]
    curves = pd.concat(blocks, ignore_index=True).sort_values(["experiment", "cell", "realisation", "epoch"])
    curves = curves.reset_index(drop=True)
    runs = summarise_runs(curves, seps, snakemake.params.grokking)
    job.write(runs, snakemake.output.runs, "runs")
    job.write(curves, snakemake.output.curves, "curves")
