rule plot:
    """Figures drawn from the aggregated tables (PNG, with a PDF beside it)."""
    input:
        runs=f"{RESULTS}/tables/runs.parquet",
        curves=f"{RESULTS}/tables/curves.parquet",
    output:
        report(
            f"{RESULTS}/figures/{{figure}}.png",
            caption="../report/figure.rst",
            category="Paper model",
        ),
    params:
        figure="{figure}",
        experiments=lambda wc: FIGURE_EXPERIMENTS[wc.figure],
        solvers=lambda wc: {e: config["experiments"][e]["solver"] for e in FIGURE_EXPERIMENTS[wc.figure]},
        headline=config["headline_grokking"],
        definition=config["grokking"][config["headline_grokking"]],
        curve_lams=config["figures"]["curve_lams"],
    wildcard_constraints:
        figure="|".join(TABLE_FIGURES),
    log:
        f"{RESULTS}/logs/plot/{{figure}}.log",
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        "../../envs/grokedge.yaml"
    script:
        "../scripts/plot_figure.py"


rule plot_projections:
    """Paper Fig. 2: final projections S.x_i/|S| (points regenerated from their seeds) and (sigma|S|, b) paths."""
    input:
        curves=f"{RESULTS}/tables/curves.parquet",
        states=lambda wc: experiment_block_files(config["figures"]["training_curves"], "state"),
    output:
        report(
            f"{RESULTS}/figures/projections_paths.png",
            caption="../report/projections_paths.rst",
            category="Paper model",
        ),
    params:
        experiment=config["figures"].get("training_curves"),
    log:
        f"{RESULTS}/logs/plot/projections_paths.log",
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        "../../envs/grokedge.yaml"
    script:
        "../scripts/plot_projections.py"
