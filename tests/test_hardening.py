"""Hardening: bad input, interruption, determinism and numerical limits. Every failure mode is deliberate: each
test here fails if the protection it names is removed. Workflow runs use the smoke preset (or a smaller one built
on it) in fresh copies of the repository; the one-core reference run overlaps the quick tests."""

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from helpers import ROOT, SMOKE, SNAKEMAKE, copy_repo, preset_config, run_snakemake, snakemake, stand_in_venv

from grokedge import data, metrics, train
from grokedge.config import ConfigError, cells, validate_config
from grokedge.io import TABLE_FORMAT, read_table, table_metadata, write_table
from grokedge.spec import CellSpec, cell_spec
from grokedge.stages import train_block

workflow = pytest.mark.workflow  # only on the tests that run snakemake (or make, which runs it)

TABLES = ["results/tables/runs.parquet", "results/tables/curves.parquet"]


def preset(path: Path, text: str) -> str:
    """A preset file applied on top of the smoke preset (Snakemake merges --configfile files key by key)."""
    path.write_text(text)
    return str(path)


def start(workdir: Path, log: Path, *args: str) -> subprocess.Popen:
    """Snakemake in the background, in its own process group (so that the whole group can be killed)."""
    with open(log, "w") as out:
        return subprocess.Popen([*SNAKEMAKE, *args], cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"snakemake ended (exit {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def temporaries(workdir: Path) -> list[Path]:
    return sorted((workdir / "results").rglob(".*.tmp"))


# -- 1. bad configuration through the real command line ---------------------------------------------------------

BAD_CONFIGS = {
    "unknown_key": ("colour: blue\n",
                    "config error at (top level): Additional properties are not allowed ('colour' was unexpected)"),
    "yaml_string_trap": ("experiments:\n  lambda_sweep:\n    horizon: 1e5\n",
                         "config error at experiments.lambda_sweep.horizon: '1e5' is not of type 'number' "
                         "(YAML 1.1 reads 1e-5, 1e9 and 1.0e9 as strings"),
    # the checkpoint schedule ends at the horizon itself: a fractional one would lie beyond the last GD step
    "horizon_between_steps": ("experiments:\n  lambda_sweep:\n    horizon: 1234.5\n",
                              "config error at experiments.lambda_sweep.horizon: 1234.5 is not a whole number "
                              "of epochs (the last checkpoint would fall between two GD steps)"),
    # .inf and .nan pass every numeric bound of the schema (comparisons with NaN are false)
    "horizon_infinite": ("experiments:\n  lambda_sweep:\n    horizon: .inf\n",
                         "config error at experiments.lambda_sweep.horizon: inf is not a finite number"),
    "unknown_solver": ("experiments:\n  lambda_sweep:\n    solver: sgd\n",
                       "config error at experiments.lambda_sweep.solver: 'sgd' is not one of ['gd', 'adam', 'flow']"),
    "unknown_grokking_kind": ("grokking:\n  gen95: {kind: fastest, threshold: 0.95}\n",
                              "config error at grokking.gen95.kind: 'fastest' is not one of "
                              "['gen_accuracy', 'accuracy_delay', 'loss_delay']"),
}


@pytest.fixture(scope="module")
def config_repo(tmp_path_factory):
    return copy_repo(tmp_path_factory.mktemp("config_repo"))


@pytest.fixture(scope="module")
def bad_config_runs(config_repo, tmp_path_factory, reference):
    """`snakemake -n --configfile smoke.yaml bad.yaml` for every bad config, two at a time. (Asks for
    ``reference`` only to start that one-core run early, so that it overlaps the quick tests.)"""
    folder = tmp_path_factory.mktemp("bad_configs")
    files = {name: preset(folder / f"{name}.yaml", text) for name, (text, _) in BAD_CONFIGS.items()}
    with ThreadPoolExecutor(2) as pool:
        procs = pool.map(lambda f: run_snakemake(config_repo, "-n", *SMOKE, f), files.values())
        return dict(zip(files, procs, strict=True))


@workflow
@pytest.mark.parametrize("name", BAD_CONFIGS)
def test_bad_config_stops_the_cli_with_one_message(name, bad_config_runs, config_repo):
    proc = bad_config_runs[name]
    assert proc.returncode != 0, proc.stdout
    assert BAD_CONFIGS[name][1] in proc.stdout, proc.stdout
    assert proc.stdout.count("config error") == 1 and "Traceback" not in proc.stdout, proc.stdout
    assert not (config_repo / "results").exists()


@pytest.mark.parametrize("key,value,message", [
    ("sigma", [float("nan")], "config error at experiments.lambda_sweep.sigma[0]: nan is not a finite number"),
    ("b0", float("-inf"), "config error at experiments.lambda_sweep.b0: -inf is not a finite number"),
])
def test_non_finite_numbers_are_named(key, value, message):
    with pytest.raises(ConfigError) as err:
        smoke_config(**{key: value})
    assert str(err.value) == message


@workflow
def test_missing_preset_file(config_repo):
    # Snakemake's CLI reads --configfile before the workflow's code runs: the message is the last line of a
    # Python traceback printed by Snakemake, which this workflow cannot shorten (`make run` checks first).
    proc = run_snakemake(config_repo, "-n", "--configfile", "workflow/presets/nope.yaml")
    assert proc.returncode != 0
    assert "FileNotFoundError: [Errno 2] No such file or directory: 'workflow/presets/nope.yaml'" in proc.stdout
    assert not (config_repo / "results").exists()


def test_make_run_with_unknown_preset(config_repo, tmp_path):
    """`make run PRESET=nope` stops in check-preset, before Snakemake (a fake venv whose snakemake would say so,
    with an up-to-date install stamp so that make installs nothing)."""
    venv = stand_in_venv(tmp_path / "venv", {tool: f"echo FAKE-{tool.upper()}-RAN\nexit {code}"
                                             for tool, code in (("python", 97), ("snakemake", 0))})
    presets = " ".join(sorted(p.stem for p in (config_repo / "workflow" / "presets").glob("*.yaml")))
    expected = f"error: no preset 'nope' (expected workflow/presets/nope.yaml); presets: {presets}"
    for target in ("check-preset", "run"):
        proc = subprocess.run(["make", "-s", target, "PRESET=nope", f"VENV={venv}"], cwd=config_repo,
                              capture_output=True, text=True)
        assert proc.returncode == 2, (target, proc.stdout, proc.stderr)
        assert expected in proc.stderr, (target, proc.stderr)
        assert "FAKE-" not in proc.stdout + proc.stderr, (target, proc.stdout)
    assert not (config_repo / "results").exists()


# -- 2. numerical limits -----------------------------------------------------------------------------------------

DIVERGING = """
block_size: 2
allow_large_plan: true  # past the plan's first-step check (grokedge.config.check_plan): the train stage's own
experiments:
  lambda_sweep:
    N: [40]
    lam: [0.45]
    lr: [50.0]
    realisations: 2
    solver: gd
    horizon: 1000
    checkpoints_per_decade: 5
"""


@workflow
def test_diverging_gd_fails_naming_cell_realisation_and_epoch(tmp_path):
    work = copy_repo(tmp_path / "work")
    proc = run_snakemake(work, *TABLES, "--cores", "2", *SMOKE, preset(tmp_path / "diverging.yaml", DIVERGING))
    assert proc.returncode != 0
    log = "".join(p.read_text() for p in (work / "results/logs/train").glob("lambda_sweep_*.log"))
    assert re.search(r"ERROR .*train of lambda_sweep/N40_d18_sigma5_lr50 block 0 failed: realisation \d+: "
                     r".*epoch \d+.*learning rate 50", log), log
    assert not list((work / "results/cells").rglob("curves.parquet"))
    assert not (work / "results/tables").exists()
    assert not temporaries(work)


EDGES = """
block_size: 2
active: [lambda_sweep, long]
experiments:
  lambda_sweep:          # the smallest model: N = 2 points in d = 1 (through tables and the four main figures)
    N: [2]
    lam: [0.5]
    realisations: 2
    horizon: 1.0e+5
    checkpoints_per_decade: 5
  long:                  # the flow solver to 10^12 epochs
    N: [40]
    lam: [0.45]
    sigma: [5.0]
    realisations: 2
    solver: flow
    horizon: 1.0e+12
    checkpoints_per_decade: 5
figures:
  main_experiment: lambda_sweep
  curve_lams: [0.5]
"""
MAIN_FIGURES = ["results/figures/grokking_time.png", "results/figures/loss_nonmonotone.png"]
# What may appear in an empty HOME: Snakemake's own source cache (an empty folder on a local run). matplotlib's
# font cache goes to .snakemake/matplotlib in the working directory (workflow/rules/common.smk sets MPLCONFIGDIR).
HOME_CACHES = (".cache/snakemake",)


@workflow
def test_edges_n2_d1_and_flow_to_1e12_writing_nothing_outside(tmp_path):
    work = copy_repo(tmp_path / "work")
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(), tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "MPLCONFIGDIR"))}
    env |= {"HOME": str(home), "TMPDIR": str(tmp)}
    edges = preset(work / "edges.yaml", EDGES)
    proc = run_snakemake(work, *TABLES, *MAIN_FIGURES, "--cores", "2", *SMOKE, edges, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]

    runs = read_table(work / TABLES[0], "runs")
    curves = read_table(work / TABLES[1], "curves")
    assert runs.groupby("experiment").size().to_dict() == {"lambda_sweep": 2, "long": 2}
    assert runs.trained.all() and set(runs.loc[runs.experiment == "lambda_sweep", "d"]) == {1}
    for name in MAIN_FIGURES:
        assert (work / name).stat().st_size > 1000, name
    long = curves[curves.experiment == "long"]
    assert long.epoch.max() == 1e12
    assert np.isfinite(long.select_dtypes("number").to_numpy()).all()
    # inseparable at lam < 1/2: S -> S_inf and b ~ -log(eta t), the training loss ~ 1 / (eta t)
    late = long[long.epoch >= 1e6]
    eta_t = late.lr * late.epoch
    assert (late.b + np.log(eta_t)).abs().max() < 2.0
    assert np.allclose(late.train_loss * eta_t, 1.0, rtol=0.5)

    # nothing written outside the working directory but Snakemake's cache folder in HOME
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "tmp", "work"]
    assert not list(tmp.iterdir())
    written = {str(p.relative_to(home)) for p in home.rglob("*")}
    assert all(w == ".cache" or w.startswith(HOME_CACHES) for w in written), written


# -- 3. interruption and 5a. concurrent workflows -----------------------------------------------------------------

# The smoke preset cut to one block per cell (two cells): 7 jobs, so that the one-core reference run stays short.
SMALL = {"lam": [0.45, 0.55], "realisations": 2}


def small(work: Path) -> list[str]:
    (work / "small.yaml").write_text(yaml.safe_dump({"experiments": {"lambda_sweep": SMALL}}))
    return [*SMOKE, "small.yaml"]

@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted smoke run on one core, in the background; while it holds the folder's lock, a second
    workflow is started in the same folder (case 5a). ``finish()`` waits for the first."""
    base = tmp_path_factory.mktemp("reference")
    work = copy_repo(base / "work")
    proc = start(work, base / "first.log", *TABLES, "--cores", "1", *small(work))
    locks = work / ".snakemake" / "locks"
    wait_for(lambda: locks.is_dir() and any(locks.iterdir()), proc, "the first workflow took its lock")
    second = run_snakemake(work, *TABLES, "--cores", "1", *small(work))
    running = proc.poll() is None

    def finish():
        proc.wait(timeout=600)
        assert proc.returncode == 0, (base / "first.log").read_text()[-3000:]
        return work

    yield SimpleNamespace(work=work, second=second, first_was_running=running, finish=finish)
    stop(proc)


@workflow
def test_interrupted_run_resumes_to_the_same_tables(reference, tmp_path):
    work = copy_repo(tmp_path / "work")
    args = small(work)
    proc = start(work, tmp_path / "killed.log", *TABLES, "--cores", "2", *args)
    train_logs = work / "results" / "logs" / "train"
    wait_for(lambda: train_logs.is_dir() and any(train_logs.rglob("*.log")), proc, "a train job started")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (work / TABLES[0]).exists(), "the workflow finished before it was killed"

    # every table under its final name is whole (writes go to a temporary and are renamed)
    for table in (work / "results").rglob("*.parquet"):
        assert pq.read_table(table).num_rows > 0 and table_metadata(table)["format"] == TABLE_FORMAT, table
    blocks = sorted((work / "results" / "cells").glob("*/*/block*"))
    unfinished = [b for b in blocks if not (b / "curves.parquet").exists()]
    assert unfinished
    # what a job killed inside write_table leaves beside its output (test_killed_write_... makes a real one)
    (unfinished[0] / ".curves.parquet.k1ll3d.tmp").write_bytes(b"PAR1 half a table")

    # SIGKILL leaves Snakemake's lock behind; Snakemake cannot tell it from a live run and says what to do
    proc = run_snakemake(work, *TABLES, "--cores", "2", *args)
    assert proc.returncode != 0
    assert "Directory cannot be locked" in proc.stdout and "--unlock" in proc.stdout, proc.stdout[-2000:]
    snakemake(work, "--unlock", *args)
    snakemake(work, *TABLES, "--cores", "2", *args)  # rerun-incomplete (default profile) redoes killed jobs

    assert not temporaries(work), temporaries(work)
    ref = reference.finish()
    for name in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(ref / name), pd.read_parquet(work / name), check_exact=True)


@workflow
def test_second_workflow_in_the_same_folder_is_refused(reference):
    assert reference.first_was_running
    second = reference.second
    assert second.returncode != 0
    assert "LockException" in second.stdout and "Directory cannot be locked" in second.stdout, second.stdout[-2000:]
    work = reference.finish()
    runs = read_table(work / TABLES[0], "runs")
    curves = read_table(work / TABLES[1], "curves")
    assert len(runs) == 2 * 2 and runs.trained.all() and runs.seed.is_unique
    assert curves.groupby(["cell", "realisation"]).size().nunique() == 1
    assert not temporaries(work)


KILL_MID_WRITE = """
import os, signal, sys
import pandas as pd
from grokedge import io

real = io.pq.write_table
def write_half_then_die(table, where, **kw):
    real(table, where, **kw)
    with open(where, "r+b") as f:
        f.truncate(os.path.getsize(where) // 2)
    os.kill(os.getpid(), signal.SIGKILL)

io.pq.write_table = write_half_then_die
io.write_table(pd.DataFrame({"x": range(1000, 2000)}), sys.argv[1], "runs")
"""
RERUN_JOB = """
import sys
from types import SimpleNamespace
import pandas as pd
from grokedge.runner import Job

smk = SimpleNamespace(log=[sys.argv[2]], output=[sys.argv[1]], wildcards={}, params={})
with Job(smk, "aggregate") as job:
    job.write(pd.DataFrame({"x": range(3)}), sys.argv[1], "runs")
"""


def test_killed_write_leaves_the_old_table_and_the_rerun_sweeps_its_temporary(tmp_path):
    target = tmp_path / "runs.parquet"
    write_table(pd.DataFrame({"x": range(10)}), target, "runs")
    env = os.environ | {"PYTHONPATH": str(ROOT / "workflow" / "scripts")}
    proc = subprocess.run([sys.executable, "-c", KILL_MID_WRITE, str(target)], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert read_table(target, "runs").x.tolist() == list(range(10))  # the old table, whole
    left = list(tmp_path.glob(".runs.parquet.*.tmp"))
    assert len(left) == 1 and left[0].stat().st_size > 0
    with pytest.raises(ValueError, match="not a readable Parquet file"):
        read_table(left[0], "runs")
    proc = subprocess.run([sys.executable, "-c", RERUN_JOB, str(target), str(tmp_path / "job.log")], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert read_table(target, "runs").x.tolist() == [0, 1, 2]
    assert not list(tmp_path.glob(".*.tmp"))
    assert "left by an interrupted earlier attempt" in (tmp_path / "job.log").read_text()


# -- 4. a row of runs.parquet regenerates its realisation ---------------------------------------------------------

def smoke_config(**experiment) -> dict:
    cfg = preset_config("smoke")
    cfg["experiments"]["lambda_sweep"] |= experiment
    return validate_config(cfg)


def _curves(out):
    """train_block's curves (it may also return the final states)."""
    return out[0] if isinstance(out, tuple) else out


def alone(cell: CellSpec, real: data.Realisation, first: int) -> dict:
    """Train one realisation by itself and compute its curves."""
    epochs = train.checkpoint_epochs(cell.horizon, cell.checkpoints_per_decade)
    problem = train.Problem(real.X[None], real.S0[None], cell.b0, c=real.c[None], first_realisation=first)
    traj = train.train(problem, train.Schedule(cell.lr, epochs), cell.solver)
    cm = metrics.curve_metrics(traj, metrics.Points(real.X[None], real.c[None]), metrics.Population.of(cell))
    return {"epoch": epochs, "b": traj.b[0]} | {k: v[0] for k, v in cm.items()}


@workflow
def test_a_row_of_runs_regenerates_its_realisation(reference):
    work = reference.finish()
    runs = read_table(work / TABLES[0], "runs")
    curves = read_table(work / TABLES[1], "curves")
    row = runs.iloc[-1]
    cfg = smoke_config(**SMALL)
    cell = next(c for c in cells(cfg) if c["cell"] == row.cell)
    params = cell_spec(cfg, cell)
    block = int(row.realisation) // cfg["block_size"]
    manifest = read_table(work / f"results/cells/{row.experiment}/{row.cell}/block{block}/dataset.parquet", "dataset")
    entry = manifest.set_index("realisation").loc[row.realisation]

    real = data.realisation(int(row.N), int(row.d), float(row.sigma), int(row.seed), params.s0_norm)
    assert data.checksum(real.X) == entry.x_sha256 and data.checksum(real.S0) == entry.s0_sha256

    mine = curves[(curves.cell == row.cell) & (curves.realisation == row.realisation)].reset_index(drop=True)
    # retrained with its block (the manifest names the block-mates): the same rows, bit for bit
    again = _curves(train_block(params, block))
    again = again[again.realisation == row.realisation].reset_index(drop=True)
    pd.testing.assert_frame_equal(again[mine.columns], mine, check_exact=True)
    # retrained alone: the flow solver controls its error over the whole block (one adaptive step for all of
    # its realisations), so alone it takes other steps and agrees to its tolerance, not bit for bit
    solo = alone(params, real, int(row.realisation))
    np.testing.assert_array_equal(solo["epoch"], mine.epoch)
    for col in ("b", "s_norm", "train_loss", "gen_acc"):
        np.testing.assert_allclose(solo[col], mine[col], rtol=1e-5, atol=1e-9, err_msg=col)


def test_gd_realisation_retrained_alone_is_bitwise_its_block_rows():
    cfg = smoke_config(solver="gd", horizon=1000)
    params = cell_spec(cfg, cells(cfg)[1])
    from grokedge.stages import dataset_manifest

    manifest = dataset_manifest(params, 1)
    block = _curves(train_block(params, 1))
    for r, seed in zip(manifest.realisation, manifest.seed, strict=True):
        real = data.realisation(params.N, params.d, params.sigma, int(seed), params.s0_norm)
        solo = alone(params, real, int(r))
        rows = block[block.realisation == r]
        for col in ("epoch", "b", "s_norm", "sigma_s_norm", "train_loss", "train_acc", "gen_acc"):
            np.testing.assert_array_equal(solo[col], rows[col].to_numpy(), err_msg=col)
        # the closed-form generalisation loss is a vectorised reduction whose rounding depends on the block's
        # shape: one ulp apart
        np.testing.assert_allclose(solo["gen_loss"], rows["gen_loss"], rtol=1e-15, atol=0)


def test_separability_in_one_pass_is_the_two_passes(tmp_path):
    """A block without a cached table is drawn once for its manifest and its decisions: the same manifest and
    table as the manifest stage followed by the separability stage; the table is cached and then reused."""
    from grokedge.stages import dataset_and_separability, dataset_manifest, separability_block

    cfg = smoke_config()
    params = cell_spec(cfg, cells(cfg)[1]).separability_spec
    cache = tmp_path / "separability.parquet"
    manifest, table, cached = dataset_and_separability(params, 0, cache)
    assert not cached and cache.exists() and table.separable.notna().all()
    pd.testing.assert_frame_equal(manifest, dataset_manifest(params, 0), check_exact=True)
    pd.testing.assert_frame_equal(table, separability_block(params, manifest), check_exact=True)
    manifest2, table2, cached = dataset_and_separability(params, 0, cache)
    assert cached
    pd.testing.assert_frame_equal(manifest2, manifest, check_exact=True)
    pd.testing.assert_frame_equal(table2, table, check_exact=True)


# -- 5b. an output folder that cannot be written ------------------------------------------------------------------

@workflow
def test_unwritable_results_folder(tmp_path):
    """results/ is mode 555. Root ignores permissions through CAP_DAC_OVERRIDE, so as root the workflow runs
    with that capability (and CAP_DAC_READ_SEARCH) removed from its bounding set: still uid 0 and the owner of
    the files, but held to their modes like any user."""
    work = copy_repo(tmp_path / "work")
    (work / "results").mkdir()
    (work / "results").chmod(0o555)
    prefix = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--") if os.geteuid() == 0 else ()
    probe = subprocess.run([*prefix, "touch", "results/probe"], cwd=work, capture_output=True)
    if probe.returncode == 0:
        pytest.skip("cannot drop the permission override here (no setpriv or no CAP_SETPCAP)")
    try:
        proc = run_snakemake(work, *TABLES, "--cores", "2", *SMOKE, prefix=prefix)
    finally:
        (work / "results").chmod(0o755)
    assert proc.returncode != 0
    assert "Failed to create output directory results/cells/" in proc.stdout, proc.stdout[-2000:]
    assert "PermissionError: [Errno 13] Permission denied: 'results/cells'" in proc.stdout
    assert not any((work / "results").iterdir())


# -- 6. files users bring -----------------------------------------------------------------------------------------

def _plain_parquet(path: Path, df: pd.DataFrame, grokedge_meta: bytes | None) -> Path:
    table = pa.Table.from_pandas(df, preserve_index=False)
    if grokedge_meta is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"grokedge": grokedge_meta})
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize("make,message", [
    (lambda p: write_table(pd.DataFrame({"x": [1]}), p, "curves") or p,
     r"not a grokedge-table/1 'runs' table \(found format='grokedge-table/1', kind='curves'\); delete it"),
    (lambda p: _plain_parquet(p, pd.DataFrame({"x": [1]}), None),
     r"not a grokedge-table/1 'runs' table \(found format=None, kind=None\)"),
    (lambda p: _plain_parquet(p, pd.DataFrame({"x": [1]}), b'{"format": "grokedge-table/0", "kind": "runs"}'),
     r"not a grokedge-table/1 'runs' table \(found format='grokedge-table/0', kind='runs'\)"),
    (lambda p: _plain_parquet(p, pd.DataFrame({"x": [1]}), b"not json"),
     r"its 'grokedge' metadata is not a JSON object"),
    (lambda p: (p.write_text("experiment,cell\nlambda_sweep,N40\n"), p)[1],
     r"not a readable Parquet file \(.*\); delete it and rerun"),
    (lambda p: write_table(pd.DataFrame({"x": [1]}), p, "runs") or p,
     r"'runs' table lacks columns \['cell', 'experiment'\]; delete it and rerun"),
], ids=["wrong_kind", "no_metadata", "other_version", "bad_metadata", "not_parquet", "missing_columns"])
def test_read_table_rejects_foreign_tables(tmp_path, make, message):
    path = make(tmp_path / "runs.parquet")
    with pytest.raises(ValueError, match=message) as err:
        read_table(path, "runs", ["experiment", "cell", "x"])
    assert str(path) in str(err.value)


@workflow
def test_tampered_manifest_is_rejected(reference, tmp_path):
    work = tmp_path / "work"
    subprocess.run(["cp", "-a", str(reference.finish()), str(work)], check=True)
    block = work / "results/cells/lambda_sweep/N40_d18_sigma5_lr0.01/block0"
    manifest = read_table(block / "dataset.parquet", "dataset")
    meta = {k: v for k, v in table_metadata(block / "dataset.parquet").items() if k not in ("format", "kind")}
    manifest.loc[0, "x_sha256"] = "0" * 64
    write_table(manifest, block / "dataset.parquet", "dataset", meta)
    runs = "results/tables/runs.parquet"
    (work / runs).unlink()
    proc = run_snakemake(work, runs, "--cores", "1", *small(work))
    assert proc.returncode != 0
    # the train job generates its own data: the aggregation compares the two stages' checksums
    expected = ("aggregate failed: lambda_sweep/N40_d18_sigma5_lr0.01 realisation 0: the trained data differ from "
                "the dataset manifest")
    assert expected in proc.stdout, proc.stdout[-3000:]
    assert expected in (work / "results/logs/aggregate.log").read_text()
    assert not (work / runs).exists()
