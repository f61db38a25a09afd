"""Snakemake adapter: one experiment's dataset manifests and certified separability tables, every block."""
from grokedge.runner import Job
from grokedge.stages import dataset_and_separability

with Job(snakemake, "separability") as job:
    outputs = zip(snakemake.params.blocks, snakemake.output.dataset, snakemake.output.separability, strict=True)
    for spec, dataset_path, separability_path in outputs:
        job.params = spec["cell"]  # each table's provenance names its own cell
        job.what = f"{job.params['experiment']}/{job.params['cell']} block {spec['block']}"  # for an error line
        manifest, table, cached = dataset_and_separability(job.params, spec["block"], spec["cache"])
        job.write(manifest, dataset_path, "dataset")
        job.write(table, separability_path, "separability")
        job.log.info("%s block %d: %s", job.params["cell"], spec["block"], "from cache" if cached else "computed")
