"""Training data and initial weights of the paper's model (Sec. 3).

Training points x_i ~ N(0, sigma^2 I_d), i = 1..N, all labelled -1. The initial weights S0 point in a
uniformly random direction with norm ``s0_norm``.

The two-Gaussian model of App. H, classes N(+-mu e_1, diag(sigma_A^2, sigma_B^2, ...)) without bias, is this
model with sigma = sigma_B / mu, learning rate eta mu^2, and a bias feature c_i = 1 + eps xi_i with
eps = sigma_A / mu, xi_i ~ N(0, 1) (the first coordinate's noise); eps = 0 is the paper's main model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .seeds import streams


@dataclass(frozen=True)
class Realisation:
    """One realisation: training points ``X`` (N, d), bias feature ``c`` (N,) and initial weights ``S0``."""

    X: np.ndarray
    S0: np.ndarray
    seed: int
    c: np.ndarray


def gaussian_points(rng: np.random.Generator, n: int, d: int, sigma: float) -> np.ndarray:
    """n points of N(0, sigma^2 I_d), float64, shape (n, d)."""
    return sigma * rng.standard_normal((n, d))


def isotropic_vector(rng: np.random.Generator, d: int, norm: float) -> np.ndarray:
    """A vector of the given norm in a direction drawn uniformly from the unit sphere S^{d-1}."""
    v = rng.standard_normal(d)
    return norm * v / np.linalg.norm(v)


def bias_feature(rng: np.random.Generator, n: int, bias_noise: float) -> np.ndarray:
    """c_i = 1 + eps xi_i, xi_i ~ N(0, 1); exactly 1 (and no draw) when eps = 0."""
    return np.ones(n) if bias_noise == 0 else 1.0 + bias_noise * rng.standard_normal(n)


def realisation(N: int, d: int, sigma: float, seed: int, s0_norm: float = 0.1, bias_noise: float = 0.0) -> Realisation:
    """Regenerate a realisation from its seed (the ``seed`` column of ``runs.parquet``). X is drawn first, so
    it does not depend on ``bias_noise``."""
    rng_data, rng_init, _ = streams(seed)
    X = gaussian_points(rng_data, N, d, sigma)
    return Realisation(X=X, S0=isotropic_vector(rng_init, d, s0_norm), seed=seed,
                       c=bias_feature(rng_data, N, bias_noise))


def sampled_test_set(seed: int, n_test: int, d: int, sigma: float, bias_noise: float = 0.0):
    """The sampled test set of a realisation: fresh points of the same law, all labelled -1 -> (X, c)."""
    _, _, rng_test = streams(seed)
    X = gaussian_points(rng_test, n_test, d, sigma)
    return X, bias_feature(rng_test, n_test, bias_noise)


def checksum(a: np.ndarray) -> str:
    """SHA-256 of an array's float64 little-endian bytes: the fingerprint a manifest records."""
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f8").tobytes()).hexdigest()
