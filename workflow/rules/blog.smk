rule blog_simulate:
    """Davies (2022) toy grokking with a bias-free linear model: two elongated 2-D clusters, exponential loss,
    full-batch GD; test points in a thin band around the max-margin boundary, with and without the central
    ones. One GD run, evaluated on both test sets at log-spaced epochs (a few seconds)."""
    output:
        curves=f"{RESULTS}/blog/curves.parquet",
        points=f"{RESULTS}/blog/points.parquet",
    params:
        blog=config["blog"],
    log:
        f"{RESULTS}/logs/blog/blog_simulate.log",
    benchmark:
        f"{RESULTS}/benchmarks/blog/blog_simulate.tsv"
    resources:
        mem_mb=500,
        runtime=10,
    conda:
        "../../envs/grokedge.yaml"
    script:
        "../scripts/blog_experiment.py"


rule blog_plot:
    """Blog figures: the data with the SVM and learned boundaries, train/test accuracy and loss vs epochs,
    and the angle between w and the max-margin direction; each PNG has a PDF beside it."""
    input:
        curves=rules.blog_simulate.output.curves,
        points=rules.blog_simulate.output.points,
    output:
        data=report(f"{RESULTS}/figures/blog_data.png", caption="../report/blog_data.rst", category="Linear-model toy grokking (Davies 2022)"),
        curves=report(f"{RESULTS}/figures/blog_curves.png", caption="../report/blog_curves.rst", category="Linear-model toy grokking (Davies 2022)"),
        angle=report(f"{RESULTS}/figures/blog_angle.png", caption="../report/blog_angle.rst", category="Linear-model toy grokking (Davies 2022)"),
    params:
        blog=config["blog"],
    log:
        f"{RESULTS}/logs/blog/blog_plot.log",
    benchmark:
        f"{RESULTS}/benchmarks/blog/blog_plot.tsv"
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/grokedge.yaml"
    script:
        "../scripts/plot_blog.py"
