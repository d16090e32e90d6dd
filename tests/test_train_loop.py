"""The one training loop: exact resume, data parallelism, NaN stop, preemption, config errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from gdm.train.loop import NonFiniteLossError, train_and_evaluate
from tests.helpers_train import REPO, cli, config_file, read_metrics, read_results, tiny_bn_config


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """One full run of the tiny batch-norm config, the reference for the resume tests."""
    workdir = tmp_path_factory.mktemp("uninterrupted")
    config = tiny_bn_config()
    results = train_and_evaluate(config, str(workdir), quiet=True)
    return config, workdir, results


def test_run_writes_the_documented_files(uninterrupted):
    _, workdir, results = uninterrupted
    assert set(results) == {"eval/loss", "eval/accuracy"}
    metrics = read_metrics(workdir)
    train = [m for m in metrics if "train/loss" in m]
    assert [m["step"] for m in train] == list(range(4, 25, 4))
    assert all("steps_per_sec" in m and "train/accuracy" in m for m in train)
    assert [m["step"] for m in metrics if "eval/accuracy" in m] == [12, 24]
    assert sorted(os.listdir(workdir / "checkpoints")) == ["18", "24"]  # keep_checkpoints=2
    assert any(name.startswith("events.out.tfevents") for name in
               os.listdir(workdir / "tensorboard"))


def test_same_seed_same_numbers_and_rerun_is_a_noop(uninterrupted, tmp_path):
    config, workdir, results = uninterrupted
    again = train_and_evaluate(config, str(tmp_path), quiet=True)
    assert again == results
    assert train_and_evaluate(config, str(workdir), quiet=True) == results  # resumes at the end


def test_sigkill_then_rerun_matches_uninterrupted(uninterrupted, tmp_path):
    config, _, reference = uninterrupted
    config = tiny_bn_config(num_train_steps=300, checkpoint_every_steps=10, log_every_steps=10,
                            eval_every_steps=300)
    full = train_and_evaluate(config, str(tmp_path / "full"), quiet=True)
    path = config_file(tmp_path, config)
    workdir = tmp_path / "killed"
    proc = cli([f"--config={path}", f"--workdir={workdir}"])
    deadline = time.time() + 120
    while time.time() < deadline and not (workdir / "checkpoints" / "20").is_dir():
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    steps = sorted(int(s) for s in os.listdir(workdir / "checkpoints") if s.isdigit())
    assert steps and steps[-1] < 300
    rerun = cli([f"--config={path}", f"--workdir={workdir}"])
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "resumed from checkpoint" in out
    resumed = read_results(workdir)
    assert resumed.keys() == full.keys()
    for key in full:
        assert abs(resumed[key] - full[key]) <= 1e-6, key
    logged = [m["step"] for m in read_metrics(workdir) if "train/loss" in m]
    assert logged == sorted(set(logged))  # no step logged twice after the resume


def test_sigterm_saves_a_checkpoint_and_exits_143(tmp_path):
    config = tiny_bn_config(num_train_steps=100000, checkpoint_every_steps=50000)
    path = config_file(tmp_path, config)
    proc = cli([f"--config={path}", f"--workdir={tmp_path / 'w'}"])
    deadline = time.time() + 120
    while time.time() < deadline and not (tmp_path / "w" / "metrics.jsonl").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    saved = [s for s in os.listdir(tmp_path / "w" / "checkpoints") if s.isdigit()]
    assert len(saved) == 1 and 0 < int(saved[0]) < 100000
    assert f"checkpoint at step {saved[0]}" in err


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    # The learning rate ramps from 0 (a no-op first step) to absurd values: divergence comes
    # after at least one good checkpoint.
    config = tiny_bn_config(num_train_steps=60, checkpoint_every_steps=1, log_every_steps=30)
    config.optimizer.name = "sgd"
    config.optimizer.learning_rate = 1e6
    config.optimizer.warmup_steps = 50
    with pytest.raises(NonFiniteLossError, match=r"NaN or Inf at step (\d+)") as err:
        train_and_evaluate(config, str(tmp_path), quiet=True)
    bad_step = int(err.value.args[0].split("at step ")[1].split(";")[0])
    saved = [int(s) for s in os.listdir(tmp_path / "checkpoints") if s.isdigit()]
    assert saved and max(saved) <= bad_step


def test_data_parallel_on_4_devices_matches_1_device(uninterrupted, tmp_path):
    config, workdir, _ = uninterrupted
    script = textwrap.dedent(f"""
        import jax, json
        assert jax.device_count() == 4, jax.devices()
        from gdm.train.loop import train_and_evaluate
        from tests.helpers_train import tiny_bn_config
        try:
            train_and_evaluate(tiny_bn_config(batch_size=30), {str(tmp_path / 'bad')!r})
        except ValueError as e:
            print("BATCH_ERROR", e)
        train_and_evaluate(tiny_bn_config(), {str(tmp_path / 'dp')!r}, quiet=True)
    """)
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "not divisible by the number of devices (4)" in proc.stdout
    one = [m["train/loss"] for m in read_metrics(workdir) if "train/loss" in m]
    four = [m["train/loss"] for m in read_metrics(tmp_path / "dp") if "train/loss" in m]
    assert len(one) == len(four) == 6
    np.testing.assert_allclose(four, one, rtol=1e-3)
