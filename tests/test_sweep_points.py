"""A sweep as separate jobs: each grid point in its own process (--config.point=K), then
--config.collect=True, writes the table, results.json and figure of the whole sweep in one
process."""

from __future__ import annotations

import json

import pytest

from experiments.depth_ablation import get_config
from gdm.runners import sweep
from tests.helpers_train import cli

SWEEP = ["--config=experiments/depth_ablation.py:mlp",
         "--config.experiment=experiments/logreg_digits.py", "--config.key=num_train_steps",
         "--config.grid=20,40"]


def _finish(proc) -> str:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    return out


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """(in-process sweep workdir, points workdir): the whole sweep in one process and its two
    points as two processes started together, then the collect step."""
    whole, split = tmp_path_factory.mktemp("whole"), tmp_path_factory.mktemp("points")
    procs = [cli([*SWEEP, f"--workdir={whole}"])]
    procs += [cli([*SWEEP, f"--workdir={split}", f"--config.point={k}"]) for k in (0, 1)]
    for proc in procs:
        _finish(proc)
    assert not (split / "results.json").exists()  # a point writes only its own record
    out = _finish(cli([*SWEEP, f"--workdir={split}", "--config.collect=True"]))
    assert "| num_train_steps | eval/accuracy | wall time (s) |" in out
    return whole, split


def _without_wall_time(table: str) -> list[list[str]]:
    return [line.split("|")[1:-2] for line in table.splitlines() if line.strip()]


@pytest.mark.slow
def test_collected_points_make_the_in_process_sweep(sweeps):
    whole, split = sweeps
    assert _without_wall_time((split / "results.md").read_text()) == \
        _without_wall_time((whole / "results.md").read_text())
    assert json.loads((split / "results.json").read_text()) == \
        json.loads((whole / "results.json").read_text())
    assert (split / "figures" / "sweep.png").exists()
    for k, steps in enumerate((20, 40)):
        point = json.loads((split / "points" / str(k) / "results.json").read_text())
        assert point["key"] == "num_train_steps" and point["value"] == str(steps)
        assert (split / f"num_train_steps={steps}" / "results.json").exists()


def _config(**overrides):
    config = get_config("mlp")
    config.experiment, config.key, config.grid = ("experiments/logreg_digits.py",
                                                  "num_train_steps", "20,40")
    for key, value in overrides.items():
        config[key] = value
    return config


@pytest.mark.parametrize("point", [2, -2])
def test_point_out_of_range_names_the_allowed_values(point, tmp_path):
    with pytest.raises(ValueError, match=r"config\.point must be -1 .* \[0, 2\).*got "
                                         f"{point}"):
        sweep.run(_config(point=point), str(tmp_path))


def test_collect_names_the_missing_points(tmp_path):
    with pytest.raises(ValueError, match=r"grid points \[0, 1\] of 2 .*--config\.point=K"):
        sweep.run(_config(collect=True), str(tmp_path))
    with pytest.raises(ValueError, match=r"config\.point must be -1 with it, got 1"):
        sweep.run(_config(collect=True, point=1), str(tmp_path))


def test_collect_rejects_a_point_of_another_grid(tmp_path):
    for k, raw in enumerate(("20", "30")):
        (tmp_path / "points" / str(k)).mkdir(parents=True)
        (tmp_path / "points" / str(k) / "results.json").write_text(json.dumps(
            {"key": "num_train_steps", "value": raw, "seconds": 1.0, "results": {}}))
    with pytest.raises(ValueError, match="records num_train_steps=30, but grid point 1"):
        sweep.run(_config(collect=True), str(tmp_path))
