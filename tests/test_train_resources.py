"""The cost model of a train job (grokedge.resources): the solvers' shares of it and the memory refusal."""

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
    kw = dict(N=400, d=192, realisations=4, horizon=1e3)
    assert resources.mem_mb(**kw, solver="probe") - resources.mem_mb(**kw, solver="flow") == pytest.approx(10.0)
    assert Probe.seen[-1] == solvers.Job(400, 192, 4, 1e3, streamed=False)
    resources.mem_mb(**kw, solver="probe", float32=True)
    assert Probe.seen[-1].streamed
    gd_per_epoch = resources.runtime_s(**kw | {"horizon": 2e3}, solver="gd") - resources.runtime_s(**kw, solver="gd")
    # GD: one gradient per epoch, so the probe's 1e6 gradients cost 1e3 times GD's 1e3 epochs
    assert resources.runtime_s(**kw, solver="probe") - 1.5 == pytest.approx(1e6 / 1e3 * gd_per_epoch, rel=1e-3)
    assert solvers.get("probe").threads == 3
    with pytest.raises(ValueError, match=r"unknown solver 'sgd'; expected one of \('gd', 'adam', 'flow', 'probe'\)"):
        resources.runtime_s(**kw, solver="sgd")


def test_gd_and_adam_ask_for_two_threads_and_the_flow_for_one():
    assert [solvers.get(s).threads for s in ("gd", "adam", "flow")] == [2, 2, 1]


def test_a_job_too_big_for_the_machine_is_refused_with_cell_and_size():
    mem = resources.mem_mb(N=40000, d=19200, realisations=1, solver="flow", horizon=1e9, n_test=10000)
    x_mb = 8 * 40000 * 19200 / 2**20
    assert 1.4 * x_mb < mem < 2 * x_mb  # a 5.7 GiB float64 X held once (one realisation), and the test set
    assert resources.mem_mb(N=40000, d=19200, realisations=2, solver="flow", horizon=1e9) > 4 * x_mb  # list + stack
    with pytest.raises(resources.ResourceError) as err:
        resources.check_fits("training_curves/N40000_d19200_sigma5_lr0.01", mem, available_mb=6 * 1024)
    msg = str(err.value)
    assert "cell training_curves/N40000_d19200_sigma5_lr0.01" in msg
    assert f"{mem / 1024:.1f} GB" in msg and "6.0 GB" in msg and "block_size" in msg
    resources.check_fits("small", 500.0, available_mb=8 * 1024)  # fits: no error


def test_a_separability_job_too_big_is_refused_with_the_way_out():
    mem = resources.separability_mem_mb(40000, 19200)
    assert mem > 4 * 8 * 40000 * 19200 / 2**20  # the NNLS and Newton copies of X
    with pytest.raises(resources.ResourceError, match="separability: false"):
        resources.check_fits("fig10_sigma/N40000_d19200_sigma1_lr0.01", mem, available_mb=24 * 1024,
                             job="the separability job fig10_sigma_0")
    resources.check_fits("x", resources.separability_mem_mb(40000, 19200, decide=False), available_mb=24 * 1024,
                         job="the separability job fig10_sigma_0")


def test_machine_memory_can_be_set_for_a_cluster_node(monkeypatch):
    monkeypatch.setenv("GROKEDGE_MEM_MB", "64000")
    assert resources.machine_mb() == 64000.0
    monkeypatch.delenv("GROKEDGE_MEM_MB")
    assert resources.machine_mb() > 0


def test_the_flow_costs_log_horizon_and_gd_the_horizon():
    kw = dict(N=400, d=192, realisations=40)
    flow = [resources.runtime_s(**kw, solver="flow", horizon=h) for h in (1e5, 1e9)]
    gd = [resources.runtime_s(**kw, solver="gd", horizon=h) for h in (1e5, 1e6)]
    assert flow[1] < 3 * flow[0]
    assert gd[1] > 8 * gd[0]


def test_streamed_gd_and_adam_hold_one_copy_of_the_data():
    """Large data are streamed by GD and Adam too: an Adam job at the paper's N = 4e4 (lambda = 0.52) holds X once,
    ~6.6 GB, within a 16 GB node; small data keep the cache-resident [X, c] working copy."""
    x_mb = 8 * 40000 * 20800 / 2**20
    mem = resources.mem_mb(N=40000, d=20800, realisations=1, solver="adam", horizon=3e4)
    assert x_mb < mem < 1.1 * x_mb < 16 * 1024
    small = dict(N=400, d=192, realisations=40, horizon=3e4)
    data_mb = 8 * 2 * 40 * 400 * 192 / 2**20  # the list and the stacked array
    assert resources.mem_mb(**small, solver="adam") - resources.mem_mb(**small, solver="flow") == pytest.approx(
        8 * 40 * 400 * 193 / 2**20)
    assert resources.mem_mb(**small, solver="adam") > data_mb
    # one fused pass per step when streamed: GD to 3e4 costs ~3e4 flow right-hand sides' worth of passes
    big = dict(N=40000, d=19200, realisations=1, threads=2)
    assert resources.runtime_s(**big, solver="adam", horizon=3e4) > 10 * resources.runtime_s(**big, solver="flow",
                                                                                              horizon=5e5)


def test_the_config_schema_offers_exactly_the_registered_solvers():
    """A solver is added by its module and its registry entry; the schema's enum must name the same solvers."""
    import importlib.resources

    import yaml

    schema = yaml.safe_load((importlib.resources.files("grokedge") / "schemas" / "config.schema.yaml").read_text())
    assert schema["$defs"]["experiment"]["properties"]["solver"]["enum"] == list(solvers.SOLVERS)
