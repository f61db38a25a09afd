"""Snakemake adapter: draw one registered figure (grokedge.registry) to its PNG and PDF."""
from grokedge import plotting, registry
from grokedge.runner import Job

with Job(snakemake, "plot") as job:
    plotting.style()
    p = snakemake.params
    figure = registry.draw(p.figure, dict(snakemake.input.items()), p.experiments, p.spec)
    plotting.save(figure, snakemake.output.png, snakemake.output.pdf)
