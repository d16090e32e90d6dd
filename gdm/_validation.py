"""Helpers shared by the scikit-learn-style estimators (neighbors, naive_bayes, linear_model, hmm).

Estimators validate their inputs with scikit-learn's own utilities so that bad input raises the
very errors scikit-learn raises; these helpers cover what is JAX-specific: float64 computation
without flipping JAX's global config, and padding rows to size buckets so that fits of many odd
sizes (cross-validation, check_estimator) reuse a few compiled executables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax
import numpy as np

from gdm._buckets import bucket_size, pad_to


@contextlib.contextmanager
def x64() -> Iterator[None]:
    """Runs the block with float64 enabled in JAX, restoring the previous setting afterwards.

    scikit-learn computes in float64; matching its probabilities to 1e-5 needs the same
    precision, but other code sharing the process must keep JAX's float32 default.
    """
    with jax.enable_x64(True):
        yield


def pad_rows_bucket(*arrays: np.ndarray, minimum: int = 8) -> tuple[list[np.ndarray], int]:
    """Pads every array's rows (with zeros) to the bucket of their common length.

    Returns the padded arrays and the bucket size; callers mask the padding, usually by giving
    padded rows zero sample weight.
    """
    n = arrays[0].shape[0]
    size = bucket_size(n, minimum)
    return [pad_to(np.asarray(a), size, 0) for a in arrays], size


def padded_weights(n: int, size: int, sample_weight: np.ndarray | None,
                   dtype: type = np.float64) -> np.ndarray:
    """Sample weights of length `size`: the given weights (or ones) then zeros on padded rows."""
    w = np.zeros(size, dtype)
    w[:n] = 1.0 if sample_weight is None else sample_weight
    return w


def check_n_features(n_expected: int, X: np.ndarray, estimator_name: str) -> None:
    """Raises scikit-learn's message when X has a different number of features than at fit."""
    if X.shape[1] != n_expected:
        raise ValueError(
            f"X has {X.shape[1]} features, but {estimator_name} is expecting {n_expected} "
            "features as input.")
