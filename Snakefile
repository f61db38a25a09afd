# Grokking at the edge of linear separability: the reproduction workflow.
# config.yaml is the laptop default; presets in workflow/presets/ override it:
#   snakemake --configfile workflow/presets/smoke.yaml
from snakemake.utils import min_version

min_version("9.0")


configfile: Path(workflow.basedir) / "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/separability.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/toy.smk"
include: "workflow/rules/blog.smk"


rule all:
    input:
        # every block's outputs are named, so deleting one recomputes that block (and the aggregates)
        block_files("dataset"),
        block_files("separability"),
        block_files("curves", trained_only=True),
        block_files("state", trained_only=True),
        TABLES,
        FIGURES,
    default_target: True
