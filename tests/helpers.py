"""Helpers shared by several test files (import as ``from helpers import ...``; tests/ is on sys.path)."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
SMOKE = ["--configfile", "workflow/presets/smoke.yaml"]


def merge(base: dict, over: dict) -> dict:
    """Snakemake's --configfile merge: nested dicts merge key by key, everything else is replaced (in place)."""
    for k, v in over.items():
        base[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return base


def preset_config(preset: str = "smoke", root: Path = ROOT) -> dict:
    """config.yaml with workflow/presets/<preset>.yaml merged in, unvalidated (as Snakemake reads them)."""
    return merge(yaml.safe_load((root / "config.yaml").read_text()),
                 yaml.safe_load((root / "workflow" / "presets" / f"{preset}.yaml").read_text()))


def copy_repo(dest: Path) -> Path:
    """What a clone holds: the files git tracks, plus new files not yet committed (never ignored ones)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    for rel in files:
        if (ROOT / rel).is_file() and not rel.startswith(("results/", "docs/")):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    return dest


def snakemake(workdir: Path, *args: str) -> str:
    """`snakemake ARGS` in ``workdir``; its output, or AssertionError with the tail of it when it fails."""
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr
