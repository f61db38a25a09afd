"""What every solver shares: the training problem, the schedule, the result, the error, and the solver's interface.

A solver (``grokedge.solvers``) runs a ``Problem`` over a ``Schedule`` with its own options and returns a
``Trajectory``; for the pipeline's cost model (``grokedge.resources``) and rules it also says what a train job of
it costs beyond what every job holds (``copy_elements``, ``train_seconds``) and how many threads it wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import losses
from ..schema import EXPERIMENT_DEFAULTS
from .operators import streams


class TrainingDiverged(RuntimeError):
    """Raised when a run leaves the numerically meaningful region (NaN/inf, or a rising loss under GD)."""


@dataclass(frozen=True, eq=False)  # arrays: no elementwise ==
class Problem:
    """R realisations trained together: data X (R, N, d) (float64, or float32 kept as stored), initial weights S0
    (R, d) and bias b0 (a number or (R,)); the bias multiplies a per-point feature c (R, N), 1 when None (the
    two-Gaussian model of the paper's App. H has c_i = 1 + eps xi_i, ``grokedge.data``). ``loss``: a name of the
    registry ``grokedge.losses.LOSSES`` (an unknown one is refused here). ``first_realisation`` numbers the
    realisations in messages; ``threads`` is how many threads a solver may use (results are bitwise independent
    of it)."""

    X: Any
    S0: Any
    b0: Any = 0.0
    c: Any = None
    loss: str = "logistic"
    first_realisation: int = 0
    threads: int = 1

    def __post_init__(self):
        losses.get(self.loss)

    def data(self) -> np.ndarray:
        """X as an array: float32 and float64 as stored (never copied), anything else converted to float64."""
        X = np.asarray(self.X)
        return X if X.dtype in (np.float32, np.float64) else X.astype(float)

    def bias_feature(self) -> np.ndarray:
        """c as an (R, N) float array (ones when None)."""
        R, N = np.shape(self.X)[:2]
        return np.ones((R, N)) if self.c is None else np.asarray(self.c, dtype=float).reshape(R, N)

    def state(self) -> np.ndarray:
        """The initial state w = (S0, b0) stacked as (R, d + 1), a new array."""
        R, _, d = np.shape(self.X)
        w = np.empty((R, d + 1))
        w[:, :d] = np.asarray(self.S0, dtype=float).reshape(R, d)
        w[:, d] = np.broadcast_to(np.asarray(self.b0, dtype=float), (R,))
        return w


@dataclass(frozen=True, eq=False)
class Schedule:
    """Learning rate ``lr`` (eta) and the checkpoint ``epochs`` (K,), increasing from 0. ``offset`` and
    ``horizon`` only label the progress log: the epochs of the whole run before this schedule's 0 (e.g. a GD
    warm-up) and its last epoch (default: offset + epochs[-1])."""

    lr: float
    epochs: Any
    offset: float = 0.0
    horizon: float | None = None

    @property
    def last(self) -> float:
        """The run's last epoch, for the log."""
        return self.offset + float(self.epochs[-1]) if self.horizon is None else self.horizon


@dataclass
class Trajectory:
    """States at the checkpoint epochs: S (R, K, d), b (R, K); epochs (K,)."""

    epochs: np.ndarray
    S: np.ndarray
    b: np.ndarray


def check_finite(S, b, epoch, first_realisation: int = 0) -> None:
    """Raise ``TrainingDiverged`` naming the first realisation whose weights S (R, d) or b (R,) are not finite."""
    bad = ~(np.isfinite(b) & np.isfinite(S).all(axis=-1))
    if bad.any():
        r = int(np.flatnonzero(bad)[0]) + first_realisation
        raise TrainingDiverged(f"realisation {r}: non-finite weights at epoch {int(epoch)}")


def names(first: int, R: int) -> str:
    """"realisation 3" or "realisations 3-7", for messages."""
    return f"realisation {first}" if R == 1 else f"realisations {first}-{first + R - 1}"


@dataclass(frozen=True)
class TrainJob:
    """What the cost model (``grokedge.resources``) and a solver's share of it know of a train job:
    ``realisations`` of one cell's N x d data of input scale ``sigma``, trained by ``solver`` to ``horizon``
    epochs with ``checkpoints_per_decade`` checkpoints per decade of epochs, a sampled test set of ``n_test``
    points per realisation (0: none), X stored in float32 or (the pipeline's train stage) float64."""

    N: int
    d: int
    realisations: int
    solver: str
    horizon: float
    sigma: float
    n_test: int = 0
    checkpoints_per_decade: int = EXPERIMENT_DEFAULTS["checkpoints_per_decade"]
    float32: bool = False

    @classmethod
    def of_block(cls, cell, block: int) -> TrainJob:
        """The job that trains one block of a cell (``grokedge.spec.CellSpec``): the cell's grid point and training
        options, the block's number of realisations."""
        return cls(cell.N, cell.d, len(cell.block_realisations(block)), cell.solver, cell.horizon, cell.sigma,
                   cell.n_test if cell.test_set == "sampled" else 0, cell.checkpoints_per_decade)

    @property
    def streamed(self) -> bool:
        """Whether the solvers stream X in row blocks (``grokedge.solvers.operators.streams``)."""
        return streams(self.N, self.d, self.float32)


class Solver:
    """One solver of the registry (``grokedge.solvers.SOLVERS``): its name, its ``Options`` (a dataclass of
    keywords with defaults), how to run it, the threads a pipeline job of it gets, and its share of the cost
    model (``grokedge.resources``)."""

    name: ClassVar[str]
    Options: ClassVar[type]
    threads: ClassVar[int]
    # whether its first epochs are plain GD steps (the config's first-step divergence check applies)
    gd_first_step: ClassVar[bool] = False
    # cell parameter -> option, for the options a pipeline cell sets (e.g. adam_betas -> betas)
    cell_options: ClassVar[dict[str, str]] = {}

    def run(self, problem: Problem, schedule: Schedule, options) -> Trajectory:
        raise NotImplementedError

    def options_from_cell(self, cell) -> dict:
        """The keywords of ``Options`` that a cell's specification (``grokedge.spec.CellSpec``) sets, by the
        attribute names of ``cell_options``."""
        return {opt: getattr(cell, key) for key, opt in self.cell_options.items()}

    def copy_elements(self, job: TrainJob) -> float:
        """float64 elements the solver holds besides the data, checkpoints and metrics (e.g. a working copy)."""
        return 0.0

    def train_seconds(self, job: TrainJob, grad_s: float) -> float:
        """Seconds of training on one thread, given ``grad_s``, the seconds of one gradient over the job's data."""
        raise NotImplementedError
