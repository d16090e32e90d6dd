"""How one HMM call is run: the chunking, padded shapes, threads and kernel variants, decided
in one place (`make_plan`) and carried by one frozen `HMMPlan`.

The estimators validate their input, make a plan, pack the sequences by it
(`gdm.hmm._sequences.pack`), run the compiled entry points with it (`gdm.hmm._compiled`) and
unpack the per-frame outputs. The plan's `kernel` part is the static argument of the compiled
kernels; everything in it follows from the kind of emission model and the shapes, so it never
adds a compilation that the shapes would not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gdm.utils.buckets import bucket_size
from gdm.utils.compiler import on_accelerator
from gdm.utils.threads import effective_workers

TASKS = ("fit", "score", "decode")
# Short sequences all pad to this many steps.
MIN_STEPS = 64
# Bytes of working set per (step, state) of one sequence: frames, scaled frames, forward and
# backward lattices, posteriors and the expected-count terms, in float64.
BYTES_PER_CELL = 8 * 8
# Below this many (sequence, step, state) cells a call is too short to be worth a thread.
MIN_PARALLEL_CELLS = 2**16
# Most sequences in one CPU chunk (forward-backward and EM; Viterbi). See `make_plan`.
CPU_MAX_CHUNK = 120
CPU_MAX_VITERBI_CHUNK = 96
# Viterbi's max over predecessors is unrolled up to this many states.
UNROLL_STATES = 16
# Categorical frames are picked by selects up to this many symbols, gathered above.
SELECT_MAX_SYMBOLS = 16
# Emission models whose frames a time loop computes itself, step by step.
IN_LOOP_KINDS = ("spherical", "diag", "categorical")


@dataclass(frozen=True)
class Kernel:
    """The static choices of a compiled kernel (hashable: a `jax.jit` static argument).

    kind: the emission model ("spherical", "diag", "full", "tied", "categorical");
    frames_in_loop: the time loop computes each step's emission frames itself (Viterbi; for
    the categorical scaled score also) instead of reading a (T, K, N) block;
    unroll: Viterbi's max over predecessors is an unrolled running max;
    select_symbols: categorical frames come from selects over the symbol's bits, not a gather;
    pointer_dtype: Viterbi's backpointers' and paths' integer type.
    """

    kind: str
    frames_in_loop: bool = False
    unroll: bool = True
    select_symbols: bool = True
    pointer_dtype: str = "int8"


@dataclass(frozen=True)
class HMMPlan:
    """One call's layout: `n_chunks` compiled calls of `chunk` sequences padded to `t_pad`
    steps, run on `workers` threads, the packed data in `dtype`, the kernels' `kernel`."""

    task: str
    n_chunks: int
    chunk: int
    t_pad: int
    workers: int
    dtype: np.dtype
    kernel: Kernel


def make_plan(task: str, kind: str, lengths: np.ndarray, n_states: int, n_symbols: int = 0,
              chunk_memory_mb: float = float("inf"), n_jobs: int | None = 1) -> HMMPlan:
    """The plan of one `task` ("fit", "score" or "decode") on sequences of `lengths`.

    - Padded shapes: the step axis is padded to a bucket of the longest length (at least
      MIN_STEPS: a few idle scan steps cost far less than the compilations finer buckets
      would add), the sequence axis to a finer bucket (4 per octave, multiples of 8), since it
      is the SIMD axis whose padding costs work in every step. Power-of-two sizes from 256
      steps and 64 sequences are moved 8 up: XLA:CPU's kernels run markedly slower on such
      blocks. Many data sets then share one compiled program.
    - Chunks: sequences are processed `chunk` at a time, each chunk one compiled call, so a
      call's working set (chunk x t_pad x n_states x BYTES_PER_CELL) stays within
      chunk_memory_mb. On the CPU a chunk also holds at most CPU_MAX_CHUNK sequences (the
      cost per sequence of XLA:CPU's loops grows with larger batches), Viterbi's at most
      CPU_MAX_VITERBI_CHUNK (XLA:CPU compiles a time loop into one kernel only while one
      step's buffers are small; past that every step pays a per-operation dispatch). An
      accelerator wants every sequence in one call: no such limit there.
    - Threads: XLA:CPU runs each time loop on one core, so chunks run on `workers` threads
      (n_jobs, scikit-learn's convention; 1 off the CPU). For score and decode the sequences
      are split into at least `workers` chunks when there is enough work; EM keeps the chunks
      memory and the chunk limit make, so its sums over sequences round the same way for
      every thread count.
    - dtype: categorical symbols are packed in the narrowest integer type holding them
      (int8 up to 128 symbols: blocks 8x smaller to copy and read); Gaussian data float64.
    - Kernel variants: Viterbi computes frames inside its time loop for the IN_LOOP_KINDS
      (for full and tied covariances the per-step (K, D, D) product does not fuse into the
      loop body, so they read a block); the categorical scaled score does too (a table
      lookup per step). Viterbi unrolls its max over predecessors up to UNROLL_STATES
      (one fused pass per predecessor); categorical frames use selects up to
      SELECT_MAX_SYMBOLS symbols (they fuse, where a gather needs a transpose); backpointers
      are int8 up to 127 states (a quarter of int32's bytes), int32 above.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    workers = effective_workers(n_jobs)
    cpu = not on_accelerator()
    max_chunk = None if not cpu else CPU_MAX_VITERBI_CHUNK if task == "decode" else CPU_MAX_CHUNK
    n_chunks, chunk, t_pad = padded_shape(lengths, n_states, chunk_memory_mb,
                                          1 if task == "fit" else workers, max_chunk)
    categorical = kind == "categorical"
    in_loop = {"fit": False, "score": categorical, "decode": kind in IN_LOOP_KINDS}[task]
    kernel = Kernel(kind, in_loop, n_states <= UNROLL_STATES,
                    categorical and n_symbols <= SELECT_MAX_SYMBOLS,
                    "int8" if n_states <= 127 else "int32")
    dtype = np.dtype(symbol_dtype(n_symbols) if categorical else np.float64)
    return HMMPlan(task, n_chunks, chunk, t_pad, workers, dtype, kernel)


def symbol_dtype(n_symbols: int) -> type:
    """The narrowest signed integer type holding symbols 0 .. n_symbols - 1."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_symbols - 1 <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def padded_shape(lengths: np.ndarray, n_states: int = 1,
                 chunk_memory_mb: float = float("inf"), workers: int = 1,
                 max_chunk: int | None = None) -> tuple[int, int, int]:
    """(n_chunks, chunk, t_pad) as `make_plan` describes: at most `max_chunk` sequences a
    chunk, at least `workers` chunks (of 8 or more sequences) when there is enough work, within
    chunk_memory_mb; chunks are evened out (a multiple of 8) so that little padding is added."""
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


def _off_power_of_two(size: int, threshold: int) -> int:
    """size, or size + 8 when it is a power of two >= threshold (see `make_plan`)."""
    return size + 8 if size >= threshold and size & (size - 1) == 0 else size


def _sequence_bucket(n: int) -> int:
    """Sequence count padded to a grid of 4 sizes per octave (multiples of 8)."""
    if n == 1:
        return 1
    return _off_power_of_two(bucket_size(n, 8, per_octave=4), 64)
