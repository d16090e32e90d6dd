"""One look for every gdm figure, and one way to save it (PNG for viewing, PDF for papers)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows.
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "image.cmap": "gray",
}


def new_figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] | None = None,
               **kwargs):
    """plt.subplots under gdm's style; returns (fig, axes)."""
    with plt.rc_context(STYLE):
        size = size or (3.2 * ncols, 3.0 * nrows)
        return plt.subplots(nrows, ncols, figsize=size, **kwargs)


def save(fig, directory: str, name: str) -> list[str]:
    """Saves `fig` as <directory>/<name>.png and .pdf, closes it, returns both paths."""
    os.makedirs(directory, exist_ok=True)
    paths = [os.path.join(directory, f"{name}.{ext}") for ext in ("png", "pdf")]
    with plt.rc_context(STYLE):
        fig.tight_layout()
        for path in paths:
            fig.savefig(path)
    plt.close(fig)
    return paths
