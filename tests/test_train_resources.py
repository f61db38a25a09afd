"""The cost model of a train job (grokedge.resources): the solvers' shares of it and the memory refusal."""

from dataclasses import replace

import pytest

from grokedge import resources, solvers
from grokedge.solvers.base import Solver


def test_the_cost_model_asks_the_solver_so_a_new_solver_is_one_registry_entry(monkeypatch):
    """A solver registered under a new name is costed by its own train_seconds and copy_elements, with the
    job the cost model describes (streamed or not), and an unknown name is refused naming the known ones."""

    class Probe(Solver):
        name, Options, threads = "probe", dict, 3
        seen = []

        def copy_elements(self, job):
            self.seen.append(job)
            return 2**20 / 8 * 10  # 10 MiB

        def train_seconds(self, job, grad_s):
            return 1e6 * grad_s  # a million gradients

    monkeypatch.setitem(solvers.SOLVERS, "probe", Probe())
    job = solvers.TrainJob(400, 192, 4, "probe", 1e3, sigma=5.0)
    assert resources.mem_mb(job) - resources.mem_mb(replace(job, solver="flow")) == pytest.approx(10.0)
    assert Probe.seen[-1] == job and not job.streamed
    resources.mem_mb(replace(job, float32=True))
    assert Probe.seen[-1].streamed
    gd = replace(job, solver="gd")
    gd_per_epoch = resources.runtime_s(replace(gd, horizon=2e3)) - resources.runtime_s(gd)
    # GD: one gradient per epoch, so the probe's 1e6 gradients cost 1e3 times GD's 1e3 epochs
    assert resources.runtime_s(job) - 1.5 == pytest.approx(1e6 / 1e3 * gd_per_epoch, rel=1e-3)
    assert solvers.get("probe").threads == 3
    with pytest.raises(ValueError, match=r"unknown solver 'sgd'; expected one of \('gd', 'adam', 'flow', 'probe'\)"):
        resources.runtime_s(replace(job, solver="sgd"))


def test_gd_and_adam_ask_for_two_threads_and_the_flow_for_one():
    assert [solvers.get(s).threads for s in ("gd", "adam", "flow")] == [2, 2, 1]


def test_a_job_too_big_for_the_machine_is_refused_with_cell_and_size():
    job = solvers.TrainJob(40000, 19200, 1, "flow", 1e9, sigma=5.0, n_test=10000)
    mem = resources.mem_mb(job)
    x_mb = 8 * 40000 * 19200 / 2**20
    assert 1.4 * x_mb < mem < 2 * x_mb  # a 5.7 GiB float64 X held once (one realisation), and the test set
    assert resources.mem_mb(replace(job, realisations=2, n_test=0)) > 4 * x_mb  # list + stack
    with pytest.raises(resources.ResourceError) as err:
        resources.check_fits("training_curves/N40000_d19200_sigma5_lr0.01", mem, available_mb=6 * 1024)
    msg = str(err.value)
    assert "cell training_curves/N40000_d19200_sigma5_lr0.01" in msg
    assert f"{mem / 1024:.1f} GB" in msg and "6.0 GB" in msg and "block_size" in msg
    resources.check_fits("small", 500.0, available_mb=8 * 1024)  # fits: no error


def test_a_separability_job_too_big_is_refused_with_the_way_out():
    job = resources.SeparabilityJob(40000, 19200, sets=1)
    mem = resources.separability_mem_mb(job)
    assert mem > 4 * 8 * 40000 * 19200 / 2**20  # the NNLS and Newton copies of X
    with pytest.raises(resources.ResourceError, match="separability: false"):
        resources.check_fits("fig10_sigma/N40000_d19200_sigma1_lr0.01", mem, available_mb=24 * 1024,
                             job="the separability job fig10_sigma_0")
    resources.check_fits("x", resources.separability_mem_mb(replace(job, decide=False)), available_mb=24 * 1024,
                         job="the separability job fig10_sigma_0")


def test_machine_memory_can_be_set_for_a_cluster_node(monkeypatch):
    monkeypatch.setenv("GROKEDGE_MEM_MB", "64000")
    assert resources.machine_mb() == 64000.0
    monkeypatch.delenv("GROKEDGE_MEM_MB")
    assert resources.machine_mb() > 0


def test_the_flow_costs_log_horizon_and_gd_the_horizon():
    job = solvers.TrainJob(400, 192, 40, "flow", 1e5, sigma=5.0)
    flow = [resources.runtime_s(replace(job, horizon=h)) for h in (1e5, 1e9)]
    gd = [resources.runtime_s(replace(job, solver="gd", horizon=h)) for h in (1e5, 1e6)]
    assert flow[1] < 3 * flow[0]
    assert gd[1] > 8 * gd[0]


def test_streamed_gd_and_adam_hold_one_copy_of_the_data():
    """Large data are streamed by GD and Adam too: an Adam job at the paper's N = 4e4 (lambda = 0.52) holds X once,
    ~6.6 GB, within a 16 GB node; small data keep the cache-resident [X, c] working copy."""
    x_mb = 8 * 40000 * 20800 / 2**20
    mem = resources.mem_mb(solvers.TrainJob(40000, 20800, 1, "adam", 3e4, sigma=1.0))
    assert x_mb < mem < 1.1 * x_mb < 16 * 1024
    small = solvers.TrainJob(400, 192, 40, "adam", 3e4, sigma=1.0)
    data_mb = 8 * 2 * 40 * 400 * 192 / 2**20  # the list and the stacked array
    assert resources.mem_mb(small) - resources.mem_mb(replace(small, solver="flow")) == pytest.approx(
        8 * 40 * 400 * 193 / 2**20)
    assert resources.mem_mb(small) > data_mb
    # one fused pass per step when streamed: GD to 3e4 costs ~3e4 flow right-hand sides' worth of passes
    big = solvers.TrainJob(40000, 19200, 1, "adam", 3e4, sigma=5.0)
    assert resources.runtime_s(big, threads=2) > 10 * resources.runtime_s(replace(big, solver="flow", horizon=5e5),
                                                                           threads=2)


def test_the_config_schema_offers_exactly_the_registered_solvers():
    """A solver is added by its module and its registry entry; the schema's enum must name the same solvers."""
    import importlib.resources

    import yaml

    schema = yaml.safe_load((importlib.resources.files("grokedge") / "schemas" / "config.schema.yaml").read_text())
    assert schema["$defs"]["experiment"]["properties"]["solver"]["enum"] == list(solvers.SOLVERS)


def test_the_jobs_of_a_block_read_the_cell_specification():
    """Block sizes, the sampled test set and the checkpoints come from the cell's specification."""
    from grokedge.spec import CellSpec

    cell = CellSpec(experiment="e", cell="c", N=40, d=18, lam=0.45, sigma=5.0, lr=0.01, realisations=5, root_seed=1,
                    block_size=2, solver="gd", horizon=1e3, checkpoints_per_decade=7, test_set="sampled", n_test=30)
    assert [solvers.TrainJob.of_block(cell, b).realisations for b in range(3)] == [2, 2, 1]
    assert solvers.TrainJob.of_block(cell, 2) == solvers.TrainJob(40, 18, 1, "gd", 1e3, 5.0, 30, 7)
    assert solvers.TrainJob.of_block(replace(cell, test_set="closed_form"), 0).n_test == 0
    assert resources.SeparabilityJob.of_block(replace(cell, separability=False), 2) == resources.SeparabilityJob(
        40, 18, 1, decide=False)


def test_a_train_job_of_too_many_hours_is_refused_before_the_run():
    """check_plan asks the cost model for the first block of each cell: GD to 1e9 epochs is refused, naming the
    cell's solver and horizon, the flow to the same horizon is not."""
    from helpers import preset_config

    from grokedge.config import ConfigError, cells, validate_config

    def plan(solver):
        cfg = preset_config("smoke")
        cfg["experiments"]["lambda_sweep"] |= {"N": [4000], "lam": [0.45], "solver": solver, "horizon": 1.0e9}
        validate_config(cfg)
        return cells(cfg)

    plan("flow")
    with pytest.raises(ConfigError, match=r"lambda_sweep\.horizon: a train job of cell N4000_d1800_sigma5_lr0\.01 "
                                          r"would take about .* 2 realisations, solver gd, horizon 1e\+09 epochs"):
        plan("gd")


def test_the_flow_model_counts_the_right_hand_sides_the_solver_reports(caplog):
    """rhs_count's sigma dependence against the flow's own count (its debug log, Hessian-vector products of the
    corrected stretch included): N = 200, lambda = 0.48, to 1e6 epochs, sigma = 1 (accuracy-limited) and 10
    (stiffness ~ sigma^2: ~3.5x the right-hand sides)."""
    import re

    from grokedge.data import realisation
    from grokedge.solvers.flow import HV_PER_RHS, rhs_count
    from grokedge.train import Problem, Schedule, checkpoint_epochs, train

    caplog.set_level("DEBUG", logger="grokedge.train")
    counted = {}
    for sigma in (1.0, 10.0):
        caplog.clear()
        r = realisation(200, 96, sigma, 1)
        train(Problem(r.X[None], r.S0[None]), Schedule(0.01, checkpoint_epochs(1e6, 10)), "flow")
        counted[sigma] = sum(int(m) for m in re.findall(r"(\d+) right-hand sides for epochs", caplog.text))
        total, corrected = rhs_count(1e6, sigma)
        assert counted[sigma] == pytest.approx(total + HV_PER_RHS * corrected, rel=0.25)
    assert counted[10.0] > 3 * counted[1.0]
