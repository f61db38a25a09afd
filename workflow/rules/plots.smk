# One rule per registered figure (grokedge/registry.py declares each figure once: name, experiments, function,
# tables, report category); its caption is workflow/report/<name>.rst. PNG and PDF are both declared outputs.
from grokedge import registry

FIGURE_LIST = registry.active(config)
FIGURES = [f"{RESULTS}/figures/{f.name}.{ext}" for f in FIGURE_LIST for ext in ("png", "pdf")]


def figure_inputs(fig):
    """The files of a figure's tables: Parquet paths under RESULTS, and the final states for projections."""
    files = {}
    for table in filter(None, fig.tables):
        if table == "projections":
            files[table] = [
                f
                for e in registry.experiments(fig, config)
                for f in experiment_block_files(e, "state")
            ]
        else:
            files[table] = f"{RESULTS}/{registry.TABLES[table][1]}"
    return files


for _fig in FIGURE_LIST:

    rule:
        name:
            f"plot_{_fig.name}"
        input:
            **figure_inputs(_fig),
        output:
            png=report(
                f"{RESULTS}/figures/{_fig.name}.png",
                caption=f"../report/{_fig.caption}",
                category=_fig.category,
            ),
            pdf=f"{RESULTS}/figures/{_fig.name}.pdf",
        params:
            figure=_fig.name,
            experiments=registry.experiments(_fig, config),
            spec=_fig.spec(config),
        log:
            f"{RESULTS}/logs/plot/{_fig.name}.log",
        resources:
            mem_mb=4000,
            runtime=10,
        conda:
            "../../envs/grokedge.yaml"
        script:
            "../scripts/plot_figure.py"
