"""What a trained CNN's layers compute (gdm/runners/cnn_features.py), from results.json.

`cnn_features_figure`, six panels: (a) the first-layer 5x5 kernels of one trained network
above those of its initialization; (b) one test digit and its conv1 feature maps, (b') its
conv2 maps; (c) the kernels' tuning curves over grating orientation (aligned at the preferred
one), (c') their orientation selectivity, trained vs init, mean +- std over seeds; (d)
linear-probe test accuracy on pixels, conv1 and conv2 features of trained and random networks.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from gdm.figures.gan_rbm import _tile
from gdm.figures.style import new_figure, save

COLORS = {"trained": "C3", "init": "C7"}
LABELS = {"trained": "trained", "init": "random init"}


def _unit(images: np.ndarray, symmetric: bool) -> np.ndarray:
    """Each image scaled into [0, 1]: w / max|w| mapped to [0, 1] (symmetric, 0.5 is zero),
    or x / max x (non-negative maps)."""
    axes = tuple(range(1, images.ndim))
    if symmetric:
        scale = np.maximum(np.abs(images).max(axes, keepdims=True), 1e-12)
        return 0.5 + 0.5 * images / scale
    return images / np.maximum(images.max(axes, keepdims=True), 1e-12)


def _mosaic(ax, images: np.ndarray, ncols: int, title: str, symmetric: bool) -> None:
    ax.imshow(_tile(_unit(images, symmetric), ncols), vmin=0, vmax=1, cmap="gray",
              interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=8)


def _filters(ax, results: Mapping) -> None:
    """Trained (top) and initial (bottom) kernels of seed 0, 2 x 3 each, a gap between."""
    tiles = [_tile(_unit(np.asarray(results["filters"][k])[0], True), 3)
             for k in ("trained", "init")]
    gap = np.ones((2, tiles[0].shape[1]), np.float32)
    ax.imshow(np.concatenate([tiles[0], gap, tiles[1]], axis=0), vmin=0, vmax=1, cmap="gray",
              interpolation="nearest")
    ax.set_axis_off()
    ax.set_title("(a) conv1 5x5 kernels, seed 0\ntop: trained, bottom: random init",
                 fontsize=8)


def _maps(axes, results: Mapping) -> None:
    m = results["feature_maps"]
    image = np.asarray(m["image"])[None]
    conv1 = np.moveaxis(np.asarray(m["conv1/trained"]), -1, 0)
    conv2 = np.moveaxis(np.asarray(m["conv2/trained"]), -1, 0)
    _mosaic(axes[0], np.concatenate([image, conv1]), 3,
            f"(b) test digit ({m['label']}) and its 6 conv1 maps", symmetric=False)
    _mosaic(axes[1], conv2, 4, "(b') its 16 conv2 maps (deeper)", symmetric=False)


def _tuning(ax, results: Mapping) -> None:
    o = results["orientation"]
    n = len(o["orientations_degrees"])
    step = 180.0 / n
    relative = (np.arange(n) - n // 2) * step
    for k in ("trained", "init"):
        ax.plot(relative, o[k]["aligned_curve"], marker="o", ms=3, color=COLORS[k],
                label=LABELS[k])
    ax.set(xlabel="grating orientation - preferred (deg)", ylabel="response / max",
           title="(c) conv1 orientation tuning", ylim=(0, 1.05))
    ax.legend(fontsize=7)


def _bars(ax, groups: list[str], values: dict[str, list[tuple[float, float]]]) -> None:
    x = np.arange(len(groups))
    width = 0.38
    for i, k in enumerate(("trained", "init")):
        mean, std = np.array(values[k]).T
        ax.bar(x + (i - 0.5) * width, mean, width, yerr=std, capsize=2, color=COLORS[k],
               label=LABELS[k])
    ax.set_xticks(x, groups)


def _selectivity(ax, results: Mapping) -> None:
    o = results["orientation"]
    values = {k: [(np.mean(o[k][i]), np.std(o[k][i])) for i in ("osi", "osi_peak")]
              for k in ("trained", "init")}
    _bars(ax, ["1 - circ. var.", "(max-min)/(max+min)"], values)
    ax.set(ylabel="orientation selectivity", ylim=(0, 1),
           title=f"(c') selectivity, {results['seeds']} seeds")
    ax.legend(fontsize=7)


def _probe(ax, results: Mapping) -> None:
    p = results["probe"]
    groups = ["pixels", "conv1", "conv2"]
    values = {k: [(p["pixels"]["accuracy"], 0.0)]
              + [(p[f"{g}/{k}"]["accuracy"], p[f"{g}/{k}"]["std"]) for g in groups[1:]]
              for k in ("trained", "init")}
    _bars(ax, groups, values)
    low = min(m - s for v in values.values() for m, s in v)
    ax.set(ylabel="probe test accuracy", ylim=(max(0.0, low - 0.03), 1.0),
           title="(d) logistic-regression probe")
    ax.legend(fontsize=7, loc="lower right")


def cnn_features_figure(results: Mapping, directory: str, name: str) -> list[str]:
    """The six panels; returns the PNG and PDF paths."""
    fig, axes = new_figure(2, 3, size=(9.6, 6.4), gridspec_kw={"height_ratios": [1.1, 1]})
    _filters(axes[0, 0], results)
    _maps(axes[0, 1:], results)
    _tuning(axes[1, 0], results)
    _selectivity(axes[1, 1], results)
    _probe(axes[1, 2], results)
    return save(fig, directory, name)
