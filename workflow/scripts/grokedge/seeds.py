"""The project's one seed scheme.

Every random stream descends from ``numpy.random.SeedSequence``:

    realisation_seed = SeedSequence(root_seed, spawn_key=(tag, N, d, realisation)) -> 63-bit integer
    data, init, test = SeedSequence(realisation_seed).spawn(3)

``tag`` is a stable integer naming the input distribution (``stable_tag``), so the same (N, d, realisation)
gives the same standard-normal draws whatever sigma, learning rate or solver a cell uses: a cell that only
changes sigma scales the very same points. The ``seed`` column of ``runs.parquet`` is ``realisation_seed``;
the cell's ``grokedge.spec.DataSpec.realisation(seed)`` regenerates that row's data bit for bit (for the paper's
model, ``grokedge.data.realisation(N, d, sigma, seed)``).
"""

from __future__ import annotations

import hashlib

import numpy as np

SEED_SCHEME = (
    "SeedSequence(root_seed, spawn_key=(tag, N, d, realisation)) -> seed; "
    "SeedSequence(seed).spawn(3) = data, init, test"
)


def stable_tag(name: str) -> int:
    """A platform-independent 32-bit integer for a string (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def realisation_seed(root_seed: int, distribution: str, N: int, d: int, realisation: int) -> int:
    """The 63-bit seed of one realisation (see the module docstring)."""
    seq = np.random.SeedSequence(int(root_seed), spawn_key=(stable_tag(distribution), int(N), int(d), int(realisation)))
    hi, lo = seq.generate_state(2, np.uint32)
    return int((int(hi) << 32 | int(lo)) >> 1)


def streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """The three independent generators (data, init, test) of a realisation seed."""
    data, init, test = np.random.SeedSequence(int(seed)).spawn(3)
    return np.random.default_rng(data), np.random.default_rng(init), np.random.default_rng(test)
