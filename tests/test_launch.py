"""Multi-process training through launch/local.sh.

The reference runs: experiments/cnn_digits.py:small (60 steps) as 1 process x 1 CPU device,
1 process x 2 devices and 2 processes x 1 device. Data parallelism must not change the numbers,
process 0 alone writes the run's files, a killed process stops the launch, and a relaunch
resumes from the last checkpoint to the same final loss.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from gdm.data.batching import TrainBatches, eval_batches
from gdm.train.parallel import initialize_distributed, process_slice
from tests.helpers_train import REPO, read_metrics, read_results

CONFIG = "experiments/cnn_digits.py:small"
STEPS = 60
LAYOUTS = {"1x1": (1, 1), "1x2": (1, 2), "2x1": (2, 1)}  # processes x devices per process
TOLERANCE = 1e-3  # relative, at every logged step


def launch(workdir, num_processes: int, devices: int) -> subprocess.Popen:
    """launch/local.sh on CPU with `devices` devices per process, in its own process group."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHON": sys.executable,
           "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
           "GDM_STOP_GRACE_S": "10"}
    cmd = ["bash", "launch/local.sh", f"--num_processes={num_processes}", CONFIG, str(workdir)]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 240) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The three layouts, started together: {name: (workdir, output)}."""
    dirs = {name: tmp_path_factory.mktemp(name) / "w" for name in LAYOUTS}
    procs = {name: launch(dirs[name], *LAYOUTS[name]) for name in LAYOUTS}
    outs = {name: finish(proc) for name, proc in procs.items()}
    return {name: (dirs[name], outs[name]) for name in LAYOUTS}


def _mesh_size(workdir) -> int:
    """The number of devices the final checkpoint's arrays are replicated over."""
    with open(os.path.join(workdir, "checkpoints", str(STEPS), "default", "_sharding")) as f:
        shardings = json.load(f)
    return len(json.loads(next(iter(shardings.values())))["device_mesh"]["mesh"])


def _by_step(workdir, key: str) -> dict[int, float]:
    return {r["step"]: r[key] for r in read_metrics(workdir) if key in r}


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("key", ["train/loss", "eval/accuracy", "eval/loss"])
def test_processes_and_devices_log_the_same_metrics(runs, key):
    values = {name: _by_step(runs[name][0], key) for name in LAYOUTS}
    reference = values["1x1"]
    assert len(reference) >= 2
    assert [_mesh_size(runs[name][0]) for name in LAYOUTS] == [1, 2, 2]
    for name in ("1x2", "2x1"):
        assert values[name].keys() == reference.keys(), name
        for step, value in reference.items():
            assert _rel(values[name][step], value) < TOLERANCE, (name, step)
    print(f"\n| step | {key} 1x1 | 1x2dev | 2proc | max rel diff |")
    for step in sorted(reference):
        row = [values[name][step] for name in LAYOUTS]
        diff = max(_rel(v, row[0]) for v in row[1:])
        print(f"| {step} | " + " | ".join(f"{v:.7f}" for v in row) + f" | {diff:.1e} |")


def _tree(workdir) -> set[str]:
    """The run's files with content-addressed names (orbax's d/ chunks) and TensorBoard event
    file names (time and host) replaced by placeholders."""
    paths = set()
    for root, _, files in os.walk(workdir):
        rel = os.path.relpath(root, workdir)
        for name in files:
            if os.path.basename(root) == "d":
                name = "<chunk>"
            elif name.startswith("events.out.tfevents."):
                name = "<events>"
            paths.add(os.path.normpath(os.path.join(rel, name)))
    return paths


@pytest.mark.slow
def test_process_zero_alone_writes_the_run_files(runs):
    workdir, out = runs["2x1"]
    single, _ = runs["1x1"]
    records = read_metrics(workdir)
    assert len(records) == len(read_metrics(single))
    keys = [(r["step"], tuple(sorted(r))) for r in records]
    assert len(keys) == len(set(keys)), "duplicated metrics lines"
    assert read_results(workdir).keys() == read_results(single).keys()
    # Process 1 writes no file of its own: the run's files are those of a 1-process run.
    assert _tree(workdir) == _tree(single)
    assert not [p for p in _tree(workdir) if "process_1" in p]
    events = [n for n in os.listdir(workdir / "tensorboard") if n.startswith("events.")]
    assert len(events) == 1, events
    steps = sorted(int(s) for s in os.listdir(workdir / "checkpoints") if s.isdigit())
    assert steps[-1] == STEPS
    lines = out.splitlines()
    assert any(line.startswith("[0] step ") for line in lines)
    assert not any(line.startswith("[1] step ") for line in lines)  # progress: process 0 only


def _processes(workdir) -> dict[int, tuple[int, str]]:
    """{pid: (process group, command line)} of the gdm.main processes training in `workdir`."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
            with open(f"/proc/{pid}/stat") as f:
                pgrp = int(f.read().rsplit(")", 1)[1].split()[2])
        except OSError:
            continue
        if "gdm.main" in args and f"--workdir={workdir}" in args:
            found[int(pid)] = (pgrp, " ".join(args))
    return found


def _in_groups(groups: set[int]) -> list[int]:
    """The live processes (gdm and its output filter) in the process groups `groups`."""
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups and fields[0] != "Z":
            left.append(int(pid))
    return left


def _lines(proc: subprocess.Popen) -> queue.Queue:
    """The launch's output lines, read by a thread (None at the end) so waits can time out."""
    lines: queue.Queue = queue.Queue()

    def read():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue, prefix: str | None, timeout: float, seen: list[str]) -> None:
    """Collects lines into `seen` until one starts with `prefix` (None: until the end)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"no {prefix!r} in {timeout} s\n"
                                 + "".join(seen)[-3000:]) from None
        if line is None:
            assert prefix is None, f"launch ended before {prefix!r}\n" + "".join(seen)[-3000:]
            return
        seen.append(line)
        if prefix is not None and line.startswith(prefix):
            return


@pytest.mark.slow
def test_killed_process_stops_the_launch_and_relaunch_resumes(runs, tmp_path):
    workdir = tmp_path / "w"
    proc = launch(workdir, 2, 1)
    lines, seen, groups = _lines(proc), [], set()
    try:
        deadline = time.monotonic() + 60
        while len(found := _processes(workdir)) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, found
            time.sleep(0.2)
        groups = {pgrp for pgrp, _ in found.values()}
        victim = next(pid for pid, (_, args) in found.items() if "--process_id=1" in args)
        _wait_for(lines, "[0] step 20/", 180, seen)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        _wait_for(lines, None, 60, seen)
        proc.wait(timeout=max(60 - (time.monotonic() - killed), 1))
        assert time.monotonic() - killed < 60
        assert proc.returncode != 0, "".join(seen)[-3000:]
        assert not _in_groups(groups), "processes left after the launch ended"
    finally:
        for group in groups | {proc.pid}:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert not os.path.exists(workdir / "results.json")
    out = finish(launch(workdir, 2, 1))
    resumed = re.search(r"^\[0\] resumed from checkpoint at step (\d+)$", out, re.M)
    assert resumed, out[-3000:]
    assert 10 <= int(resumed.group(1)) < STEPS
    reference = runs["2x1"][0]
    final, expected = read_results(workdir), read_results(reference)
    assert final.keys() == expected.keys()
    for key, value in expected.items():
        assert _rel(final[key], value) <= 1e-6, key
    loss, loss_reference = _by_step(workdir, "train/loss"), _by_step(reference, "train/loss")
    assert loss.keys() == loss_reference.keys()  # the resumed metrics file has no gaps
    assert _rel(loss[STEPS], loss_reference[STEPS]) <= 1e-6


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
                                    for r in range(process_count)], strict=True)):
        for key in ("x", "y"):
            np.testing.assert_array_equal(np.concatenate([b[key] for b in batch]), full[i][key])
        np.testing.assert_array_equal(np.concatenate([b["mask"] for b in batch]),
                                      full[i]["mask"])


def test_process_slice_rejects_an_indivisible_batch():
    with pytest.raises(ValueError, match="batch size 10"):
        process_slice(10, 0, 4)


@pytest.mark.parametrize("args,named", [
    (("127.0.0.1:1234", 2, 2), r"--process_id must be in \[0, 2\), got 2"),
    (("127.0.0.1:1234", 0, 0), "--num_processes must be >= 1, got 0"),
    (("127.0.0.1:1234", None, 0), "give all three or none"),
])
def test_initialize_distributed_rejects_bad_flags(args, named):
    with pytest.raises(ValueError, match=named):
        initialize_distributed(*args)
