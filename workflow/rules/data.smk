rule dataset:
    """Seeds and checksums of a block's realisations (the arrays are regenerated from the seeds)."""
    output:
        f"{RESULTS}/cells/{{experiment}}/{{cell}}/block{{block}}/dataset.parquet",
    log:
        f"{RESULTS}/logs/dataset/{{experiment}}/{{cell}}/block{{block}}.log",
    conda:
        "../../envs/grokedge.yaml"
    resources:
        mem_mb=lambda wc: 300 + int(2 * 8 * block_work(wc) / 2**20),
        runtime=10,
    params:
        cell=data_params_of,
    script:
        "../scripts/run_dataset.py"
