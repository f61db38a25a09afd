"""The claims ledger: every claim of the paper (Beck, Levi & Bar Sinai, ICML 2025) and of Davies' blog (2022),
judged on a run's tables.

``evaluate_claims(tables)`` returns one row per registered claim (``LEDGER_COLUMNS``): ``id``, ``source`` (the
section or figure judged), ``statement``, ``measured`` and ``reference`` (text, with ``measured_value`` and
``reference_value`` as numbers), ``tolerance`` and ``tolerance_reason``, ``experiment`` and ``N`` of the run it was
measured on, ``verdict`` (``holds``, ``differs``, or ``not run`` when the run lacks the experiment, grid or horizon
the claim needs; ``note`` says which) and ``note``.

Modules: ``core`` (registry, verdict rules, table look-ups), ``readoffs`` (values read off the published
figures), the evaluators by part of the paper (``separability``, ``generalisation``, ``grokking``, ``rates``,
``curves``, ``appendix``, ``toy_model``, ``blog``, ``large_n``), and ``report`` (Markdown and Parquet).
``python -m grokedge.ledger show LEDGER.parquet`` prints the Markdown table; ``publish`` copies a run's ledger into
docs/ledger/ and regenerates the README's counts table.
"""

# the evaluator modules register their claims on import, in this order
from . import (  # noqa: F401
    appendix,
    blog,
    critical_scaling,
    curves,
    generalisation,
    grokking,
    large_n,
    rates,
    separability,
    toy_model,
)
from .core import CLAIMS, LEDGER_COLUMNS, VERDICTS, Claim, ClaimError, NotRun, Tables, evaluate_claims, verdict_counts
from .report import (
    README_END,
    README_START,
    comparison_markdown,
    counts_line,
    counts_table,
    ledger_html,
    ledger_markdown,
    load_tables,
    publish,
    read_ledger,
    replace_section,
)

__all__ = ["CLAIMS", "LEDGER_COLUMNS", "VERDICTS", "Claim", "ClaimError", "NotRun", "Tables", "evaluate_claims",
           "verdict_counts", "README_END", "README_START", "comparison_markdown", "counts_line", "counts_table",
           "ledger_html", "ledger_markdown", "load_tables", "publish", "read_ledger", "replace_section"]
