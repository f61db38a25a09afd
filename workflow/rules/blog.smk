rule blog_simulate:
    """Davies (2022) toy grokking with a bias-free linear model: two elongated 2-D clusters, exponential loss,
    full-batch GD; test points in a thin band around the max-margin boundary, with and without the central
    ones. One GD run, evaluated on both test sets at log-spaced epochs (a few seconds)."""
    output:
        curves=f"{RESULTS}/blog/curves.parquet",
        points=f"{RESULTS}/blog/points.parquet",
    log:
        f"{RESULTS}/logs/blog/blog_simulate.log",
    benchmark:
        f"{RESULTS}/benchmarks/blog/blog_simulate.tsv"
    conda:
        "../../envs/grokedge.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    params:
        blog=config["blog"],
    script:
        "../scripts/blog_experiment.py"
