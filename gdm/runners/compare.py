"""Runs several experiment configs one after another and prints one table of their results.

The README's default experiment is this runner over the digits classifiers. Each sub-run has
its own workdir (<workdir>/<name>) so it resumes like any run; the table goes to stdout,
<workdir>/results.md and <workdir>/results.json ("<name>/<metric>").
"""

from __future__ import annotations

import os
import time

import jax
import ml_collections

from gdm.config import load_config
from gdm.train.logging import write_results
from gdm.train.loop import train_and_evaluate


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    paths = [p.strip() for p in config.experiments.split(",") if p.strip()]
    if not paths:
        raise ValueError("config.experiments must list at least one experiment file")
    metric = config.get("metric", "eval/accuracy")
    results, rows = {}, []
    for path in paths:
        name = os.path.basename(path)[:-3]
        try:
            sub = load_config(path)
        except ValueError as e:
            raise ValueError(f"config.experiments: {e}") from None
        sub.seed = config.seed
        start = time.perf_counter()
        out = train_and_evaluate(sub, os.path.join(workdir, name), quiet=True)
        seconds = time.perf_counter() - start
        results.update({f"{name}/{k}": v for k, v in out.items()})
        rows.append((name, sub.model.name, out.get(metric, float("nan")), sub.num_train_steps,
                     seconds))
        print(f"{name}: {metric} {out.get(metric, float('nan')):.4f} in {seconds:.1f} s",
              flush=True)
    device = jax.devices()[0]
    lines = [f"| experiment | model | test {metric.split('/')[-1]} | steps | wall time (s) |",
             "|---|---|---|---|---|"]
    lines += [f"| {n} | {m} | {v:.2%} | {s} | {t:.1f} |" for n, m, v, s, t in rows]
    table = "\n".join(lines) + f"\n\nMeasured on {os.cpu_count()} CPU cores, jax " \
        f"{jax.__version__} on {device.platform} ({device.device_kind}); wall time includes " \
        "compilation.\n"
    write_results(workdir, results, table)
    return results
