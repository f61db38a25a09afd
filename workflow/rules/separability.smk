# One job per experiment writes every block's dataset manifest (seeds and checksums) and its certified
# separability table: a few processes instead of two per block. Per-cell caching survives the grouping:
# the train rule reads its manifest as ancient() (a rewrite with the same content does not retrain), and each
# block's separability table is reused from results/cache/separability when its data parameters, checksums
# and code are unchanged (grokedge.stages.separability_cached), so changing one cell recomputes that cell only.


def _experiment_blocks(experiment):
    return [(c, b) for c in CELLS if c["experiment"] == experiment for b in range(c["n_blocks"])]


def _block_path(c, b, name):
    return f"{RESULTS}/cells/{c['experiment']}/{c['cell']}/block{b}/{name}"


for _exp in sorted({c["experiment"] for c in CELLS}):

    rule:
        name:
            f"separability_{_exp}"
        output:
            dataset=[_block_path(c, b, "dataset.parquet") for c, b in _experiment_blocks(_exp)],
            separability=[_block_path(c, b, "separability.parquet") for c, b in _experiment_blocks(_exp)],
        params:
            blocks=[
                {"cell": cell_params(config, _exp, c), "block": b,
                 "cache": f"{RESULTS}/cache/separability/{_exp}/{c['cell']}/block{b}.parquet"}
                for c, b in _experiment_blocks(_exp)
            ],
        log:
            f"{RESULTS}/logs/separability/{_exp}.log",
        benchmark:
            f"{RESULTS}/benchmarks/separability/{_exp}.tsv"
        resources:
            # one realisation's X and the LP's working copies at a time; ~1 s per 10^6 elements of X
            mem_mb=500 + max(int(20 * 8 * c["N"] * c["d"] / 2**20) for c, _ in _experiment_blocks(_exp)),
            runtime=10 + int(sum(min(config["block_size"], c["realisations"]) * c["N"] * c["d"]
                                 for c, _ in _experiment_blocks(_exp)) * 1e-6),
        conda:
            "../../envs/grokedge.yaml"
        script:
            "../scripts/run_separability.py"
