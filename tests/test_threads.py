"""gdm.utils.threads.map_chunks: every chunk once, results in order, the caller working too, the
first error re-raised, float64 mode carried into the workers."""

from __future__ import annotations

import threading
import time

import jax
import jax.numpy as jnp
import pytest

from gdm.utils.threads import map_chunks


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("n_chunks", [0, 1, 2, 5])
def test_every_chunk_runs_once_and_results_keep_chunk_order(workers, n_chunks):
    calls, lock = [], threading.Lock()

    def fn(i):
        with lock:
            calls.append(i)
        time.sleep(0.002 * (n_chunks - i))  # later chunks finish first
        return i * i

    assert list(map_chunks(fn, n_chunks, workers)) == [i * i for i in range(n_chunks)]
    assert sorted(calls) == list(range(n_chunks))


def test_the_calling_thread_runs_chunks_beside_the_pool():
    threads = {}
    caller = threading.get_ident()

    def fn(i):
        threads[i] = threading.get_ident()
        time.sleep(0.02)  # long enough that neither thread takes both chunks
        return i

    map_chunks(fn, 2, 2)
    assert caller in threads.values()
    assert len(set(threads.values())) == 2


def test_first_error_is_raised_and_no_chunk_starts_after_it():
    started = []

    def fn(i):
        started.append(i)
        if i == 0:
            raise ValueError("chunk 0 failed")
        time.sleep(0.01)
        return i

    with pytest.raises(ValueError, match="chunk 0 failed"):
        map_chunks(fn, 50, 2)
    assert len(started) < 50


def test_float64_mode_is_carried_into_the_workers():
    def fn(i):
        return jnp.ones(1).dtype

    with jax.enable_x64(True):
        assert set(map_chunks(fn, 4, 2)) == {jnp.dtype("float64")}
    with jax.enable_x64(False):
        assert set(map_chunks(fn, 4, 2)) == {jnp.dtype("float32")}


def test_nested_and_concurrent_calls_finish():
    """A chunk that itself maps chunks (pool threads all busy), and callers on several
    threads at once, finish: a helper still queued when its caller has taken every chunk is
    cancelled, not awaited (awaiting it from the pool's only thread would wait forever)."""
    def inner(i):
        time.sleep(0.005)
        return i

    def outer(i):
        return sum(map_chunks(inner, 3, 2)) + i

    results = []
    callers = [threading.Thread(target=lambda: results.append(list(map_chunks(outer, 2, 2))),
                                daemon=True) for _ in range(3)]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + 20
    for caller in callers:
        caller.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(caller.is_alive() for caller in callers), "map_chunks deadlocked"
    assert results == [[3, 4]] * 3
