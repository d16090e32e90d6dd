"""Packing concatenated sequences (hmmlearn's `X, lengths`) into padded, bucketed blocks.

hmmlearn takes all sequences concatenated in X with their `lengths`. The JAX kernels want a
rectangular (N, T, ...) block; both N and T are padded up to size buckets so that many data sets
share one compiled executable, and `unpack` recovers the concatenated order (for per-frame
outputs such as posteriors and Viterbi paths).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_array

from gdm.hmm._plan import HMMPlan, make_plan
from gdm.utils.buckets import aligned, aligned_empty, pad_to_shape


def check_lengths(lengths, n_samples: int) -> np.ndarray:
    """Validates `lengths` (None means one sequence) and returns them as int64 (N,)."""
    if lengths is None:
        return np.array([n_samples], dtype=np.int64)
    arr = check_array(lengths, ensure_2d=False, dtype=None, ensure_min_samples=0,
                      input_name="lengths")
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


def pack(X: np.ndarray, lengths: np.ndarray, plan: HMMPlan | None = None
         ) -> tuple[np.ndarray, np.ndarray]:
    """Returns (block (n_chunks, chunk, T_pad, ...) in the plan's dtype, padded lengths
    (n_chunks, chunk)), laid out as `plan` says (default: one chunk, X's dtype); `unpack`
    inverts it."""
    if plan is None:
        plan = make_plan("fit", "diag", lengths, 1)
    else:
        X = X.astype(plan.dtype, copy=False)
    n_chunks, chunk, t_pad = plan.n_chunks, plan.chunk, plan.t_pad
    n_pad = n_chunks * chunk
    padded_lengths = np.zeros(n_pad, np.int64)
    padded_lengths[:len(lengths)] = lengths
    if np.all(lengths == lengths[0]):  # equal lengths: one strided copy, zeros only around it
        block = aligned(pad_to_shape(X.reshape((len(lengths), lengths[0]) + X.shape[1:]),
                                     (n_pad, t_pad) + X.shape[1:]))
    else:
        block = aligned_empty((n_pad, t_pad) + X.shape[1:], X.dtype)
        block[...] = 0
        block.reshape((n_pad * t_pad,) + X.shape[1:])[_positions(lengths, t_pad)] = X
    return (block.reshape((n_chunks, chunk) + block.shape[1:]),
            padded_lengths.reshape(n_chunks, chunk))


def _positions(lengths: np.ndarray, t_pad: int) -> np.ndarray:
    """Flat block position of each row of the concatenated X: its index plus the offset of its
    sequence in the block minus its offset in X."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    shift = np.repeat(np.arange(len(lengths)) * t_pad - starts, lengths)
    return np.arange(int(lengths.sum())) + shift


def unpack(block: np.ndarray, lengths: np.ndarray, dtype=None) -> np.ndarray:
    """Inverse of `pack`: the rows of a (n_chunks, chunk, T_pad, ...) block (per-frame outputs
    such as posteriors or paths) in concatenated order, as `dtype` (default: the block's),
    converted in the same pass that gathers them."""
    block = block.reshape((block.shape[0] * block.shape[1],) + block.shape[2:])
    dtype = block.dtype if dtype is None else np.dtype(dtype)
    if np.all(lengths == lengths[0]):
        rows = block[:len(lengths), :lengths[0]]
        out = np.empty(rows.shape, dtype)
        np.copyto(out, rows, casting="safe")
        return out.reshape((-1,) + block.shape[2:])
    flat = block.reshape((block.shape[0] * block.shape[1],) + block.shape[2:])
    return flat[_positions(lengths, block.shape[1])].astype(dtype, copy=False)
