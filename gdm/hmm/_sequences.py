"""Packing concatenated sequences (hmmlearn's `X, lengths`) into padded, bucketed blocks.

hmmlearn takes all sequences concatenated in X with their `lengths`. The JAX kernels want a
rectangular (N, T, ...) block; both N and T are padded up to size buckets so that many data sets
share one compiled executable, and `unpack` recovers the concatenated order (for per-frame
outputs such as posteriors and Viterbi paths).
"""

from __future__ import annotations

import math

import numpy as np

from gdm.utils.buckets import aligned, aligned_empty, bucket_size, pad_to_shape
from gdm.utils.compiler import on_accelerator

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


def _off_power_of_two(size: int, threshold: int) -> int:
    """size, or size + 8 when it is a power of two >= threshold: on XLA:CPU the kernels run up
    to 2x slower on power-of-two (T, N) blocks (measured: 128 x 1024 vs 104 x 1008 steps)."""
    return size + 8 if size >= threshold and size & (size - 1) == 0 else size


def _sequence_bucket(n: int) -> int:
    """Sequence count padded to a grid of 4 sizes per octave (multiples of 8): the sequence axis
    is the SIMD axis, whose padding costs work in every step, so the grid is finer than the
    step axis's."""
    if n == 1:
        return 1
    return _off_power_of_two(bucket_size(n, 8, per_octave=4), 64)


# Bytes of working set per (step, state) of one sequence: frames, scaled frames, forward and
# backward lattices, posteriors and the expected-count terms, in float64.
BYTES_PER_CELL = 8 * 8


# Below this many (sequence, step, state) cells a call is too short to be worth a thread.
MIN_PARALLEL_CELLS = 2**16
# On XLA:CPU a time step costs ~6 us per 1,000 steps and sequence (6 states, Viterbi) from 64 to
# ~100 sequences; per sequence, forward-backward cost 2.4x more at 500-1,000 sequences in one
# call (measured), so CPU chunks hold at most CPU_MAX_CHUNK sequences (a GPU wants every sequence
# in one call). Viterbi's chunks are smaller: XLA:CPU compiles a time loop into one kernel only
# while one step's buffers are small (its xla_cpu_small_while_loop_byte_threshold), and past that
# every step pays the runtime's per-operation dispatch: for 6 states and 3 features the cost per
# sequence doubled between 96 and 104 sequences (measured; categorical: between 128 and 160).
CPU_MAX_CHUNK = 120
CPU_MAX_VITERBI_CHUNK = 96


def padded_shape(lengths: np.ndarray, n_states: int = 1,
                 chunk_memory_mb: float = float("inf"), workers: int = 1,
                 max_chunk: int | None = None) -> tuple[int, int, int]:
    """(n_chunks, chunk, T_pad): sequences are processed `chunk` at a time, at most
    `max_chunk`, split into at least `workers` chunks (of 8 or more sequences) when there is
    enough work to share out, and few enough that one chunk's working set
    (chunk * T_pad * n_states * BYTES_PER_CELL) stays within chunk_memory_mb; chunks are then
    evened out (a multiple of 8, for SIMD) so that little padding is added. The longest
    length is padded to its bucket."""
    t_pad = _off_power_of_two(bucket_size(int(lengths.max()), minimum=MIN_STEPS), 256)
    n = len(lengths)
    whole = _sequence_bucket(n)
    limit = min(whole, max_chunk or whole)
    if workers > 1 and whole >= 16 and whole * t_pad * n_states >= MIN_PARALLEL_CELLS:
        limit = min(limit, max(8, -(-whole // (8 * workers)) * 8))
    per_sequence = t_pad * n_states * BYTES_PER_CELL
    if math.isfinite(chunk_memory_mb):
        fit = int(chunk_memory_mb * 2**20 // per_sequence)
        limit = min(limit, fit // 8 * 8 if fit >= 8 else max(1, fit))
    if limit >= whole:
        return 1, whole, t_pad
    n_chunks = -(-n // limit)
    chunk = limit if limit < 8 else min(limit, -(-n // (8 * n_chunks)) * 8)
    return -(-n // chunk), chunk, t_pad


def default_max_chunk(viterbi: bool = False) -> int | None:
    """CPU_MAX_CHUNK (Viterbi: CPU_MAX_VITERBI_CHUNK) on the CPU backend, else None (no
    limit)."""
    if on_accelerator():
        return None
    return CPU_MAX_VITERBI_CHUNK if viterbi else CPU_MAX_CHUNK


def pack(X: np.ndarray, lengths: np.ndarray, n_states: int = 1,
         chunk_memory_mb: float = float("inf"), workers: int = 1,
         max_chunk: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Returns (block (n_chunks, chunk, T_pad, ...), padded lengths (n_chunks, chunk)), see
    `padded_shape`; `unpack` inverts it."""
    n_chunks, chunk, t_pad = padded_shape(lengths, n_states, chunk_memory_mb, workers,
                                          max_chunk)
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
