"""Configuration: schema validation with messages that name the key, and the derived table of cells.

A *cell* is one point of an experiment's grid (N, d, sigma, lr, bias_noise, s0_norm, b0, label_fraction); its
realisations are split into blocks of ``block_size``, one job each. Cell ids are canonical (``canonical``,
``cell_id``), so the same cell always maps to the same path.

The schemas live in the package (``grokedge/schemas/``), so that an installed ``grokedge`` validates a config
without the repository; they are the one place for defaults (``validate_config`` fills them).
"""

from __future__ import annotations

import copy
import hashlib
import importlib.resources
import itertools
import json
import math
from pathlib import Path

import jsonschema
import yaml

SCHEMA_DIR = importlib.resources.files("grokedge") / "schemas"

# Keys renamed for one name per concept (README, "Renamed keys"): (section, old) -> new.
RENAMED = {("toy", "eta"): "lr", ("toy", "points_per_decade"): "checkpoints_per_decade",
           ("toy", "eps"): "loss_threshold"}
LOG2 = math.log(2.0)


class ConfigError(ValueError):
    """A configuration problem; the message names the key and the problem."""


def canonical(x) -> str:
    """Canonical text of a parameter value for paths and ids: 12 significant digits, no trailing zeros,
    integers without a decimal point (0.1 + 0.2 -> '0.3', 100.0 -> '100', 1e-05 -> '1e-05')."""
    if isinstance(x, bool):
        raise TypeError("booleans are not parameter values")
    if float(x) == int(float(x)) and abs(float(x)) < 1e15:
        return str(int(float(x)))
    return f"{float(x):.12g}"


def _as_list(v) -> list:
    return list(v) if isinstance(v, list | tuple) else [v]


def _path(error: jsonschema.ValidationError) -> str:
    parts = []
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts) or "(top level)"


def _load_schema(name: str) -> dict:
    return yaml.safe_load((SCHEMA_DIR / name).read_text())


def _schema_defaults() -> dict:
    """The schema's default of every experiment key, a one-element list read as its value (the one place for
    defaults: the schema)."""
    props = _load_schema("config.schema.yaml")["$defs"]["experiment"]["properties"]
    out = {}
    for key, spec in props.items():
        if "default" in spec:
            v = spec["default"]
            out[key] = v[0] if isinstance(v, list) and len(v) == 1 else v
    return out


EXPERIMENT_DEFAULTS = _schema_defaults()
# grid axes beyond (N, lam|d, sigma, lr): the default (the value that adds nothing to a cell id) and its suffix
EXTRA_AXES = {key: (float(EXPERIMENT_DEFAULTS[key]), tag)
              for key, tag in (("bias_noise", "bn"), ("s0_norm", "s0"), ("b0", "b0"), ("label_fraction", "r"))}


def cell_id(N, d, sigma, lr, **options) -> str:
    """The canonical id of a cell: N<N>_d<d>_sigma<sigma>_lr<lr>, then a suffix for each option away from its
    schema default, in this order: _bn<bias_noise>, _s0<s0_norm>, _b0<b0>, _r<label_fraction>, _exp (exponential
    loss), _law<name> (input law), _trace<powerlaw_trace>. Default options add nothing, so existing cells keep their
    ids and results."""
    out = f"N{int(N)}_d{int(d)}_sigma{canonical(sigma)}_lr{canonical(lr)}"
    for key, (default, tag) in EXTRA_AXES.items():
        value = float(options.get(key, default))
        if value != default:
            out += f"_{tag}{canonical(value)}"
    if options.get("loss", EXPERIMENT_DEFAULTS["loss"]) != EXPERIMENT_DEFAULTS["loss"]:
        out += "_exp"
    law = options.get("input_law", EXPERIMENT_DEFAULTS["input_law"])
    if law != EXPERIMENT_DEFAULTS["input_law"]:
        out += f"_law{law}"
    trace = options.get("powerlaw_trace", EXPERIMENT_DEFAULTS["powerlaw_trace"])
    if trace != EXPERIMENT_DEFAULTS["powerlaw_trace"]:
        out += f"_trace{trace}"
    return out


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
                              f"concept; README, 'Renamed keys'): write {new}: {config[section][old]!r}")


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
    if not isinstance(config, dict):
        raise ConfigError(f"config error at (top level): expected a mapping of keys, got {config!r}")
    bad = _non_finite(config)
    if bad:
        raise ConfigError(f"config error at {bad[0]}: {bad[1]} is not a finite number")
    _renamed(config)
    validator = _validator_class()(_load_schema("config.schema.yaml"))
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(list(e.absolute_path)), str(e.message)))
    if errors:
        e = jsonschema.exceptions.best_match(errors)
        msg = e.message
        if e.validator == "type" and isinstance(e.instance, str):
            msg += " (YAML 1.1 reads 1e-5, 1e9 and 1.0e9 as strings: write 1.0e-5 or 1.0e+9; --config reads " \
                   "nested values as text: put them in a file given with --configfile)"
        elif e.validator == "type" and e.validator_value == "integer" and isinstance(e.instance, float):
            msg += f" (write {e.instance:.0f}, without a decimal point)" if e.instance.is_integer() else ""
        if e.validator == "oneOf" and e.validator_value and "lam" in str(e.validator_value):
            msg = "give exactly one of 'lam' or 'd'"
        if isinstance(e.schema, dict) and "x-reason" in e.schema:
            msg += f"; {e.schema['x-reason']}"
        raise ConfigError(f"config error at {_path(e)}: {msg}")
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
    if config["figures"]["main_experiment"] not in config["active"]:
        raise ConfigError("config error at active: the main experiment "
                          f"{config['figures']['main_experiment']!r} must be active")
    for name, exp in config["experiments"].items():
        key = "lam" if "lam" in exp else "d"
        for grid_key in ("N", key, "sigma", "lr", *EXTRA_AXES):
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
    return config


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


def canonical_params(params):
    """Params with dict keys sorted (recursively): Snakemake compares the repr of params to decide reruns, and a
    dict's repr depends on key order, which depends on which file restated a key."""
    if isinstance(params, dict):
        return {k: canonical_params(params[k]) for k in sorted(params)}
    if isinstance(params, (list, tuple)):
        return [canonical_params(v) for v in params]
    return params


def cells(config: dict) -> list[dict]:
    """The derived cell table: one dict per (active experiment, N, d, sigma, lr, bias_noise, s0_norm, b0,
    label_fraction), validated against
    grokedge/schemas/cells.schema.yaml. lam must give an integer d = lam * N."""
    rows = []
    for name in config["active"]:
        exp = config["experiments"][name]
        grid = itertools.product(exp["N"], exp.get("lam", exp.get("d")), exp["sigma"], exp["lr"],
                                 *(_as_list(exp[k]) for k in EXTRA_AXES))
        for N, x, sigma, lr, eps, s0, b0, r in grid:
            if "lam" in exp:
                d = round(x * N)
                if abs(x * N - d) > 1e-9 * N or d < 1:
                    raise ConfigError(f"config error at experiments.{name}.lam: lam = {x} with N = {N} gives "
                                      f"d = {x * N:.6g}, not a positive integer")
            else:
                d = int(x)
            cid = cell_id(N, d, sigma, lr, bias_noise=eps, s0_norm=s0, b0=b0, label_fraction=r, loss=exp["loss"],
                          input_law=exp["input_law"], powerlaw_trace=exp["powerlaw_trace"])
            rows.append({"experiment": name, "cell": cid, "N": int(N), "d": int(d), "lam": d / N,
                         "sigma": float(sigma), "lr": float(lr), "bias_noise": float(eps),
                         "s0_norm": float(s0), "b0": float(b0), "label_fraction": float(r),
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
        jsonschema.validate(rows, _load_schema("cells.schema.yaml"))
    except jsonschema.ValidationError as e:
        raise ConfigError(f"derived cell table invalid at {_path(e)}: {e.message}") from None
    check_memory(rows, int(config["block_size"]))
    return rows


def block_realisations(block: int, block_size: int, realisations: int) -> range:
    """The realisation indices of one block."""
    return range(block * block_size, min((block + 1) * block_size, realisations))


# What the data stages read of a cell's parameters: changing anything else (horizon, solver, ...) reruns only
# the training of that cell, not its datasets or LP decisions. (Options at their default are absent.)
DATA_KEYS = ("experiment", "cell", "N", "d", "lam", "sigma", "lr", "bias_noise", "realisations", "root_seed",
             "block_size", "s0_norm", "label_fraction", "input_law", "powerlaw_alpha", "powerlaw_trace", "mixture_std")
SEPARABILITY_KEYS = (*DATA_KEYS, "s_inf", "separability")


# Model options whose default leaves a cell's params as they were before the option existed: they are left out
# of the params at these values (Snakemake reruns a job whose params changed), and read with these defaults.
OPTION_DEFAULTS = {k: EXPERIMENT_DEFAULTS[k]
                   for k in ("label_fraction", "loss", "input_law", "powerlaw_alpha", "powerlaw_trace", "mixture_std",
                             "adam_eps", "separability")}


def cell_params(config: dict, experiment: str, cell: dict, keys: tuple[str, ...] | None = None) -> dict:
    """Everything a cell's jobs need: the grid point plus the experiment-wide settings (rule params), with sorted
    keys (``canonical_params``). Options at their default (OPTION_DEFAULTS) are left out; ``keys`` keeps only
    those a stage reads (``DATA_KEYS``, ``SEPARABILITY_KEYS``)."""
    exp = config["experiments"][experiment]
    # s0_norm and b0 stay where they were among the experiment-wide keys (an unchanged params dict), now per cell
    keep = {k: cell[k] if k in ("s0_norm", "b0") else v for k, v in exp.items()
            if k not in ("N", "lam", "d", "sigma", "lr", "bias_noise", "label_fraction") and k not in OPTION_DEFAULTS}
    options = {k: v for k, v in exp.items() if k in OPTION_DEFAULTS}
    params = {**keep, "experiment": experiment, "cell": cell["cell"], "N": cell["N"], "d": cell["d"],
            "lam": cell["lam"], "sigma": cell["sigma"], "lr": cell["lr"], "bias_noise": cell["bias_noise"],
            **{k: v for k, v in (options | {"label_fraction": cell["label_fraction"]}).items()
               if k in OPTION_DEFAULTS and v != OPTION_DEFAULTS[k]},
            "root_seed": config["root_seed"],
            "block_size": config["block_size"]}
    if keys is not None:
        params = {k: params[k] for k in keys if k in params}
    return canonical_params(params)


def check_config_files(paths: list[str]) -> list[str]:
    """Problems that stop Snakemake before this workflow's code runs, with the file and line: a file that is
    missing, not UTF-8, not YAML, or not a mapping of keys."""
    problems = []
    for path in paths:
        try:
            text = open(path, encoding="utf-8").read()
            node = yaml.safe_load(text)
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
