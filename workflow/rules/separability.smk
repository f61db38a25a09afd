# One job per experiment (or per chunk of a large one) writes every block's dataset manifest (seeds and
# checksums) and its certified separability table: a few processes instead of two per block. Per-cell caching survives the grouping:
# the train rule reads its manifest as ancient() (a rewrite with the same content does not retrain), and each
# block's separability table is reused from results/cache/separability when its data parameters, checksums
# and code are unchanged (grokedge.stages.separability_cached), so changing one cell recomputes that cell only.


for _name, _chunk in _separability_chunks():

    rule:
        name:
            f"separability_{_name}"
        output:
            dataset=[_block_path(c, b, "dataset.parquet") for c, b in _chunk_blocks(_chunk)],
            separability=[_block_path(c, b, "separability.parquet") for c, b in _chunk_blocks(_chunk)],
        log:
            f"{RESULTS}/logs/separability/{_name}.log",
        benchmark:
            f"{RESULTS}/benchmarks/separability/{_name}.tsv"
        conda:
            "../../envs/grokedge.yaml"
        resources:
            # one realisation's X and the LP's working copies at a time; ~1 s per 10^6 elements of X
            mem_mb=500 + max(int(20 * 8 * c["N"] * c["d"] / 2**20) for c in _chunk),
            runtime=10 + int(sum(c["realisations"] * c["N"] * c["d"] for c in _chunk) * 1e-6),
        params:
            blocks=[
                {
                    "cell": cell_params(config, c["experiment"], c, SEPARABILITY_KEYS),
                    "block": b,
                    "cache": f"{RESULTS}/cache/separability/{c['experiment']}/{c['cell']}/block{b}.parquet",
                }
                for c, b in _chunk_blocks(_chunk)
            ],
        script:
            "../scripts/run_separability.py"
