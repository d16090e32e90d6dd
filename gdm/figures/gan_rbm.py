"""Figures for the GAN and the RBM: sample grids and the RBM's learned filters."""

from __future__ import annotations

import math

import numpy as np

from gdm.figures.style import new_figure, save


def _tile(images: np.ndarray, ncols: int, pad: int = 1) -> np.ndarray:
    """(N, H, W) -> one (rows*(H+pad), ncols*(W+pad)) mosaic, padding at 1 (white lines)."""
    n, h, w = images.shape
    nrows = math.ceil(n / ncols)
    canvas = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad), np.float32)
    for k in range(n):  # at most a few hundred tiles: host-side drawing, not a hot path.
        r, c = divmod(k, ncols)
        canvas[pad + r * (h + pad):pad + r * (h + pad) + h,
               pad + c * (w + pad):pad + c * (w + pad) + w] = images[k]
    return canvas


def _as_images(x: np.ndarray, image_shape: tuple[int, ...] | None) -> np.ndarray:
    x = np.asarray(x, np.float32)
    if image_shape is not None:
        x = x.reshape(len(x), *image_shape)
    elif x.ndim == 2:
        side = int(round(math.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ValueError(f"cannot draw flat samples of size {x.shape[1]} as images; "
                             "pass image_shape")
        x = x.reshape(len(x), side, side)
    return x[..., 0] if x.ndim == 4 else x  # single-channel NHWC -> NHW


def sample_grid(samples: np.ndarray, directory: str, name: str = "samples",
                image_shape: tuple[int, ...] | None = None, ncols: int = 10,
                title: str | None = None) -> list[str]:
    """Draws up to ncols^2 samples as one grid; returns the PNG and PDF paths."""
    images = _as_images(samples[:ncols * ncols], image_shape)
    fig, ax = new_figure(size=(4.0, 4.0))
    ax.imshow(_tile(np.clip(images, 0, 1), ncols), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return save(fig, directory, name)


def rbm_filters(weights: np.ndarray, directory: str, name: str = "rbm_filters",
                image_shape: tuple[int, ...] | None = None, count: int = 100,
                ncols: int = 10) -> list[str]:
    """Each hidden unit's incoming weights W[:, j] as an image, each scaled to its own range
    (as in Hinton's practical guide figures): strokes and blobs show what a unit detects."""
    w = np.asarray(weights, np.float32).T[:count]  # (count, V)
    lo, hi = w.min(axis=1, keepdims=True), w.max(axis=1, keepdims=True)
    w = (w - lo) / np.where(hi > lo, hi - lo, 1.0)
    images = _as_images(w, image_shape)
    fig, ax = new_figure(size=(4.0, 4.0))
    ax.imshow(_tile(images, ncols), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(f"RBM filters (first {len(images)} hidden units)")
    return save(fig, directory, name)
