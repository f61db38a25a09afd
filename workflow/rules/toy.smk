rule toy_simulate:
    """1-D toy model (paper Sec. 4 / App. E): gradient flow integrated in log time; Fig. 8 trajectories and the
    (sigma, 1 - 2 lambda) sweep of loss/accuracy threshold-crossing epochs behind Figs 9 and 3 (right)."""
    output:
        curves=f"{RESULTS}/toy/curves.parquet",
        times=f"{RESULTS}/toy/times.parquet",
    params:
        toy=config["toy"],
    log:
        f"{RESULTS}/logs/toy/toy_simulate.log",
    benchmark:
        f"{RESULTS}/benchmarks/toy/toy_simulate.tsv"
    resources:
        mem_mb=500,
        runtime=10,
    conda:
        "../../envs/grokedge.yaml"
    script:
        "../scripts/toy_experiment.py"


rule toy_plot:
    """Toy-model figures: Fig. 8 (curves), Fig. 9 (generalisation delay vs 1 - 2 lambda), Fig. 3 right (grokking
    time over sigma and 1 - 2 lambda); each PNG has a PDF beside it."""
    input:
        curves=rules.toy_simulate.output.curves,
        times=rules.toy_simulate.output.times,
    output:
        fig8=report(f"{RESULTS}/figures/toy_fig8.png", caption="../report/toy_fig8.rst", category="1-D toy model"),
        fig9=report(f"{RESULTS}/figures/toy_fig9.png", caption="../report/toy_fig9.rst", category="1-D toy model"),
        fig3=report(f"{RESULTS}/figures/toy_fig3.png", caption="../report/toy_fig3.rst", category="1-D toy model"),
    params:
        toy=config["toy"],
    log:
        f"{RESULTS}/logs/toy/toy_plot.log",
    benchmark:
        f"{RESULTS}/benchmarks/toy/toy_plot.tsv"
    resources:
        mem_mb=500,
        runtime=10,
    conda:
        "../../envs/grokedge.yaml"
    script:
        "../scripts/plot_toy.py"
