"""Helpers shared by several test files (import as ``from helpers import ...``; tests/ is on sys.path)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def merge(base: dict, over: dict) -> dict:
    """Snakemake's --configfile merge: nested dicts merge key by key, everything else is replaced (in place)."""
    for k, v in over.items():
        base[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return base


def preset_config(preset: str = "smoke", root: Path = ROOT) -> dict:
    """config.yaml with workflow/presets/<preset>.yaml merged in, unvalidated (as Snakemake reads them)."""
    return merge(yaml.safe_load((root / "config.yaml").read_text()),
                 yaml.safe_load((root / "workflow" / "presets" / f"{preset}.yaml").read_text()))
