"""Snakemake adapter: train a run of blocks (each from the cache when unchanged) and record their curves."""
from grokedge.runner import Job
from grokedge.stages import train_cached

with Job(snakemake, "train") as job:
    outputs = zip(snakemake.params.blocks, snakemake.output.curves, snakemake.output.state, strict=True)
    for spec, curves_path, state_path in outputs:
        job.params = spec["cell"]  # each table's provenance names its own cell
        job.what = f"{job.params['experiment']}/{job.params['cell']} block {spec['block']}"  # for an error line
        job.log.info("%s", job.what)
        curves, state, cached = train_cached(job.params, spec["block"], spec["cache"], threads=snakemake.threads)
        job.write(curves, curves_path, "curves_block")
        job.write(state, state_path, "state")
        job.log.info("%s block %d: %s", job.params["cell"], spec["block"], "from cache" if cached else "trained")
