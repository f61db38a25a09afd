"""Training: run one solver of the registry (``grokedge.solvers``) over the checkpoint epochs.

All solvers advance the realisations of a cell together: a ``Problem`` holds X (R, N, d), the initial state
(S0 (R, d), b0 (R,)), the bias feature c (R, N) (1 by default; the two-Gaussian model of the paper's App. H with
sigma_A > 0 has c_i = 1 + eps xi_i, ``grokedge.data``), the loss and the threads; a ``Schedule`` the learning
rate and the checkpoint epochs. The solvers return the state at the checkpoints (a ``Trajectory``), from which
``grokedge.metrics`` computes the curves:

    gd     full-batch GD, the paper's method (``grokedge.solvers.descent``)
    adam   Adam on the full batch (``grokedge.solvers.descent``)
    flow   100 GD steps, then the gradient-flow limit of GD with its modified-equation correction, integrated
           by a stabilised Runge-Kutta method whose cost grows with log(horizon) (``grokedge.solvers.flow``)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import solvers, validate
from .solvers import Problem, Schedule, TrainingDiverged, Trajectory
from .solvers.descent import AdamOptions, GDOptions, gradient_descent
from .solvers.flow import FlowOptions, gradient_flow


def checkpoint_epochs(horizon: float, per_decade: int) -> np.ndarray:
    """0 and the distinct integers round(10^(k/per_decade)) up to ``horizon`` (which is always included): shape
    (K,). ``horizon`` >= 1 epochs, ``per_decade`` a whole number >= 1."""
    validate.horizon(horizon), validate.whole("per_decade", per_decade)
    top = np.log10(horizon)
    exps = np.arange(0, int(np.floor(top * per_decade)) + 1) / per_decade
    ep = np.unique(np.round(10.0**exps))
    ep = np.unique(np.concatenate([[0.0], ep[ep <= horizon], [float(horizon)]]))
    return ep


def train(problem: Problem, schedule: Schedule, solver: str = "flow", **options) -> Trajectory:
    """Run ``solver`` (``grokedge.solvers.SOLVERS``) on ``problem`` over ``schedule``; ``options``: keywords of
    that solver's Options (``GDOptions``, ``AdamOptions``, ``FlowOptions``), e.g. betas for Adam, gd_warmup or
    method for the flow. Results are bitwise independent of ``problem.threads``.

    Shapes: X (R, N, d) (one realisation: X[None]), S0 (R, d), b0 a number or (R,); epochs (K,) whole numbers
    increasing from 0 (``checkpoint_epochs``), lr > 0 -> Trajectory with S (R, K, d), b (R, K).
    """
    validate.training_inputs(problem.X, problem.S0, problem.b0, schedule.lr, schedule.epochs)
    chosen = solvers.get(solver)
    unknown = set(options) - {f.name for f in dataclasses.fields(chosen.Options)}
    if unknown:
        raise ValueError(f"solver {solver!r} has no option {', '.join(sorted(unknown))}; its options are "
                         f"{[f.name for f in dataclasses.fields(chosen.Options)]}")
    schedule = Schedule(schedule.lr, np.asarray(schedule.epochs, dtype=float), schedule.offset, schedule.horizon)
    return chosen.run(problem, schedule, chosen.Options(**options))


__all__ = ["AdamOptions", "FlowOptions", "GDOptions", "Problem", "Schedule", "TrainingDiverged", "Trajectory",
           "checkpoint_epochs", "gradient_descent", "gradient_flow", "train"]
