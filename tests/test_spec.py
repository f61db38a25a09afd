"""The cell specification (grokedge.spec): one declaration per option, the round trip to the rule params, and the
cell ids, paths and params of the presets, which the refactor onto specifications must leave unchanged."""

import ast
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import ROOT, preset_config

from grokedge import data, laws, spec, stages
from grokedge.config import ConfigError, cells, results_dir, validate_config
from grokedge.schema import config_schema

PRESETS = ("smoke", "default", "paper", "paper_scale")
# Recorded at commit 16e091d, before the specifications existed, from grokedge.config.cells and cell_params:
# every cell's id, its block files and the params of its train and separability rules (what Snakemake compares).
RECORD = Path(__file__).parent / "data" / "preset_cells.json.gz"


def _config(preset: str) -> dict:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text()) if preset == "default" else preset_config(preset)
    cfg = validate_config(cfg)
    cfg["allow_large_plan"] = True  # the cells, not the plan's bounds
    return cfg


def _enumerate(preset: str) -> list[dict]:
    cfg = _config(preset)
    out = []
    for c in cells(cfg):
        cell = spec.cell_spec(cfg, c)
        stages_ = ["dataset", "separability"] + (["curves", "state"] if cell.train else [])
        out.append({"experiment": c["experiment"], "cell": c["cell"], "n_blocks": c["n_blocks"],
                    "paths": [f"{results_dir(cfg)}/cells/{c['experiment']}/{c['cell']}/block{b}/{s}.parquet"
                              for b in range(c["n_blocks"]) for s in stages_],
                    "train_params": repr(cell.params()) if cell.train else None,
                    "separability_params": repr(cell.separability_spec.params())})
    return out


@pytest.mark.parametrize("preset", PRESETS)
def test_cell_ids_paths_and_params_unchanged(preset):
    recorded = json.loads(gzip.decompress(RECORD.read_bytes()))[preset]
    # experiments added to a preset after the record (e.g. critical_grokking) are new cells, not changed ones
    known = {r["experiment"] for r in recorded}
    now = [r for r in _enumerate(preset) if r["experiment"] in known]
    assert [r["cell"] for r in now] == [r["cell"] for r in recorded]
    for a, b in zip(now, recorded, strict=True):
        assert a == b, a["cell"]


@pytest.mark.parametrize("preset", ("default", "paper"))
def test_params_round_trip(preset):
    cfg = _config(preset)
    for c in cells(cfg):
        cell = spec.cell_spec(cfg, c)
        assert spec.CellSpec.from_params(cell.params()) == cell
        sep = cell.separability_spec
        assert spec.SeparabilitySpec.from_params(sep.params()) == sep
        assert spec.DataSpec.from_params(cell.data_spec.params()) == cell.data_spec
        assert spec.cell_id(**{k: getattr(cell, k) for k in ("N", "d", "sigma", "lr")},
                            **{o.name: getattr(cell, o.name) for o in spec.OPTIONS}) == cell.cell


def test_every_experiment_key_is_declared_once():
    """Every key of an experiment in the schema is a grid coordinate, a run key or exactly one Option, and each
    option's default is the schema's."""
    props = config_schema()["$defs"]["experiment"]["properties"]
    declared = [o.name for o in spec.OPTIONS]
    assert len(declared) == len(set(declared))
    assert set(props) == {"N", "lam", "d", "sigma", "lr", "realisations", *declared}
    for o in spec.OPTIONS:
        default = props[o.name]["default"]
        assert o.default == (tuple(default) if o.type is tuple else default[0] if isinstance(default, list)
                             else default), o.name


def test_params_refuse_unknown_keys():
    with pytest.raises(ValueError, match="not among its fields"):
        spec.DataSpec.from_params({"experiment": "e", "cell": "c", "N": 4, "d": 2, "lam": 0.5, "sigma": 1.0,
                                   "lr": 0.1, "realisations": 1, "root_seed": 0, "block_size": 1, "horizon": 10})


def test_input_law_enum_is_the_registry():
    cfg = preset_config("smoke")
    cfg["experiments"]["lambda_sweep"]["input_law"] = "cauchy"
    with pytest.raises(Exception, match="cauchy"):
        validate_config(cfg)
    assert set(laws.INPUT_LAWS) >= {"gaussian", "powerlaw", "mixture"}


def _tiny_cell(**options) -> spec.CellSpec:
    return spec.CellSpec(experiment="e", cell=spec.cell_id(30, 6, 2.0, 0.05, **options), N=30, d=6, lam=0.2,
                         sigma=2.0, lr=0.05, realisations=2, root_seed=3, block_size=2, horizon=100.0,
                         checkpoints_per_decade=2, solver="gd", **options)


def test_final_projections_regenerate_the_cell_data():
    """A powerlaw cell with r < 1 and a noisy bias: the projections are those of the data the cell trained on
    (regenerated independently here), not of an isotropic Gaussian set of the same seed."""
    cell = _tiny_cell(input_law="powerlaw", powerlaw_alpha=2.0, powerlaw_trace="sigma2", label_fraction=0.9,
                      bias_noise=0.3, test_set="sampled", n_test=50)
    _, state = stages.train_block(cell, 0)
    got = stages.final_projections(state)
    for (r, seed), row in zip(cell.seeds(0), state.itertuples(), strict=True):
        law = laws.InputLaw("powerlaw", 2.0, {"powerlaw_alpha": 2.0, "powerlaw_trace": "sigma2"})
        X = data.realisation(30, 6, 2.0, seed, 0.1, 0.3, law=law, label_fraction=0.9).X
        S = np.asarray(row.S)
        want = X @ S / np.linalg.norm(S)
        np.testing.assert_array_equal(got[got.realisation == r].projection.to_numpy(), want)
        plain = data.realisation(30, 6, 2.0, seed).X @ S / np.linalg.norm(S)
        assert not np.allclose(want, plain)


def test_final_projections_refuse_a_checksum_mismatch():
    cell = _tiny_cell(input_law="mixture", mixture_std=0.3, test_set="sampled", n_test=50)
    _, state = stages.train_block(cell, 0)
    state.loc[0, "mixture_std"] = 0.5  # a row whose specification is not the one its data were made with
    with pytest.raises(RuntimeError, match="regenerated data differ from the checksums"):
        stages.final_projections(state)
    with pytest.raises(ValueError, match="lacks the DataSpec fields"):
        stages.final_projections(state.drop(columns="mixture_std"))


def test_separability_cache_key_sees_every_data_field():
    """The key holds every field of the separability specification (None where the params leave it out), as
    the parallel key list did."""
    cell = _tiny_cell()
    manifest = stages.dataset_manifest(cell, 0)
    a = stages.separability_cache_key(cell, manifest)
    assert a == stages.separability_cache_key(spec.SeparabilitySpec.from_params(cell.separability_spec.params()),
                                              manifest)
    assert a != stages.separability_cache_key(_tiny_cell(mixture_std=0.7), manifest)
    assert stages.separability_cache_key(_tiny_cell(b0=1.0), manifest) != a  # the b0 cell's id differs


def _import_graph() -> dict[str, set[str]]:
    """grokedge module -> the grokedge modules it imports, at the top or inside a function (a deferred import
    hides a circle from the interpreter, not from a reader)."""
    root = Path(spec.__file__).parent
    modules = {".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in root.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                found |= {t for t in (target, *(f"{target}.{a.name}" for a in node.names)) if t in modules}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name in modules}
        graph[name] = found - {name}
    return graph


def test_no_import_circle_among_the_pipeline_modules():
    """No module reaches itself through the imports of others (config -> registry -> stages -> config was one);
    the ledger package's __init__ and its submodules import each other by design and are left out."""
    graph = {m: {d for d in deps if not d.startswith("grokedge.ledger")}
             for m, deps in _import_graph().items() if not m.startswith("grokedge.ledger")}

    def reaches(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo += graph.get(m, ())
        return seen

    assert [m for m in graph if m in reaches(m)] == []
    assert "grokedge.config" not in reaches("grokedge.stages") | reaches("grokedge.spec")


def test_spec_imports_below_the_config_in_a_fresh_interpreter():
    code = ("import sys, grokedge.spec, grokedge.stages; "
            "print(sorted(m for m in sys.modules if m in ('grokedge.config', 'grokedge.registry')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=os.environ | {"PYTHONPATH": str(Path(spec.__file__).parents[1])}).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("options", "message"), [({"test_set": "closed_form"}, "set test_set: sampled"),
                                                  ({"test_set": "sampled", "label_fraction": [0.9]},
                                                   "needs a Gaussian input law")])
def test_a_non_gaussian_law_is_checked_at_config_time(options, message):
    cfg = preset_config("smoke")
    cfg["experiments"]["lambda_sweep"] |= {"input_law": "mixture"} | options
    with pytest.raises(ConfigError, match=message):
        validate_config(cfg)


def test_cell_id_pattern_follows_the_option_tags():
    """The cell table's id pattern is built from the tags: every id cell_id writes matches it, a path does not."""
    pattern = spec.cell_id_pattern()
    full = spec.cell_id(400, 192, 5.0, 0.01, bias_noise=0.25, s0_norm=2, b0=-1, label_fraction=0.95,
                        loss="exponential", input_law="powerlaw", powerlaw_trace="sigma2")
    assert full == "N400_d192_sigma5_lr0.01_bn0.25_s02_b0-1_r0.95_exp_lawpowerlaw_tracesigma2"
    assert re.fullmatch(pattern, full) and re.fullmatch(pattern, "N4_d2_sigma1_lr0.1")
    assert not re.fullmatch(pattern, "N4_d2_sigma1_lr0.1_r0.9_bn0.1")  # out of order
    assert not re.fullmatch(pattern, "N4_d2_sigma1_lr0.1_law../x")
