"""Shared by the benchmarks: the MNIST benchmark split, timing, peak memory, JSON + markdown.

Every benchmark runs gdm and its peer side by side in one process on the same arrays and
reports ratios ours / peer. Cold = first call (includes JAX compilation); warm = a second call
on the same shapes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from collections.abc import Callable
from typing import Any

# The MNIST IDX directory (MNIST's 10k test set, split 8,000 / 2,000): --mnist_dir, by default
# $GDM_MNIST_DIR; without it the benchmarks run their other data sets only.
DEFAULT_MNIST_DIR = os.environ.get("GDM_MNIST_DIR", "")
RESULTS_DIR = os.path.join(os.path.dirname(__file__), "results")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Context manager sampling this process's RSS every 2 ms; `.peak_mb` is the peak above entry.

    RSS includes XLA's CPU buffers, which tracemalloc cannot see. On GPU it measures host memory.
    """

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self.peak_mb = 0.0

    def __enter__(self) -> PeakMemory:
        self._base = _rss_bytes()
        self._peak = self._base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, _rss_bytes())
            time.sleep(self.interval)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, _rss_bytes())
        self.peak_mb = (self._peak - self._base) / 2**20


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Runs fn() and returns (result, seconds). Block on JAX results inside fn."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def best_of(fn: Callable[[], Any], repeats: int = 5) -> tuple[Any, float]:
    """(result, fastest of `repeats` timed calls): for sub-second operations, where one call's
    time is mostly the machine's noise."""
    runs = [timed(fn) for _ in range(repeats)]
    return runs[-1][0], min(seconds for _, seconds in runs)


def machine() -> str:
    """One line naming the CPU, core count and the JAX backend/devices."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import jax

    devices = jax.devices()
    return (f"{cpu}, {os.cpu_count()} cores, jax {jax.__version__} on "
            f"{devices[0].platform} x{len(devices)} ({devices[0].device_kind})")


def write_report(name: str, rows: list[dict[str, Any]], columns: list[str],
                 out_dir: str = RESULTS_DIR, extra: dict[str, Any] | None = None) -> str:
    """Writes `<out_dir>/<name>.json` and `<name>.md`; returns the markdown table."""
    os.makedirs(out_dir, exist_ok=True)
    payload = {"benchmark": name, "machine": machine(), "rows": rows, **(extra or {})}
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(payload, f, indent=2)

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    lines = [f"Measured on: {payload['machine']}", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    table = "\n".join(lines) + "\n"
    with open(os.path.join(out_dir, f"{name}.md"), "w") as f:
        f.write(table)
    return table


def mnist_and_digits(mnist_dir: str):
    """Yields (name, x_train, y_train, x_test, y_test): the MNIST benchmark split when
    `mnist_dir` holds it (a message otherwise), then digits / 16 with a 25% test split."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from gdm.data import load_mnist_benchmark

    if os.path.isdir(mnist_dir):
        ds = load_mnist_benchmark(mnist_dir)
        yield "mnist", ds.x_train, ds.y_train, ds.x_test, ds.y_test
    else:
        print(f"no MNIST IDX directory at {mnist_dir!r} (--mnist_dir or GDM_MNIST_DIR): "
              "skipping MNIST")
    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split((x / 16.0).astype(np.float32), y, test_size=0.25,
                                          random_state=0)
    yield "digits", xtr, ytr, xte, yte


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser described by the module docstring's first line, with --mnist_dir."""
    result = argparse.ArgumentParser(description=doc.splitlines()[0])
    result.add_argument("--mnist_dir", default=DEFAULT_MNIST_DIR,
                        help="MNIST IDX directory (the t10k files)")
    return result
