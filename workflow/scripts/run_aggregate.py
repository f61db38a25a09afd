"""Snakemake adapter: gather every block into runs.parquet and curves.parquet."""
from grokedge.runner import Job
from grokedge.stages import check_same_data, gather_blocks, summarise_runs

with Job(snakemake, "aggregate") as job:
    data_columns = ["seed", "x_sha256", "s0_sha256"]
    check_same_data(gather_blocks(snakemake.input.dataset, "dataset", data_columns),
                    gather_blocks(snakemake.input.state, "state", data_columns))
    seps = gather_blocks(snakemake.input.separability, "separability")
    curves = gather_blocks(snakemake.input.curves, "curves_block")
    curves = curves.sort_values(["experiment", "cell", "realisation", *(["epoch"] if len(curves) else [])])
    curves = curves.reset_index(drop=True)
    runs = summarise_runs(curves, seps, snakemake.params.grokking)
    job.write(runs, snakemake.output.runs, "runs")
    job.write(curves, snakemake.output.curves, "curves")
