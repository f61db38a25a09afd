"""Snakemake adapter: gather every block into runs.parquet and curves.parquet."""
from grokedge.runner import Job
from grokedge.stages import gather_blocks, summarise_runs

with Job(snakemake, "aggregate") as job:
    seps = gather_blocks(snakemake.input.separability, "separability")
    curves = gather_blocks(snakemake.input.curves, "curves_block")
    curves = curves.sort_values(["experiment", "cell", "realisation", "epoch"])
    curves = curves.reset_index(drop=True)
    runs = summarise_runs(curves, seps, snakemake.params.grokking)
    job.write(runs, snakemake.output.runs, "runs")
    job.write(curves, snakemake.output.curves, "curves")
