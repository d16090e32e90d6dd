"""Figures for autoencoders and VAEs, in the style of the papers that introduced them.

Each drawing function takes numpy arrays (images already decoded), so it knows nothing about
models; `vae_figures` and the runners do the decoding. Images are tiled with `image_grid`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import numpy as np
from scipy.stats import norm

from gdm.figures.style import new_figure, save

KNOWN_SHAPES = {784: (28, 28, 1), 64: (8, 8, 1), 3072: (32, 32, 3)}


def image_shape_of(dataset) -> tuple[int, ...] | None:
    """(H, W, C) of one example, or None when the data are not images."""
    if getattr(dataset, "image_shape", None):
        shape = tuple(dataset.image_shape)
        return shape if len(shape) == 3 else (*shape, 1)
    example = np.asarray(dataset.x_test[0])
    if example.ndim == 3:
        return tuple(example.shape)
    size = int(example.size)
    if size in KNOWN_SHAPES:
        return KNOWN_SHAPES[size]
    side = math.isqrt(size)
    return (side, side, 1) if side * side == size else None


def pick_examples(dataset, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `n` test examples (deterministic, so figures from two runs compare)."""
    return np.asarray(dataset.x_test[:n], np.float32), np.asarray(dataset.y_test[:n])


def image_grid(images: np.ndarray, shape: Sequence[int], ncols: int, pad: int = 1) -> np.ndarray:
    """Tiles (N, ...) images of `shape` (H, W, C) into one array, row-major, clipped to [0, 1]."""
    height, width, channels = shape
    images = np.clip(np.asarray(images, np.float32).reshape(-1, height, width, channels), 0, 1)
    nrows = -(-len(images) // ncols)
    grid = np.ones((nrows * (height + pad) + pad, ncols * (width + pad) + pad, channels),
                   np.float32)
    for index, image in enumerate(images):
        r, c = divmod(index, ncols)
        top, left = pad + r * (height + pad), pad + c * (width + pad)
        grid[top:top + height, left:left + width] = image
    return grid[..., 0] if channels == 1 else grid


def _show(ax, grid: np.ndarray, title: str) -> None:
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")


def _rows_figure(rows: dict[str, np.ndarray], shape, directory: str, name: str) -> list[str]:
    """One titled strip per entry of `rows` (each (N, ...) images), stacked vertically."""
    ncols = max(len(v) for v in rows.values())
    fig, axes = new_figure(len(rows), 1, size=(0.6 * ncols + 0.5, 0.9 * len(rows) + 0.3))
    for ax, (title, images) in zip(np.atleast_1d(axes), rows.items(), strict=True):
        _show(ax, image_grid(images, shape, ncols), title)
    return save(fig, directory, name)


def reconstructions(originals: np.ndarray, recons: np.ndarray, shape, directory: str,
                    name: str = "reconstructions") -> list[str]:
    """Test inputs above their reconstructions."""
    return _rows_figure({"input": originals, "reconstruction": recons}, shape, directory, name)


def samples_grid(samples: np.ndarray, shape, directory: str, name: str = "samples",
                 title: str = "samples from the prior") -> list[str]:
    ncols = math.isqrt(len(samples)) or 1
    fig, ax = new_figure(size=(4, 4))
    _show(ax, image_grid(samples, shape, ncols), title)
    return save(fig, directory, name)


def manifold_points(n: int, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """An n x n grid of 2-D latent points, evenly spaced in probability: the inverse Gaussian
    CDF of a uniform grid (Kingma & Welling 2014, Fig. 4). Row-major, top row = high z2."""
    values = norm.ppf(np.linspace(low, high, n))
    z1, z2 = np.meshgrid(values, values[::-1])
    return np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)


def manifold(images: np.ndarray, n: int, shape, directory: str,
             name: str = "manifold") -> list[str]:
    """The decoded manifold_points(n) grid."""
    fig, ax = new_figure(size=(5, 5))
    _show(ax, image_grid(images, shape, n, pad=0), "learned 2-D manifold")
    return save(fig, directory, name)


def latent_scatter(panels: dict[str, tuple[np.ndarray, np.ndarray]], directory: str,
                   name: str = "latent_scatter",
                   axis_labels: tuple[str, str] = ("z1", "z2")) -> list[str]:
    """Side-by-side 2-D codes coloured by class, one panel per model ({title: (codes, y)})."""
    fig, axes = new_figure(1, len(panels), size=(4.2 * len(panels), 4))
    for ax, (title, (codes, labels)) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=3, alpha=0.7,
                            vmin=-0.5, vmax=9.5)
        ax.set_title(title)
        ax.set_xlabel(axis_labels[0])
        ax.set_ylabel(axis_labels[1])
    handles, names = points.legend_elements()
    ax.legend(handles, names, title="class", loc="center left", bbox_to_anchor=(1.0, 0.5),
              fontsize=7)
    return save(fig, directory, name)


def decoded_side_by_side(panels: dict[str, np.ndarray], shape, directory: str,
                         name: str = "random_decoding") -> list[str]:
    """Grids of images decoded from the same N(0, I) points through several models."""
    fig, axes = new_figure(1, len(panels), size=(4 * len(panels), 4.2))
    for ax, (title, images) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        _show(ax, image_grid(images, shape, math.isqrt(len(images)) or 1), title)
    return save(fig, directory, name)


def interpolation_codes(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """Straight lines between pairs of codes: (pairs, steps, L) -> flattened row-major."""
    weights = np.linspace(0.0, 1.0, steps)[None, :, None]
    return (start[:, None] * (1 - weights) + end[:, None] * weights).reshape(-1, start.shape[1])


def interpolation(images: np.ndarray, steps: int, shape, directory: str,
                  name: str = "interpolation") -> list[str]:
    """Rows of decoded interpolations, one row per pair of test images."""
    fig, ax = new_figure(size=(0.6 * steps + 0.5, 0.6 * (len(images) // steps) + 0.5))
    _show(ax, image_grid(images, shape, steps), "latent interpolation")
    return save(fig, directory, name)


def denoising_demo(images: np.ndarray, rng: jax.Array, kind: str, level: float,
                   reconstruct: Callable[[np.ndarray], np.ndarray], shape, directory: str,
                   name: str = "denoising") -> list[str]:
    """Clean input, corrupted input, and the model's reconstruction of the corrupted input."""
    from gdm.nn.autoencoder import corrupt

    noisy = np.asarray(corrupt(jax.numpy.asarray(images), rng, kind, level))
    rows = {"clean": images, f"corrupted ({kind} {level:g})": noisy,
            "denoised": reconstruct(noisy)}
    return _rows_figure(rows, shape, directory, name)


def occlusion_mask(shape, fraction: float = 0.4) -> np.ndarray:
    """1 on known pixels, 0 on a centred square covering `fraction` of the side."""
    height, width, channels = shape
    mask = np.ones(shape, np.float32)
    h, w = max(1, int(height * fraction)), max(1, int(width * fraction))
    top, left = (height - h) // 2, (width - w) // 2
    mask[top:top + h, left:left + w] = 0.0
    return mask


def inpaint(images: np.ndarray, mask: np.ndarray,
            reconstruct: Callable[[np.ndarray], np.ndarray], iterations: int = 10) -> np.ndarray:
    """Fills the unknown pixels by iterating x <- known * x + unknown * reconstruct(x), starting
    from zeros there (the autoencoder as a projection onto the data manifold)."""
    known = np.asarray(mask, np.float32).reshape(1, *images.shape[1:])
    x = images * known
    for _ in range(iterations):
        x = images * known + (1.0 - known) * reconstruct(x)
    return x


def inpainting_demo(images: np.ndarray, reconstruct: Callable[[np.ndarray], np.ndarray], shape,
                    directory: str, name: str = "inpainting") -> list[str]:
    """Original, centre-occluded input, and the iteratively inpainted result."""
    mask = occlusion_mask(shape).reshape(images.shape[1:])
    rows = {"original": images, "occluded": images * mask,
            "inpainted": inpaint(images, mask, reconstruct)}
    return _rows_figure(rows, shape, directory, name)


def mse_curve(code_sizes: Sequence[int], curves: dict[str, Sequence[float]], directory: str,
              name: str = "ae_vs_pca") -> list[str]:
    """Test reconstruction MSE against code size, one line per method."""
    fig, ax = new_figure(size=(4.5, 3.4))
    for label, values in curves.items():
        ax.plot(code_sizes, values, marker="o", label=label)
    ax.set_xlabel("code size")
    ax.set_ylabel("test MSE per pixel")
    ax.set_yscale("log")
    ax.set_xticks(list(code_sizes))
    ax.legend()
    return save(fig, directory, name)


def encode_means(model, variables, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Codes for an AE or posterior means for a VAE, in batches."""
    out = []
    for start in range(0, len(x), batch_size):
        code = model.apply(variables, jax.numpy.asarray(x[start:start + batch_size]),
                           method="encode")
        out.append(np.asarray(code[0] if isinstance(code, tuple) else code))
    return np.concatenate(out)


def project_2d(codes: np.ndarray) -> np.ndarray:
    """Codes as they are when 2-D; otherwise their first two principal components."""
    if codes.shape[1] == 2:
        return codes
    centred = codes - codes.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def vae_figures(model, variables, dataset, directory: str, rng: jax.Array,
                manifold_size: int = 20) -> list[str]:
    """Reconstructions, prior samples, interpolations, latent scatter and (2-D) the manifold."""
    shape = image_shape_of(dataset)
    paths: list[str] = []
    x_test, y_test = np.asarray(dataset.x_test, np.float32), np.asarray(dataset.y_test)
    codes = encode_means(model, variables, x_test)
    labels = ("z1", "z2") if codes.shape[1] == 2 else ("PC 1", "PC 2")
    paths += latent_scatter({"VAE posterior means": (project_2d(codes), y_test)}, directory,
                            "latent_scatter", labels)
    if shape is None:
        return paths

    def decode(z):
        return np.asarray(model.apply(variables, jax.numpy.asarray(z), method="decode"))

    paths += reconstructions(x_test[:10], decode(codes[:10]), shape, directory)
    samples = np.asarray(model.apply(variables, rng, 64, method="sample"))
    paths += samples_grid(samples, shape, directory)
    steps = 10
    paths += interpolation(decode(interpolation_codes(codes[0:10:2], codes[1:10:2], steps)),
                           steps, shape, directory)
    if codes.shape[1] == 2:
        paths += manifold(decode(manifold_points(manifold_size)), manifold_size, shape,
                          directory)
    return paths
