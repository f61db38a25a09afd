"""grokedge: numerics for "Grokking at the Edge of Linear Separability" (Beck, Levi, Bar Sinai 2025)
and for the linear-model toy grokking of Davies (2022).

Pure, unit-tested functions; the Snakemake scripts beside this package are thin adapters around them.
"""

__version__ = "0.1.0"
