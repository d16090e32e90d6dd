"""Accuracy vs training-set size of hand-crafted and learned feature pipelines.

`accuracy_curves`: test accuracy (left) and test error on a log scale (right, where the
differences at large n show) vs n, mean +- std over training-set draws; it takes the numbers
results.json holds (gdm/runners/features.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.ticker import NullFormatter, ScalarFormatter

from gdm.figures.style import new_figure, save

LINES = (  # pipeline, label, colour, marker, dashed
    ("hog", "HOG + RBF SVM", "C0", "o", False),
    ("lbp", "LBP + RBF SVM", "C2", "^", False),
    ("raw", "raw pixels + RBF SVM", "C7", "x", False),
    ("cnn_features", "CNN features + linear SVM", "C1", "s", True),
    ("cnn", "CNN (LeNet-5)", "C3", "D", True),
)


def accuracy_curves(results: Mapping, directory: str, name: str) -> list[str]:
    """Test accuracy and error vs n per pipeline; returns the PNG and PDF paths."""
    fig, (ax_acc, ax_err) = new_figure(1, 2, size=(7.6, 3.2))
    n = results["n"]
    for key, label, color, marker, dashed in LINES:
        mean = np.asarray(results[f"{key}/accuracy"])
        std = np.asarray(results[f"{key}/accuracy_std"])
        style = dict(color=color, marker=marker, ms=3, lw=1.2, capsize=2, elinewidth=0.8,
                     ls="--" if dashed else "-", label=label)
        ax_acc.errorbar(n, mean, yerr=std, **style)
        ax_err.errorbar(n, np.maximum(1 - mean, 1e-3), yerr=std, **style)
    for ax in (ax_acc, ax_err):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(n, [str(m) for m in n])
        ax.set_xlabel("training examples n")
    ax_err.set_yscale("log")
    shape = "x".join(str(s) for s in results["image_shape"][:2])
    ax_acc.set(ylabel="test accuracy", title=f"{results['dataset']} ({shape})")
    ax_err.set(ylabel="test error (log)", title="error at large n")
    ax_acc.legend(fontsize=7)
    return save(fig, directory, name)
