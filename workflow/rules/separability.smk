# One job per experiment (or per chunk of a large one) writes every block's dataset manifest (seeds and
# checksums) and its certified separability table: a few processes instead of two per block. Training does not
# wait for it (the train job generates its block from the seeds; the aggregation compares the checksums).
# Per-cell caching survives the grouping: each block's separability table is reused from
# results/cache/separability when its data parameters, checksums and code are unchanged
# (grokedge.stages.separability_cached), so changing one cell recomputes that cell only.


for _name, _chunk in _separability_chunks():

    rule:
        name:
            f"separability_{_name}"
        output:
            dataset=[_block_path(c, b, "dataset.parquet") for c, b in _chunk],
            separability=[_block_path(c, b, "separability.parquet") for c, b in _chunk],
        log:
            f"{RESULTS}/logs/separability/{_name}.log",
        benchmark:
            f"{RESULTS}/benchmarks/separability/{_name}.tsv"
        conda:
            "../../envs/grokedge.yaml"
        resources:
            # the cost model (grokedge.resources), with room; see common.smk
            mem_mb=separability_mem_mb(_name, _chunk),
            runtime=separability_runtime(_chunk),
            model_core_s=separability_model_core_s(_chunk),
        params:
            blocks=[
                {
                    "cell": _spec(c).separability_spec.params(),
                    "block": b,
                    "cache": f"{RESULTS}/cache/separability/{c['experiment']}/{c['cell']}/block{b}.parquet",
                }
                for c, b in _chunk
            ],
        script:
            "../scripts/run_separability.py"
