"""Shared figure helpers: one style, every figure saved as PNG and PDF."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402


def style() -> None:
    """The project's plotting style (called once per plotting script)."""
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight"})


def save(fig, png_path: str | Path) -> None:
    """Save ``fig`` to ``png_path`` and to the PDF beside it (same stem), then close it."""
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path)
    fig.savefig(png_path.with_suffix(".pdf"))
    plt.close(fig)
