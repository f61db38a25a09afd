rule claims:
    """The claims ledger: every claim of the paper and of the blog evaluated on this run's tables (one row per
    claim with its verdict: holds, differs, or not run when the run's grid cannot decide), as Parquet, as a
    Markdown table, and as the HTML table the report shows under "Claims ledger"."""
    input:
        runs=f"{RESULTS}/tables/runs.parquet",
        curves=f"{RESULTS}/tables/curves.parquet",
        toy_curves=rules.toy_simulate.output.curves,
        toy_times=rules.toy_simulate.output.times,
        blog_curves=rules.blog_simulate.output.curves,
    output:
        ledger=f"{RESULTS}/tables/claims.parquet",
        markdown=f"{RESULTS}/tables/claims.md",
        html=report(
            f"{RESULTS}/tables/claims.html",
            caption="../report/claims.rst",
            category="0. Claims ledger",
        ),
    log:
        f"{RESULTS}/logs/claims.log",
    conda:
        "../../envs/grokedge.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        figures=config["figures"],
        grokking=config["grokking"],
    script:
        "../scripts/run_claims.py"
