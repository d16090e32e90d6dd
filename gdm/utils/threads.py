"""Independent chunks of work run as compiled calls on CPU threads, one call per chunk.

XLA:CPU runs a small kernel, such as one HMM time step over a batch of sequences, on one core,
and it does not overlap independent loops of one program (Viterbi on two halves of a batch
inside one jit takes as long as on the whole batch, and so do two asynchronous calls from one
thread). Two calls made from two Python threads do run at once, since JAX releases the GIL
while an executable runs. On a GPU or TPU one call already fills the device, so the work is not
split there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral
from typing import Any

import jax

from gdm.utils.compiler import on_accelerator
from gdm.utils.validation import x64

_pools: dict[int, ThreadPoolExecutor] = {}   # one pool per thread count, kept for reuse
_pool_lock = threading.Lock()


def check_n_jobs(n_jobs) -> None:
    """scikit-learn's convention: None means 1, -1 all cores, -2 all but one, ..."""
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral)
                               or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a non-zero integer (-1: all cores), got "
                         f"{n_jobs!r}")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def effective_workers(n_jobs: int | None) -> int:
    """Threads to use for `n_jobs` (validated by `check_n_jobs`): n_jobs itself when positive
    (as joblib, not capped by the core count), cores + 1 + n_jobs when negative; 1 off the
    CPU backend."""
    if n_jobs is None or on_accelerator():
        return 1
    return n_jobs if n_jobs > 0 else max(1, _cores() + 1 + n_jobs)


def map_chunks(fn: Callable[[int], Any], n_chunks: int, workers: int) -> Sequence[Any]:
    """[fn(0), ..., fn(n_chunks - 1)], on up to `workers` threads, in order. `fn` should block
    until its results are computed (e.g. `jax.block_until_ready`). The calling thread is one
    of the workers: it takes chunks from the same counter as the pool's threads instead of
    waiting for them, which saves a thread handoff per call. The
    caller's float64 mode, which JAX keeps per thread, is applied in the workers too. The
    first exception raised stops the workers taking new chunks and is re-raised."""
    if workers <= 1 or n_chunks <= 1:
        return [fn(i) for i in range(n_chunks)]
    double = bool(jax.config.jax_enable_x64)
    results: list[Any] = [None] * n_chunks
    taken = [0]  # chunks handed out so far
    lock, failed = threading.Lock(), threading.Event()

    def take() -> int:
        with lock:
            taken[0] += 1
            return taken[0] - 1

    def drain() -> None:
        with x64(double):
            while not failed.is_set() and (i := take()) < n_chunks:
                try:
                    results[i] = fn(i)
                except BaseException:
                    failed.set()
                    raise

    helpers = [_thread_pool(workers - 1).submit(drain)
               for _ in range(min(workers, n_chunks) - 1)]
    try:
        drain()
    finally:
        # Every chunk is finished (or abandoned) before returning or raising. A helper still
        # queued (the pool busy, e.g. with another caller's chunks or a nested call) has no
        # chunk left to take: it is cancelled, not awaited, which also keeps a nested call
        # from waiting on its own pool thread.
        errors = [None if helper.cancel() else helper.exception() for helper in helpers]
    for error in errors:
        if error is not None:
            raise error
    return results


def _thread_pool(workers: int) -> ThreadPoolExecutor:
    with _pool_lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="gdm-chunk")
        return _pools[workers]
