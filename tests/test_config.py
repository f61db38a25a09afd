"""Configuration validation: every bad input stops with a message naming the key, before any job runs."""

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import merge

from grokedge.config import ConfigError, canonical, cells, validate_config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())


def _with(path: str, value):
    cfg = copy.deepcopy(DEFAULT)
    *parents, last = path.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return cfg


_DELETE = object()
SWEEP = "experiments.lambda_sweep"

BAD = [
    (_with("colour", "blue"), r"\(top level\): Additional properties .*'colour'"),
    (_with(f"{SWEEP}.horizon", "1e5"), r"lambda_sweep\.horizon: '1e5' is not of type 'number' \(YAML 1\.1 reads"),
    (_with(f"{SWEEP}.N", [-5]), r"lambda_sweep\.N\[0\]: -5 is less than the minimum of 2"),
    (_with(f"{SWEEP}.N", [0]), r"lambda_sweep\.N\[0\]"),
    (_with(f"{SWEEP}.sigma", [-1.0]),
     r"lambda_sweep\.sigma\[0\]: -1\.0 is less than the minimum of 0\.001; sigma must lie in"),
    (_with(f"{SWEEP}.lr", [0.0]), r"lambda_sweep\.lr\[0\]"),
    (_with(f"{SWEEP}.horizon", 0), r"lambda_sweep\.horizon: 0 is less than the minimum of 1"),
    (_with(f"{SWEEP}.realisations", 0), r"lambda_sweep\.realisations"),
    (_with(f"{SWEEP}.lam", [0.123]), r"lambda_sweep\.lam: lam = 0\.123 with N = 400 gives d = 49\.2, not a positive"),
    (_with(f"{SWEEP}.lam", []), r"lambda_sweep\.lam: \[\] should be non-empty"),
    (_with("experiments", {}), r"experiments: \{\} should be non-empty"),
    (_with(f"{SWEEP}.lam", [0.5, 0.5]), r"lambda_sweep\.lam: duplicated value"),
    (_with(f"{SWEEP}.lam", [0.3, 0.30000000000000004]), r"lambda_sweep\.lam: duplicated value"),
    (_with(f"{SWEEP}.checkpoints_per_decade", 0), r"checkpoints_per_decade: 0 is less than the minimum of 1"),
    (_with(f"{SWEEP}.solver", "sgd"), r"lambda_sweep\.solver: 'sgd' is not one of \['gd', 'adam', 'flow'\]"),
    (_with("grokking.gen95.kind", "fastest"), r"grokking\.gen95\.kind: 'fastest' is not one of"),
    (_with("headline_grokking", "nope"), r"headline_grokking: 'nope' is not one of the grokking definitions"),
    (_with("figures.main_experiment", "other"), r"figures\.main_experiment: no experiment named 'other'"),
    (_with(f"{SWEEP}.d", [10]), r"lambda_sweep: give exactly one of 'lam' or 'd'"),
    (_with(f"{SWEEP}.lam", _DELETE), r"lambda_sweep: give exactly one of 'lam' or 'd'"),
]


@pytest.mark.parametrize("cfg,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_config_is_rejected_with_the_key_named(cfg, message):
    with pytest.raises(ConfigError, match=message):
        cells(validate_config(cfg))


def test_default_and_presets_are_valid():
    expected = 0
    for name in DEFAULT["active"]:
        e = DEFAULT["experiments"][name]
        grid = (e["N"], e["lam"], e["sigma"], e.get("lr", [0]), e.get("bias_noise", [0]),
                *(v if isinstance(v := e.get(k, 0), list) else [v] for k in ("s0_norm", "b0", "label_fraction")))
        expected += int(np.prod([len(values) for values in grid]))
    assert len(cells(validate_config(copy.deepcopy(DEFAULT)))) == expected
    for preset in (ROOT / "workflow" / "presets").glob("*.yaml"):
        merged = merge(copy.deepcopy(DEFAULT), yaml.safe_load(preset.read_text()))
        assert cells(validate_config(merged)), preset.name


def test_canonical_values_in_cell_ids():
    assert canonical(0.1 + 0.2) == "0.3" and canonical(100.0) == "100" and canonical(1e-5) == "1e-05"
    cfg = _with(f"{SWEEP}.lr", [0.1 + 0.2])
    ids = {c["cell"] for c in cells(validate_config(cfg))}
    assert "N400_d20_sigma5_lr0.3" in ids
    # lam = 0.35 * 400 is 139.99999999999997 in floating point: still the integer cell d = 140
    assert any(c["d"] == 140 for c in cells(validate_config(_with(f"{SWEEP}.lam", [0.35]))))


def test_defaults_come_from_the_schema_for_every_section():
    cfg = copy.deepcopy(DEFAULT)
    for section in ("toy", "blog"):
        del cfg[section]
    del cfg["run_name"]
    filled = validate_config(cfg)
    assert filled["run_name"] == "default"
    # the schema's defaults are the laptop defaults of config.yaml, section by section
    for section in ("toy", "blog"):
        assert filled[section] == DEFAULT[section], section
    exp = filled["experiments"]["s_inf_scaling"]
    assert exp["lr"] == [0.01] and exp["solver"] == "flow" and exp["bias_noise"] == [0.0]


@pytest.mark.parametrize("old,new", [("eta", "lr"), ("points_per_decade", "checkpoints_per_decade"),
                                     ("eps", "loss_threshold")])
def test_renamed_keys_name_the_new_one(old, new):
    cfg = _with(f"toy.{old}", 1.0)
    with pytest.raises(ConfigError, match=rf"config error at toy\.{old}: this key is now toy\.{new}"):
        validate_config(cfg)


def test_bias_noise_in_cell_ids_is_bn():
    ids = {c["cell"] for c in cells(validate_config(copy.deepcopy(DEFAULT))) if c["experiment"] == "two_gaussian"}
    assert "N400_d160_sigma5_lr0.004_bn0.25" in ids and not any("eps" in i for i in ids)


def test_memory_check_names_the_cell():
    from grokedge.config import check_memory

    rows = [{"experiment": "big", "cell": "N100000_d50000_sigma5_lr0.01", "N": 100000, "d": 50000,
             "realisations": 40}]
    with pytest.raises(ConfigError, match=r"experiments\.big: cell N100000_d50000_sigma5_lr0\.01 needs at least "
                                          r"37\.3 GiB per block .* but this machine has 16 GiB"):
        check_memory(rows, 1, memory=16 * 2**30)
    check_memory(rows, 1, memory=64 * 2**30)
