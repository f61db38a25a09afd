"""The claims ledger from the command line.

  python -m grokedge.ledger show LEDGER.parquet           print the ledger as Markdown
  python -m grokedge.ledger publish LEDGER.parquet NAME   copy it to docs/ledger/NAME.parquet and .md, and rewrite
                                                          the README's counts table from every published ledger
"""

import argparse
import sys
from pathlib import Path

from .report import counts_table, ledger_markdown, publish, read_ledger, replace_section


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m grokedge.ledger", description="The claims ledger.")
    sub = p.add_subparsers(dest="command", required=True)
    show = sub.add_parser("show", help="print a ledger as Markdown")
    show.add_argument("ledger", help="a claims.parquet written by the pipeline")
    pub = sub.add_parser("publish", help="copy a run's ledger into docs/ and rewrite the README's counts table")
    pub.add_argument("ledger", help="a claims.parquet written by the pipeline")
    pub.add_argument("name", help="the run's name in docs/ledger/ (e.g. default, paper_scale)")
    pub.add_argument("--docs", default="docs/ledger", help="folder of the published ledgers (default docs/ledger)")
    pub.add_argument("--readme", default="README.md", help="README whose claims section lists the counts")
    a = p.parse_args(argv)
    if a.command == "show":
        sys.stdout.write(ledger_markdown(read_ledger(a.ledger)))
        return 0
    md = publish(a.ledger, a.name, a.docs)
    readme = Path(a.readme)
    readme.write_text(replace_section(readme.read_text(), counts_table(a.docs)))
    print(f"wrote {md} and the counts table of {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
