"""Configuration: schema validation with messages that name the key, and the derived table of cells.

A *cell* is one point of an experiment's grid (N, d, sigma, lr and the grid options of ``grokedge.spec``); its
realisations are split into blocks of ``block_size``, one job each. Cell ids are canonical (``grokedge.spec.
cell_id``), so the same cell always maps to the same path; a cell's jobs read its ``grokedge.spec.CellSpec``.

The schemas live in the package (``grokedge/schemas/``, ``grokedge.schema``), so that an installed ``grokedge``
validates a config without the repository; they are the one place for defaults (``validate_config`` fills them).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from pathlib import Path

import jsonschema
import yaml

from . import losses
from .laws import INPUT_LAWS, PARAMETERS
from .schema import EXPERIMENT_DEFAULTS, config_schema, load_schema
from .spec import GRID_OPTIONS, OPTION, canonical, cell_id, cell_id_pattern, cell_spec

# Keys renamed for one name per concept (docs/running.md, "Renamed keys"): (section, old) -> new.
RENAMED = {("toy", "eta"): "lr", ("toy", "points_per_decade"): "checkpoints_per_decade",
           ("toy", "eps"): "loss_threshold"}
LOG2 = math.log(2.0)


class ConfigError(ValueError):
    """A configuration problem; the message names the key and the problem."""


def _as_list(v) -> list:
    return list(v) if isinstance(v, list | tuple) else [v]


def _path(error: jsonschema.ValidationError) -> str:
    parts = []
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts) or "(top level)"


def _cells_schema() -> dict:
    """cells.schema.yaml, its cell-id pattern built from the options' cell-id tags (``grokedge.spec``)."""
    schema = load_schema("cells.schema.yaml")
    schema["items"]["properties"]["cell"]["pattern"] = cell_id_pattern()
    return schema


def _is_integer(checker, x) -> bool:
    """JSON Schema counts 40.0 as an integer; a config value that becomes a count or a seed must be written 40."""
    return isinstance(x, int) and not isinstance(x, bool)


def _validator_class():
    """Draft 2020-12 with strict integers and ``set_default``: a missing property with a ``default`` gets a copy
    of it (also inside $ref'd and nested objects), so the schema is the one place for defaults."""
    base = jsonschema.Draft202012Validator
    props = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and key not in instance:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from props(validator, properties, instance, schema)

    checker = base.TYPE_CHECKER.redefine("integer", _is_integer)
    return jsonschema.validators.extend(base, {"properties": set_defaults}, type_checker=checker)


def _renamed(config: dict) -> None:
    for (section, old), new in RENAMED.items():
        if isinstance(config.get(section), dict) and old in config[section]:
            raise ConfigError(f"config error at {section}.{old}: this key is now {section}.{new} (one name per "
                              f"concept; docs/running.md, 'Renamed keys'): write {new}: {config[section][old]!r}")


def _non_finite(node, path: str = "") -> tuple[str, float] | None:
    """The first NaN or infinite number in the config (YAML .nan / .inf pass every schema bound)."""
    if isinstance(node, float) and not math.isfinite(node):
        return path or "(top level)", node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        found = _non_finite(v, f"{path}[{k}]" if isinstance(k, int) else (f"{path}.{k}" if path else str(k)))
        if found:
            return found
    return None


def _figure_keys_drawing_curves() -> set[str]:
    """Keys of the ``figures`` section whose figures read the training curves (grokedge.registry)."""
    from .registry import FIGURES

    return {f.experiments for f in FIGURES if f.experiments and "curves" in f.tables}


def validate_config(config: dict) -> dict:
    """Validate against grokedge/schemas/config.schema.yaml, filling every default from it (in place), check the
    cross-key rules the schema cannot express, and return the config. Raises ConfigError naming the key."""
    _check_readable(config)
    given = _drop_null_keys(config)
    _check_schema(config)
    _check_sections(config)
    for name, exp in config["experiments"].items():
        check_options_apply(name, exp, given.get(name, set()))
        check_input_law(name, exp)
    _check_figures(config)
    for name, exp in config["experiments"].items():
        _check_grid(name, exp)
    return config


def _check_readable(config) -> None:
    """A mapping of keys, every number finite, no renamed key."""
    if not isinstance(config, dict):
        raise ConfigError(f"config error at (top level): expected a mapping of keys, got {config!r}")
    bad = _non_finite(config)
    if bad:
        raise ConfigError(f"config error at {bad[0]}: {bad[1]} is not a finite number")
    _renamed(config)


def _drop_null_keys(config: dict) -> dict[str, set[str]]:
    """Remove the keys an experiment sets to null (in an override, `lam: null` next to `d: [...]` removes lam);
    return each experiment's keys as its files give them, before the schema fills defaults."""
    given = {}
    for name, exp in (config.get("experiments") or {}).items():
        if isinstance(exp, dict):
            for key in [k for k, v in exp.items() if v is None]:
                del exp[key]
            given[name] = set(exp)
    return given


def _check_schema(config: dict) -> None:
    """The schema (``grokedge.schema.config_schema``), filling its defaults; the most relevant error, with what
    usually causes it."""
    validator = _validator_class()(config_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(list(e.absolute_path)), str(e.message)))
    if not errors:
        return
    e = jsonschema.exceptions.best_match(errors)
    msg = e.message
    if e.validator == "type" and isinstance(e.instance, str):
        msg += " (YAML 1.1 reads 1e-5, 1e9 and 1.0e9 as strings: write 1.0e-5 or 1.0e+9; --config reads " \
               "nested values as text: put them in a file given with --configfile)"
    elif e.validator == "type" and e.validator_value == "integer" and isinstance(e.instance, float):
        msg += f" (write {e.instance:.0f}, without a decimal point)" if e.instance.is_integer() else ""
    if e.validator == "oneOf" and e.validator_value and "lam" in str(e.validator_value):
        msg = ("give exactly one of 'lam' or 'd' (an override file switches an experiment to d by writing "
               "lam: null next to d: [...], and to lam by writing d: null)")
    if isinstance(e.schema, dict) and "x-reason" in e.schema:
        msg += f"; {e.schema['x-reason']}"
    raise ConfigError(f"config error at {_path(e)}: {msg}")


def _check_sections(config: dict) -> None:
    """The grokking definitions and the headline one, the blog's test band, the active experiments."""
    check_grokking(config["grokking"])
    blog_test = config["blog"]["test"]
    if blog_test["band_min"] >= blog_test["band_max"]:
        raise ConfigError(f"config error at blog.test.band_min: {blog_test['band_min']} must be below band_max = "
                          f"{blog_test['band_max']} (test points lie at distances band_min ... band_max from the "
                          "max-margin boundary)")
    if config["headline_grokking"] not in config["grokking"]:
        raise ConfigError(f"config error at headline_grokking: {config['headline_grokking']!r} is not one of "
                          f"the grokking definitions {sorted(config['grokking'])}")
    if config["grokking"][config["headline_grokking"]]["kind"] == "loss_delay":
        # checked here, not in the plot job: a failing job would delete the figures of the previous run
        raise ConfigError(f"config error at headline_grokking: {config['headline_grokking']!r} is a loss_delay "
                          "definition, which has no asymptotic prediction for the asymptotic figure; name a "
                          "gen_accuracy or accuracy_delay definition")
    for i, name in enumerate(config["active"]):
        if name not in config["experiments"]:
            raise ConfigError(f"config error at active[{i}]: no experiment named {name!r} "
                              f"(have {sorted(config['experiments'])})")


def _check_figures(config: dict) -> None:
    """Every experiment a figure names exists, and has train: true if the figure draws training curves."""
    for fig, names in config["figures"].items():
        if fig == "curve_lams":
            continue
        for name in [names] if isinstance(names, str) else names:
            if name not in config["experiments"]:
                raise ConfigError(f"config error at figures.{fig}: no experiment named {name!r} "
                                  f"(have {sorted(config['experiments'])})")
            if fig in _figure_keys_drawing_curves() and not config["experiments"][name]["train"]:
                raise ConfigError(f"config error at figures.{fig}: experiment {name!r} has train: false, but the "
                                  "figure draws training curves")


def _check_grid(name: str, exp: dict) -> None:
    """No grid list repeats a value (two cells would share an id), and the horizon is a whole number >= 1."""
    key = "lam" if "lam" in exp else "d"
    for grid_key in ("N", key, "sigma", "lr", *GRID_OPTIONS):
        values = [canonical(v) for v in _as_list(exp[grid_key])]
        if len(set(values)) != len(values):
            raise ConfigError(f"config error at experiments.{name}.{grid_key}: duplicated value in {exp[grid_key]}")
    if exp["checkpoints_per_decade"] and exp["horizon"] < 1:
        raise ConfigError(f"config error at experiments.{name}.horizon: must be >= 1 epoch")
    if exp["horizon"] != int(exp["horizon"]):
        # the last checkpoint is the horizon itself: a fraction would put it beyond the last GD step (GD
        # records step floor(horizon) under the label horizon), so the schedule and the steps disagree
        raise ConfigError(f"config error at experiments.{name}.horizon: {exp['horizon']} is not a whole "
                          "number of epochs (the last checkpoint would fall between two GD steps)")


# Options that only act under another key's value: (key, the key it needs, the values under which it acts).
# Given away from its default where it cannot act, such an option would be ignored without a word.
OPTION_CONDITIONS = [
    *((k, "solver", ("adam",)) for k in ("adam_betas", "adam_eps")),
    *((k, "input_law", laws) for k, (_, laws) in PARAMETERS.items()),  # a law's parameters, with that law
    ("n_test", "test_set", ("sampled",)),
    *((k, "train", (True,)) for k in ("solver", "horizon", "checkpoints_per_decade", "adam_betas", "adam_eps",
                                      "test_set", "n_test")),
]


def check_options_apply(name: str, exp: dict, given: set[str]) -> None:
    """Refuse an option the experiment's file gives (``given``: its keys before defaults were filled) away from
    its schema default where it has no effect (OPTION_CONDITIONS), e.g. adam_betas with solver: flow."""
    for key, needs, values in OPTION_CONDITIONS:
        if key in given and exp[needs] not in values and exp[key] != EXPERIMENT_DEFAULTS[key]:
            want = " or ".join(f"{needs}: {str(v).lower() if isinstance(v, bool) else v}" for v in values)
            has = str(exp[needs]).lower() if isinstance(exp[needs], bool) else exp[needs]
            raise ConfigError(f"config error at experiments.{name}.{key}: applies only with {want}, and this "
                              f"experiment has {needs}: {has} (it would be ignored): remove {key}, or set {want}")


def check_input_law(name: str, exp: dict) -> None:
    """A law whose projections S.x are not Gaussian (``grokedge.laws.LawKind.gaussian``) has no closed-form
    generalisation metrics and no label quantile: refuse, before any job runs, training without a sampled test
    set and a label_fraction below 1 (the train job would stop with this error after the LP stage). Likewise a
    label_fraction below 1 under a loss without the labelled closed form (``grokedge.losses.Loss``: the logistic
    L_gen then comes from the sampled test set)."""
    law = exp["input_law"]
    if (exp["train"] and exp["test_set"] != "sampled" and min(_as_list(exp["label_fraction"])) < 1
            and losses.get(exp["loss"]).labelled_population is None):
        raise ConfigError(f"config error at experiments.{name}.test_set: the {exp['loss']} loss has no closed-form "
                          "generalisation loss with label_fraction below 1: set test_set: sampled")
    if INPUT_LAWS[law].gaussian:
        return
    if exp["train"] and exp["test_set"] != "sampled":
        raise ConfigError(f"config error at experiments.{name}.test_set: input_law {law} has no closed-form "
                          "generalisation metrics: set test_set: sampled")
    if min(_as_list(exp["label_fraction"])) < 1:
        raise ConfigError(f"config error at experiments.{name}.label_fraction: below 1 needs a Gaussian input law "
                          f"(its quantile labels the points), and {law} is not: use label_fraction: [1.0]")


def check_grokking(grokking: dict) -> None:
    """Thresholds that a grokking time can cross. At epoch 0 (|S0| = 0.1, b0 = 0) the generalisation accuracy
    Phi(-b / (sigma |S|)) is exactly 1/2 and the training accuracy is about 1/2, so an accuracy threshold must
    lie above 0.5 (else every run "groks" at epoch 0); A_gen < 1 at any finite time (Gaussian test points), so it
    must lie below 1 (else every run is censored). The logistic loss starts at about log 2 (S.x + b ~ 0), so a
    loss threshold must lie below log 2 = 0.693 (else both losses cross it at epoch 0)."""
    for name, spec in grokking.items():
        thr, kind = spec["threshold"], spec["kind"]
        if kind in ("gen_accuracy", "accuracy_delay") and not 0.5 < thr < 1:
            raise ConfigError(f"config error at grokking.{name}.threshold: {thr} is not an accuracy in (0.5, 1) "
                              f"(kind {kind}: accuracies start at 0.5 and the test accuracy never reaches 1; "
                              "write 0.95, not 95)")
        if kind == "loss_delay" and not thr < LOG2:
            raise ConfigError(f"config error at grokking.{name}.threshold: {thr} is not below the initial loss "
                              f"log 2 = {LOG2:.4f} (kind loss_delay: both losses would cross it at epoch 0)")


def block_memory_bytes(N: int, d: int, block: int) -> int:
    """A lower bound on any job of a block: the block's X in float64, 8 N d bytes per realisation (the train
    rule's full memory model is grokedge.resources, checked when the job is planned)."""
    return 8 * int(N) * int(d) * int(block)


def check_memory(rows: list[dict], block_size: int, memory: int | None = None) -> None:
    """Refuse, at config time, a cell whose block's data alone cannot fit in the memory a job may use
    (grokedge.resources.machine_mb: this machine, or $GROKEDGE_MEM_MB), naming the cell and the sizes."""
    from .resources import machine_mb

    memory = machine_mb() * 2**20 if memory is None else memory
    if not math.isfinite(memory):
        return
    for r in rows:
        need = block_memory_bytes(r["N"], r["d"], min(block_size, r["realisations"]))
        if need > memory:
            raise ConfigError(f"config error at experiments.{r['experiment']}: cell {r['cell']} needs at least "
                              f"{need / 2**30:.3g} GiB per block (8 N d bytes x {min(block_size, r['realisations'])} "
                              f"realisations) but this machine has {memory / 2**30:.3g} GiB: lower N or lam, or "
                              "block_size")


def config_hash(config: dict) -> str:
    """SHA-256 (first 12 hex digits) of the validated config's canonical JSON (sorted keys): the identity of a
    run's configuration, stamped into every table's provenance and into <results>/config.json."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]


def recorded_hash(run_config_path) -> str | None:
    """The config hash recorded in a results folder's config.json (None if absent or unreadable)."""
    try:
        return json.loads(Path(run_config_path).read_text())["config_hash"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_run(run_config_path, config: dict, hash_: str, figures: list[str]) -> list[tuple[Path, Path]]:
    """Write ``<results>/config.json`` (the resolved config and its hash ``hash_``, ``config_hash`` of the
    workflow's validated config) for a complete run whose figures are
    ``figures`` (PNG paths); any other file in their folder, left by another configuration, is moved to
    ``figures/stale-<that configuration's hash>/`` first. Returns the (from, to) moves."""
    import shutil

    old = recorded_hash(run_config_path) or "unknown"
    keep = {Path(f).name for f in figures} | {Path(f).with_suffix(".pdf").name for f in figures}
    folder = Path(run_config_path).parent / "figures"
    moves = []
    for f in sorted(folder.glob("*.*")) if folder.is_dir() else []:
        if f.is_file() and f.name not in keep:
            dest = folder / f"stale-{old}"
            dest.mkdir(exist_ok=True)
            shutil.move(str(f), str(dest / f.name))
            moves.append((f, dest / f.name))
    record = {"config_hash": hash_, "run_name": config["run_name"], "config": config}
    Path(run_config_path).write_text(json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
    return moves


def results_dir(config: dict) -> str:
    """Where a run writes: results/ for run_name 'default', results/<run_name>/ otherwise."""
    return "results" if config["run_name"] == "default" else f"results/{config['run_name']}"


def d_from_lam(N: int, lam: float) -> int:
    """The input dimension d = lam N, which must be a positive whole number (to 1e-9 relative): a lambda that
    is not a multiple of 1/N is refused, never rounded to a nearby one."""
    d = round(lam * N)
    if abs(lam * N - d) > 1e-9 * N or d < 1:
        raise ValueError(f"lam = {lam} with N = {N} gives d = {lam * N:.6g}, not a positive integer")
    return d


def cells(config: dict) -> list[dict]:
    """The derived cell table: one dict per (active experiment, N, d, sigma, lr, bias_noise, s0_norm, b0,
    label_fraction), validated against
    grokedge/schemas/cells.schema.yaml. lam must give an integer d = lam * N."""
    rows = []
    for name in config["active"]:
        exp = config["experiments"][name]
        grid = itertools.product(exp["N"], exp.get("lam", exp.get("d")), exp["sigma"], exp["lr"],
                                 *(_as_list(exp[k]) for k in GRID_OPTIONS))
        for N, x, sigma, lr, *values in grid:
            try:
                d = d_from_lam(N, x) if "lam" in exp else int(x)
            except ValueError as err:
                raise ConfigError(f"config error at experiments.{name}.lam: {err}") from None
            point = dict(zip(GRID_OPTIONS, map(float, values), strict=True))
            cid = cell_id(N, d, sigma, lr, **{k: v for k, v in exp.items() if k in OPTION} | point)
            rows.append({"experiment": name, "cell": cid, "N": int(N), "d": int(d), "lam": d / N,
                         "sigma": float(sigma), "lr": float(lr), **point,
                         "realisations": int(exp["realisations"]),
                         "n_blocks": -(-int(exp["realisations"]) // int(config["block_size"]))})
    seen = {}
    for r in rows:
        key = (r["experiment"], r["cell"])
        if key in seen:
            raise ConfigError(f"config error at experiments.{r['experiment']}: two grid points give the same cell "
                              f"{r['cell']} (e.g. lam values that round to the same d)")
        seen[key] = r
    try:
        jsonschema.validate(rows, _cells_schema())
    except jsonschema.ValidationError as e:
        raise ConfigError(f"derived cell table invalid at {_path(e)}: {e.message}") from None
    check_memory(rows, int(config["block_size"]))
    if not config["allow_large_plan"]:
        check_plan(config, rows)
    return rows


# -- runaway plans -------------------------------------------------------------------------------------------------
# Bounds on a plan, checked before Snakemake builds its job graph; `--config allow_large_plan=True` (or
# allow_large_plan: true in a config file) lifts them. Snakemake holds every block's files in memory while it
# plans (a dry run of 1.5 million blocks grew past 17 GB); the paper preset has 2,803 blocks. A job's wall
# time is bounded by what a cluster queue grants (the paper preset's longest modelled job: 18 hours, Adam at
# N = 20,000).
MAX_BLOCKS = 20_000
MAX_JOB_HOURS = 48.0
# As train.gradient_descent's rise_factor (kept equal by a test): GD stops once the training loss passes this
# multiple of its initial value.
RISE_FACTOR = 10.0
ALLOW = "or allow it explicitly with --config allow_large_plan=True"


def gd_first_step_loss(N: int, lr: float, variances, b0: float = 0.0, loss: str = "logistic") -> float:
    """The training loss after GD's first step from S = 0, b = b0, estimated over the draw of the set.

    With p = ell'(b0) the step is S = -lr p xbar, b = b0 - lr p, so z_i = S.x_i + b = b0 - lr p (1 + xbar.x_i),
    and xbar.x_i = |x_i|^2 / N + sum_{j != i} x_j.x_i / N is about normal with mean m = sum_k C_kk / N and
    standard deviation s = sqrt(sum_k C_kk^2 / N) (C the points' covariance, ``variances`` its diagonal). The
    loss is E ell(b0 - lr p (1 + m + s xi)), xi ~ N(0, 1): the loss's population loss (``grokedge.losses``) at
    b = b0 - lr p (1 + m), a = lr p s."""
    import numpy as np

    ell = losses.get(loss)
    v = np.asarray(variances, dtype=float)
    m, s = v.sum() / N, np.sqrt((v**2).sum() / N)
    p = ell.derivative(b0)
    return float(ell.population(b0 - lr * p * (1 + m), lr * p * s))


def _first_step_limit(N, variances, b0, loss, limit) -> float:
    """The largest lr whose estimated first-step loss stays below ``limit`` (bisection in log lr)."""
    lo, hi = 1e-12, 1e6
    for _ in range(80):
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if gd_first_step_loss(N, mid, variances, b0, loss) < limit else (lo, mid)
    return lo


def check_plan(config: dict, rows: list[dict]) -> None:
    """Refuse a plan that runs away before any job starts: more than MAX_BLOCKS blocks, a job whose modelled
    wall time (grokedge.resources) passes MAX_JOB_HOURS, or a learning rate whose first GD step already raises
    the training loss past RISE_FACTOR times its start (``gd_first_step_loss``; the GD and flow solvers, whose
    first epochs are GD steps), where training would stop as diverging after the data and LP stages have run."""
    from . import resources, solvers

    per_exp = {}
    for r in rows:
        per_exp[r["experiment"]] = per_exp.get(r["experiment"], 0) + r["n_blocks"]
    total = sum(per_exp.values())
    if total > MAX_BLOCKS:
        name = max(per_exp, key=per_exp.get)
        raise ConfigError(f"config error at experiments.{name}.realisations: this plan has {total} blocks, above the "
                          f"bound of {MAX_BLOCKS} (Snakemake holds every block's files in memory while it plans; "
                          f"{name} alone has {per_exp[name]}): raise block_size, lower realisations or the grid, "
                          f"{ALLOW}")
    for r in rows:
        exp, spec = config["experiments"][r["experiment"]], cell_spec(config, r)
        hours = resources.separability_runtime_s(resources.SeparabilityJob.of_block(spec, 0)) / 3600
        if spec.train:  # the first block is the largest
            job = resources.TrainJob.of_block(spec, 0)
            hours = max(hours, resources.runtime_s(job) / 3600)
        if hours > MAX_JOB_HOURS:
            what = (f"a train job of cell {r['cell']} would take about {hours * 60:.3g} minutes on one core (cost "
                    f"model grokedge.resources: {job.realisations} realisations, solver {job.solver}, horizon "
                    f"{job.horizon:g} epochs)" if spec.train else
                    f"the LP of one block of cell {r['cell']} would take about {hours:.3g} hours on one core")
            way = ("use solver: flow (its cost grows with log(horizon)), lower the horizon or block_size"
                   if spec.train else "lower block_size, or set separability: false")
            raise ConfigError(f"config error at experiments.{r['experiment']}.{'horizon' if spec.train else 'N'}: "
                              f"{what}, above the bound of {MAX_JOB_HOURS:g} hours per job: {way}, {ALLOW}")
        if spec.train and solvers.get(spec.solver).gd_first_step:
            var = spec.law().variances(spec.d)
            start = gd_first_step_loss(spec.N, 0.0, var, spec.b0, spec.loss)
            after = gd_first_step_loss(spec.N, spec.lr, var, spec.b0, spec.loss)
            if not after <= RISE_FACTOR * start:  # also NaN or inf
                lr_max = _first_step_limit(spec.N, var, spec.b0, spec.loss, RISE_FACTOR * start)
                i = [canonical(v) for v in exp["lr"]].index(canonical(r["lr"]))
                after = f"{after:.3g}" if math.isfinite(after) else "overflow"
                raise ConfigError(
                    f"config error at experiments.{r['experiment']}.lr[{i}]: lr = {r['lr']:g} makes GD's first "
                    f"step raise the training loss to about {after} in cell {r['cell']} (estimate, "
                    f"grokedge.config.gd_first_step_loss), past {RISE_FACTOR:g} times its start "
                    f"{start:.3g}, where training stops as diverging (the flow solver's first epochs are GD "
                    f"steps too): use lr below about {lr_max:.2g}")


PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
PLAIN_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
                         r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
YAML11_FORMS = (("0x", "a hexadecimal number"), ("0b", "a binary number"), (":", "a base-60 number"),
                ("_", "underscores are dropped"))


def _yaml11_number(node: yaml.ScalarNode) -> str | None:
    """Why a YAML 1.1 number is not what its digits say in plain decimal (YAML 1.2, JSON and a reader), or None."""
    text, int_tag = node.value, node.tag.endswith(":int")
    if (PLAIN_INT if int_tag else PLAIN_FLOAT).fullmatch(text):
        return None
    for mark, why in YAML11_FORMS:
        if mark in text.lower():
            return why
    return "an octal number" if int_tag else "not a plain decimal number"


def yaml_problems(text: str) -> list[str]:
    """Places where YAML (1.1, as PyYAML and Snakemake read it) would silently read something other than what a
    reader sees: a key written twice in one mapping (the last one wins) and numbers in YAML 1.1's other forms
    (050 is octal 40, 0x10 is 16, 1_000 is 1000, 1:30 is 90). Each as 'line L: ...' (1-based)."""
    problems = []

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                where = f"in {path}" if path else "at the top level"
                if name is not None and name in seen and name != "<<":
                    problems.append(f"line {key.start_mark.line + 1}: key {name!r} is written twice {where} (also "
                                    f"at line {seen[name] + 1}); YAML would keep only the last one: keep one of them")
                seen.setdefault(name, key.start_mark.line)
                walk(value, f"{path}.{name}" if path else str(name))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}[{i}]")
        elif isinstance(node, yaml.ScalarNode) and node.tag.endswith((":int", ":float")):
            why = _yaml11_number(node)
            if why:
                value = yaml.safe_load(node.value)
                problems.append(f"line {node.start_mark.line + 1}: {node.value} is read by YAML 1.1 as {value!r} "
                                f"({why}), at {path or '(top level)'}: write the number in plain decimal (quote "
                                "it if it is text)")

    walk(yaml.compose(text, Loader=yaml.SafeLoader), "")
    return problems


def check_config_files(paths: list[str]) -> list[str]:
    """Problems in config files, with the file and line: a file that is missing, not UTF-8, not YAML, not a
    mapping of keys, or that YAML would read differently from what it says (``yaml_problems``)."""
    problems = []
    for path in paths:
        try:
            text = open(path, encoding="utf-8").read()
            node = yaml.safe_load(text)
            problems += [f"{path}, {p}" for p in yaml_problems(text)]
        except FileNotFoundError:
            problems.append(f"{path}: no such config file")
        except UnicodeDecodeError as err:
            line = open(path, "rb").read()[:err.start].count(b"\n") + 1
            problems.append(f"{path}, line {line}: not UTF-8 text (byte {err.object[err.start]:#x}); save the file "
                            "as UTF-8")
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problems.append(f"{path}{where}: YAML syntax error: {getattr(err, 'problem', None) or err}")
        else:
            if not isinstance(node, dict):
                problems.append(f"{path}: expected keys at the top level (key: value), found {type(node).__name__}")
    return problems


CONFIG_KEY = re.compile(r"[a-zA-Z_][\w-]*\w")  # the keys Snakemake's --config accepts (snakemake.cli.parse_config)


def check_snakemake_args(args: list[str]) -> list[str]:
    """The --configfile files and --config KEY=VALUE items of a Snakemake command line (as the Makefile passes
    them), checked before Snakemake reads them."""
    files, problems, mode = [], [], None
    for a in args:
        if a.startswith("-"):
            mode = a.split("=", 1)[0] if a.split("=", 1)[0] in ("--configfile", "--configfiles", "--config",
                                                                   "-C") else None
            if "=" in a and mode:
                a = a.split("=", 1)[1]
            else:
                continue
        if mode in ("--configfile", "--configfiles"):
            files.append(a)
        elif mode in ("--config", "-C") and "=" not in a:
            problems.append(f"--config {a}: give KEY=VALUE pairs, e.g. --config root_seed=7 (nested values belong "
                            "in a file given with --configfile)")
        elif mode in ("--config", "-C") and not CONFIG_KEY.fullmatch(a.split("=", 1)[0]):
            key, value = a.split("=", 1)
            nested = "".join(f"{k}: {{" for k in key.split(".")[:-1]) + f"{key.split('.')[-1]}: {value}" + \
                "}" * key.count(".")
            problems.append(f"--config {a}: --config sets top-level keys only (KEY=VALUE, KEY a plain name); for a "
                            f"nested value write it into a file, e.g. {nested} in override.yaml, and add "
                            "--configfile override.yaml")
    given = [a.split("=", 1)[0] for a in args if a.split("=", 1)[0] in ("--configfile", "--configfiles")]
    if len(given) > 1:
        problems.append(f"--configfile is given {len(given)} times: Snakemake keeps only the last, and the files "
                        "of the others would be ignored: list every file after one --configfile "
                        "(--configfile a.yaml b.yaml)")
    return check_config_files(files) + problems


def main(argv: list[str] | None = None) -> int:
    """``python -m grokedge.config SNAKEMAKE_ARGS...``: check the config files and --config items of a command
    line; exit 2 with one message per problem."""
    import shlex
    import sys

    argv = sys.argv[1:] if argv is None else argv
    problems = check_snakemake_args([w for a in argv for w in shlex.split(a)])
    for p in problems:
        print(f"config error: {p}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
