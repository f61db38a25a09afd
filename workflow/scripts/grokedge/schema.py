"""The configuration schemas (``grokedge/schemas/``, inside the package so that an installed ``grokedge`` finds
them) and the experiment defaults they hold: the one place for a default."""

from __future__ import annotations

import importlib.resources

import yaml

SCHEMA_DIR = importlib.resources.files("grokedge") / "schemas"


def load_schema(name: str) -> dict:
    """A schema of ``grokedge/schemas/`` as a dict."""
    return yaml.safe_load((SCHEMA_DIR / name).read_text())


def _experiment_defaults() -> dict:
    """The schema's default of every experiment key, a one-element list read as its value."""
    props = load_schema("config.schema.yaml")["$defs"]["experiment"]["properties"]
    out = {}
    for key, spec in props.items():
        if "default" in spec:
            v = spec["default"]
            out[key] = v[0] if isinstance(v, list) and len(v) == 1 else v
    return out


EXPERIMENT_DEFAULTS = _experiment_defaults()
