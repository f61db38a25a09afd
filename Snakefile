# Grokking at the edge of linear separability: the reproduction workflow.
# config.yaml is the laptop default; presets in workflow/presets/ override it:
#   snakemake --configfile workflow/presets/smoke.yaml
from snakemake.utils import min_version

min_version("9.0")


configfile: Path(workflow.current_basedir) / "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/separability.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/toy.smk"
include: "workflow/rules/blog.smk"
include: "workflow/rules/claims.smk"


report: "workflow/report/workflow.rst"


localrules:
    all,


# Every block's outputs are named here, not only the tables: Snakemake does not recreate a deleted intermediate
# file while the files made from it are up to date, so naming them is what makes deleting one block recompute
# that block (and the aggregates). The price is a long input list when this rule runs.
rule all:
    default_target: True
    input:
        block_files("dataset"),
        block_files("separability"),
        block_files("curves", trained_only=True),
        block_files("state", trained_only=True),
        TABLES,
        RUN_CONFIG,
        FIGURES,
        f"{RESULTS}/tables/claims.parquet",
