"""Error curves with error bars, in the style of the papers they reproduce.

`learning_curves`: test error vs training-set size, one panel per dataset (Ng & Jordan 2001,
Fig. 1). `forest_curves`: test and out-of-bag error vs number of trees, beside the feature
importances as an image (Breiman 2001). Each takes the numbers that results.json holds.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.ticker import NullFormatter, ScalarFormatter

from gdm.figures.style import new_figure, save

LINES = (  # results key, label, colour, marker
    ("naive_bayes", "naive Bayes (generative)", "C0", "o"),
    ("logistic_regression", "logistic regr. (weak L2)", "C3", "s"),
    ("logistic_regression_l2", "logistic regr. (C=1)", "C1", "^"),
)


def _errorbar(ax, x, mean, std, label: str, color: str, marker: str, dashed: bool = False):
    ax.errorbar(x, mean, yerr=std, color=color, marker=marker, ms=3, lw=1.2, capsize=2,
                elinewidth=0.8, label=label, ls="--" if dashed else "-")


def learning_curves(results: Mapping[str, Mapping], directory: str, name: str) -> list[str]:
    """Test error vs m per dataset, mean +- std over splits; returns the PNG and PDF paths."""
    n = len(results)
    ncols = min(n, 4)
    nrows = math.ceil(n / ncols)
    fig, axes = new_figure(nrows, ncols, squeeze=False)
    for ax, (dataset, curves) in zip(axes.flat, results.items(), strict=False):
        for key, label, color, marker in LINES:
            if f"{key}/error" in curves:
                _errorbar(ax, curves["m"], curves[f"{key}/error"], curves[f"{key}/error_std"],
                          label, color, marker, dashed=key.endswith("_l2"))
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(bottom=0)
        ax.set(title=f"{dataset} ({curves.get('naive_bayes/model', 'NB')})",
               xlabel="training examples m", ylabel="test error")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    return save(fig, directory, name)


def forest_curves(trees: Sequence[int], test: tuple[Sequence[float], Sequence[float]],
                  oob: tuple[Sequence[float], Sequence[float]], importances: np.ndarray,
                  directory: str, name: str) -> list[str]:
    """Test and OOB error (mean, std) vs number of trees, and importances as an image."""
    fig, (ax, ax_img) = new_figure(1, 2, size=(7.0, 3.0),
                                   gridspec_kw={"width_ratios": [1.6, 1]})
    _errorbar(ax, trees, *test, "test error", "C0", "o")
    _errorbar(ax, trees, *oob, "out-of-bag error", "C1", "s", dashed=True)
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set(xlabel="number of trees", ylabel="error", title="random forest on digits")
    ax.legend()
    image = ax_img.imshow(importances, cmap="viridis", interpolation="nearest")
    ax_img.set_title("feature importance (8x8 pixels)")
    ax_img.axis("off")
    fig.colorbar(image, ax=ax_img, fraction=0.046, pad=0.04)
    return save(fig, directory, name)


def depth_curves(results: Mapping, directory: str, name: str, anchor: str) -> list[str]:
    """Training and test error (mean +- std over seeds) vs depth, plain nets dashed beside
    ResNets, with the published numbers in `anchor` as the caption."""
    fig, axes = new_figure(1, 2, size=(7.0, 3.0))
    for ax, metric, title in zip(axes, ("train_error", "test_error"),
                                 ("training error", "test error"), strict=True):
        for form, label, color, marker in (("plain", "plain", "C3", "s"),
                                           ("resnet", "ResNet", "C0", "o")):
            _errorbar(ax, results["depth"], results[f"{form}/{metric}"],
                      results[f"{form}/{metric}_std"], label, color, marker,
                      dashed=form == "plain")
        ax.set_xticks(results["depth"])
        ax.set_ylim(bottom=0)
        ax.set(xlabel="layers", ylabel=title, title=f"{title} on digits")
    axes[0].legend()
    fig.suptitle("\n".join(textwrap.wrap(anchor, 100)), fontsize=7)
    return save(fig, directory, name)
