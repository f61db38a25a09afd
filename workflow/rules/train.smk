rule train:
    """Train a block of realisations (GD, Adam or the gradient-flow solver) and record log-spaced curves. No
    input: the block's data are generated from their seeds, so training starts at once; the aggregation checks
    their checksums against the separability job's manifest."""
    output:
        curves=f"{RESULTS}/cells/{{experiment}}/{{cell}}/block{{block}}/curves.parquet",
        state=f"{RESULTS}/cells/{{experiment}}/{{cell}}/block{{block}}/state.parquet",
    log:
        f"{RESULTS}/logs/train/{{experiment}}/{{cell}}/block{{block}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{experiment}}/{{cell}}/block{{block}}.tsv"
    conda:
        "../../envs/grokedge.yaml"
    # GD and Adam split a block's realisations over threads (bitwise identical for any count); the flow
    # solver integrates cache-sized groups one after the other and streams large realisations (one thread)
    threads: train_threads
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    params:
        cell=params_of,
    script:
        "../scripts/run_train.py"
