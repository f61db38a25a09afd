"""Snakemake adapter: draw a plot job's registered figures (grokedge.registry), each to its PNG and PDF."""
from grokedge import plotting, registry
from grokedge.runner import Job

with Job(snakemake, "plot") as job:
    plotting.style()
    tables = {}  # each table file read once per job
    for fig in snakemake.params.figures:
        job.log.info("drawing %s", fig["name"])
        figure = registry.draw(fig["name"], fig["files"], fig["experiments"], fig["spec"], cache=tables)
        plotting.save(figure, snakemake.output[f"{fig['name']}_png"], snakemake.output[f"{fig['name']}_pdf"])
