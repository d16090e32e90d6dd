"""Every paper-style figure of gdm in one run: DIR/report.md and a self-contained DIR/report.html.

Runs each experiment of gdm/runners/_report_entries.py in DIR/<name> (config.only=a,b picks a
subset; config.mnist_dir adds the MNIST versions as <name>_mnist), one progress line per
experiment with elapsed time and ETA. An experiment's outcome is recorded in
DIR/<name>/report_entry.json as soon as it ends, so an interrupted report loses nothing: the
next run reuses every experiment that finished with the same config (config.force=True runs
them again). An experiment that raises is reported as failed, with its error, and the others
still run. Each experiment's own output goes to DIR/<name>/log.txt.

The report shows, per experiment, the checked claims (the paper's number beside ours with a
holds/differs mark), every figure, the results tables and the wall time, and at the top the
machine and library versions.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import shutil
import time
import traceback

import ml_collections

from gdm.config import load_config, names_in
from gdm.runners import _report_render as render
from gdm.runners import run_experiment
from gdm.runners._report_entries import ENTRIES, Entry

STATUS_FILE = "report_entry.json"


def selected_entries(config: ml_collections.ConfigDict) -> list[tuple[str, Entry, str]]:
    """(name, entry, setting) to run, setting in {"report", "tiny", "mnist"}; ValueError on an
    unknown name in config.only."""
    allowed = [e.name for e in ENTRIES] + [f"{e.name}_mnist" for e in ENTRIES if e.mnist_config]
    only = names_in(config.only, allowed, "only", what="experiments", empty_ok=True)
    setting = "tiny" if config.tiny else "report"
    chosen = []
    for entry in ENTRIES:
        if not only or entry.name in only:
            chosen.append((entry.name, entry, setting))
        if config.mnist_dir and entry.mnist_config and (not only or entry.name in only
                                                       or f"{entry.name}_mnist" in only):
            chosen.append((f"{entry.name}_mnist", entry, "mnist"))
    return chosen


def _set(config: ml_collections.ConfigDict, key: str, value) -> None:
    *path, leaf = key.split(".")
    node = config
    for part in path:
        node = node[part]
    if leaf not in node:
        raise ValueError(f"report override {key!r} is not a key of the experiment's config")
    node[leaf] = value


def entry_config(entry: Entry, setting: str, config: ml_collections.ConfigDict):
    """The experiment's config for one setting, with the report's seed."""
    path, overrides = {
        "report": (entry.config, entry.overrides),
        "tiny": (entry.tiny_config or entry.config, entry.tiny_overrides),
        "mnist": (entry.mnist_config, entry.mnist_overrides),
    }[setting]
    sub = load_config(path)
    for key, value in overrides.items():
        if isinstance(value, str):
            value = value.format(mnist_dir=config.mnist_dir)
        _set(sub, key, value)
    sub.seed = int(config.seed)
    return sub


def config_hash(config: ml_collections.ConfigDict) -> str:
    return hashlib.sha1(config.to_json(sort_keys=True).encode()).hexdigest()[:16]


def _read_status(directory: str) -> dict | None:
    path = os.path.join(directory, STATUS_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _write_status(directory: str, status: dict) -> None:
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, STATUS_FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(status, f, indent=2)
    os.replace(tmp, os.path.join(directory, STATUS_FILE))


def entry_findings(entry: Entry, sub: ml_collections.ConfigDict, results: dict,
                   others: dict) -> list[dict]:
    """The claims the experiment's runner (or the entry) checks on its results."""
    if entry.findings is not None:
        return entry.findings(results, sub, others)
    runner = sub.get("runner", "train")
    if runner == "train":
        return []
    module = importlib.import_module(f"gdm.runners.{runner}")
    return module.findings(results) if hasattr(module, "findings") else []


def run_entry(name: str, entry: Entry, sub: ml_collections.ConfigDict, directory: str,
              others: dict) -> dict:
    """Runs one experiment with its output in directory/log.txt; returns its status."""
    if os.path.isdir(directory):  # a failed or changed experiment starts from scratch
        shutil.rmtree(directory)
    os.makedirs(directory)
    start = time.perf_counter()
    status = {"name": name, "config_hash": config_hash(sub), "config": sub.to_dict()}
    with open(os.path.join(directory, "log.txt"), "w") as log, \
            contextlib.redirect_stdout(log):
        try:
            results = run_experiment(sub, directory)
            status.update(state="ok", results=render.jsonable(results))
        except Exception as e:  # noqa: BLE001 - any failure is reported, the rest still run
            traceback.print_exc(file=log)
            status.update(state="failed", error=f"{type(e).__name__}: {e}")
    status["seconds"] = time.perf_counter() - start
    if status["state"] == "ok":
        status = refresh_findings(entry, sub, status, others)
    _write_status(directory, status)
    return status


def refresh_findings(entry: Entry, sub: ml_collections.ConfigDict, status: dict,
                     others: dict) -> dict:
    """The status with its findings checked on its results (an error in them is recorded,
    the experiment still counts as run)."""
    status = {k: v for k, v in status.items() if k not in ("findings", "findings_error")}
    try:
        status["findings"] = entry_findings(entry, sub, status["results"], others)
    except Exception as e:  # noqa: BLE001
        status["findings_error"] = f"{type(e).__name__}: {e}"
    return status


def _progress(k: int, total: int, name: str, status: dict, reused: bool, elapsed: float,
              remaining: float) -> None:
    how = "reused" if reused else f"{status['state']} in {status['seconds']:.0f} s"
    print(f"[{k}/{total}] {name}: {how} (elapsed {elapsed:.0f} s, ETA {remaining:.0f} s)",
          flush=True)


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    chosen = selected_entries(config)
    os.makedirs(workdir, exist_ok=True)
    start, statuses, others = time.perf_counter(), [], {}
    expected = [e.seconds * (0.2 if s == "tiny" else 4.0 if s == "mnist" else 1.0)
                for _, e, s in chosen]
    for k, (name, entry, setting) in enumerate(chosen, 1):
        directory = os.path.join(workdir, name)
        try:
            sub = entry_config(entry, setting, config)
        except Exception as e:  # noqa: BLE001 - a config that does not load fails this one
            sub, reused = None, False
            status = {"name": name, "state": "failed", "seconds": 0.0,
                      "error": f"config: {type(e).__name__}: {e}"}
        if sub is not None:
            previous = _read_status(directory)
            reused = (not config.force and previous is not None and previous["state"] == "ok"
                      and previous["config_hash"] == config_hash(sub))
            if reused:  # the claims are checked again: findings code may have changed
                status = refresh_findings(entry, sub, previous, others)
            else:
                status = run_entry(name, entry, sub, directory, others)
        if status["state"] == "ok":
            others[name] = status["results"]
        statuses.append(status)
        elapsed = time.perf_counter() - start
        _progress(k, len(chosen), name, status, reused, elapsed, sum(expected[k:]))
    total = time.perf_counter() - start
    report = render.write_report(workdir, statuses, total)
    if config.publish_dir:
        render.publish(workdir, statuses, config.publish_dir)
    failed = [s["name"] for s in statuses if s["state"] != "ok"]
    print(f"report: {report['markdown']} and {report['html']} ({len(statuses)} experiments, "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}, {total:.0f} s)",
          flush=True)
    return {"experiments": len(statuses), "failed": failed, "seconds": total}
