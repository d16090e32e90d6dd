"""Hand-crafted image descriptors for gdm/runners/features.py: HOG and uniform LBP histograms
(scikit-image) of small grayscale images, after optional bilinear upsampling."""

from __future__ import annotations

import ml_collections
import numpy as np
from skimage.feature import hog, local_binary_pattern
from skimage.transform import resize

from gdm import data as gdm_data


def upsample(images: np.ndarray, factor: int) -> np.ndarray:
    """(n, H, W) images enlarged `factor` times by bilinear interpolation, all in one call."""
    if factor == 1:
        return images
    n, h, w = images.shape
    return resize(images, (n, h * factor, w * factor), order=1, mode="edge",
                  anti_aliasing=False)


def hog_features(images: np.ndarray, config: ml_collections.ConfigDict) -> np.ndarray:
    """skimage HOG (L2-Hys blocks) of every (n, H, W) image, after upsampling."""
    c = config.hog
    big = upsample(images, int(config.image_upsample))
    cell, block = (int(c.pixels_per_cell),) * 2, (int(c.cells_per_block),) * 2
    return np.stack([hog(im, orientations=int(c.orientations), pixels_per_cell=cell,
                         cells_per_block=block, block_norm="L2-Hys") for im in big])


def lbp_features(images: np.ndarray, config: ml_collections.ConfigDict) -> np.ndarray:
    """Uniform LBP codes of every image (`lbp.method`: "uniform", rotation invariant, P + 2
    codes; "nri_uniform", P(P - 1) + 3), as a histogram (fractions) per cell of a grid of
    `lbp.cells` x `lbp.cells` cells, concatenated."""
    c = config.lbp
    big = upsample(images, int(config.image_upsample))
    gray = np.round(np.clip(big, 0.0, 1.0) * 255).astype(np.uint8)  # LBP wants integers
    codes = np.stack([local_binary_pattern(im, int(c.points), float(c.radius),
                                           method=c.method) for im in gray]).astype(np.int64)
    n, h, w = codes.shape
    p = int(c.points)
    cells, bins = int(c.cells), (p + 2 if c.method == "uniform" else p * (p - 1) + 3)
    codes = codes[:, :h - h % cells, :w - w % cells]
    sh, sw = h // cells, w // cells
    blocks = codes.reshape(n, cells, sh, cells, sw).transpose(0, 1, 3, 2, 4)
    blocks = blocks.reshape(n, cells * cells, sh * sw)
    hist = (blocks[..., None] == np.arange(bins)).sum(2) / (sh * sw)
    return hist.reshape(n, cells * cells * bins).astype(np.float32)


def hand_features(ds: gdm_data.Dataset, pool: np.ndarray,
                  config: ml_collections.ConfigDict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(pool, test) features of the hand-crafted and raw pipelines, computed once."""
    images = np.concatenate([ds.x_train[pool], ds.x_test])[..., 0]
    split = len(pool)
    out = {}
    for name, fn in (("hog", hog_features), ("lbp", lbp_features),
                     ("raw", lambda im, _: im.reshape(len(im), -1))):
        f = np.asarray(fn(images, config), np.float32)
        out[name] = (f[:split], f[split:])
    return out
