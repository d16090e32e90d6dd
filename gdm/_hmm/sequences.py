"""Packing concatenated sequences (hmmlearn's `X, lengths`) into padded, bucketed blocks.

hmmlearn takes all sequences concatenated in X with their `lengths`. The JAX kernels want a
rectangular (N, T, ...) block; both N and T are padded up to size buckets so that many data sets
share one compiled executable, and the mask recovers the concatenated order: row-major
`block[mask]` is exactly the original X.
"""

from __future__ import annotations

import numpy as np

from gdm._buckets import bucket_size

# Short sequences all pad to this many steps: a few idle scan steps cost far less than the
# extra compilations that finer buckets would trigger.
MIN_STEPS = 64


def check_lengths(lengths, n_samples: int) -> np.ndarray:
    """Validates `lengths` (None means one sequence) and returns them as int64 (N,)."""
    if lengths is None:
        return np.array([n_samples], dtype=np.int64)
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"lengths must be a non-empty 1-D array of sequence lengths, "
                         f"got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer)
            or (np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0))):
        raise ValueError(f"lengths must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if np.any(arr <= 0):
        raise ValueError(f"lengths must be positive, got {arr[arr <= 0][:5].tolist()}")
    if arr.sum() != n_samples:
        raise ValueError(f"lengths array {arr.tolist()[:10]} sums to {int(arr.sum())}, "
                         f"but X has {n_samples} samples; they must be equal")
    return arr


def padded_shape(lengths: np.ndarray) -> tuple[int, int]:
    """(N_pad, T_pad): sequence count and longest length rounded up to their buckets."""
    n_pad = 1 if len(lengths) == 1 else bucket_size(len(lengths))
    return n_pad, bucket_size(int(lengths.max()), minimum=MIN_STEPS)


def pack(X: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (block (N_pad, T_pad, ...), padded lengths (N_pad,), mask (N_pad, T_pad))."""
    n_pad, t_pad = padded_shape(lengths)
    padded_lengths = np.zeros(n_pad, np.int64)
    padded_lengths[:len(lengths)] = lengths
    mask = np.arange(t_pad)[None, :] < padded_lengths[:, None]
    block = np.zeros((n_pad, t_pad) + X.shape[1:], X.dtype)
    block[mask] = X
    return block, padded_lengths, mask
