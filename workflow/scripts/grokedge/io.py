"""Parquet in and out: atomic writes, and a version stamp checked on every read-back."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

TABLE_FORMAT = "grokedge-table/1"


def write_table(df: pd.DataFrame, path: str | Path, kind: str, metadata: dict | None = None) -> None:
    """Write ``df`` as Parquet to ``path`` atomically (temporary file in the same folder, then rename), with
    schema metadata ``grokedge`` = {"format", "kind", **metadata}."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"grokedge"] = json.dumps({"format": TABLE_FORMAT, "kind": kind, **(metadata or {})}, default=str).encode()
    table = table.replace_schema_metadata(meta)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the permissions of a normal one
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def table_metadata(path: str | Path, advice: bool = True) -> dict:
    """The ``grokedge`` schema metadata of a table written by ``write_table`` ({} if absent). A file that is
    not Parquet (truncated, another format) or whose stamp is not JSON raises ValueError naming the path; with
    ``advice`` (for the workflow's own outputs) the message says to delete and rebuild it."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (pa.ArrowException, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        fix = "; delete it and rerun the workflow to rebuild it" if advice else " (is it a table of the workflow?)"
        raise ValueError(f"{path}: not a readable Parquet file ({err}){fix}") from None
    raw = meta.get(b"grokedge")
    try:
        found = json.loads(raw) if raw else {}
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise ValueError(f"{path}: its 'grokedge' metadata is not a JSON object; delete it and rerun the workflow")
    return found


def read_table(path: str | Path, kind: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a table back, refusing one of another kind or format version. ``columns`` selects those columns
    (only they are read), and a column the table lacks is an error naming it."""
    meta = table_metadata(path)
    if meta.get("format") != TABLE_FORMAT or meta.get("kind") != kind:
        raise ValueError(f"{path}: not a {TABLE_FORMAT} '{kind}' table (found format={meta.get('format')!r}, "
                         f"kind={meta.get('kind')!r}); delete it and rerun the workflow to rebuild it")
    if columns is not None:
        have = set(pq.read_schema(path).names)
        missing = sorted(set(columns) - have)
        if missing:
            raise ValueError(f"{path}: '{kind}' table lacks columns {missing}; delete it and rerun to rebuild it")
        return pd.read_parquet(path, columns=list(columns))
    return pd.read_parquet(path)
