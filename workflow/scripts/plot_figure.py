"""Snakemake adapter: draw one of the main figures from the aggregated tables."""
from grokedge import figures, plotting
from grokedge.io import read_table
from grokedge.runner import Job

with Job(snakemake, "plot") as job:  # noqa: F821
    p = snakemake.params  # noqa: F821
    plotting.style()
    runs = read_table(snakemake.input.runs, "runs")  # noqa: F821
    runs = runs[runs.experiment == p.experiment]
    if p.figure == "grokking_time":
        fig = figures.grokking_time_figure(runs, p.headline, p.definition)
    elif p.figure == "loss_nonmonotone":
        curves = read_table(snakemake.input.curves, "curves")  # noqa: F821
        fig = figures.loss_curves_figure(curves[curves.experiment == p.experiment], runs, p.curve_lams)
    elif p.figure == "separable_fraction":
        fig = figures.separable_fraction_figure(runs)
    elif p.figure == "final_accuracy":
        fig = figures.final_accuracy_figure(runs)
    else:
        raise ValueError(f"unknown figure {p.figure!r}")
    plotting.save(fig, snakemake.output[0])  # noqa: F821
