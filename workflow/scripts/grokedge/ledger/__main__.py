"""python -m grokedge.ledger LEDGER.parquet [--markdown OUT.md] [--readme README.md]: print the ledger as Markdown,
write it to a file, or rewrite the verdict counts between the claims markers of a README."""

import argparse
import sys
from pathlib import Path

from . import counts_line, ledger_markdown, read_ledger, replace_section


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m grokedge.ledger", description=__doc__.split(":")[0])
    p.add_argument("ledger", help="a claims.parquet written by the pipeline")
    p.add_argument("--markdown", help="write the Markdown table to this file")
    p.add_argument("--readme", help="rewrite this file's section between the claims markers with the counts")
    a = p.parse_args(argv)
    ledger = read_ledger(a.ledger)
    md = ledger_markdown(ledger)
    if a.markdown:
        Path(a.markdown).write_text(md)
    if a.readme:
        path = Path(a.readme)
        path.write_text(replace_section(path.read_text(), counts_line(ledger)))
    if not (a.markdown or a.readme):
        sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
