"""One experiment swept over one config key (e.g. depth ablations), one table and one figure.

config.experiment names the base experiment file, config.key a dotted key of it and
config.grid a comma-separated list of values (parsed as the key's type). Each value trains in
<workdir>/<key>=<value> (so each resumes on its own), then the table goes to stdout,
results.md and results.json ("<key>=<value>/<metric>"), and the metric vs value curve to
figures/sweep.{png,pdf}.
"""

from __future__ import annotations

import os
import time

import jax
import ml_collections

from gdm.config import load_config
from gdm.figures import new_figure, save
from gdm.train.logging import write_results
from gdm.train.loop import train_and_evaluate


def _set(config: ml_collections.ConfigDict, key: str, raw: str):
    *path, leaf = key.split(".")
    node = config
    for part in path:
        if part not in node:
            raise ValueError(f"config.key {key!r} is not a key of the base experiment")
        node = node[part]
    if leaf not in node:
        raise ValueError(f"config.key {key!r} is not a key of the base experiment")
    kind = type(node[leaf])
    value = kind(raw) if kind is not bool else raw.lower() in ("1", "true", "yes")
    node[leaf] = value
    return value


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    values = [v.strip() for v in config.grid.split(",") if v.strip()]
    if not values:
        raise ValueError("config.grid must list at least one value")
    metric = config.get("metric", "eval/accuracy")
    results, rows = {}, []
    for raw in values:
        sub = load_config(config.experiment)
        value = _set(sub, config.key, raw)
        sub.seed = config.seed
        start = time.perf_counter()
        out = train_and_evaluate(sub, os.path.join(workdir, f"{config.key}={raw}"), quiet=True)
        seconds = time.perf_counter() - start
        results.update({f"{config.key}={raw}/{k}": v for k, v in out.items()})
        rows.append((value, out[metric], seconds))
        print(f"{config.key}={raw}: {metric} {out[metric]:.4f} in {seconds:.1f} s", flush=True)
    lines = [f"| {config.key} | {metric} | wall time (s) |", "|---|---|---|"]
    lines += [f"| {v} | {m:.4f} | {t:.1f} |" for v, m, t in rows]
    table = "\n".join(lines) + "\n"
    if jax.process_index() == 0:
        fig, ax = new_figure()
        ax.plot([r[0] for r in rows], [r[1] for r in rows], "o-")
        ax.set(xlabel=config.key, ylabel=metric, title=os.path.basename(config.experiment))
        save(fig, os.path.join(workdir, "figures"), "sweep")
    write_results(workdir, results, table)
    return results
