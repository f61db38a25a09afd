"""The worked example of docs/contributing.md (a new input law with a parameter of its own), applied: the page's
diffs, exactly as printed, are applied to a scratch copy of the library and the tests, and the new law's tests
run there. The example's text and the code it claims to change cannot drift apart."""

import re
import shutil
import subprocess
import sys

from helpers import ROOT

SECTION = "## Adding an input law: a worked example"
# What the page's example must add, and the tests that must then run for it (parametrised over the registry,
# plus its own): each is named in the page.
LAW, PARAMETER = "student_t", "student_dof"
TESTS = (f"test_law_covariance_and_symmetry[{LAW}]", f"test_wendel_holds_for_every_law[{LAW}]",
         f"test_a_law_parameter_reaches_the_cell[{LAW}-{PARAMETER}]",
         f"test_a_law_parameter_is_refused_with_another_law[{LAW}-{PARAMETER}]", "test_student_t_quantiles")


def page_diff() -> str:
    """The ```diff blocks of the page's worked example, concatenated: one patch."""
    text = (ROOT / "docs" / "contributing.md").read_text()
    section = text[text.index(SECTION):]
    end = section.find("\n## ", len(SECTION))
    blocks = re.findall(r"^```diff\n(.*?)^```$", section if end < 0 else section[:end], flags=re.S | re.M)
    assert len(blocks) == 2, "the worked example shows the library's diff and the test's diff"
    return "".join(blocks)


def test_the_worked_example_applies_and_its_tests_pass(tmp_path):
    for rel in ("workflow/scripts/grokedge", "workflow/presets", "tests"):
        shutil.copytree(ROOT / rel, tmp_path / rel, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "config.yaml", tmp_path / "config.yaml")
    (tmp_path / "example.diff").write_text(page_diff())
    applied = subprocess.run(["git", "apply", "--verbose", "example.diff"], cwd=tmp_path, capture_output=True,
                             text=True)
    assert applied.returncode == 0, f"the page's diff no longer applies to the code:\n{applied.stderr}"
    assert LAW in (tmp_path / "workflow/scripts/grokedge/laws.py").read_text()
    run = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests/test_options.py",
                          "-k", "student"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    passed = set(re.findall(r"::(\S+) PASSED", run.stdout))
    assert set(TESTS) <= passed, sorted(set(TESTS) - passed)
