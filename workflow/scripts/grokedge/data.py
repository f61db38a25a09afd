"""Training data and initial weights of the paper's model (Sec. 3).

Training points x_i ~ N(0, sigma^2 I_d), i = 1..N, all labelled -1. The initial weights S0 point in a
uniformly random direction with norm ``s0_norm``.

The two-Gaussian model of App. H, classes N(+-mu e_1, diag(sigma_A^2, sigma_B^2, ...)) without bias, is this
model with sigma = sigma_B / mu, learning rate eta mu^2, and a bias feature c_i = 1 + eps xi_i with
eps = sigma_A / mu, xi_i ~ N(0, 1) (the first coordinate's noise); eps = 0 is the paper's main model.

Input laws (``InputLaw``; paper App. F, Fig. 15), all origin-symmetric, so Wendel's theorem holds for each:

* ``gaussian``  x ~ N(0, sigma^2 I_d) (the paper's model).
* ``powerlaw``  x ~ N(0, C), C = diag(lambda_1 .. lambda_d), lambda_n = lambda_0 n^-alpha, with lambda_0 set by
  the trace ``powerlaw_trace``: ``sigma``, sum_n lambda_n = sigma d (the default: the paper's wording for
  Fig. 15 read literally, the eigenvalues being variances), or ``sigma2``, sum_n lambda_n = sigma^2 d (sigma
  scales the points, as for the other laws). Under GD at eta = 0.01 neither reproduces the bump of the paper's
  Fig. 15 (b), nor does any other trace: the panel's bump needs a trace near sigma^3 d, where GD at eta = 0.01
  is far above its stability bound and only the gradient flow shows it (``python -m
  grokedge.evidence.fig15_powerlaw``). A diagonal C loses no generality: the initial direction is isotropic and
  GD is rotation-equivariant.
* ``mixture``   x = sigma (s + m z) per coordinate, s = +-1 with probability 1/2, z ~ N(0, 1): each coordinate
  is an equal mixture of N(+1, m^2) and N(-1, m^2), scaled by sigma. The paper writes N(+-1, 0.25); in the
  usual N(mean, variance) notation that is m = 0.5 (``mixture_std``). Covariance sigma^2 (1 + m^2) I_d.

Label fraction r (paper App. I, Fig. 16): point i is labelled y_i = -1 when its first coordinate exceeds the
quantile that a fraction r of the law's x_1 exceeds, x_1 > sd_1 Phi^-1(1 - r), and +1 otherwise (r = 1: all
labels -1). The logistic loss of a labelled point is softplus(-y_i (S.x_i + b c_i)) = softplus(S.(-y_i x_i) +
b (-y_i c_i)): a +1 point is the row (x_i, c_i) with both signs flipped, so every solver and metric of the
all-(-1) model applies unchanged to the flipped rows (``Realisation.X``, ``Realisation.c``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from . import validate
from .schema import EXPERIMENT_DEFAULTS
from .seeds import streams

POWERLAW_TRACES = {"sigma": lambda sigma: sigma, "sigma2": lambda sigma: sigma**2}  # name -> trace / d


@dataclass(frozen=True)
class InputLaw:
    """The law of the training and test points (module docstring): its name (a key of ``INPUT_LAWS``), the
    grid's ``sigma`` and the parameters of the laws that have them (None where the law has none; the pipeline
    builds laws from a cell's specification, ``grokedge.spec``, whose defaults come from the schema)."""

    name: str
    sigma: float
    alpha: float | None = None  # powerlaw exponent
    mixture_std: float | None = None  # std of each mixture component (before the factor sigma)
    powerlaw_trace: str | None = None  # sum of the powerlaw variances (module docstring)

    def __post_init__(self):
        if self.name not in INPUT_LAWS:
            raise ValueError(f"unknown input_law {self.name!r}; expected one of {sorted(INPUT_LAWS)}")
        missing = [p for p in INPUT_LAWS[self.name].parameters if getattr(self, p) is None]
        if missing:
            raise ValueError(f"input_law {self.name!r} needs its parameters {missing}")
        if self.powerlaw_trace is not None and self.powerlaw_trace not in POWERLAW_TRACES:
            raise ValueError(f"unknown powerlaw_trace {self.powerlaw_trace!r}; expected one of "
                             f"{sorted(POWERLAW_TRACES)}")

    @property
    def gaussian(self) -> bool:
        """True when S.x on a fresh point is Gaussian, N(0, S^T C S): closed-form generalisation metrics."""
        return INPUT_LAWS[self.name].gaussian

    def variances(self, d: int) -> np.ndarray:
        """Diagonal of the covariance C of one point, shape (d,)."""
        return INPUT_LAWS[self.name].variances(self, d)

    def sample(self, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
        """n points of the law, float64, shape (n, d), drawn from ``rng`` (the realisation's data stream)."""
        return INPUT_LAWS[self.name].sample(self, rng, n, d)

    def label_threshold(self, d: int, label_fraction: float) -> float:
        """t with P(x_1 > t) = r for a Gaussian first coordinate: sd_1 Phi^-1(1 - r) (-inf for r = 1)."""
        if label_fraction >= 1.0:
            return -np.inf
        if not self.gaussian:
            raise ValueError(f"label_fraction < 1 needs a Gaussian input law (its quantile); got {self.name!r}")
        return float(np.sqrt(self.variances(d)[0]) * ndtri(1.0 - label_fraction))


@dataclass(frozen=True)
class LawKind:
    """One entry of ``INPUT_LAWS``: the maths of an input law. ``variances(law, d)``: the diagonal of its
    covariance C, shape (d,); ``sample(law, rng, n, d)``: n points, float64, shape (n, d), drawn from ``rng``
    only; ``gaussian``: whether S.x on a fresh point is N(0, S^T C S) (closed-form metrics and label quantiles);
    ``parameters``: the ``InputLaw`` fields it reads beyond sigma."""

    variances: Callable[[InputLaw, int], np.ndarray]
    sample: Callable[[InputLaw, np.random.Generator, int, int], np.ndarray]
    gaussian: bool
    parameters: tuple[str, ...] = ()


def _powerlaw_variances(law: InputLaw, d: int) -> np.ndarray:
    """lambda_n = lambda_0 n^-alpha, lambda_0 set by the trace (module docstring)."""
    shape = np.arange(1, d + 1, dtype=float) ** -law.alpha
    return shape * (POWERLAW_TRACES[law.powerlaw_trace](law.sigma) * d / shape.sum())


def _powerlaw_points(law: InputLaw, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d))
    x *= np.sqrt(_powerlaw_variances(law, d))
    return x


def _mixture_points(law: InputLaw, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """sigma (s + m z) per coordinate, s = +-1, z ~ N(0, 1), built in place."""
    signs = 2.0 * rng.integers(0, 2, size=(n, d)) - 1.0
    x = rng.standard_normal((n, d))
    x *= law.mixture_std
    x += signs
    x *= law.sigma
    return x


# The input laws by name (the config's ``input_law``; the schema's enum is filled from these keys). The name is
# also the seed scheme's distribution tag, so a new law draws new seeds and existing cells keep theirs.
INPUT_LAWS = {
    # draws exactly what ``gaussian_points`` draws (the seeds and checksums of existing results are unchanged)
    "gaussian": LawKind(variances=lambda law, d: np.full(d, law.sigma**2),
                        sample=lambda law, rng, n, d: gaussian_points(rng, n, d, law.sigma), gaussian=True),
    "powerlaw": LawKind(variances=_powerlaw_variances, sample=_powerlaw_points, gaussian=True,
                        parameters=("alpha", "powerlaw_trace")),
    "mixture": LawKind(variances=lambda law, d: np.full(d, law.sigma**2 * (1.0 + law.mixture_std**2)),
                       sample=_mixture_points, gaussian=False, parameters=("mixture_std",)),
}


def apply_labels(X: np.ndarray, c: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Flip the rows labelled +1 (x_1 <= threshold): (x_i, c_i) -> (-x_i, -c_i) (module docstring)."""
    if threshold == -np.inf:
        return X, c
    y = np.where(X[:, 0] > threshold, -1.0, 1.0)
    X *= -y[:, None]  # in place: X is the caller's fresh draw
    return X, -y * c


@dataclass(frozen=True)
class Realisation:
    """One realisation: training points ``X`` (N, d), bias feature ``c`` (N,) and initial weights ``S0``."""

    X: np.ndarray
    S0: np.ndarray
    seed: int
    c: np.ndarray


def gaussian_points(rng: np.random.Generator, n: int, d: int, sigma: float) -> np.ndarray:
    """n points of N(0, sigma^2 I_d), float64, shape (n, d) (scaled in place: a paper-size X is never held
    twice)."""
    x = rng.standard_normal((n, d))
    x *= sigma
    return x


def isotropic_vector(rng: np.random.Generator, d: int, norm: float) -> np.ndarray:
    """A vector of the given norm in a direction drawn uniformly from the unit sphere S^{d-1}."""
    v = rng.standard_normal(d)
    return norm * v / np.linalg.norm(v)


def bias_feature(rng: np.random.Generator, n: int, bias_noise: float) -> np.ndarray:
    """c_i = 1 + eps xi_i, xi_i ~ N(0, 1); exactly 1 (and no draw) when eps = 0."""
    return np.ones(n) if bias_noise == 0 else 1.0 + bias_noise * rng.standard_normal(n)


def realisation(N: int, d: int, sigma: float, seed: int, s0_norm: float = EXPERIMENT_DEFAULTS["s0_norm"],
                bias_noise: float = EXPERIMENT_DEFAULTS["bias_noise"], law: InputLaw | None = None,
                label_fraction: float = EXPERIMENT_DEFAULTS["label_fraction"]) -> Realisation:
    """Regenerate a realisation from its seed (the ``seed`` column of ``runs.parquet``). X is drawn first, so
    it does not depend on ``bias_noise``. ``law`` defaults to the isotropic Gaussian of this ``sigma`` (the
    pipeline calls this through its cell's specification, ``grokedge.spec.DataSpec.realisation``); with
    ``label_fraction`` < 1 the rows labelled +1 come back flipped (``apply_labels``). Shapes: X (N, d), S0 (d,),
    c (N,); N, d whole numbers >= 1, sigma > 0, s0_norm and bias_noise >= 0, label_fraction in (0, 1]."""
    validate.whole("N", N), validate.whole("d", d), validate.whole("seed", seed, minimum=0)
    validate.positive("sigma", sigma), validate.non_negative("s0_norm", s0_norm)
    validate.non_negative("bias_noise", bias_noise)
    if not 0 < label_fraction <= 1:
        raise ValueError(f"label_fraction must lie in (0, 1], got {label_fraction!r}")
    law = InputLaw("gaussian", sigma) if law is None else law
    rng_data, rng_init, _ = streams(seed)
    X = law.sample(rng_data, N, d)
    X, c = apply_labels(X, bias_feature(rng_data, N, bias_noise), law.label_threshold(d, label_fraction))
    return Realisation(X=X, S0=isotropic_vector(rng_init, d, s0_norm), seed=seed, c=c)


def sampled_test_set(seed: int, n_test: int, d: int, sigma: float,
                     bias_noise: float = EXPERIMENT_DEFAULTS["bias_noise"], law: InputLaw | None = None,
                     label_fraction: float = EXPERIMENT_DEFAULTS["label_fraction"]):
    """The sampled test set of a realisation: fresh points of the same law and labelling rule, rows labelled
    +1 flipped -> (X, c)."""
    law = InputLaw("gaussian", sigma) if law is None else law
    _, _, rng_test = streams(seed)
    X = law.sample(rng_test, n_test, d)
    return apply_labels(X, bias_feature(rng_test, n_test, bias_noise), law.label_threshold(d, label_fraction))


def checksum(a: np.ndarray) -> str:
    """SHA-256 of an array's float64 little-endian bytes: the fingerprint a manifest records (hashed through a
    memoryview: no copy of a multi-GB X)."""
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f8").data).hexdigest()
