"""Shared figure helpers: one style, every figure saved as PNG and PDF.

Importing this module never picks a matplotlib backend: a notebook keeps its inline one. The workflow's jobs
are headless and get the file-only Agg backend from ``grokedge.runner.Job`` (or set ``MPLBACKEND=Agg``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns


def style() -> None:
    """The project's plotting style (called once per plotting script)."""
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight"})


def save(fig, png_path: str | Path, pdf_path: str | Path | None = None) -> None:
    """Save ``fig`` to ``png_path`` and to ``pdf_path`` (default: the PDF beside it, same stem), then close it."""
    png_path = Path(png_path)
    pdf_path = png_path.with_suffix(".pdf") if pdf_path is None else Path(pdf_path)
    for path in (png_path, pdf_path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    plt.close(fig)
