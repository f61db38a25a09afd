"""The solver registry: each solver is one ``Solver`` (``grokedge.solvers.base``) that knows how to run, what a
train job of it costs beyond what every job holds (``grokedge.resources`` asks it) and how many threads a pipeline
job of it gets (workflow/rules/common.smk asks it).

    gd     full-batch gradient descent, the paper's method           grokedge.solvers.descent
    adam   Adam on the full batch                                    grokedge.solvers.descent
    flow   GD warm-up, then the gradient-flow limit (RKS3)           grokedge.solvers.flow

Adding a solver: one module with a ``Solver`` subclass (name, Options, threads, run, train_seconds and, if it
keeps a copy of the data, copy_elements), and its entry in ``SOLVERS`` below; the configuration schema's
``solver`` enum lists the names a config may use. ``grokedge.train.train`` is the entry point that runs them.
"""

from __future__ import annotations

from . import base, descent, flow, operators, stabilised
from .base import Problem, Schedule, Solver, TrainingDiverged, TrainJob, Trajectory

SOLVERS: dict[str, Solver] = {s.name: s for s in (descent.GD(), descent.Adam(), flow.Flow())}

# The modules whose source is the training code (the train stage's cache key hashes them).
MODULES = (base, operators, descent, stabilised, flow)


def get(name: str) -> Solver:
    """The registered solver ``name``; a clear error for any other."""
    try:
        return SOLVERS[name]
    except KeyError:
        raise ValueError(f"unknown solver {name!r}; expected one of {tuple(SOLVERS)}") from None


__all__ = ["SOLVERS", "MODULES", "TrainJob", "Problem", "Schedule", "Solver", "TrainingDiverged", "Trajectory", "get"]
