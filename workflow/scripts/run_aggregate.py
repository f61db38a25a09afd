"""Snakemake adapter: gather every block into runs.parquet and curves.parquet."""
from grokedge.runner import Job
from grokedge.stages import gather_blocks, summarise_runs

with Job(snakemake, "aggregate") as job:  # noqa: F821
    seps = gather_blocks(snakemake.input.separability, "separability")  # noqa: F821
    curves = gather_blocks(snakemake.input.curves, "curves_block")  # noqa: F821
    curves = curves.sort_values(["experiment", "cell", "realisation", "epoch"])
    curves = curves.reset_index(drop=True)
    runs = summarise_runs(curves, seps, snakemake.params.grokking)  # noqa: F821
    job.write(runs, snakemake.output.runs, "runs")  # noqa: F821
    job.write(curves, snakemake.output.curves, "curves")  # noqa: F821
