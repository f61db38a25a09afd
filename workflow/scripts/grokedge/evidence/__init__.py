"""Measurements behind the ledger's choices and verdicts, each runnable with ``python -m
grokedge.evidence.<name>``: a module per question, pure functions that return a table and a ``main()`` that
prints it (and optionally writes it as Parquet)."""
