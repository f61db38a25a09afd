"""Helpers shared by several test files (import as ``from helpers import ...``; tests/ is on sys.path)."""

import hashlib
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


def stand_in_venv(path: Path, scripts: dict[str, str]) -> Path:
    """A stand-in venv at ``path`` for `make VENV=...`: bin/<tool> a shell script running the given body, and the
    install stamp of the current requirements.lock, so that make installs nothing."""
    (path / "bin").mkdir(parents=True, exist_ok=True)
    for tool, body in scripts.items():
        (path / "bin" / tool).write_text(f"#!/bin/sh\n{body}\n")
        (path / "bin" / tool).chmod(0o755)
    lock = hashlib.sha256((ROOT / "requirements.lock").read_bytes()).hexdigest()[:12]
    (path / f".installed-{lock}").touch()
    return path


def run_snakemake(workdir: Path, *args: str, env: dict | None = None,
                  prefix: tuple = ()) -> subprocess.CompletedProcess:
    """`snakemake ARGS` in ``workdir`` as a user runs it (behind ``prefix``, a wrapper command, if given), stdout and
    stderr together (Snakemake 9 prints its errors on stdout); the caller judges the exit code and the text."""
    return subprocess.run([*prefix, *SNAKEMAKE, *args], cwd=workdir, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def snakemake(workdir: Path, *args: str) -> str:
    """`snakemake ARGS` in ``workdir``; its output, or AssertionError with the tail of it when it fails."""
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr
