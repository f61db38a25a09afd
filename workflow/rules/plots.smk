# Plot jobs: each draws a few registered figures of one report category (grokedge/registry.py declares each figure
# once: name, experiments, function, tables, category; registry.plot_jobs groups them), loading each table once.
# Each figure's caption is workflow/report/<name>.rst; its PNG and PDF are both declared outputs.
from grokedge import registry

FIGURE_LIST = registry.active(config)
FIGURES = [f"{RESULTS}/figures/{f.name}.{ext}" for f in FIGURE_LIST for ext in ("png", "pdf")]


for _job, _figs in registry.plot_jobs(FIGURE_LIST):

    rule:
        name:
            f"plot_{_job}"
        input:
            sorted({f for fig in _figs for v in figure_files(fig).values() for f in ([v] if isinstance(v, str) else v)}),
        output:
            **{
                f"{fig.name}_{ext}": (
                    report(
                        f"{RESULTS}/figures/{fig.name}.png",
                        caption=f"../report/{fig.caption}",
                        category=fig.category,
                    )
                    if ext == "png"
                    else f"{RESULTS}/figures/{fig.name}.pdf"
                )
                for fig in _figs
                for ext in ("png", "pdf")
            },
        log:
            f"{RESULTS}/logs/plot/{_job}.log",
        conda:
            "../../envs/grokedge.yaml"
        resources:
            mem_mb=4000,
            runtime=10 + 2 * len(_figs),
        params:
            figures=[
                {
                    "name": fig.name,
                    "files": figure_files(fig),
                    "experiments": registry.experiments(fig, config),
                    "spec": fig.spec(config),
                }
                for fig in _figs
            ],
        script:
            "../scripts/plot_figure.py"


rule run_config:
    """The resolved configuration of this run (defaults filled) and its hash; figures of another configuration
    left in the figures folder are moved to figures/stale-<their config hash>/."""
    input:
        TABLES,
        FIGURES,
    output:
        RUN_CONFIG,
    log:
        f"{RESULTS}/logs/run_config.log",
    conda:
        "../../envs/grokedge.yaml"
    params:
        config_hash=CONFIG_HASH,
        figures=[f for f in FIGURES if f.endswith(".png")],
    script:
        "../scripts/run_config.py"
