"""Snakemake adapter: the 1-D toy model's ``toy_curves`` (Fig. 8) and ``toy_times`` (Figs 9, 3 right) tables."""
from grokedge import toy
from grokedge.runner import Job

with Job(snakemake, "toy_simulate") as job:
    curves, times = toy.experiment_tables(job.params["toy"])
    job.write(curves, snakemake.output.curves, "toy_curves", {"toy": job.params["toy"]})
    job.write(times, snakemake.output.times, "toy_times", {"toy": job.params["toy"]})
