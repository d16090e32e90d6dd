"""What the 1-vs-N-device benchmarks share: one process per device count, warm medians.

JAX fixes the device count at start-up, so a benchmark that compares device counts runs itself
once per count as a worker process (`--worker`, with
XLA_FLAGS=--xla_force_host_platform_device_count=N on the CPU backend); the worker prints one
JSON line of its rows, which the parent reads and sets beside the peer it times itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable

from experiments.benchmarks import common

REPEATS = 5
RESULT = "RESULT "
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def median_time(fn: Callable, *args) -> tuple[object, float]:
    """(fn(*args), the median seconds of REPEATS calls)."""
    runs = [common.timed(lambda: fn(*args)) for _ in range(REPEATS)]
    return runs[-1][0], statistics.median(seconds for _, seconds in runs)


def worker(time_ours: Callable[..., dict], datasets: Iterable[tuple]) -> None:
    """Runs time_ours(name, x_train, y_train, x_test, y_test) on every data set with all
    devices of this process; prints the rows as one JSON line."""
    import jax

    rows = [time_ours(*data) for data in datasets]
    print(RESULT + json.dumps(dict(jax_devices=str(jax.devices()), rows=rows)), flush=True)


def run_devices(module: str, n_devices: int) -> dict:
    """The worker's output of `python -m <module> --worker` on n_devices CPU devices."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={n_devices}"}
    proc = subprocess.run([sys.executable, "-m", module, "--worker"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, check=True)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT))
    return json.loads(line[len(RESULT):])


def runs_per_device_count(doc: str, module: str, time_ours: Callable[..., dict],
                          datasets: Callable[[], Iterable[tuple]],
                          argv: list[str] | None) -> tuple[list[int], dict] | None:
    """The command line of a device benchmark: as `--worker`, times this process's devices
    and returns None; otherwise (the --devices counts, each count's worker output)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--devices", default="1,4", help="comma-separated device counts")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(time_ours, datasets())
        return None
    counts = [int(c) for c in args.devices.split(",")]
    return counts, {n: run_devices(module, n) for n in counts}
