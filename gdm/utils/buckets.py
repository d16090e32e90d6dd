"""Size buckets, so estimators fitted the scikit-learn way compile once per bucket, not per size.

JAX compiles one executable per input shape. Cross-validation, check_estimator and learning
curves fit many odd sizes; padding each axis up to a bucket (and masking the padding) keeps the
number of compilations logarithmic in the size range while wasting at most ~41% of the work.
"""

from __future__ import annotations

import math

import numpy as np


def bucket_size(n: int, minimum: int = 8, *, per_octave: int = 2, multiple: int = 8,
                powers_of_two_to: int = 0) -> int:
    """Smallest size >= n on the grid `minimum * 2**(k / per_octave)`, each grid point rounded
    up to a multiple of `multiple`; `minimum` for n <= minimum.

    Two points per octave (the default) waste at most ~41% of the work on padding; a finer grid
    suits axes whose padding costs work in every step. Sizes up to `powers_of_two_to` take the
    coarsest grid, powers of two (for a power-of-two `minimum`): fewer compiled programs for
    the many small shapes of check_estimator and cross-validation.
    """
    if n <= minimum:
        return minimum
    if n <= powers_of_two_to:
        per_octave, multiple = 1, 1
    k = math.ceil(per_octave * math.log2(n / minimum) - 1e-9)
    size = minimum * 2 ** (k / per_octave)
    size = int(math.ceil(size / multiple) * multiple)
    return max(size, n)


def pad_to(x: np.ndarray, size: int, axis: int = 0, value: float = 0) -> np.ndarray:
    """Pads `x` along `axis` to length `size` with `value`."""
    if size < x.shape[axis]:
        raise ValueError(f"cannot pad axis {axis} of length {x.shape[axis]} down to {size}")
    shape = list(x.shape)
    shape[axis] = size
    return pad_to_shape(x, tuple(shape), value)


ALIGNMENT = 64  # bytes: JAX's CPU client reads such host arrays in place instead of copying


def aligned_empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    """np.empty(shape, dtype) starting at a multiple of ALIGNMENT bytes. A jitted call copies a
    NumPy argument into a buffer of its own unless it is so aligned, and NumPy's allocator
    gives only 16-byte alignment: for the large blocks the HMMs pass at every call, that copy
    would cost more than the kernel's own reading of them."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def aligned(x: np.ndarray) -> np.ndarray:
    """x itself if C-contiguous and aligned to ALIGNMENT bytes, else an aligned copy."""
    x = np.asarray(x)
    if x.flags.c_contiguous and x.ctypes.data % ALIGNMENT == 0:
        return x
    out = aligned_empty(x.shape, x.dtype)
    out[...] = x
    return out


def pad_to_shape(x: np.ndarray, shape: tuple[int, ...], value: float = 0) -> np.ndarray:
    """Pads `x` at the end of each axis to `shape` with `value`: one allocation and one copy
    (np.pad is ~3x slower on large arrays, and padding two axes with it copies twice), into
    an `aligned_empty` array."""
    x = np.asarray(x)
    if tuple(shape) == x.shape:
        return x
    out = aligned_empty(shape, x.dtype)
    out[tuple(slice(0, n) for n in x.shape)] = x
    for axis, n in enumerate(x.shape):  # the padded slabs only, each written once
        if shape[axis] > n:
            out[tuple(slice(None) if a < axis else slice(0, x.shape[a]) if a > axis
                      else slice(n, None) for a in range(x.ndim))] = value
    return out


def pad_rows(*arrays: np.ndarray, minimum: int = 8) -> tuple[list[np.ndarray], int]:
    """Pads every array's rows (with zeros) to the bucket of their common length.

    Returns the padded arrays and the bucket size; callers mask the padding, usually by giving
    padded rows zero sample weight (`padded_weights`).
    """
    size = bucket_size(arrays[0].shape[0], minimum)
    return [pad_to(np.asarray(a), size, 0) for a in arrays], size


def padded_weights(n: int, size: int, sample_weight: np.ndarray | None,
                   dtype: type = np.float64) -> np.ndarray:
    """Sample weights of length `size`: the given weights (or ones) then zeros on padded rows."""
    w = np.zeros(size, dtype)
    w[:n] = 1.0 if sample_weight is None else sample_weight
    return w
