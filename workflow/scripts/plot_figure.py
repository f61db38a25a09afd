"""Snakemake adapter: draw one figure from the aggregated tables."""
from grokedge import figures, plotting
from grokedge.io import read_table
from grokedge.runner import Job

with Job(snakemake, "plot") as job:
    p = snakemake.params
    plotting.style()
    runs = read_table(snakemake.input.runs, "runs")
    runs = runs[runs.experiment.isin(p.experiments)]
    if p.figure in ("loss_nonmonotone", "training_curves", "two_gaussian", "adam"):
        curves = read_table(snakemake.input.curves, "curves")
        curves = curves[curves.experiment.isin(p.experiments)]
    draw = {
        "grokking_time": lambda: figures.grokking_time_figure(runs, p.headline, p.definition),
        "loss_nonmonotone": lambda: figures.loss_curves_figure(curves, runs, p.curve_lams),
        "separable_fraction": lambda: figures.separable_fraction_figure(runs),
        "final_accuracy": lambda: figures.final_accuracy_figure(runs),
        "asymptotic": lambda: figures.asymptotic_figure(runs, p.headline, p.definition),
        "training_curves": lambda: figures.training_curves_figure(curves),
        "s_inf": lambda: figures.s_inf_figure(runs),
        "two_gaussian": lambda: figures.two_gaussian_figure(curves),
        "adam": lambda: figures.adam_figure(curves, {e: s.replace("flow", "GD (flow limit)").replace("adam", "Adam")
                                                     for e, s in p.solvers.items()}),
        "finite_size": lambda: figures.finite_size_figure(runs),
    }
    plotting.save(draw[p.figure](), snakemake.output[0])
