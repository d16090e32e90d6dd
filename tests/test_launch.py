"""Multi-process training through launch/local.sh, and the cluster scripts' dry runs.

The reference runs: experiments/cnn_digits.py, a few steps, as 1 process x 1 CPU device,
1 process x 2 devices and 2 processes x 1 device. Data parallelism must not change the numbers,
process 0 alone writes the run's files, a killed process stops the launch, and a relaunch
resumes from the last checkpoint to the same final loss.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from gdm.data.batching import TrainBatches, eval_batches
from gdm.train.parallel import process_slice
from tests.helpers_train import REPO, read_metrics, read_results

CONFIG = "experiments/cnn_digits.py"
STEPS = 60
OVERRIDES = [f"--config.num_train_steps={STEPS}", "--config.log_every_steps=10",
             "--config.eval_every_steps=30", "--config.checkpoint_every_steps=10",
             "--config.eval_batch_size=128"]


def launch(workdir, num_processes: int, devices: int, *extra: str) -> subprocess.Popen:
    """launch/local.sh as a real process group on CPU with `devices` devices per process."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHON": sys.executable,
           "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
           "GDM_STOP_GRACE_S": "10"}
    cmd = ["bash", "launch/local.sh", f"--num_processes={num_processes}", CONFIG,
           str(workdir), *OVERRIDES, *extra]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 240) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The three layouts, started together (each is a few compilations)."""
    layouts = {"1x1": (1, 1), "1x2": (1, 2), "2x1": (2, 1)}
    dirs = {name: tmp_path_factory.mktemp(name) / "w" for name in layouts}
    procs = {name: launch(dirs[name], *layouts[name]) for name in layouts}
    outs = {name: finish(proc) for name, proc in procs.items()}
    return {name: (dirs[name], outs[name]) for name in layouts}


def _by_step(records: list[dict], key: str) -> dict[int, float]:
    return {r["step"]: r[key] for r in records if key in r}


def loss_table(runs) -> list[tuple[int, float, float, float]]:
    """(step, loss 1x1, 1x2, 2x1) at every logged step."""
    losses = {name: _by_step(read_metrics(d), "train/loss") for name, (d, _) in runs.items()}
    return [(s, losses["1x1"][s], losses["1x2"][s], losses["2x1"][s])
            for s in sorted(losses["1x1"])]


@pytest.mark.slow
@pytest.mark.parametrize("key", ["train/loss", "eval/accuracy", "eval/loss"])
def test_processes_and_devices_log_the_same_metrics(runs, key):
    reference = _by_step(read_metrics(runs["1x1"][0]), key)
    assert len(reference) >= 2
    for name in ("1x2", "2x1"):
        other = _by_step(read_metrics(runs[name][0]), key)
        assert other.keys() == reference.keys(), name
        for step, value in reference.items():
            assert abs(other[step] - value) <= 1e-3 * max(abs(value), 1e-6), (name, step)
    for step, a, b, c in loss_table(runs):
        print(f"step {step}: loss 1x1 {a:.6f}  1x2 {b:.6f}  2x1 {c:.6f}")


@pytest.mark.slow
def test_process_zero_alone_writes_the_run_files(runs):
    workdir, out = runs["2x1"]
    records = read_metrics(workdir)
    keys = [(r["step"], tuple(sorted(r))) for r in records]
    assert len(keys) == len(set(keys)), "duplicated metrics lines"
    assert len(records) == len(read_metrics(runs["1x1"][0]))
    assert read_results(workdir).keys() == read_results(runs["1x1"][0]).keys()
    lines = out.splitlines()
    assert any(line.startswith("[0] step ") for line in lines)
    assert not any(line.startswith("[1] step ") for line in lines)  # progress: process 0 only
    steps = sorted(int(s) for s in os.listdir(workdir / "checkpoints") if s.isdigit())
    assert steps[-1] == STEPS
    for step in steps:
        files = os.listdir(workdir / "checkpoints" / str(step) / "default")
        assert "ocdbt.process_0" in files and "ocdbt.process_1" not in files, files


def _wait_for_line(proc: subprocess.Popen, prefix: str, timeout: float) -> list[str]:
    seen, deadline = [], time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line)
        if line.startswith(prefix):
            return seen
        assert time.monotonic() < deadline, "".join(seen)[-3000:]
    raise AssertionError("launch ended before " + prefix + "\n" + "".join(seen)[-3000:])


def _gdm_pid(launcher: subprocess.Popen, process_id: int) -> int:
    """The pid of the gdm.main process with --process_id=`process_id` under `launcher`."""
    out = subprocess.run(["ps", "-eo", "pid,pgid,args"], capture_output=True, text=True).stdout
    for line in out.splitlines()[1:]:
        pid, _, args = line.strip().split(None, 2)
        if "gdm.main" in args and f"--process_id={process_id}" in args and \
                str(launcher.args[4]) in args:
            return int(pid)
    raise AssertionError("no gdm.main process with --process_id=1\n" + out)


@pytest.mark.slow
def test_killed_process_stops_the_launch_and_relaunch_resumes(runs, tmp_path):
    workdir = tmp_path / "w"
    proc = launch(workdir, 2, 1)
    try:
        _wait_for_line(proc, "[0] step 20/", timeout=180)
        os.kill(_gdm_pid(proc, 1), signal.SIGKILL)
        killed = time.monotonic()
        proc.stdout.read()
        proc.wait(timeout=60)
        assert time.monotonic() - killed < 60
        assert proc.returncode != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not os.path.exists(workdir / "results.json")
    out = finish(launch(workdir, 2, 1))
    assert "[0] resumed from checkpoint at step " in out
    resumed_at = int(out.split("resumed from checkpoint at step ")[1].split()[0])
    assert 10 <= resumed_at < STEPS
    final = {k: v for k, v in read_results(workdir).items() if k.startswith("eval/")}
    reference = read_results(runs["2x1"][0])
    for key, value in final.items():
        assert abs(value - reference[key]) <= 1e-6 * max(abs(reference[key]), 1.0), key
    last = [r for r in read_metrics(workdir) if "train/loss" in r][-1]
    last_reference = [r for r in read_metrics(runs["2x1"][0]) if "train/loss" in r][-1]
    assert last["step"] == STEPS and abs(last["train/loss"] - last_reference["train/loss"]) <= \
        1e-6 * abs(last_reference["train/loss"])


# The data each process loads: disjoint shards that together are the global batch.
@pytest.mark.parametrize("process_count", [2, 4])
def test_process_shards_are_disjoint_and_cover_the_batch(process_count):
    x = np.arange(1000, dtype=np.float32)[:, None]
    y = np.arange(1000)
    batch_size = 64
    whole = TrainBatches(x, y, batch_size, seed=3)
    shards = [TrainBatches(x, y, batch_size, seed=3,
                           rows=process_slice(batch_size, i, process_count))
              for i in range(process_count)]
    for step in (0, 1, whole.steps_per_epoch, 5 * whole.steps_per_epoch + 2):
        parts = [s.indices(step) for s in shards]
        assert all(len(p) == batch_size // process_count for p in parts)
        joined = np.concatenate(parts)
        assert len(set(joined.tolist())) == batch_size  # disjoint
        np.testing.assert_array_equal(joined, whole.indices(step))  # in the global order
    full = list(eval_batches(x, y, 96))
    for i, batch in enumerate(zip(*[eval_batches(x, y, 96, process_slice(96, r, process_count))
                                    for r in range(process_count)])):
        np.testing.assert_array_equal(np.concatenate([b["y"] for b in batch]), full[i]["y"])
        np.testing.assert_array_equal(np.concatenate([b["mask"] for b in batch]),
                                      full[i]["mask"])


def test_process_slice_rejects_an_indivisible_batch():
    with pytest.raises(ValueError, match="batch size 10"):
        process_slice(10, 0, 4)
