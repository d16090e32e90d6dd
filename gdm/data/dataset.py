"""The container every loader returns: numpy arrays per split plus what a model needs to know."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class Dataset:
    """Train/test (and optional validation) arrays of one dataset, fixed by a seed.

    `task` is "classification" or "regression". Images are NHWC float32 unless flattened.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "classification"
    num_classes: int = 0
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    image_shape: tuple[int, ...] | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Arrays of one split by name: 'train', 'test' or 'validation'."""
        if name == "train":
            return self.x_train, self.y_train
        if name == "test":
            return self.x_test, self.y_test
        if name in ("validation", "val"):
            if self.x_val is None:
                raise ValueError(f"dataset {self.name!r} has no validation split; "
                                 "set dataset.validation_fraction > 0")
            return self.x_val, self.y_val
        raise ValueError(f"split must be one of 'train', 'test', 'validation', got {name!r}")


def split_by_seed(
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    test_fraction: float,
    validation_fraction: float = 0.0,
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Shuffle with `default_rng(seed).permutation` and cut train | validation | test.

    With seed 0 and test_fraction 0.2 on MNIST's 10k test set this is the benchmark split
    (gdm.data.load_mnist_benchmark): first 8,000 for training, last 2,000 for testing.
    """
    fractions = (("test_fraction", test_fraction), ("validation_fraction", validation_fraction))
    for key, val in fractions:
        if not 0.0 <= val < 1.0:
            raise ValueError(f"dataset.{key} must be in [0, 1), got {val!r}")
    n = len(x)
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * validation_fraction))
    n_train = n - n_test - n_val
    if n_train <= 0:
        raise ValueError(
            "dataset.test_fraction + dataset.validation_fraction leave no training data")
    tr, va, te = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
    return (x[tr], y[tr]), (x[va], y[va]), (x[te], y[te])
