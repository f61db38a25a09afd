# One job per run of an experiment's blocks (common.smk: _train_chunks) trains each block (GD, Adam or the
# gradient-flow solver) and records its log-spaced curves and final state. No input: every block's data are
# generated from their seeds, so training starts at once; the aggregation checks their checksums against the
# separability job's manifest. Blocks whose parameters and code are unchanged come from results/cache/train/.


for _name, _chunk in _train_chunks():

    rule:
        name:
            f"train_{_name}"
        output:
            curves=[_block_path(c, b, "curves.parquet") for c, b in _chunk],
            state=[_block_path(c, b, "state.parquet") for c, b in _chunk],
        log:
            f"{RESULTS}/logs/train/{_name}.log",
        benchmark:
            f"{RESULTS}/benchmarks/train/{_name}.tsv"
        conda:
            "../../envs/grokedge.yaml"
        threads: train_threads(_chunk)
        resources:
            mem_mb=train_mem_mb(_name, _chunk),
            runtime=train_runtime(_chunk),
            model_core_s=train_model_core_s(_chunk),
        params:
            blocks=[
                {
                    "cell": _spec(c).params(),
                    "block": b,
                    "cache": f"{RESULTS}/cache/train/{c['experiment']}/{c['cell']}/block{b}",
                }
                for c, b in _chunk
            ],
        script:
            "../scripts/run_train.py"
