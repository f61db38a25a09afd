"""The ledger as text: a Markdown table (for docs/ and the report), the verdict summary line the README shows,
reading and writing the Parquet ledger, and loading a run's tables."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .core import LEDGER_COLUMNS, Tables, verdict_counts

README_START = "<!-- claims:start -->"
README_END = "<!-- claims:end -->"


def _md_cell(x) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def counts_line(ledger: pd.DataFrame) -> str:
    """'N claims: a holds, b differs, c not run.'"""
    return f"{len(ledger)} claims: " + ", ".join(f"{n} {v}" for v, n in verdict_counts(ledger).items()) + "."


def ledger_markdown(ledger: pd.DataFrame) -> str:
    """The ledger as a Markdown table (id, figure judged, statement, measured, reference, tolerance and why, run,
    verdict, note), preceded by the verdict counts. A 'not run' row shows why in place of the measurement."""
    cols = ["id", "figure", "statement", "measured", "reference", "tolerance", "run", "verdict", "note"]
    lines = [counts_line(ledger), "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in ledger.itertuples(index=False):
        not_run = r.verdict == "not run"
        run = "-" if not_run else f"{r.experiment}, N = {r.N}" if r.N else r.experiment
        tol = "-" if not_run else f"{r.tolerance} ({r.tolerance_reason})"
        measured = r.note if not_run else r.measured
        note = "" if not_run else r.note
        verdict = f"**{r.verdict}**" if r.verdict == "differs" else r.verdict
        lines.append("| " + " | ".join(_md_cell(x) for x in (f"`{r.id}`", r.source, r.statement, measured,
                                                                r.reference, tol, run, verdict, note)) + " |")
    return "\n".join(lines) + "\n"


def ledger_html(ledger: pd.DataFrame, title: str = "Claims ledger") -> str:
    """The ledger as a self-contained HTML page (the report's table): the counts, then one row per claim naming
    the figure it judges, with 'differs' rows highlighted."""
    import html

    cols = ["id", "source", "statement", "measured", "reference", "tolerance", "tolerance_reason", "experiment", "N",
            "verdict", "note"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for r in ledger[cols].itertuples(index=False):
        style = {"differs": "background:#fde2e2", "not run": "color:#777"}.get(r.verdict, "")
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in r)
        body.append(f'<tr style="{style}">{cells}</tr>')
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title><style>"
            "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}th{background:#eee}</style></head><body>"
            f"<h2>{html.escape(title)}</h2><p>{html.escape(counts_line(ledger))}</p>"
            f"<table><tr>{head}</tr>{''.join(body)}</table></body></html>\n")


def replace_section(text: str, body: str, start: str = README_START, end: str = README_END) -> str:
    """``text`` with everything between the markers ``start`` and ``end`` replaced by ``body``; the markers stay.
    Raises ValueError if the markers are missing or out of order."""
    pattern = re.compile(re.escape(start) + r"\n?.*?" + re.escape(end), re.S)
    if text.count(start) != 1 or text.count(end) != 1 or not pattern.search(text):
        raise ValueError(f"the file needs exactly one '{start}' followed by one '{end}'")
    return pattern.sub(lambda _: f"{start}\n{body.rstrip()}\n{end}", text)


def read_ledger(path) -> pd.DataFrame:
    from ..io import read_table
    return read_table(path, "claims", LEDGER_COLUMNS)


def load_tables(runs=None, curves=None, toy_curves=None, toy_times=None, blog_curves=None, spec=None) -> Tables:
    """Read whichever of the tables exist (paths may be None or missing files)."""
    from ..io import read_table

    def rd(p, kind):
        return read_table(p, kind) if p and Path(p).exists() else None
    return Tables(rd(runs, "runs"), rd(curves, "curves"), rd(toy_curves, "toy_curves"), rd(toy_times, "toy_times"),
                  rd(blog_curves, "blog_curves"), dict(spec or {}))


def provenance_line(path) -> str:
    """The commit, its dirty flag and the configuration hash stamped into a ledger table."""
    from ..io import table_metadata
    p = table_metadata(path).get("provenance", {}) or {}
    commit = (p.get("git_commit") or "unknown")[:12] + (" (uncommitted changes)" if p.get("git_dirty") else "")
    return f"commit {commit}, configuration hash {(p.get('config_hash') or 'unknown')[:12]}"


def publish(ledger_path, name: str, docs="docs/ledger") -> Path:
    """Copy a run's ledger into ``docs/NAME.parquet`` (provenance kept in its metadata), write ``docs/NAME.md``
    (the provenance line, the counts and the table) and rewrite ``docs/comparison.md`` over every published
    ledger. Returns the Markdown path of NAME."""
    import shutil

    docs = Path(docs)
    docs.mkdir(parents=True, exist_ok=True)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"ledger name {name!r}: use letters, digits, '_', '-' or '.'")
    target = docs / f"{name}.parquet"
    shutil.copyfile(ledger_path, target)
    md = docs / f"{name}.md"
    md.write_text(f"# Claims ledger of the `{name}` run\n\nGenerated by `python -m grokedge.ledger publish` from the "
                  f"run's `claims.parquet` ({provenance_line(target)}).\n\n" + ledger_markdown(read_ledger(target)))
    (docs / "comparison.md").write_text(comparison_markdown(docs))
    return md


def comparison_markdown(docs="docs/ledger") -> str:
    """One row per claim id, one column per published ledger in ``docs`` (its verdict, the measured value and the
    N it was judged at), the claims whose verdict is not the same in every ledger listed first: the page that says
    which of the paper's statements change with the scale of the run."""
    ledgers = {p.stem: read_ledger(p).set_index("id") for p in sorted(Path(docs).glob("*.parquet"))}
    if not ledgers:
        raise ValueError(f"no published ledger in {docs}")
    names = list(ledgers)
    ids = list(dict.fromkeys(i for led in ledgers.values() for i in led.index))

    def cell(name, i):
        led = ledgers[name]
        if i not in led.index:
            return "-"
        r = led.loc[i]
        if r.verdict == "not run":
            return "not run"
        at = f", N = {r.N}" if r.N else ""
        verdict = f"**{r.verdict}**" if r.verdict == "differs" else r.verdict
        return f"{verdict}: {r.measured}{at}"

    def verdicts(i):
        return {ledgers[n].loc[i, "verdict"] for n in names if i in ledgers[n].index} - {"not run"}

    changed = [i for i in ids if len(verdicts(i)) > 1]
    head = ["| id | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]

    def rows(sel):
        return [f"| `{i}` | " + " | ".join(_md_cell(cell(n, i)) for n in names) + " |" for i in sel]
    lines = ["# The claims ledger across runs", "",
             "Generated by `python -m grokedge.ledger publish` from the published ledgers in this folder ("
             + ", ".join(f"[{n}]({n}.md)" for n in names) + "): each cell is the verdict, the measured value and "
             "the N it was judged at.", "",
             f"## Claims whose verdict depends on the run ({len(changed)})", "", *head, *rows(changed), "",
             f"## All claims ({len(ids)})", "", *head, *rows(ids)]
    return "\n".join(lines) + "\n"


def counts_table(docs="docs/ledger") -> str:
    """A Markdown table of the verdict counts of every published ledger in ``docs`` (one row per run)."""
    rows = ["| run | claims | holds | differs | not run | ledger | made at |", "|---|---|---|---|---|---|---|"]
    for path in sorted(Path(docs).glob("*.parquet")):
        led = read_ledger(path)
        c = verdict_counts(led)
        rows.append(f"| {path.stem} | {len(led)} | {c['holds']} | {c['differs']} | {c['not run']} | "
                    f"[{path.stem}.md]({Path(docs).as_posix()}/{path.stem}.md) | {provenance_line(path)} |")
    return "\n".join(rows) + "\n"
