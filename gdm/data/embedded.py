"""Offline data: scikit-learn's bundled sets and synthetic 2-D/linear problems."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import datasets as skd


def _digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = skd.load_digits()
    return bunch.images / 16.0, bunch.target


# name -> (task, loader(n_samples, noise, seed) -> (x, y)); images come back as (N, H, W).
_BUNDLED: dict[str, tuple[str, Callable[[], tuple[np.ndarray, np.ndarray]]]] = {
    "digits": ("classification", lambda: _digits()),
    "iris": ("classification", lambda: skd.load_iris(return_X_y=True)),
    "wine": ("classification", lambda: skd.load_wine(return_X_y=True)),
    "breast_cancer": ("classification", lambda: skd.load_breast_cancer(return_X_y=True)),
    "diabetes": ("regression", lambda: skd.load_diabetes(return_X_y=True)),
}

SYNTHETIC_DEFAULTS = {  # name -> (n_samples, noise)
    "moons": (1000, 0.2),
    "circles": (1000, 0.1),
    "blobs": (1000, 1.0),
    "linear": (1000, 0.0),
}

NAMES = tuple(_BUNDLED) + tuple(SYNTHETIC_DEFAULTS)


def _linear(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Linearly separable 2-D classes with a margin; `noise` flips that fraction of labels."""
    w = rng.normal(size=2)
    w /= np.linalg.norm(w)
    x = rng.uniform(-3, 3, size=(4 * n, 2))
    margin = x @ w
    x = x[np.abs(margin) > 0.3][:n]
    y = (x @ w > 0).astype(np.int64)
    flip = rng.random(len(y)) < noise
    y[flip] = 1 - y[flip]
    return x, y


def load_embedded(
    name: str, *, seed: int = 0, n_samples: int | None = None, noise: float | None = None
) -> tuple[str, np.ndarray, np.ndarray]:
    """Returns (task, x, y) for an embedded dataset; synthetic ones are drawn from `seed`."""
    if name in _BUNDLED:
        task, loader = _BUNDLED[name]
        x, y = loader()
        return task, np.asarray(x, np.float32), np.asarray(y)
    if name not in SYNTHETIC_DEFAULTS:
        raise ValueError(f"unknown embedded dataset {name!r}; choose from {', '.join(NAMES)}")
    default_n, default_noise = SYNTHETIC_DEFAULTS[name]
    n = default_n if n_samples is None else int(n_samples)
    noise = default_noise if noise is None else float(noise)
    if n < 4:
        raise ValueError(f"dataset.n_samples must be >= 4, got {n}")
    if noise < 0:
        raise ValueError(f"dataset.noise must be >= 0, got {noise}")
    if name == "moons":
        x, y = skd.make_moons(n, noise=noise, random_state=seed)
    elif name == "circles":
        x, y = skd.make_circles(n, noise=noise, factor=0.5, random_state=seed)
    elif name == "blobs":
        x, y = skd.make_blobs(n, centers=3, cluster_std=noise, random_state=seed)
    else:
        x, y = _linear(n, noise, np.random.default_rng(seed))
    return "classification", np.asarray(x, np.float32), np.asarray(y)
