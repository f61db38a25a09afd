rule aggregate:
    """One row per realisation (runs) and per realisation x checkpoint (curves), as Parquet."""
    input:
        dataset=block_files("dataset"),
        separability=block_files("separability"),
        curves=block_files("curves", trained_only=True),
        state=block_files("state", trained_only=True),
    output:
        runs=f"{RESULTS}/tables/runs.parquet",
        curves=f"{RESULTS}/tables/curves.parquet",
    log:
        f"{RESULTS}/logs/aggregate.log",
    conda:
        "../../envs/grokedge.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        grokking=config["grokking"],
    script:
        "../scripts/run_aggregate.py"
