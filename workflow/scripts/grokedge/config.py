"""Configuration: schema validation with messages that name the key, and the derived table of cells.

A *cell* is one point of an experiment's grid (N, d, sigma, lr, bias_noise, s0_norm, b0, label_fraction); its
realisations are split into blocks of ``block_size``, one job each. Cell ids are canonical (``canonical``,
``cell_id``), so the same cell always maps to the same path.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import jsonschema
import yaml

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


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


# grid axes beyond (N, lam|d, sigma, lr): the default (the value that adds nothing to a cell id) and its suffix
EXTRA_AXES = {"bias_noise": (0.0, "eps"), "s0_norm": (0.1, "s0"), "b0": (0.0, "b0"), "label_fraction": (1.0, "r")}


def cell_id(N, d, sigma, lr, bias_noise=0.0, s0_norm=0.1, b0=0.0, label_fraction=1.0, loss="logistic",
            input_law="gaussian") -> str:
    """The canonical id of a cell: N<N>_d<d>_sigma<sigma>_lr<lr>, then a suffix for each option away from its
    default, in this order: _eps<bias_noise>, _s0<s0_norm>, _b0<b0>, _r<label_fraction>, _exp (exponential
    loss), _law<name> (input law). Default options add nothing, so existing cells keep their ids and results."""
    out = f"N{int(N)}_d{int(d)}_sigma{canonical(sigma)}_lr{canonical(lr)}"
    values = {"bias_noise": bias_noise, "s0_norm": s0_norm, "b0": b0, "label_fraction": label_fraction}
    for key, (default, tag) in EXTRA_AXES.items():
        if float(values[key]) != default:
            out += f"_{tag}{canonical(values[key])}"
    if loss != "logistic":
        out += "_exp"
    if input_law != "gaussian":
        out += f"_law{input_law}"
    return out


def _as_list(v) -> list:
    return list(v) if isinstance(v, list | tuple) else [v]


def _path(error: jsonschema.ValidationError) -> str:
    parts = []
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts) or "(top level)"


def _load_schema(name: str) -> dict:
    return yaml.safe_load((SCHEMA_DIR / name).read_text())


def _fill_defaults(config: dict, schema: dict) -> None:
    exp_props = schema["$defs"]["experiment"]["properties"]
    for exp in config.get("experiments", {}).values():
        for key, spec in exp_props.items():
            if "default" in spec and key not in exp:
                exp[key] = spec["default"]


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


def validate_config(config: dict) -> dict:
    """Validate against workflow/schemas/config.schema.yaml, fill experiment defaults, check the cross-key
    rules the schema cannot express, and return the config. Raises ConfigError naming the key."""
    bad = _non_finite(config)
    if bad:
        raise ConfigError(f"config error at {bad[0]}: {bad[1]} is not a finite number")
    schema = _load_schema("config.schema.yaml")
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(list(e.absolute_path)), str(e.message)))
    if errors:
        e = jsonschema.exceptions.best_match(errors)
        msg = e.message
        if e.validator == "type" and isinstance(e.instance, str):
            msg += " (YAML 1.1 reads 1e-5, 1e9 and 1.0e9 as strings: write 1.0e-5 or 1.0e+9)"
        if e.validator == "oneOf" and e.validator_value and "lam" in str(e.validator_value):
            msg = "give exactly one of 'lam' or 'd'"
        raise ConfigError(f"config error at {_path(e)}: {msg}")
    _fill_defaults(config, schema)
    if config["headline_grokking"] not in config["grokking"]:
        raise ConfigError(f"config error at headline_grokking: {config['headline_grokking']!r} is not one of "
                          f"the grokking definitions {sorted(config['grokking'])}")
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
            if fig not in ("finite_size", "s_inf") and not config["experiments"][name]["train"]:
                raise ConfigError(f"config error at figures.{fig}: experiment {name!r} has train: false")
    if config["figures"]["main_experiment"] not in config["active"]:
        raise ConfigError("config error at active: the main experiment "
                          f"{config['figures']['main_experiment']!r} must be active")
    for name, exp in config["experiments"].items():
        key = "lam" if "lam" in exp else "d"
        for grid_key in ("N", key, "sigma", "lr", *EXTRA_AXES):
            values = [canonical(v) for v in _as_list(exp.get(grid_key, EXTRA_AXES.get(grid_key, (None,))[0]))]
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


def cells(config: dict) -> list[dict]:
    """The derived cell table: one dict per (active experiment, N, d, sigma, lr, bias_noise, s0_norm, b0,
    label_fraction), validated against
    workflow/schemas/cells.schema.yaml. lam must give an integer d = lam * N."""
    rows = []
    for name in config["active"]:
        exp = config["experiments"][name]
        grid = itertools.product(exp["N"], exp.get("lam", exp.get("d")), exp["sigma"], exp["lr"],
                                 *(_as_list(exp.get(k, default)) for k, (default, _) in EXTRA_AXES.items()))
        for N, x, sigma, lr, eps, s0, b0, r in grid:
            if "lam" in exp:
                d = round(x * N)
                if abs(x * N - d) > 1e-9 * N or d < 1:
                    raise ConfigError(f"config error at experiments.{name}.lam: lam = {x} with N = {N} gives "
                                      f"d = {x * N:.6g}, not a positive integer")
            else:
                d = int(x)
            cid = cell_id(N, d, sigma, lr, eps, s0, b0, r, exp.get("loss", "logistic"),
                          exp.get("input_law", "gaussian"))
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
    return rows


def block_realisations(block: int, block_size: int, realisations: int) -> range:
    """The realisation indices of one block."""
    return range(block * block_size, min((block + 1) * block_size, realisations))


# Model options whose default leaves a cell's params as they were before the option existed: they are left out
# of the params at these values (Snakemake reruns a job whose params changed), and read with these defaults.
OPTION_DEFAULTS = {"label_fraction": 1.0, "loss": "logistic", "input_law": "gaussian", "powerlaw_alpha": 1.5,
                   "mixture_std": 0.5, "adam_eps": 1.0e-8}


def cell_params(config: dict, experiment: str, cell: dict) -> dict:
    """Everything a cell's jobs need: the grid point plus the experiment-wide settings (rule params). Options at
    their default (OPTION_DEFAULTS) are left out."""
    exp = config["experiments"][experiment]
    # s0_norm and b0 stay where they were among the experiment-wide keys (an unchanged params dict), now per cell
    keep = {k: cell[k] if k in ("s0_norm", "b0") else v for k, v in exp.items()
            if k not in ("N", "lam", "d", "sigma", "lr", "bias_noise", "label_fraction") and k not in OPTION_DEFAULTS}
    options = {k: v for k, v in exp.items() if k in OPTION_DEFAULTS}
    return {**keep, "experiment": experiment, "cell": cell["cell"], "N": cell["N"], "d": cell["d"],
            "lam": cell["lam"], "sigma": cell["sigma"], "lr": cell["lr"], "bias_noise": cell["bias_noise"],
            **{k: v for k, v in (options | {"label_fraction": cell["label_fraction"]}).items()
               if k in OPTION_DEFAULTS and v != OPTION_DEFAULTS[k]},
            "root_seed": config["root_seed"],
            "block_size": config["block_size"]}
