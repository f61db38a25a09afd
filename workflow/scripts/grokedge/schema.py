"""The configuration schemas (``grokedge/schemas/``, inside the package so that an installed ``grokedge`` finds
them) and the experiment defaults they hold: the one place for a default. The config schema is completed by the
input-law registry (``grokedge.laws``), which declares the laws' names and their parameters, and by the loss
registry (``grokedge.losses``), which declares the losses' names."""

from __future__ import annotations

import importlib.resources

import yaml

from .laws import INPUT_LAWS, PARAMETERS
from .losses import LOSSES

SCHEMA_DIR = importlib.resources.files("grokedge") / "schemas"


def load_schema(name: str) -> dict:
    """A schema of ``grokedge/schemas/`` as a dict."""
    return yaml.safe_load((SCHEMA_DIR / name).read_text())


def config_schema() -> dict:
    """config.schema.yaml completed by the registries of the input laws (``grokedge.laws``; adding a law, with its
    parameters, is one entry there) and the losses (``grokedge.losses``): the enums of ``input_law`` and
    ``loss``, and the property of every law parameter."""
    schema = load_schema("config.schema.yaml")
    props = schema["$defs"]["experiment"]["properties"]
    props["input_law"]["enum"] = list(INPUT_LAWS)
    props["loss"]["enum"] = list(LOSSES)
    clash = sorted(set(PARAMETERS) & set(props))
    if clash:
        raise ValueError(f"input-law parameters {clash} are also keys of config.schema.yaml: rename them")
    props |= {name: p.schema(laws) for name, (p, laws) in PARAMETERS.items()}
    return schema


def _experiment_defaults() -> dict:
    """The schema's default of every experiment key, a one-element list read as its value."""
    props = config_schema()["$defs"]["experiment"]["properties"]
    out = {}
    for key, spec in props.items():
        if "default" in spec:
            v = spec["default"]
            out[key] = v[0] if isinstance(v, list) and len(v) == 1 else v
    return out


EXPERIMENT_DEFAULTS = _experiment_defaults()
