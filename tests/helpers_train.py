"""Small configs and subprocess helpers for the training-loop tests (shared with model tests)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

from gdm.train.config import base

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_bn_config(**overrides):
    """A batch-norm MLP on digits: cheap to compile, yet exercises every mechanism of the loop
    (model state, dropout RNG, optimizer state, checkpoints)."""
    c = base(task="classify", dataset="digits", model="mlp")
    c.dataset.flatten = True
    c.model.depth = 2
    c.model.width = 32
    c.model.batch_norm = True
    c.model.dropout = 0.1
    c.batch_size = 32
    c.eval_batch_size = 128
    c.num_train_steps = 24
    c.log_every_steps = 4
    c.eval_every_steps = 12
    c.checkpoint_every_steps = 6
    for key, value in overrides.items():
        c[key] = value
    return c


def small_schedule(c, steps: int, *, batch_size: int = 64, eval_batch_size: int | None = 400,
                   log_every: int = 50, eval_every: int | None = None,
                   checkpoint_every: int = 100, learning_rate: float = 3e-3, **overrides):
    """Sets a short training schedule on config c (one evaluation at the end unless eval_every;
    eval_batch_size None keeps the config's), then `overrides`."""
    c.batch_size = batch_size
    if eval_batch_size is not None:
        c.eval_batch_size = eval_batch_size
    c.num_train_steps = steps
    c.log_every_steps = log_every
    c.eval_every_steps = eval_every or steps
    c.checkpoint_every_steps = checkpoint_every
    c.optimizer.learning_rate = learning_rate
    for key, value in overrides.items():
        c[key] = value
    return c


def config_file(tmp_path, config) -> str:
    """Writes a config file whose get_config() returns `config` (for CLI subprocesses)."""
    path = tmp_path / "config.py"
    path.write_text("import ml_collections\n\n"
                    f"def get_config(arg=None):\n    return ml_collections.ConfigDict("
                    f"{config.to_dict()!r})\n")
    return str(path)


def cli(args: list[str], env: dict | None = None, **kwargs) -> subprocess.Popen:
    full_env = {**os.environ, "JAX_PLATFORMS": "cpu", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "gdm.main", *args], cwd=REPO, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def read_results(workdir) -> dict:
    with open(os.path.join(workdir, "results.json")) as f:
        return json.load(f)


def read_metrics(workdir) -> list[dict]:
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def assert_resume_matches(first, full, workdir, reference: dict, tolerance: float = 1e-6):
    """Trains `first` (a shorter run) in `workdir`, reruns `full` there, which resumes from the
    checkpoint, and asserts its results equal `reference` (an uninterrupted run of `full`)."""
    from gdm.train.loop import train_and_evaluate

    train_and_evaluate(first, str(workdir), quiet=True)
    resumed = train_and_evaluate(full, str(workdir), quiet=True)
    assert resumed.keys() == reference.keys()
    for key, value in reference.items():
        assert abs(resumed[key] - value) <= tolerance, key
    return resumed


def experiment_config(name: str, arg: str | None = "tiny", **overrides):
    """experiments/<name>.py's config for `arg` (its tiny test setting by default), with keys
    overridden; a nested key is given with dots, as a `**{"cnn.steps": 5}` keyword."""
    config = importlib.import_module(f"experiments.{name}").get_config(arg)
    for key, value in overrides.items():
        *path, leaf = key.split(".")
        node = config
        for part in path:
            node = node[part]
        node[leaf] = value
    return config


def run_tiny(runner, name: str, tmp_path_factory):
    """(results, workdir) of `runner.run` on experiments/<name>.py's tiny setting, in a fresh
    directory: the module-scoped run an experiment's tests share."""
    workdir = tmp_path_factory.mktemp(name)
    return runner.run(experiment_config(name), str(workdir)), workdir


def run_on_cpu_devices(script: str, n_devices: int = 4, timeout: float = 300) -> str:
    """stdout of `python -c script` in a process with n_devices forced CPU devices (JAX fixes
    the device count at start-up, so it takes a process of its own); fails on a non-zero
    exit with the process's stderr."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={n_devices}"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout
