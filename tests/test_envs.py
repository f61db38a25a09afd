"""The conda route and the pip route install the same versions; every rule names an existing conda env."""

import re
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


def test_every_rule_declares_an_existing_conda_env():
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"\n(?=rule \w+:)", smk.read_text()):
            m = re.match(r"rule (\w+):", block)
            if not m or "\n    run:" in block:  # a run: rule executes in Snakemake's own process (no conda)
                continue
            env = re.search(r"\n    conda:\n        \"([^\"]+)\"", block)
            assert env, f"{smk.name}: rule {m.group(1)} has no conda env"
            path = (smk.parent / env.group(1)).resolve()
            assert path.is_file(), f"{smk.name}: rule {m.group(1)}: {env.group(1)} missing"
