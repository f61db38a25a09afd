"""Snakemake adapter: evaluate the claims ledger (grokedge.ledger) on the run's tables."""
from pathlib import Path

from grokedge.ledger import evaluate_claims, ledger_html, ledger_markdown, load_tables, verdict_counts
from grokedge.runner import Job

with Job(snakemake, "claims") as job:
    inp, params = snakemake.input, snakemake.params
    tables = load_tables(inp.runs, inp.curves, inp.toy_curves, inp.toy_times, inp.blog_curves,
                         {"figures": dict(params.figures), "grokking": dict(params.grokking)})
    ledger = evaluate_claims(tables)
    job.log.info("verdicts: %s", verdict_counts(ledger))
    job.write(ledger, snakemake.output.ledger, "claims")
    Path(snakemake.output.markdown).write_text(ledger_markdown(ledger))
    Path(snakemake.output.html).write_text(ledger_html(ledger))
