"""Classifier families as the training set grows: test accuracy and fit time vs n.

`scaling_curves` takes the "curves" of gdm/runners/classifier_table.py's results.json: one
colour per family, gdm solid, scikit-learn dashed, mean +- std over seeds.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.ticker import NullFormatter, ScalarFormatter

from gdm.figures.style import new_figure, save

STYLE = {  # family -> colour, marker
    "svm": ("C0", "o"), "forest": ("C2", "s"), "mlp": ("C3", "^"), "cnn": ("C1", "v"),
    "knn": ("C4", "D"), "logreg": ("C7", "x"),
}


def scaling_curves(results: Mapping, directory: str, name: str) -> list[str]:
    """Accuracy vs n (log x) and fit time vs n (log-log), mean +- std (the lower bar of a
    time cut at 90% of the mean: the log axis has no zero); returns the PNG and PDF paths."""
    fig, (ax_acc, ax_fit, ax_key) = new_figure(1, 3, size=(9.5, 3.4),
                                               gridspec_kw={"width_ratios": [1, 1, 0.45]})
    n = results["n"]
    for curve in results["curves"].values():
        color, marker = STYLE[curve["family"]]
        ls = "-" if curve["implementation"] == "gdm" else "--"
        for ax, key in ((ax_acc, "accuracy"), (ax_fit, "fit_seconds")):
            mean, std = np.asarray(curve[key]), np.asarray(curve[f"{key}_std"])
            low = np.minimum(std, 0.9 * mean) if key == "fit_seconds" else std  # log axis
            ax.errorbar(n, mean, yerr=(low, std), color=color, marker=marker, ms=3, lw=1.2,
                        ls=ls, capsize=2, elinewidth=0.8, label=curve["label"])
    for ax in (ax_acc, ax_fit):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("training examples n")
    ax_fit.set_yscale("log")
    ax_acc.set(ylabel="test accuracy", title=f"{results['dataset']}: accuracy")
    ax_fit.set(ylabel="fit time (s)", title="fit time (gdm solid, scikit-learn dashed)")
    ax_key.legend(*ax_acc.get_legend_handles_labels(), loc="center", fontsize=7)
    ax_key.axis("off")
    return save(fig, directory, name)
