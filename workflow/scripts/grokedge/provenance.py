"""Provenance stamped into every table at run time (never passed as rule params: that would force reruns)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from .seeds import SEED_SCHEME

PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "snakemake")


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def params_hash(params) -> str:
    """SHA-256 of the canonical JSON of a cell's parameters."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def provenance(params=None, wall_time_s: float | None = None, repo: Path | None = None) -> dict:
    """git commit and dirty flag, package versions, host, Python, the seed scheme, params hash, wall time, and the
    hash of the whole run's configuration (``config_hash``: set by the workflow in GROKEDGE_CONFIG_HASH, the same
    as in <results>/config.json; None outside the workflow)."""
    repo = Path(repo or Path(__file__).resolve().parents[3])
    commit = _git(["rev-parse", "HEAD"], repo)
    status = _git(["status", "--porcelain", "--untracked-files=no"], repo)
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "git_commit": commit,
        "git_dirty": None if status is None else bool(status),
        "python": sys.version.split()[0],
        "versions": versions,
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "seed_scheme": SEED_SCHEME,
        "params_hash": None if params is None else params_hash(params),
        "config_hash": os.environ.get("GROKEDGE_CONFIG_HASH"),
        "wall_time_s": wall_time_s,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the provenance stamped into one or more tables: ``python -m grokedge.provenance TABLE...``."""
    import argparse

    from .io import table_metadata

    parser = argparse.ArgumentParser(prog="python -m grokedge.provenance", description=main.__doc__)
    parser.add_argument("tables", nargs="+", help="Parquet tables written by the workflow")
    args = parser.parse_args(argv)
    status = 0
    for path in args.tables:
        try:
            meta = table_metadata(path, advice=False)
        except (OSError, ValueError) as err:
            print(f"{path}: cannot read: {err}", file=sys.stderr)
            status = 1
            continue
        if not meta:
            print(f"{path}: no grokedge provenance (not written by this workflow)", file=sys.stderr)
            status = 1
            continue
        print(f"== {path}")
        print(json.dumps(meta, indent=2, sort_keys=True))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
