"""Measurements behind the ledger's choices and verdicts, each runnable as ``python -m grokedge.evidence.<name>``."""
