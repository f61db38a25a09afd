"""A sweep of bad and unusual inputs through the real command line (issue 14): each case gives either a correct
result or one clear message naming the key or the file and the fix, never a traceback or a silently wrong
output. Config cases are `snakemake -n` on the smoke preset plus an override file (or --config items), in one
copy of the repository, four at a time; Makefile cases run `make` with a stand-in venv (wrappers around this
interpreter) whose install stamp is current, so that make never installs anything.

The cases marked (was silent) finished with exit 0 and wrong output before; the unit tests at the end cover the
silently-wrong cases that need data (aggregate, the headline prediction column, parameter order)."""

import json
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import SMOKE, copy_repo, preset_config, run_snakemake, stand_in_venv
from scipy.special import ndtri
from snakemake.cli import main as cli_main

from grokedge.config import cells, validate_config
from grokedge.io import write_table
from grokedge.spec import cell_spec
from grokedge.stages import gather_blocks, summarise_runs

workflow = pytest.mark.workflow  # only on the tests that run snakemake (or make, which runs it)

OK = None  # expected "message" of a case that must succeed


class Succeeds(str):
    """Expected text of a case that must succeed and print this."""


def _exp(body: str) -> str:
    return "experiments:\n  lambda_sweep:\n" + "".join(f"    {line}\n" for line in body.splitlines())


# (id, override file text or None, extra command-line words, expected text (OK: exit 0))
CASES = [
    # grokking thresholds per kind (was silent: 95 censored every run, 0.3 / 5.0 gave time 0, 1.5 accepted)
    ("gen_threshold_percent", "grokking:\n  gen95: {kind: gen_accuracy, threshold: 95}\n", [],
     "config error at grokking.gen95.threshold: 95 is not an accuracy in (0.5, 1)"),
    ("gen_threshold_below_start", "grokking:\n  gen95: {kind: gen_accuracy, threshold: 0.3}\n", [],
     "0.3 is not an accuracy in (0.5, 1) (kind gen_accuracy: accuracies start at 0.5"),
    ("gen_threshold_half", "grokking:\n  gen95: {kind: gen_accuracy, threshold: 0.5}\n", [],
     "config error at grokking.gen95.threshold: 0.5 is not an accuracy in (0.5, 1)"),
    ("gen_threshold_one", "grokking:\n  gen95: {kind: gen_accuracy, threshold: 1.0}\n", [],
     "the test accuracy never reaches 1"),
    ("loss_threshold_above_start", "grokking:\n  loss_delay: {kind: loss_delay, threshold: 5.0}\n", [],
     "config error at grokking.loss_delay.threshold: 5.0 is not below the initial loss log 2 = 0.6931"),
    ("loss_threshold_just_above_log2", "grokking:\n  loss_delay: {kind: loss_delay, threshold: 0.7}\n", [],
     "0.7 is not below the initial loss log 2"),
    ("delay_threshold_above_one", "grokking:\n  delay90: {kind: accuracy_delay, threshold: 1.5}\n", [],
     "config error at grokking.delay90.threshold: 1.5 is not an accuracy in (0.5, 1)"),
    ("delay_threshold_half", "grokking:\n  delay90: {kind: accuracy_delay, threshold: 0.5}\n", [],
     "0.5 is not an accuracy in (0.5, 1) (kind accuracy_delay"),
    ("grok_threshold_negative", "grokking:\n  gen95: {kind: gen_accuracy, threshold: -1.0}\n", [],
     "config error at grokking.gen95.threshold: -1.0 is less than or equal to the minimum of 0"),
    # scale-dependent tolerances (was silent: separable sets classified inseparable)
    ("sigma_tiny", _exp("sigma: [1.0e-300]"), [],
     "config error at experiments.lambda_sweep.sigma[0]: 1e-300 is less than the minimum of 0.001; sigma must lie "
     "in [1e-3, 1e3]"),
    ("sigma_huge", _exp("sigma: [1.0e+5]"), [], "100000.0 is greater than the maximum of 1000.0; sigma must lie"),
    # integers, sizes, bounds (were tracebacks or hangs)
    ("N_float", _exp("N: [40.0]"), [],
     "config error at experiments.lambda_sweep.N[0]: 40.0 is not of type 'integer' (write 40, without a decimal"),
    ("block_size_float", "block_size: 2.0\n", [],
     "config error at block_size: 2.0 is not of type 'integer' (write 2, without a decimal point)"),
    ("realisations_fraction", _exp("realisations: 2.5"), [],
     "config error at experiments.lambda_sweep.realisations: 2.5 is not of type 'integer'"),
    ("checkpoints_float", _exp("checkpoints_per_decade: 10.0"), [],
     "lambda_sweep.checkpoints_per_decade: 10.0 is not of type 'integer' (write 10"),
    ("N_too_large", _exp("N: [10000000]"), [],
     "config error at experiments.lambda_sweep: cell N10000000_d1000000_sigma5_lr0.01 needs at least"),
    ("horizon_1e300", _exp("horizon: 1.0e+300"), [],
     "config error at experiments.lambda_sweep.horizon: 1e+300 is greater than the maximum of 1000000000000000.0; "
     "the horizon must be at most 1e15 epochs"),
    ("horizon_1e16", _exp("horizon: 1.0e+16"), [], "the horizon must be at most 1e15 epochs"),
    ("horizon_string", _exp("horizon: 1e5"), [], "'1e5' is not of type 'number' (YAML 1.1 reads"),
    ("root_seed_negative", "root_seed: -1\n", [], "config error at root_seed: -1 is less than the minimum of 0"),
    ("root_seed_text", "root_seed: abc\n", [], "config error at root_seed: 'abc' is not of type 'integer'"),
    ("lr_zero", _exp("lr: [0.0]"), [], "config error at experiments.lambda_sweep.lr[0]"),
    ("bias_noise_negative", _exp("bias_noise: [-0.1]"), [],
     "config error at experiments.lambda_sweep.bias_noise[0]: -0.1 is less than the minimum of 0"),
    ("lam_fractional_d", _exp("lam: [0.123]"), [], "lam = 0.123 with N = 40 gives d = 4.92, not a positive integer"),
    ("lam_and_d", _exp("d: [10]"), [], "config error at experiments.lambda_sweep: give exactly one of 'lam' or 'd'"),
    ("unknown_experiment_key", _exp("colour: blue"), [], "Additional properties are not allowed ('colour'"),
    ("adam_beta_one", _exp("solver: adam\nadam_betas: [1.0, 0.9]"), [],
     "config error at experiments.lambda_sweep.adam_betas[0]: 1.0 is greater than or equal to the maximum of 1"),
    ("active_unknown", "active: [nope]\n", [], "config error at active[0]: no experiment named 'nope'"),
    ("headline_unknown", "headline_grokking: fastest\n", [], "'fastest' is not one of the grokking definitions"),
    ("headline_loss_delay", "headline_grokking: loss_delay\n", [],
     "config error at headline_grokking: 'loss_delay' is a loss_delay definition, which has no asymptotic"),
    ("figures_unknown", "figures:\n  adam: [nope]\n", [], "config error at figures.adam: no experiment named 'nope'"),
    # the Davies experiment (was a job traceback)
    ("blog_band_reversed", "blog:\n  test: {band_min: 0.2, band_max: 0.1}\n", [],
     "config error at blog.test.band_min: 0.2 must be below band_max = 0.1"),
    ("blog_band_equal", "blog:\n  test: {band_min: 0.1, band_max: 0.1}\n", [], "0.1 must be below band_max = 0.1"),
    ("blog_horizon_huge", "blog:\n  horizon: 1000000000\n", [],
     "config error at blog.horizon: 1000000000 is greater than the maximum of 100000000.0; GD takes one step"),
    ("toy_acc_threshold", "toy:\n  acc_threshold: 1.5\n", [], "config error at toy.acc_threshold: 1.5 is greater"),
    ("toy_zero_delta", "toy:\n  one_minus_2lam: [0.0]\n", [], "config error at toy.one_minus_2lam[0]: 0.0 is less"),
    # renamed keys name the new one
    ("toy_eta_renamed", "toy:\n  eta: 2.0\n", [], "config error at toy.eta: this key is now toy.lr"),
    ("toy_ppd_renamed", "toy:\n  points_per_decade: 5\n", [],
     "config error at toy.points_per_decade: this key is now toy.checkpoints_per_decade"),
    ("toy_eps_renamed", "toy:\n  eps: 1.0e-40\n", [], "config error at toy.eps: this key is now toy.loss_threshold"),
    # results folders
    ("run_name_reserved", "run_name: figures\n", [], "config error at run_name: 'figures' should not be valid"),
    ("run_name_spaces", "run_name: My Run\n", [], "config error at run_name: 'My Run' does not match"),
    ("run_name_own_folder", "run_name: mine\n", [], Succeeds("results/mine/tables/runs.parquet")),
    # unusual but valid
    ("headline_delay90", "headline_grokking: delay90\n", [], OK),
    ("restated_defaults", _exp("s0_norm: 0.1\nb0: 0.0\ntest_set: closed_form"), [], OK),
    # --config on the command line
    ("config_nested_values", None, ["--config", "experiments={lambda_sweep: {N: [40]}}"],
     "'40' is not of type 'integer' (YAML 1.1 reads 1e-5, 1e9 and 1.0e9 as strings: write 1.0e-5 or 1.0e+9; "
     "--config reads nested values as text"),
    ("config_block_size_float", None, ["--config", "block_size=2.0"], "config error at block_size: 2.0 is not"),
    ("config_root_seed", None, ["--config", "root_seed=7"], OK),
    # issue 21: read differently from what was written (was silent: the last duplicate or the YAML 1.1 value won)
    ("duplicate_key_experiment", _exp("lam: [0.1, 0.45]\nlam: [0.55]"), [],
     "line 4: key 'lam' is written twice in experiments.lambda_sweep (also at line 3)"),
    ("duplicate_key_top", "root_seed: 1\nblock_size: 2\nroot_seed: 2\n", [],
     "line 3: key 'root_seed' is written twice at the top level (also at line 1)"),
    ("yaml11_octal", _exp("N: [050]"), [], "050 is read by YAML 1.1 as 40 (an octal number)"),
    ("yaml11_octal_zero_prefixed_seed", "root_seed: 0777\n", [], "0777 is read by YAML 1.1 as 511 (an octal"),
    ("yaml11_hex", _exp("N: [0x10]"), [], "0x10 is read by YAML 1.1 as 16 (a hexadecimal number)"),
    ("yaml11_binary", "block_size: 0b10\n", [], "0b10 is read by YAML 1.1 as 2 (a binary number)"),
    ("yaml11_underscore", "root_seed: 1_000\n", [], "1_000 is read by YAML 1.1 as 1000 (underscores are dropped)"),
    ("yaml11_underscore_float", _exp("horizon: 1_000.0"), [], "1_000.0 is read by YAML 1.1 as 1000.0"),
    ("yaml11_base60", "root_seed: 1:30\n", [], "1:30 is read by YAML 1.1 as 90 (a base-60 number)"),
    ("yaml_quoted_number_is_text", "run_name: '050'\n", [], Succeeds("results/050/tables/runs.parquet")),
    # options that do not apply (was silent: ignored)
    ("adam_betas_with_flow", _exp("adam_betas: [0.8, 0.9]"), [],
     "config error at experiments.lambda_sweep.adam_betas: applies only with solver: adam, and this experiment "
     "has solver: flow"),
    ("adam_eps_with_gd", _exp("solver: gd\nadam_eps: 1.0e-6"), [], "adam_eps: applies only with solver: adam"),
    ("powerlaw_alpha_gaussian", _exp("powerlaw_alpha: 2.0"), [],
     "lambda_sweep.powerlaw_alpha: applies only with input_law: powerlaw, and this experiment has input_law: "
     "gaussian"),
    ("mixture_std_gaussian", _exp("mixture_std: 0.3"), [], "mixture_std: applies only with input_law: mixture"),
    ("n_test_closed_form", _exp("n_test: 500"), [], "n_test: applies only with test_set: sampled"),
    ("horizon_without_training", _exp("train: false\nhorizon: 1.0e+6"), [],
     "lambda_sweep.horizon: applies only with train: true, and this experiment has train: false"),
    ("restated_option_default", _exp("adam_betas: [0.9, 0.999]\nn_test: 10000"), [], OK),
    # runaway plans (was: a dry run of 17.5 GB after 10 minutes; jobs of 10^7 minutes; a failure after the LP)
    ("runaway_realisations", _exp("realisations: 1000000"), [],
     "this plan has 1500000 blocks, above the bound of 20000"),
    ("runaway_allowed_explicitly", _exp("solver: gd\nhorizon: 1.0e+15"), ["--config", "allow_large_plan=True"],
     OK),
    ("gd_horizon_1e15", _exp("solver: gd\nhorizon: 1.0e+15"), [],
     "config error at experiments.lambda_sweep.horizon: a train job of cell N40_d4_sigma5_lr0.01 would take"),
    ("gd_divergent_lr", _exp("solver: gd\nlr: [100]"), [],
     "config error at experiments.lambda_sweep.lr[0]: lr = 100 makes GD's first step raise the training loss"),
    ("flow_divergent_lr", _exp("lr: [100]"), [], "lr = 100 makes GD's first step raise the training loss"),
    # results folders (was: NotADirectoryError; a whole run inside results/cache/)
    ("run_name_file", None, ["--config", "run_name=config.json"],
     "config error at run_name: 'config.json' should not be valid"),
    ("run_name_cache", None, ["--config", "run_name=cache"], "config error at run_name: 'cache' should not be"),
    # switching lam to d, running one experiment alone
    ("switch_lam_to_d", _exp("lam: null\nd: [4, 18]"), [], Succeeds("N40_d18_sigma5_lr0.01")),
    ("lam_and_d_says_how", _exp("d: [4]"), [], "writing lam: null next to d: [...]"),
    ("one_experiment_alone", "active: [s_inf_scaling]\nexperiments:\n  s_inf_scaling: {N: [40], lam: [0.3], "
     "realisations: 2}\n", [], Succeeds("results/figures/s_inf.png")),
    ("main_experiment_inactive_figures_skipped", "active: [fig10_sigma]\nexperiments:\n  fig10_sigma: "
     "{N: [40], lam: [0.3], realisations: 2, horizon: 100}\n", [], Succeeds("results/figures/fig10_sigma.png")),
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return copy_repo(tmp_path_factory.mktemp("bad_inputs"))


def _forked_cli(repo: Path, argv: list[str], out: Path) -> int:
    """`snakemake ARGV` in a child forked from this process, which has imported Snakemake already (the import is
    two thirds of a dry run's time); the child's stdout and stderr go to ``out``. Returns the child's pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1), os.dup2(fd, 2)
        sys.stdout = sys.stderr = open(1, "w", closefd=False)
        os.chdir(repo)
        sys.argv = ["snakemake", *argv]
        try:
            cli_main(argv)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        except BaseException:
            traceback.print_exc()
    finally:
        sys.stdout.flush()
        os._exit(code)


def cli_runs(repo: Path, runs: dict[str, list[str]], folder: Path, parallel: int = 4) -> dict:
    """{name: CompletedProcess} of `snakemake ARGV` for every name, ``parallel`` at a time."""
    pending, running, done = list(runs.items()), {}, {}
    while pending or running:
        while pending and len(running) < parallel:
            name, argv = pending.pop(0)
            running[_forked_cli(repo, argv, folder / f"{name}.out")] = (name, argv)
        pid, status = os.wait()
        if pid in running:
            name, argv = running.pop(pid)
            done[name] = subprocess.CompletedProcess(argv, os.waitstatus_to_exitcode(status),
                                                     (folder / f"{name}.out").read_text())
    return done


@pytest.fixture(scope="module")
def sweep(repo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("overrides")
    runs = {}
    for name, text, extra, _ in CASES:
        files = [*SMOKE]
        if text is not None:
            (folder / f"{name}.yaml").write_text(text)
            files.append(str(folder / f"{name}.yaml"))
        runs[name] = ["-n", *files, *extra]
    return cli_runs(repo, runs, folder)


def _judge(proc: subprocess.CompletedProcess, expected) -> str:
    """clear | handled | traceback | silently wrong, for the totals of the sweep."""
    if "Traceback" in proc.stdout:
        return "traceback"
    if expected is OK or isinstance(expected, Succeeds):
        return "handled" if proc.returncode == 0 and (expected or "") in proc.stdout else "silently wrong"
    return "clear" if proc.returncode != 0 and expected in proc.stdout else "silently wrong"


@workflow
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_config_case(case, sweep):
    name, _, _, expected = case
    proc = sweep[name]
    assert _judge(proc, expected) in ("clear", "handled"), proc.stdout[-3000:]
    if expected is not OK and not isinstance(expected, Succeeds):
        assert proc.stdout.count("config error") == 1, proc.stdout


@workflow
def test_sweep_totals(sweep):
    """The totals of this sweep (printed with -s): no traceback, nothing silently wrong."""
    verdicts = [_judge(sweep[name], expected) for name, _, _, expected in CASES]
    totals = {k: verdicts.count(k) for k in ("clear", "handled", "traceback", "silently wrong")}
    print(f"\nbad-input sweep (snakemake -n): tried {len(CASES)}, {totals}")
    assert totals["traceback"] == totals["silently wrong"] == 0


@workflow
def test_own_results_folder_and_defaults_from_the_schema(sweep):
    out = sweep["run_name_own_folder"].stdout
    assert "results/mine/figures/toy_fig8.png" in out and " results/tables/" not in out


# -- the Makefile ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A stand-in venv: bin/python and bin/snakemake run this interpreter, and the install stamp is current."""
    return stand_in_venv(tmp_path_factory.mktemp("venv"), {"python": f'exec "{sys.executable}" "$@"',
                                                           "snakemake": f'exec "{sys.executable}" -m snakemake "$@"'})


def _make(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(["make", "-s", *args], cwd=cwd, capture_output=True, text=True, env=env)


BAD_YAML = "experiments:\n  lambda_sweep:\n    N: [40\n"
MAKE_CASES = [
    ("cores_zero", ["run", "CORES=0"], "error: CORES=0: give a positive whole number of cores, or all"),
    ("cores_negative", ["run", "CORES=-1"], "error: CORES=-1: give a positive whole number"),
    ("cores_text", ["report", "CORES=many"], "error: CORES=many"),
    ("dry_run_args", ["dry-run", "PRESET=smoke", "SNAKEMAKE_ARGS=--config block_size=2.0"],
     "config error at block_size: 2.0 is not of type 'integer'"),
    ("report_args", ["report", "PRESET=smoke", "SNAKEMAKE_ARGS=--config block_size=2.0"],
     "config error at block_size: 2.0 is not of type 'integer'"),
    ("yaml_syntax", ["dry-run", "PRESET=smoke", "SNAKEMAKE_ARGS=--configfile {tmp}/bad.yaml"],
     "config error: {tmp}/bad.yaml, line 4, column 1: YAML syntax error"),
    ("not_utf8", ["dry-run", "PRESET=smoke", "SNAKEMAKE_ARGS=--configfile {tmp}/latin1.yaml"],
     "config error: {tmp}/latin1.yaml, line 2: not UTF-8 text (byte 0xe9); save the file as UTF-8"),
    ("config_nonsense", ["run", "PRESET=smoke", "SNAKEMAKE_ARGS=--config nonsense"],
     "config error: --config nonsense: give KEY=VALUE pairs"),
    ("report_without_run", ["report", "PRESET=smoke"], "no complete run of this configuration in results/"),
    ("provenance_not_a_table", ["provenance", "TABLE=README.md"], "README.md: not a readable Parquet file"),
    ("config_dotted_key", ["dry-run", "PRESET=smoke", "SNAKEMAKE_ARGS=--config experiments.lambda_sweep.N=[40]"],
     "config error: --config experiments.lambda_sweep.N=[40]: --config sets top-level keys only"),
    ("yaml11_in_config_file", ["dry-run", "PRESET=smoke", "SNAKEMAKE_ARGS=--configfile {tmp}/octal.yaml"],
     "config error: {tmp}/octal.yaml, line 1: 0777 is read by YAML 1.1 as 511"),
    ("configfile_twice", ["dry-run", "SNAKEMAKE_ARGS=--configfile {tmp}/ok.yaml --configfile {tmp}/ok.yaml"],
     "config error: --configfile is given 2 times: Snakemake keeps only the last"),
    ("python_too_old", ["run", "PYTHON={tmp}/python3.9", "VENV={tmp}/fresh-venv"],
     "error: grokedge needs Python >= 3.11; PYTHON={tmp}/python3.9 is"),
]


@workflow
@pytest.mark.parametrize("name,args,expected", MAKE_CASES, ids=[c[0] for c in MAKE_CASES])
def test_make_case(name, args, expected, repo, venv, tmp_path):
    (tmp_path / "bad.yaml").write_text(BAD_YAML)
    (tmp_path / "octal.yaml").write_text("root_seed: 0777\n")
    (tmp_path / "ok.yaml").write_text("root_seed: 7\n")
    (tmp_path / "latin1.yaml").write_bytes(b"# seeds\nroot_seed: 7 # caf\xe9\n")
    (tmp_path / "python3.9").write_text('#!/bin/sh\n[ "$1" = -V ] && echo "Python 3.9.18"\nexit 1\n')
    (tmp_path / "python3.9").chmod(0o755)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if not any(a.startswith("VENV=") for a in args):
        args.append(f"VENV={venv}")
    proc = _make(repo, *args)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert expected.replace("{tmp}", str(tmp_path)) in out, out
    assert "Traceback" not in out and "delete it" not in out, out
    assert not (tmp_path / "fresh-venv").exists()


@workflow
def test_preset_and_configfile_both_apply(repo, venv, tmp_path):
    """(was silent: SNAKEMAKE_ARGS="--configfile x.yaml" with PRESET=smoke planned the laptop default, as
    Snakemake keeps only the last --configfile option)"""
    (tmp_path / "over.yaml").write_text("experiments:\n  lambda_sweep:\n    realisations: 6\n")
    proc = _make(repo, "dry-run", "PRESET=smoke", f"SNAKEMAKE_ARGS=--configfile {tmp_path}/over.yaml", f"VENV={venv}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lambda_sweep" in proc.stdout and "training_curves" not in proc.stdout, proc.stdout


@workflow
def test_make_from_another_folder(repo, venv, tmp_path):
    proc = _make(tmp_path, "-f", str(repo / "Makefile"), "dry-run", "PRESET=smoke", f"VENV={venv}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "toy_simulate" in proc.stdout


@workflow
def test_report_of_another_configuration_is_refused(repo, venv):
    """(was silent: the report described the config of the report command, not of the run)"""
    results = repo / "results"
    results.mkdir(exist_ok=True)
    (results / "config.json").write_text('{"config_hash": "000000000000"}')
    try:
        proc = _make(repo, "report", "PRESET=smoke", f"VENV={venv}")
    finally:
        (results / "config.json").unlink()
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "results/ holds a run of another configuration (config hash 000000000000; this command's is" in out, out
    assert "Traceback" not in out


# -- checkout paths with spaces ----------------------------------------------------------------------------------

@workflow
def test_checkout_path_with_spaces(tmp_path):
    work = copy_repo(tmp_path / "my checkout")
    target = "results/cells/lambda_sweep/N40_d4_sigma5_lr0.01/block0/dataset.parquet"
    proc = run_snakemake(work, target, "--cores", "1", *SMOKE)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (work / target).exists()
    # an interpreter whose own path has a space cannot start jobs: one clear message
    if sys.prefix == sys.base_prefix:
        pytest.skip("not running in a venv (cannot make a spaced copy of it)")
    venv = tmp_path / "my venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text((Path(sys.prefix) / "pyvenv.cfg").read_text())
    (venv / "lib").symlink_to(Path(sys.prefix) / "lib")
    (venv / "bin" / "python").symlink_to(sys.executable)
    python = str(venv / "bin" / "python")
    proc = subprocess.run([python, "-m", "snakemake", "-n", *SMOKE], cwd=work, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    assert proc.returncode != 0 and "the Python interpreter's path contains a space" in proc.stdout, proc.stdout


# -- parameters: key order and what each rule depends on ---------------------------------------------------------

@workflow
def test_restating_values_or_changing_horizon_reruns_no_data_job(tmp_path):
    work = copy_repo(tmp_path / "work")
    block = "results/cells/lambda_sweep/N40_d4_sigma5_lr0.01/block0"
    proc = run_snakemake(work, f"{block}/separability.parquet", "--cores", "1", *SMOKE)
    assert proc.returncode == 0, proc.stdout[-3000:]
    for name, text in (("restate", _exp("s0_norm: 0.1\nb0: 0.0\ntrain: true\nsolver: flow")),
                       ("horizon", _exp("horizon: 1.0e+6"))):
        (work / f"{name}.yaml").write_text(text)
        proc = run_snakemake(work, "-n", f"{block}/separability.parquet", *SMOKE, f"{name}.yaml")
        assert proc.returncode == 0 and "Nothing to be done" in proc.stdout, (name, proc.stdout[-2000:])


def test_params_do_not_depend_on_key_order():
    def params(exp: dict, top: dict) -> dict:
        cfg = preset_config("smoke") | top
        cfg["experiments"]["lambda_sweep"] = exp
        cfg = validate_config(cfg)
        return cell_spec(cfg, cells(cfg)[0]).params()

    exp = {"N": [40], "lam": [0.1], "sigma": [5.0], "realisations": 2, "horizon": 10, "solver": "gd", "s0_norm": 0.1}
    a = params(exp, {"root_seed": 1, "block_size": 2})
    b = params(dict(reversed(exp.items())), {"block_size": 2, "root_seed": 1})
    assert repr(a) == repr(b) and list(a) == sorted(a)


# -- aggregate: every block's file belongs to its block (was silent: NaN rows and duplicated curves) --------------

def _block(root: Path, cell: str, block: int, realisations, experiment="lambda_sweep") -> Path:
    path = root / experiment / cell / f"block{block}" / "separability.parquet"
    write_table(pd.DataFrame({"experiment": experiment, "cell": cell, "realisation": list(realisations)}), path,
                "separability")
    return path


def test_aggregate_refuses_a_block_copied_over_another(tmp_path):
    a0 = _block(tmp_path, "N40_d4_sigma5_lr0.01", 0, [0, 1])
    a1 = _block(tmp_path, "N40_d4_sigma5_lr0.01", 1, [2, 3])
    b0 = _block(tmp_path, "N40_d18_sigma5_lr0.01", 0, [0, 1])
    assert len(gather_blocks([a0, a1, b0], "separability")) == 6
    a1.write_bytes(a0.read_bytes())  # same cell, another block
    with pytest.raises(ValueError, match=rf"{a1}: realisation 0 of N40_d4_sigma5_lr0.01 is also in {a0}"):
        gather_blocks([a0, a1, b0], "separability")
    _block(tmp_path, "N40_d4_sigma5_lr0.01", 1, [2, 3])
    b0.write_bytes(a0.read_bytes())  # another cell
    with pytest.raises(ValueError, match=rf"{b0}: holds rows of cell \['N40_d4_sigma5_lr0.01'\] but lies in"):
        gather_blocks([a0, a1, b0], "separability")


# -- the headline definition may be any kind (was: KeyError 'grok_delay90_pred' in the plot job) ----------------

def test_every_grokking_definition_has_a_prediction_column():
    ep = np.array([0.0, 10.0, 100.0])
    curves = pd.DataFrame({"experiment": "e", "cell": "c", "realisation": 0, "epoch": ep, "solver": "flow",
                           "train_loss": [0.69, 0.1, 0.01], "train_acc": [0.5, 1.0, 1.0],
                           "gen_loss": [0.69, 0.5, 0.1], "gen_acc": [0.5, 0.8, 0.99], "s_norm": 1.0,
                           "sigma_s_norm": 5.0, "b": [0.0, -1.0, -3.0]})
    seps = pd.DataFrame({"experiment": ["e"], "cell": ["c"], "realisation": [0], "N": 40, "d": 4, "sigma": 5.0,
                         "lr": 0.01, "bias_noise": 0.0, "separable": False, "margin": np.nan, "s_inf_norm": 0.5,
                         "s_inf_m": 0.9})
    grokking = {"gen95": {"kind": "gen_accuracy", "threshold": 0.95},
                "delay90": {"kind": "accuracy_delay", "threshold": 0.9},
                "loss_delay": {"kind": "loss_delay", "threshold": 1e-3}}
    runs = summarise_runs(curves, seps, grokking)

    def asymptotic(a):  # exp(z_a sigma |S_inf|) / (eta m), docs/model.md, "Grokking time"
        return np.exp(ndtri(a) * 5.0 * 0.5) / (0.01 * 0.9)

    assert runs["grok_gen95_pred"].notna().all()
    # the delay's prediction: the predicted A_gen crossing minus the measured train-accuracy crossing
    t_train = runs["grok_delay90_t_train"].iloc[0]
    np.testing.assert_allclose(runs["grok_delay90_pred"], runs["grok_gen95_pred"] * 0 + asymptotic(0.9) - t_train)
    assert runs["grok_loss_delay_pred"].isna().all()
    assert 0 < runs["grok_delay90"].iloc[0] < 100.0 and not runs["grok_delay90_censored"].iloc[0]


def test_runs_carry_the_training_options_of_the_curves_not_the_separability_defaults():
    # the separability stage never sees b0 or the loss and writes their defaults; a Fig. 13/14 run's table must
    # say which b0 and loss it trained with (was: runs.loss 'logistic' for the exponential-loss experiment)
    ep = np.array([0.0, 10.0])
    curves = pd.DataFrame({"experiment": "e", "cell": "c", "realisation": 0, "epoch": ep, "solver": "flow",
                           "b0": -2.0, "loss": "exponential", "train_loss": [1.0, 0.1], "train_acc": [0.5, 1.0],
                           "gen_loss": [1.0, 0.5], "gen_acc": [0.5, 0.99], "s_norm": 1.0, "sigma_s_norm": 5.0,
                           "b": [-2.0, -3.0]})
    seps = pd.DataFrame({"experiment": "e", "cell": "c", "realisation": [0, 1], "N": 40, "d": 4, "sigma": 5.0,
                         "lr": 0.01, "bias_noise": 0.0, "b0": 0.0, "loss": "logistic", "separable": False,
                         "margin": np.nan, "s_inf_norm": 0.5, "s_inf_m": 0.9})
    runs = summarise_runs(curves, seps, {"gen95": {"kind": "gen_accuracy", "threshold": 0.95}}).set_index("realisation")
    assert (runs.loc[0, "b0"], runs.loc[0, "loss"]) == (-2.0, "exponential")
    assert (runs.loc[1, "b0"], runs.loc[1, "loss"]) == (0.0, "logistic")  # not trained: the table's own
    assert not any(c.endswith("_trained") for c in runs.columns)


# -- one folder per configuration (was silent: figures of two configurations mixed in one folder) -----------------

@workflow
def test_config_record_and_stale_figures_moved_aside(tmp_path):
    """run_config alone (--allowed-rules), over stand-in tables and figures: it records the config and its hash,
    and moves figures this configuration does not draw to figures/stale-<old hash>/."""
    work = copy_repo(tmp_path / "work")
    plan = run_snakemake(work, "-n", "results/config.json", "--allowed-rules", "run_config", *SMOKE).stdout
    inputs = sorted(set(re.findall(r"results/(?:tables|figures)/\w+\.(?:png|pdf|parquet)", plan)))
    assert "results/tables/runs.parquet" in inputs and "results/figures/toy_fig8.png" in inputs
    for f in [*inputs, "results/figures/other_config.png", "results/figures/other_config.pdf"]:
        (work / f).parent.mkdir(parents=True, exist_ok=True)
        (work / f).write_text("stand-in")
    proc = run_snakemake(work, "results/config.json", "--allowed-rules", "run_config", "--cores", "1", *SMOKE)
    assert proc.returncode == 0, proc.stdout[-3000:]
    record = json.loads((work / "results/config.json").read_text())
    assert record["run_name"] == "default" and record["config"]["block_size"] == 2
    assert sorted(p.name for p in (work / "results/figures/stale-unknown").iterdir()) == [
        "other_config.pdf", "other_config.png"]
    assert all((work / f).exists() for f in inputs)


def test_provenance_carries_the_config_hash(monkeypatch):
    from grokedge.provenance import provenance

    monkeypatch.setenv("GROKEDGE_CONFIG_HASH", "0123456789ab")
    assert provenance({"N": 40})["config_hash"] == "0123456789ab"


# -- one experiment alone; Snakemake started in workflow/ (issue 21) ------------------------------------------------

@workflow
def test_an_lp_only_experiment_runs_alone(tmp_path):
    """(was: refused, "the main experiment 'lambda_sweep' must be active"; then the aggregate failed with no
    trained experiment) The tables and the experiment's figure, without the main experiment."""
    work = copy_repo(tmp_path / "work")
    (work / "one.yaml").write_text("active: [s_inf_scaling]\nexperiments:\n"
                                   "  s_inf_scaling: {N: [40], lam: [0.3, 0.45], realisations: 2}\n")
    proc = run_snakemake(work, "results/tables/runs.parquet", "results/figures/s_inf.png", "--cores", "2", *SMOKE,
                         "one.yaml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    runs = pd.read_parquet(work / "results/tables/runs.parquet")
    assert len(runs) == 4 and set(runs.experiment) == {"s_inf_scaling"} and not runs.trained.any()
    assert {"grok_delay90", "final_gen_acc"} <= set(runs.columns)
    assert (work / "results/figures/s_inf.png").stat().st_size > 1000


@workflow
def test_snakemake_started_in_the_workflow_folder_works_in_the_root(tmp_path):
    """(was silent: a second results tree under workflow/results/)"""
    work = copy_repo(tmp_path / "work")
    target = "results/cells/lambda_sweep/N40_d4_sigma5_lr0.01/block0/dataset.parquet"
    proc = run_snakemake(work / "workflow", target, "--cores", "1", "--configfile", "presets/smoke.yaml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (work / target).exists() and not (work / "workflow" / "results").exists()
