rule plot_main:
    """The four main figures of the lambda sweep (PNG, with a PDF beside it)."""
    input:
        runs=f"{RESULTS}/tables/runs.parquet",
        curves=f"{RESULTS}/tables/curves.parquet",
    output:
        report(
            f"{RESULTS}/figures/{{figure}}.png",
            caption="../report/{figure}.rst",
            category="Main sweep",
        ),
    params:
        figure="{figure}",
        experiment=config["figures"]["main_experiment"],
        headline=config["headline_grokking"],
        definition=config["grokking"][config["headline_grokking"]],
        curve_lams=config["figures"]["curve_lams"],
    wildcard_constraints:
        figure="|".join(MAIN_FIGURES),
    log:
        f"{RESULTS}/logs/plot/{{figure}}.log",
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/grokedge.yaml"
    script:
        "../scripts/plot_figure.py"
