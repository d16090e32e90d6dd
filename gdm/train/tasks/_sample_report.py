"""End-of-run report shared by the sampling tasks (GAN, RBM): a sample grid and the Frechet
distance of the samples to the data (gdm.metrics.frechet)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from gdm.figures.gan_rbm import sample_grid


def num_samples(options: dict[str, Any], dataset: Any) -> int:
    """task_options.num_samples, else as many as test examples (capped at 10,000), so the
    Frechet distance of samples and of held-out data (the floor) use the same count."""
    num = int(options.get("num_samples", 0) or min(len(dataset.x_test), 10_000))
    if num < 2:
        raise ValueError(f"task_options.num_samples must be >= 2, got {num}")
    return num


def wants_frechet(options: dict[str, Any], dataset: Any) -> bool:
    default = dataset.image_shape is not None and dataset.num_classes >= 2
    return bool(options.get("frechet", default))


def report(samples: np.ndarray, config: Any, options: dict[str, Any], dataset: Any,
           workdir: str, prefix: str) -> dict[str, float]:
    figures = os.path.join(workdir, "figures")
    if dataset.image_shape is not None and options.get("figures", True):
        sample_grid(samples, figures, f"{prefix}_samples", image_shape=dataset.image_shape,
                    title=f"{prefix.upper()} samples")
    if not wants_frechet(options, dataset):
        return {}
    from gdm.metrics.frechet import frechet_distance_to_data

    return frechet_distance_to_data(samples, config,
                                    cache_dir=options.get("frechet_cache_dir") or None)
