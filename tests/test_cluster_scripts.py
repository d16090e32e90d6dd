"""The cluster launch scripts' dry runs: the commands they would run, parsed as a shell would
(no SLURM or gcloud needed)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess

import pytest

from tests.helpers_train import REPO

CONFIG = "experiments/cnn_digits.py:small"
OVERRIDES = ["--config.seed=3", "--config.dataset.data_dir=/data/with space/it's"]


def dry_run(script: str, *args: str, env: dict | None = None,
            flag: bool = False) -> list[str]:
    """The lines `script` prints in a dry run (DRY_RUN=1, or --dry_run when `flag`)."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith("SLURM_") and k not in ("PROJECT", "PYTHON", "GDM_DIR")}
    full_env.update(env or {})
    if not flag:
        full_env["DRY_RUN"] = "1"
    cmd = ["bash", f"launch/{script}", *(["--dry_run"] if flag else []), *args]
    out = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def sbatch_options(script: str) -> dict[str, str]:
    with open(os.path.join(REPO, "launch", script)) as f:
        pairs = re.findall(r"^#SBATCH --([\w-]+)(?:=(\S+))?", f.read(), re.M)
    return {key: value for key, value in pairs}


@pytest.mark.parametrize("flag", [False, True])
def test_slurm_dry_run_prints_one_srun_of_gdm_per_gpu(flag):
    lines = dry_run("slurm.sbatch", CONFIG, "/shared/runs/r", *OVERRIDES, flag=flag,
                    env={"SLURM_JOB_ID": "1234"})
    assert shlex.split(lines[0]) == [
        "srun", "--kill-on-bad-exit=1", "python", "-m", "gdm.main", "--distributed",
        f"--config={CONFIG}", "--workdir=/shared/runs/r", *OVERRIDES]
    assert lines[1:] == ["# on exit status 143 (SIGTERM; a checkpoint was saved):",
                         "scontrol requeue 1234"]
    options = sbatch_options("slurm.sbatch")
    assert options["ntasks-per-node"] == options["gpus-per-node"]  # one process per GPU
    assert "gpus-per-task" not in options  # each task sees all GPUs; JAX picks SLURM_LOCALID's
    assert "requeue" in options and options["signal"].startswith("TERM@")


def test_slurm_array_dry_run_trains_the_task_point_then_collects():
    lines = dry_run("slurm_array.sbatch", "experiments/depth_ablation.py:resnet", "/shared/d",
                    *OVERRIDES, env={"SLURM_ARRAY_TASK_ID": "2", "PYTHON": "python3"})
    assert shlex.split(lines[0]) == [
        "srun", "python3", "-m", "gdm.main", "--config=experiments/depth_ablation.py:resnet",
        "--workdir=/shared/d", "--config.point=2", *OVERRIDES]
    assert lines[-1] == "scontrol requeue $SLURM_JOB_ID"
    collect = dry_run("slurm_array.sbatch", "--collect", "experiments/depth_ablation.py:resnet",
                      "/shared/d", flag=True)
    assert shlex.split(collect[0])[-1] == "--config.collect=True"
    options = sbatch_options("slurm_array.sbatch")
    assert options["ntasks"] == "1" and options["gpus"] == "1"
    assert "requeue" in options and options["signal"].startswith("TERM@")


def test_slurm_array_without_a_task_id_names_it():
    out = subprocess.run(["bash", "launch/slurm_array.sbatch", "--dry_run", CONFIG, "/w"],
                         cwd=REPO, capture_output=True, text=True, timeout=30,
                         env={k: v for k, v in os.environ.items() if not k.startswith("SLURM_")})
    assert out.returncode == 2 and "SLURM_ARRAY_TASK_ID" in out.stderr and "--array" in out.stderr


@pytest.mark.parametrize("flag", [False, True])
def test_tpu_vm_dry_run_prints_one_gcloud_ssh_to_every_worker(flag):
    lines = dry_run("tpu_vm.sh", "my-tpu", "us-central2-b", CONFIG, "/mnt/runs/r", *OVERRIDES,
                    flag=flag, env={"PROJECT": "my-project"})
    assert len(lines) == 1
    argv = shlex.split(lines[0])
    assert argv[:-1] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "my-tpu",
                         "--zone=us-central2-b", "--worker=all", "--project=my-project"]
    remote = argv[-1].removeprefix("--command=")
    assert remote.startswith("cd ~/gdm && ")
    assert shlex.split(remote.removeprefix("cd ~/gdm && ")) == [
        "python3", "-m", "gdm.main", "--distributed", f"--config={CONFIG}",
        "--workdir=/mnt/runs/r", *OVERRIDES]


def test_local_dry_run_prints_one_process_per_id():
    lines = dry_run("local.sh", "--num_processes=2", CONFIG, "/tmp/w", *OVERRIDES,
                    env={"PYTHON": "python"})
    assert [shlex.split(line) for line in lines] == [
        ["python", "-m", "gdm.main", f"--config={CONFIG}", "--workdir=/tmp/w",
         "--coordinator_address=127.0.0.1:PORT", "--num_processes=2", f"--process_id={i}",
         *OVERRIDES] for i in range(2)]
