"""The figure registry: every figure of the workflow is declared here, once.

A declaration names the figure, the experiments it draws (through a key of the ``figures`` config section),
the library function that draws it, the two tables that function receives, and the report category. Its
caption is ``workflow/report/<name>.rst`` (a Jinja template that sees ``snakemake.config``). The workflow
(workflow/rules/plots.smk) makes one rule ``plot_<name>`` per active figure from this table, with the PNG
and the PDF as declared outputs; the adapter workflow/scripts/plot_figure.py calls :func:`draw`.

Adding a figure = one ``Figure(...)`` entry below, one function, one caption file. The function is pure:

    def <name>_figure(runs: pd.DataFrame, curves: pd.DataFrame, spec: dict) -> matplotlib.figure.Figure

where ``runs`` and ``curves`` are the entry's ``tables`` (by default the aggregated runs and curves tables),
already filtered to the figure's experiments, and ``spec`` is what the entry's ``spec`` builder takes from the
config (it is a rule parameter: changing it redraws the figure). This module imports no plotting code, so the
workflow can read it while parsing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

# table name -> (kind checked on read, path under the results folder); "projections" is computed from the
# final ``state`` tables of the figure's experiments (grokedge.stages.final_projections)
TABLES = {
    "runs": ("runs", "tables/runs.parquet"),
    "curves": ("curves", "tables/curves.parquet"),
    "toy_times": ("toy_times", "toy/times.parquet"),
    "toy_curves": ("toy_curves", "toy/curves.parquet"),
    "blog_points": ("blog_points", "blog/points.parquet"),
    "blog_curves": ("blog_curves", "blog/curves.parquet"),
    "projections": ("state", None),
}

MAIN, OTHER = "1. Paper model: the lambda sweep", "2. Paper model: further experiments"
TOY, BLOG = "3. 1-D toy model (paper Sec. 4)", "4. Linear-model toy grokking (Davies 2022)"
JOB_NAMES = {MAIN: "sweep", OTHER: "further", TOY: "toy", BLOG: "blog"}


def _nothing(config: dict) -> dict:
    return {}


def _headline(config: dict) -> dict:
    name = config["headline_grokking"]
    return {"headline": name, "definition": config["grokking"][name]}


def _curve_lams(config: dict) -> dict:
    return {"curve_lams": list(config["figures"]["curve_lams"])}


def _solvers(config: dict) -> dict:
    names = config["figures"]["adam"]
    names = [names] if isinstance(names, str) else list(names)
    label = {"flow": "GD (flow limit)", "gd": "GD", "adam": "Adam"}
    exps = config["experiments"]
    return {"labels": {e: label.get(exps[e]["solver"], exps[e]["solver"]) for e in names},
            "horizons": {e: float(exps[e]["horizon"]) for e in names}}


def _toy(config: dict) -> dict:
    return {"toy": config["toy"]}


def _blog(config: dict) -> dict:
    return {"blog": config["blog"]}


def _curves_by(axis: str, title: str, note: str = "", paper: tuple = ()) -> Callable[[dict], dict]:
    """Spec of an option figure (grokedge.option_figures.curves_by_axis_figure): curves coloured by ``axis``;
    ``paper``: (figure key of grokedge.ledger.readoffs, quantity, panel row "loss"/"acc"/"sigma_s_norm"/"b") marks."""
    marks = [{"figure": f, "quantity": q, "panel": p} for f, q, p in paper]
    return lambda config: {"axis": axis, "title": title, "note": note, "paper": marks}


def _input_laws(config: dict) -> dict:
    """Fig. 15's spec, with each law's rms standard deviation of a coordinate, sqrt(tr C / d): the grid's sigma
    is a standard deviation only for the isotropic law (the power law's eigenvalues sum to sigma d), so the
    weight-scale row draws sqrt(tr C / d) |S|, which is sigma |S| for the isotropic law."""
    from .spec import input_law

    names = config["figures"]["input_laws"]
    sd = {}
    for e in [names] if isinstance(names, str) else names:
        exp = config["experiments"][e]
        laws = {input_law(exp, s) for s in exp["sigma"]}
        sd |= {law.name: float(law.variances(100).mean()) ** 0.5 for law in laws}
    spec = _curves_by("input_law", "Paper Fig. 15: other input laws", "mixture: gen = sampled test set",
                      paper=[("15", "gen_loss_peak", "loss")])(config)
    return spec | {"coordinate_sd": sd}


def _critical(config: dict) -> dict:
    """The critical figure's two experiments (finite-size scaling, grokking time; one name serves both) and the
    first grokking definition of kind A_gen-reaches-a (None: the grokking panel says that it has none)."""
    names = config["figures"]["critical_scaling"]
    names = [names] if isinstance(names, str) else list(names)
    grok = next(({"name": n} | d for n, d in config["grokking"].items() if d["kind"] == "gen_accuracy"), None)
    return {"scaling": names[0], "grokking": names[-1], "definition": grok}


def _conformal(config: dict) -> dict:
    return {"lam": 0.48, "inset_lam": 0.55, "N": 400, "sigma": 5.0, "lr": 0.01, "root_seed": config["root_seed"]}


def _svm_geometry(config: dict) -> dict:
    return {"lams": [0.75, 0.5, 0.0]}


@dataclass(frozen=True)
class Figure:
    """One figure: see the module docstring."""

    name: str
    function: str  # "module:function" inside grokedge
    experiments: str | None  # key of config["figures"] naming its experiment(s); None: toy/blog (no experiments)
    category: str
    tables: tuple[str, str | None] = ("runs", "curves")  # None: the function gets an empty frame there
    spec: Callable[[dict], dict] = _nothing

    @property
    def caption(self) -> str:
        return f"{self.name}.rst"


FIGURES: tuple[Figure, ...] = (
    Figure("grokking_time", "figures:grokking_time_figure", "main_experiment", MAIN, ("runs", None), _headline),
    Figure("loss_nonmonotone", "figures:loss_curves_figure", "main_experiment", MAIN, spec=_curve_lams),
    Figure("separable_fraction", "figures:separable_fraction_figure", "main_experiment", MAIN, ("runs", None)),
    Figure("final_accuracy", "figures:final_accuracy_figure", "main_experiment", MAIN, ("runs", None)),
    Figure("asymptotic", "figures:asymptotic_figure", "main_experiment", MAIN, ("runs", None), _headline),
    Figure("training_curves", "figures:training_curves_figure", "training_curves", OTHER, (None, "curves")),
    Figure("projections_paths", "figures:projections_and_paths_figure", "training_curves", OTHER,
           ("projections", "curves")),
    Figure("s_inf", "figures:s_inf_figure", "s_inf", OTHER, ("runs", None)),
    Figure("two_gaussian", "figures:two_gaussian_figure", "two_gaussian", OTHER, (None, "curves")),
    Figure("adam", "figures:adam_figure", "adam", OTHER, (None, "curves"), _solvers),
    Figure("finite_size", "figures:finite_size_figure", "finite_size", OTHER, ("runs", None)),
    Figure("fig2_conformal_time", "option_figures:conformal_time_figure", None, OTHER, (None, None), _conformal),
    Figure("fig10_sigma", "option_figures:curves_by_axis_figure", "sigma", OTHER,
           spec=_curves_by("sigma", "Paper Fig. 10: larger sigma makes grokking clearer")),
    Figure("fig11_adam_torch", "option_figures:curves_by_axis_figure", "adam_defaults", OTHER,
           spec=_curves_by("solver", "Paper Fig. 11: Adam with PyTorch's defaults", "lr 1e-3, betas (0.9, 0.999)")),
    Figure("fig12_s0", "option_figures:curves_by_axis_figure", "s0", OTHER,
           spec=_curves_by("s0_norm", "Paper Fig. 12: initial weight scale |S0|")),
    Figure("fig13_b0", "option_figures:curves_by_axis_figure", "b0", OTHER,
           spec=_curves_by("b0", "Paper Fig. 13: initial bias b0", paper=[("13", "gen_acc", "acc")])),
    Figure("fig14_exponential", "option_figures:curves_by_axis_figure", "exponential", OTHER,
           spec=_curves_by("loss", "Paper Fig. 14: the pure exponential loss")),
    Figure("fig15_input_laws", "option_figures:curves_by_axis_figure", "input_laws", OTHER, spec=_input_laws),
    Figure("fig16_labels", "option_figures:curves_by_axis_figure", "label_fraction", OTHER,
           spec=_curves_by("label_fraction", "Paper Fig. 16: label fraction r")),
    Figure("positive_fraction", "theory_figures:positive_fraction_figure", "positive_fraction", OTHER,
           ("runs", None)),
    Figure("margin_projection", "theory_figures:margin_projection_figure", "margin_projection", OTHER,
           ("runs", None)),
    Figure("finite_size_convergence", "theory_figures:finite_size_convergence_figure", "finite_size_convergence",
           OTHER, ("runs", None), lambda config: {"x": "1/N"}),
    Figure("critical_scaling", "critical_figures:critical_scaling_figure", "critical_scaling", OTHER, ("runs", None),
           _critical),
    Figure("fig3_svm_geometry", "option_figures:toy_svm_geometry_figure", None, TOY, (None, None), _svm_geometry),
    Figure("toy_fig8", "figures_toy:toy_fig8_figure", None, TOY, ("toy_times", "toy_curves"), _toy),
    Figure("toy_fig9", "figures_toy:toy_fig9_figure", None, TOY, ("toy_times", "toy_curves"), _toy),
    Figure("toy_fig3", "figures_toy:toy_fig3_figure", None, TOY, ("toy_times", "toy_curves"), _toy),
    Figure("blog_data", "figures_blog:blog_data_figure", None, BLOG, ("blog_points", "blog_curves"), _blog),
    Figure("blog_curves", "figures_blog:blog_curves_figure", None, BLOG, ("blog_points", "blog_curves"), _blog),
    Figure("blog_angle", "figures_blog:blog_angle_figure", None, BLOG, ("blog_points", "blog_curves"), _blog),
)
BY_NAME = {f.name: f for f in FIGURES}
assert len(BY_NAME) == len(FIGURES), "two figures share a name"


def experiments(fig: Figure, config: dict) -> list[str] | None:
    """The experiments ``fig`` draws under ``config`` (None if its key is absent from the figures section)."""
    if fig.experiments is None:
        return []
    names = config.get("figures", {}).get(fig.experiments)
    if names is None:
        return None
    return [names] if isinstance(names, str) else list(names)


def active(config: dict) -> list[Figure]:
    """The figures made under ``config``: those whose experiments are all active."""
    out = []
    for fig in FIGURES:
        names = experiments(fig, config)
        if names is not None and set(names) <= set(config["active"]):
            out.append(fig)
    return out


PLOT_JOB_FIGURES = 6  # figures per plot job: a few processes, each loading the tables once


def plot_jobs(figures: list[Figure]) -> list[tuple[str, list[Figure]]]:
    """The plot jobs: figures that read no table (``standalone``: they compute what they draw, so they run while
    the experiments do), then each category's figures in registry order, in runs of at most PLOT_JOB_FIGURES,
    named <category word>[_<k>] (e.g. "sweep", "further_0", "toy")."""
    groups: dict[str, list[Figure]] = {}
    for f in figures:
        groups.setdefault("standalone" if f.tables == (None, None) else JOB_NAMES[f.category], []).append(f)
    out = []
    for word, figs in groups.items():
        runs = [figs[i:i + PLOT_JOB_FIGURES] for i in range(0, len(figs), PLOT_JOB_FIGURES)]
        out += [(word if len(runs) == 1 else f"{word}_{k}", run) for k, run in enumerate(runs)]
    return out


def input_files(fig: Figure, config: dict, results: str, state_files: Callable[[str], list[str]]) -> dict:
    """The files of ``fig``'s tables for the workflow: Parquet paths under ``results``, and for "projections"
    the final ``state`` files of its experiments (``state_files(experiment)`` lists them)."""
    files = {}
    for table in filter(None, fig.tables):
        if table == "projections":
            files[table] = [f for e in experiments(fig, config) for f in state_files(e)]
        else:
            files[table] = f"{results}/{TABLES[table][1]}"
    return files


def function(fig: Figure) -> Callable:
    """The drawing function of ``fig`` (imported on demand: plotting code stays out of the workflow's parse)."""
    module, name = fig.function.split(":")
    return getattr(importlib.import_module(f"grokedge.{module}"), name)


def load(fig: Figure, files: dict, names: list[str], cache: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two frames ``fig``'s function receives: ``files`` maps each table name of ``fig.tables`` to its
    file (a list of ``state`` files for "projections"); rows of other experiments are dropped. ``cache`` (a
    dict the caller keeps) holds tables already read, so a job drawing several figures reads each file once."""
    from .io import read_table

    cache = {} if cache is None else cache
    frames = []
    for table in fig.tables:
        if table is None:
            frames.append(pd.DataFrame())
            continue
        kind, _ = TABLES[table]
        key = (table, tuple(files[table]) if table == "projections" else files[table])
        if key not in cache:
            if table == "projections":
                from .stages import final_projections

                cache[key] = final_projections(pd.concat([read_table(f, kind) for f in files[table]],
                                                         ignore_index=True))
            else:
                cache[key] = read_table(files[table], kind)
        df = cache[key]  # a figure function may add columns: it gets its own frame, never the cached one
        frames.append(df[df.experiment.isin(names)] if names and "experiment" in df.columns else df.copy())
    return frames[0], frames[1]


def draw(name: str, files: dict, names: list[str], spec: dict, cache: dict | None = None):
    """Draw the registered figure ``name`` from its table ``files`` (see :func:`load`)."""
    fig = BY_NAME[name]
    return function(fig)(*load(fig, files, names, cache), spec)
