"""Provenance: written at run time into every table's schema metadata, printed by a small command."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from grokedge.io import read_table, table_metadata, write_table
from grokedge.provenance import PACKAGES, main, params_hash, provenance

ROOT = Path(__file__).resolve().parents[1]


def test_provenance_fields_and_round_trip(tmp_path, capsys):
    meta = provenance({"N": 400, "lam": 0.48}, wall_time_s=1.5, repo=ROOT)
    assert set(PACKAGES) <= set(meta["versions"]) and all(meta["versions"][p] for p in ("numpy", "scipy", "pandas"))
    assert meta["params_hash"] == params_hash({"lam": 0.48, "N": 400})  # key order does not matter
    assert meta["params_hash"] != params_hash({"N": 400, "lam": 0.49})
    expected = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert meta["git_commit"] == (expected or None) and isinstance(meta["git_dirty"], bool | None)
    assert meta["host"] and meta["python"].startswith(f"{sys.version_info.major}.")
    path = tmp_path / "t.parquet"
    write_table(pd.DataFrame({"x": [1.0]}), path, "runs", {"provenance": meta})
    assert table_metadata(path)["provenance"] == json.loads(json.dumps(meta))
    assert read_table(path, "runs").x.tolist() == [1.0]
    assert main([str(path)]) == 0
    printed = capsys.readouterr().out
    assert meta["seed_scheme"] in printed and str(meta["params_hash"]) in printed


def test_provenance_command_refuses_foreign_tables(tmp_path):
    path = tmp_path / "foreign.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(path)
    assert main([str(path)]) == 1
