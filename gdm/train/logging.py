"""Where metrics go: metrics.jsonl, TensorBoard event files, and a progress line on stdout."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import jax


def _format_eta(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class MetricLogger:
    """Writes on process 0 only. On resume, drops lines logged after the restored step so the
    file reads as if the run had never been interrupted."""

    def __init__(self, workdir: str, total_steps: int, resumed_step: int = 0,
                 quiet: bool = False):
        self.enabled = jax.process_index() == 0
        self.total_steps = total_steps
        self.quiet = quiet
        self.path = os.path.join(workdir, "metrics.jsonl")
        self._tb = None
        if not self.enabled:
            return
        os.makedirs(workdir, exist_ok=True)
        self._truncate_after(resumed_step)
        from tensorboardX import SummaryWriter

        self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"), flush_secs=10)
        self._t0, self._s0 = time.perf_counter(), resumed_step

    def _truncate_after(self, step: int) -> None:
        if not os.path.exists(self.path):
            return
        with open(self.path) as f:
            kept = [line for line in f if line.strip() and json.loads(line)["step"] <= step]
        with open(self.path, "w") as f:
            f.writelines(kept)

    def write(self, step: int, metrics: dict[str, Any]) -> None:
        if not self.enabled:
            return
        record = {"step": int(step), **{k: float(v) for k, v in metrics.items()}}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        for key, value in record.items():
            if key != "step":
                self._tb.add_scalar(key, value, step)

    def progress(self, step: int, loss: float, steps_per_sec: float) -> None:
        if not self.enabled or self.quiet:
            return
        eta = (self.total_steps - step) / steps_per_sec if steps_per_sec > 0 else float("inf")
        width = len(str(self.total_steps))
        print(f"step {step:>{width}}/{self.total_steps}  loss {loss:.4f}  "
              f"{steps_per_sec:.1f} steps/s  ETA {_format_eta(eta)}", file=sys.stdout, flush=True)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def write_results(workdir: str, results: dict[str, Any], table: str | None = None) -> None:
    """Prints `table`; on process 0 writes it to results.md and `results` to results.json."""
    if table is not None:
        print("\n" + table)
    if jax.process_index() != 0:
        return
    if table is not None:
        with open(os.path.join(workdir, "results.md"), "w") as f:
            f.write(table)
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)


def write_figure_results(workdir: str, results: dict[str, Any], table: str | None,
                         draw: Callable[[str], object]) -> None:
    """A figure runner's outputs: on process 0 `draw(<workdir>/figures)` makes its figures,
    then `write_results` writes results.json (and `table` to results.md)."""
    os.makedirs(workdir, exist_ok=True)
    if jax.process_index() == 0:
        draw(os.path.join(workdir, "figures"))
    write_results(workdir, results, table)
