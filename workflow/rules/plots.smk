# One rule per registered figure (grokedge/registry.py declares each figure once: name, experiments, function,
# tables, report category); its caption is workflow/report/<name>.rst. PNG and PDF are both declared outputs.
from grokedge import registry

FIGURE_LIST = registry.active(config)
FIGURES = [f"{RESULTS}/figures/{f.name}.{ext}" for f in FIGURE_LIST for ext in ("png", "pdf")]


for _fig in FIGURE_LIST:

    rule:
        name:
            f"plot_{_fig.name}"
        input:
            **registry.input_files(_fig, config, RESULTS, lambda e: experiment_block_files(e, "state")),
        output:
            png=report(
                f"{RESULTS}/figures/{_fig.name}.png",
                caption=f"../report/{_fig.caption}",
                category=_fig.category,
            ),
            pdf=f"{RESULTS}/figures/{_fig.name}.pdf",
        log:
            f"{RESULTS}/logs/plot/{_fig.name}.log",
        conda:
            "../../envs/grokedge.yaml"
        resources:
            mem_mb=4000,
            runtime=10,
        params:
            figure=_fig.name,
            experiments=registry.experiments(_fig, config),
            spec=_fig.spec(config),
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
