"""Snakemake adapter: paper Fig. 2 from the final states (training points regenerated from their seeds)."""
import pandas as pd

from grokedge import figures, plotting
from grokedge.io import read_table
from grokedge.runner import Job
from grokedge.stages import final_projections

with Job(snakemake, "plot") as job:
    plotting.style()
    curves = read_table(snakemake.input.curves, "curves")
    curves = curves[curves.experiment == snakemake.params.experiment]
    states = pd.concat([read_table(f, "state") for f in snakemake.input.states], ignore_index=True)
    plotting.save(figures.projections_and_paths_figure(curves, final_projections(states)), snakemake.output[0])
