rule separability:
    """Exact LP decision of separability from the origin, margin (separable) or S_inf (inseparable)."""
    input:
        f"{RESULTS}/cells/{{experiment}}/{{cell}}/block{{block}}/dataset.parquet",
    output:
        f"{RESULTS}/cells/{{experiment}}/{{cell}}/block{{block}}/separability.parquet",
    log:
        f"{RESULTS}/logs/separability/{{experiment}}/{{cell}}/block{{block}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/separability/{{experiment}}/{{cell}}/block{{block}}.tsv"
    conda:
        "../../envs/grokedge.yaml"
    resources:
        mem_mb=lambda wc: 500 + int(20 * 8 * block_work(wc) / 2**20 / config["block_size"]),
        runtime=lambda wc: 10 + int(block_work(wc) * 1e-6),
    params:
        cell=separability_params_of,
    script:
        "../scripts/run_separability.py"
