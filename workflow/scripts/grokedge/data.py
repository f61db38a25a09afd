"""Training data and initial weights of the paper's model (Sec. 3).

Training points x_i ~ N(0, sigma^2 I_d), i = 1..N, all labelled -1. The initial weights S0 point in a
uniformly random direction with norm ``s0_norm``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .seeds import streams


@dataclass(frozen=True)
class Realisation:
    """One realisation: training points ``X`` (N, d) and initial weights ``S0`` (d,)."""

    X: np.ndarray
    S0: np.ndarray
    seed: int


def gaussian_points(rng: np.random.Generator, n: int, d: int, sigma: float) -> np.ndarray:
    """n points of N(0, sigma^2 I_d), float64, shape (n, d)."""
    return sigma * rng.standard_normal((n, d))


def isotropic_vector(rng: np.random.Generator, d: int, norm: float) -> np.ndarray:
    """A vector of the given norm in a direction drawn uniformly from the unit sphere S^{d-1}."""
    v = rng.standard_normal(d)
    return norm * v / np.linalg.norm(v)


def realisation(N: int, d: int, sigma: float, seed: int, s0_norm: float = 0.1) -> Realisation:
    """Regenerate a realisation from its seed (the ``seed`` column of ``runs.parquet``)."""
    rng_data, rng_init, _ = streams(seed)
    return Realisation(X=gaussian_points(rng_data, N, d, sigma), S0=isotropic_vector(rng_init, d, s0_norm), seed=seed)


def sampled_test_points(seed: int, n_test: int, d: int, sigma: float) -> np.ndarray:
    """The sampled test set of a realisation (fresh draws of the same Gaussian, all labelled -1)."""
    _, _, rng_test = streams(seed)
    return gaussian_points(rng_test, n_test, d, sigma)


def checksum(a: np.ndarray) -> str:
    """SHA-256 of an array's float64 little-endian bytes: the fingerprint a manifest records."""
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f8").tobytes()).hexdigest()
