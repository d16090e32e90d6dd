"""One experiment swept over one config key (e.g. depth ablations), one table and one figure.

config.experiment names the base experiment file, config.key a dotted key of it and
config.grid a comma-separated list of values (parsed as the key's type). Each value trains in
<workdir>/<key>=<value> (so each resumes on its own) and records its point in
<workdir>/points/<index>/results.json; then the table goes to stdout, results.md and
results.json ("<key>=<value>/<metric>"), and the metric vs value curve to
figures/sweep.{png,pdf}.

As separate jobs (e.g. a SLURM job array, launch/slurm_array.sbatch): `--config.point=K` trains
grid point K only (0-based) and records it; afterwards `--config.collect=True` joins the
recorded points into the same table, figure and results.json the whole sweep writes.
"""

from __future__ import annotations

import json
import os
import time

import jax
import ml_collections

from gdm.config import load_config
from gdm.figures import new_figure, save
from gdm.train.logging import write_results
from gdm.train.loop import train_and_evaluate

ALL_POINTS = -1


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


def grid_values(config: ml_collections.ConfigDict) -> list[str]:
    """The raw values of config.grid, in order."""
    values = [v.strip() for v in config.grid.split(",") if v.strip()]
    if not values:
        raise ValueError("config.grid must list at least one value")
    return values


def point_path(workdir: str, index: int | str) -> str:
    """Where grid point `index` records its value, metrics and wall time."""
    return os.path.join(workdir, "points", str(index), "results.json")


def _sub_config(config: ml_collections.ConfigDict, raw: str):
    sub = load_config(config.experiment)
    value = _set(sub, config.key, raw)
    sub.seed = config.seed
    return sub, value


def train_point(config: ml_collections.ConfigDict, workdir: str, index: int) -> dict:
    """Trains grid point `index` in <workdir>/<key>=<value> and records it (process 0)."""
    raw = grid_values(config)[index]
    sub, _ = _sub_config(config, raw)
    start = time.perf_counter()
    out = train_and_evaluate(sub, os.path.join(workdir, f"{config.key}={raw}"), quiet=True)
    point = {"key": config.key, "value": raw, "seconds": time.perf_counter() - start,
             "results": out}
    if jax.process_index() == 0:
        path = point_path(workdir, index)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(point, f, indent=2, sort_keys=True)
    metric = config.get("metric", "eval/accuracy")
    print(f"{config.key}={raw}: {metric} {out[metric]:.4f} in {point['seconds']:.1f} s",
          flush=True)
    return point


def read_points(config: ml_collections.ConfigDict, workdir: str) -> list[dict]:
    """Every grid point's record; ValueError naming the missing or mismatched points."""
    values = grid_values(config)
    points, missing = [], []
    for index, raw in enumerate(values):
        path = point_path(workdir, index)
        if not os.path.exists(path):
            missing.append(index)
            continue
        with open(path) as f:
            point = json.load(f)
        if (point["key"], point["value"]) != (config.key, raw):
            raise ValueError(f"{path} records {point['key']}={point['value']}, but grid point "
                             f"{index} of config.key/config.grid is {config.key}={raw}")
        points.append(point)
    if missing:
        raise ValueError(f"config.collect: grid points {missing} of {len(values)} have no "
                         f"{point_path(workdir, 'K')}; run them with --config.point=K first")
    return points


def write_sweep(config: ml_collections.ConfigDict, workdir: str,
                points: list[dict]) -> dict[str, float]:
    """The sweep's table (stdout, results.md), results.json and figure from its points."""
    metric = config.get("metric", "eval/accuracy")
    results, rows = {}, []
    for point in points:
        _, value = _sub_config(config, point["value"])
        results.update({f"{config.key}={point['value']}/{k}": v
                        for k, v in point["results"].items()})
        rows.append((value, point["results"][metric], point["seconds"]))
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


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """The whole sweep, one grid point (config.point) or the join of recorded points
    (config.collect)."""
    values = grid_values(config)
    point = config.get("point", ALL_POINTS)
    collect = config.get("collect", False)
    if not isinstance(point, int) or isinstance(point, bool) or \
            not ALL_POINTS <= point < len(values):
        raise ValueError(f"config.point must be {ALL_POINTS} (every point) or a grid index in "
                         f"[0, {len(values)}) for config.grid {config.grid!r}, got {point!r}")
    if collect and point != ALL_POINTS:
        raise ValueError(f"config.collect=True joins every point; config.point must be "
                         f"{ALL_POINTS} with it, got {point}")
    if collect:
        return write_sweep(config, workdir, read_points(config, workdir))
    if point != ALL_POINTS:
        return train_point(config, workdir, point)["results"]
    return write_sweep(config, workdir, [train_point(config, workdir, i)
                                         for i in range(len(values))])
