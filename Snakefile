# Grokking at the edge of linear separability: the reproduction workflow.
# config.yaml is the laptop default; presets in workflow/presets/ override it:
#   snakemake --configfile workflow/presets/smoke.yaml
from snakemake.utils import min_version

min_version("9.0")


configfile: Path(workflow.current_basedir) / "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/separability.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/toy.smk"
include: "workflow/rules/blog.smk"


report: "workflow/report/workflow.rst"


localrules:
    all,


# The tables and every registered figure. Block outputs are reached through the aggregate rule, whose inputs
# name every block's files (deleting one recomputes that block and what depends on it), so this target lists
# only the final files.
rule all:
    default_target: True
    input:
        TABLES,
        FIGURES,
