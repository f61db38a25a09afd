"""Training data and initial weights of the paper's model (Sec. 3).

Training points x_i ~ N(0, sigma^2 I_d), i = 1..N, all labelled -1 (the paper's input law; others below). The
initial weights S0 point in a uniformly random direction with norm ``s0_norm``.

The two-Gaussian model of App. H, classes N(+-mu e_1, diag(sigma_A^2, sigma_B^2, ...)) without bias, is this
model with sigma = sigma_B / mu, learning rate eta mu^2, and a bias feature c_i = 1 + eps xi_i with
eps = sigma_A / mu, xi_i ~ N(0, 1) (the first coordinate's noise); eps = 0 is the paper's main model.

The points follow an input law (``grokedge.laws``: the paper's Gaussian, a power-law spectrum, a two-point
mixture; App. F, Fig. 15), ``InputLaw("gaussian", sigma)`` by default.

Label fraction r (paper App. I, Fig. 16): point i is labelled y_i = -1 when its first coordinate exceeds the
quantile that a fraction r of the law's x_1 exceeds, x_1 > sd_1 Phi^-1(1 - r), and +1 otherwise (r = 1: all
labels -1). The logistic loss of a labelled point is softplus(-y_i (S.x_i + b c_i)) = softplus(S.(-y_i x_i) +
b (-y_i c_i)): a +1 point is the row (x_i, c_i) with both signs flipped, so every solver and metric of the
all-(-1) model applies unchanged to the flipped rows (``Realisation.X``, ``Realisation.c``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from . import validate
from .laws import InputLaw
from .schema import EXPERIMENT_DEFAULTS
from .seeds import streams


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
