"""The conda route and the pip route install the same versions; every rule names an existing conda env."""

import re
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names whose pip distribution is called differently
CONDA_TO_PIP = {"matplotlib-base": "matplotlib", "seaborn-base": "seaborn", "pyyaml": "pyyaml"}


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_every_conda_pin_equals_the_pip_lock():
    lock = _lock()
    for env_file in (ROOT / "envs").glob("*.yaml"):
        deps = yaml.safe_load(env_file.read_text())["dependencies"]
        for dep in deps:
            name, _, version = dep.partition("=")
            assert version, f"{env_file.name}: {name} is not pinned"
            if name == "python":
                assert version == "3.11", "the lock was resolved on Python 3.11"
                continue
            pip_name = CONDA_TO_PIP.get(name, name).lower()
            assert pip_name in lock, f"{env_file.name}: {name} is not in requirements.lock"
            assert lock[pip_name] == version, f"{env_file.name}: {name}={version}, requirements.lock: {lock[pip_name]}"


# a rule header: named (`rule x:`) or anonymous (`rule:`, as the rules generated in loops are; they take their
# name from a `name:` directive), at any indentation
RULE = re.compile(r"^(?P<indent>[ \t]*)rule(?:[ \t]+(?P<name>\w+))?[ \t]*:[ \t]*(?:#.*)?$")
ACTIONS = ("shell", "script", "run", "notebook", "wrapper", "cwl")


def rules(text: str) -> list[tuple[str, str]]:
    """(name, directives) of every rule of a Snakefile's text, its directives dedented to column 0; an anonymous
    rule is named by its `name:` directive (as written, e.g. an f-string) or by its line."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = RULE.match(line)
        if not m:
            continue
        body = []
        for nxt in lines[i + 1:]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= len(m["indent"]):
                break
            body.append(nxt)
        body = textwrap.dedent("\n".join(body))
        named = re.search(r"^name:\s*(\S.*)$", body, re.M)
        out.append((m["name"] or (named.group(1).strip() if named else f"anonymous rule at line {i + 1}"), body))
    return out


def conda_problems(text: str, folder: Path) -> list[str]:
    """What is wrong with the conda envs of the rules in ``text`` (a Snakefile in ``folder``): every rule that
    executes something names an env file that exists. Exempt: `run:` rules (they execute in Snakemake's own
    process, no conda) and target-only rules (no action)."""
    problems = []
    for name, body in rules(text):
        actions = {a for a in ACTIONS if re.search(rf"^{a}:", body, re.M)}
        if not actions or "run" in actions:
            continue
        env = re.search(r'^conda:\s*"([^"]+)"', body, re.M)
        if env is None:
            problems.append(f"rule {name} has no conda env")
        elif not (folder / env.group(1)).resolve().is_file():
            problems.append(f"rule {name}: {env.group(1)} missing")
    return problems


SNAKEFILES = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]


def test_every_rule_declares_an_existing_conda_env():
    seen = []
    for smk in SNAKEFILES:
        text = smk.read_text()
        found = rules(text)
        # every rule keyword was parsed as a rule, the anonymous ones of the loops included
        assert len(found) == len(re.findall(r"^[ \t]*rule(?:[ \t]+\w+)?[ \t]*:", text, re.M)), smk.name
        assert conda_problems(text, smk.parent) == [], smk.name
        seen += [name for name, _ in found]
    for generated in ('f"train_{_name}"', 'f"separability_{_name}"', 'f"plot_{_job}"'):
        assert generated in seen, f"the loop rule {generated} was not checked"


LOOP_RULE = """
for _name in NAMES:

    rule:
        name:
            f"train_{_name}"
        output:
            "x"
        {conda}script:
            "../scripts/run_train.py"


rule all:
    input:
        "x"


rule note:
    run:
        print("runs in Snakemake's process")
"""


def test_the_check_sees_an_anonymous_rule_without_an_env(tmp_path):
    """A rule generated in a loop (`rule:` with a `name:`) without a conda env, or with one that does not exist,
    is reported (the earlier check matched `rule <name>:` only and saw none of them)."""
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "e.yaml").write_text("dependencies: []\n")
    assert conda_problems(LOOP_RULE.replace("{conda}", ""), tmp_path) == ['rule f"train_{_name}" has no conda env']
    missing = LOOP_RULE.replace("{conda}", 'conda:\n            "envs/none.yaml"\n        ')
    assert conda_problems(missing, tmp_path) == ['rule f"train_{_name}": envs/none.yaml missing']
    ok = LOOP_RULE.replace("{conda}", 'conda:\n            "envs/e.yaml"\n        ')
    assert conda_problems(ok, tmp_path) == []
    assert [name for name, _ in rules(ok)] == ['f"train_{_name}"', "all", "note"]
