"""Decision-boundary panels of 2-D classifiers and the SVM's maximum-margin picture."""

from __future__ import annotations

import numpy as np

from gdm.figures.style import new_figure, save


def grid(x: np.ndarray, resolution: int, pad: float = 0.5
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xx, yy, points (resolution**2, 2)) of a square grid covering `x` with `pad` around."""
    lo, hi = x.min(0) - pad, x.max(0) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    return xx, yy, np.c_[xx.ravel(), yy.ravel()].astype(np.float32)


def decision_boundaries(rows: list[dict], labels: list[str], directory: str, name: str
                        ) -> list[str]:
    """One row per dataset, one column per model: P(class 1) shaded, its 0.5 contour in black,
    the test points on top. Each row: {"name", "xx", "yy", "x_test", "y_test",
    "surfaces": [grid-shaped P(class 1) per model], "titles": [one per model]}."""
    n_rows, n_cols = len(rows), len(labels)
    fig, axes = new_figure(n_rows, n_cols, size=(2.0 * n_cols, 2.05 * n_rows + 0.3),
                           squeeze=False)
    for r, row in enumerate(rows):
        for c, label in enumerate(labels):
            ax = axes[r][c]
            ax.contourf(row["xx"], row["yy"], row["surfaces"][c], levels=np.linspace(0, 1, 11),
                        cmap="RdBu", alpha=0.75)
            ax.contour(row["xx"], row["yy"], row["surfaces"][c], levels=[0.5], colors="k",
                       linewidths=0.8)
            ax.scatter(*row["x_test"].T, c=row["y_test"], cmap="RdBu", edgecolors="k", s=7,
                       lw=0.3, vmin=0, vmax=1)
            title = row["titles"][c]
            ax.set(xticks=[], yticks=[], title=f"{label}\n{title}" if r == 0 else title)
            ax.grid(False)
        axes[r][0].set_ylabel(row["name"])
    return save(fig, directory, name)


def max_margin(panels: list[dict], directory: str, name: str) -> list[str]:
    """SVM decision function f: the boundary f = 0 (solid), the margins f = +-1 (dashed), the
    training points and the support vectors circled. Each panel: {"xx", "yy", "values"
    (f on the grid), "x", "y", "support_vectors", "title"}."""
    fig, axes = new_figure(1, len(panels), size=(4.0 * len(panels), 4.0), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        ax.contourf(panel["xx"], panel["yy"], np.clip(panel["values"], -2, 2),
                    levels=np.linspace(-2, 2, 17), cmap="RdBu", alpha=0.35)
        ax.contour(panel["xx"], panel["yy"], panel["values"], levels=[-1, 0, 1], colors="k",
                   linestyles=["--", "-", "--"], linewidths=[0.9, 1.3, 0.9])
        ax.scatter(*panel["x"].T, c=panel["y"], cmap="RdBu", edgecolors="k", s=14, lw=0.3,
                   vmin=0, vmax=1)
        ax.scatter(*panel["support_vectors"].T, s=90, facecolors="none", edgecolors="k",
                   lw=1.0, label="support vectors")
        ax.set(title=panel["title"], xlabel="x1", ylabel="x2")
        ax.legend(loc="lower right", fontsize=7)
        ax.grid(False)
    return save(fig, directory, name)
