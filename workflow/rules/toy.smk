rule toy_simulate:
    """1-D toy model (paper Sec. 4 / App. E): gradient flow integrated in log time; Fig. 8 trajectories and the
    (sigma, 1 - 2 lambda) sweep of loss/accuracy threshold-crossing epochs behind Figs 9 and 3 (right)."""
    output:
        curves=f"{RESULTS}/toy/curves.parquet",
        times=f"{RESULTS}/toy/times.parquet",
    log:
        f"{RESULTS}/logs/toy/toy_simulate.log",
    benchmark:
        f"{RESULTS}/benchmarks/toy/toy_simulate.tsv"
    conda:
        "../../envs/grokedge.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    params:
        toy=config["toy"],
    script:
        "../scripts/toy_experiment.py"
