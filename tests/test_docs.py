"""The documentation a reader can finish (issue 20): a short README, links that resolve, generated tables that
agree with their sources, and no path of a particular machine anywhere in the repository."""

import re
import subprocess

import pytest
from helpers import ROOT

from benchmarks._util import TABLE_END, TABLE_START, performance_table
from grokedge import ledger

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} +(.+?) *$", text, re.M)}


def test_readme_is_short():
    assert README.stat().st_size <= 12_500, f"README.md is {README.stat().st_size} bytes; move detail into docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    """Every relative link (and image) of the page names an existing file, and its #anchor a heading there."""
    broken = []
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.is_file():
            broken.append(f"{target} (no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest})")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target} (no heading with anchor #{anchor})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_anchors_follow_github():
    assert _slug("Systematic differences, and why") == "systematic-differences-and-why"
    assert _slug("What a run costs: `make plan`") == "what-a-run-costs-make-plan"
    assert _slug("Large-N theory") == "large-n-theory"


def test_no_path_of_a_particular_machine():
    """No file the repository holds names a folder of the machine it was written on."""
    try:
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    forbidden = ["/" + "work/", "../" + "shared"]  # written in two pieces so that this file does not match itself
    found = []
    for rel in files:
        path = ROOT / rel
        if not path.is_file() or rel.startswith("results/"):
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary (figures, Parquet)
            continue
        text = data.decode("utf-8", errors="replace")
        found += [f"{rel}: {s}" for s in forbidden if s in text]
    assert not found, found


def test_readme_counts_are_those_of_the_published_ledgers(monkeypatch):
    """The counts between the claims markers are what `python -m grokedge.ledger publish` would write now."""
    monkeypatch.chdir(ROOT)  # the table's links are relative to the README, as publish writes them
    text = README.read_text()
    assert ledger.replace_section(text, ledger.counts_table("docs/ledger")) == text


def test_performance_table_lives_in_docs_and_round_trips(tmp_path):
    """The benchmark writer finds its markers in docs/performance.md (not in the README), and a rewrite with no
    new rows keeps every row."""
    page = ROOT / "docs" / "performance.md"
    text = page.read_text()
    assert text.count(TABLE_START) == 1 and text.count(TABLE_END) == 1
    assert TABLE_START not in README.read_text()
    copy = tmp_path / "performance.md"
    copy.write_text(text)
    performance_table(copy, [], [], "today")
    assert copy.read_text() == text
    performance_table(copy, [("flow", "a measure", "1.0x")], ["flow"], "today")
    rows = copy.read_text().split(TABLE_START)[1].split(TABLE_END)[0]
    assert "| flow | a measure | 1.0x | today |" in rows and rows.count("| flow |") == 1
    assert rows.count("| kernel |") == text.count("| kernel |")
