"""Experiment configs: each loads and validates; the tfds ones run a step on tfds mock data."""

from __future__ import annotations

import glob
import importlib
import inspect
import json
import math
import os

import pytest

from gdm.config import load_config, names_in
from gdm.train.config import validate
from gdm.train.loop import train_and_evaluate
from tests.helpers_train import REPO

CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "experiments",
                                                                          "*.py"))
                 if not os.path.basename(p).startswith("_"))


@pytest.mark.parametrize("name", CONFIGS)
def test_config_loads_and_validates(name):
    config = importlib.import_module(f"experiments.{name}").get_config()
    if config.get("runner", "train") == "train":
        validate(config)
        return
    run = importlib.import_module(f"gdm.runners.{config.runner}").run
    assert list(inspect.signature(run).parameters) == ["config", "workdir"]
    # Runners that train other experiments: every file they name loads and validates, and a
    # swept key exists in the base experiment.
    for path in filter(None, (p.strip() for p in config.get("experiments", "").split(","))):
        validate(load_config(path))
    if "experiment" in config:
        base = load_config(config.experiment)
        node = base
        for part in config.key.split("."):
            assert part in node, f"{name}: config.key {config.key} not in {config.experiment}"
            node = node[part]


@pytest.mark.parametrize("name,overrides", [
    ("cnn_mnist", {}),
    ("resnet_cifar10", {"model.depth": 8, "model.width": 4}),
])
def test_tfds_experiment_runs_on_mock_data(name, overrides, tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    config = importlib.import_module(f"experiments.{name}").get_config()
    for key, value in overrides.items():
        section, leaf = key.split(".")
        config[section][leaf] = value
    config.batch_size = 8
    config.eval_batch_size = 8
    config.num_train_steps = 2
    config.log_every_steps = 1
    with tfds.testing.mock_data(num_examples=16):
        results = train_and_evaluate(config, str(tmp_path), quiet=True)
    # Random mock labels: the number is not a finding, but it must count each of the 16 test
    # examples once (padded eval batches masked out), and the logged losses must be finite.
    correct = results["eval/accuracy"] * 16
    assert abs(correct - round(correct)) < 1e-4
    losses = [json.loads(line)["train/loss"] for line in open(tmp_path / "metrics.jsonl")
              if "train/loss" in line]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)


def test_cnn_mnist_offline_on_the_real_idx_files(mnist_dir, tmp_path):
    config = importlib.import_module("experiments.cnn_mnist").get_config()
    config.dataset.name = "mnist_idx"
    config.dataset.data_dir = mnist_dir
    config.num_train_steps = 150
    config.log_every_steps = 50
    results = train_and_evaluate(config, str(tmp_path), quiet=True)
    assert results["eval/accuracy"] > 0.85  # 150 steps of LeNet-5 on 8,000 real digits


def test_compare_runner_prints_and_writes_a_table(tmp_path, capsys):
    from gdm.runners import compare

    config = importlib.import_module("experiments.digits_classifiers").get_config()
    config.experiments = "experiments/logreg_digits.py"
    results = compare.run(config, str(tmp_path))
    assert results["logreg_digits/eval/accuracy"] >= 0.95
    table = (tmp_path / "results.md").read_text()
    assert "| logreg_digits | logistic_regression |" in table
    assert table.splitlines()[0] in capsys.readouterr().out
    assert json.loads((tmp_path / "results.json").read_text()) == results
    config.experiments = "experiments/no_such.py"
    with pytest.raises(ValueError, match="config.experiments"):
        compare.run(config, str(tmp_path / "bad"))


def test_sweep_runner_sets_the_key_and_tabulates(tmp_path):
    from gdm.runners import sweep

    config = importlib.import_module("experiments.depth_ablation").get_config("mlp")
    config.experiment = "experiments/logreg_digits.py"
    config.key = "num_train_steps"
    config.grid = "20,300"
    results = sweep.run(config, str(tmp_path))
    assert results["num_train_steps=300/eval/accuracy"] > results[
        "num_train_steps=20/eval/accuracy"]
    assert (tmp_path / "num_train_steps=300" / "results.json").exists()
    assert (tmp_path / "figures" / "sweep.png").exists()
    config.key = "model.no_such"
    with pytest.raises(ValueError, match="config.key"):
        sweep.run(config, str(tmp_path / "bad"))


def test_names_in_splits_a_list_and_names_the_key_on_bad_names():
    assert names_in(" b, a ,,", ("a", "b", "c"), "models") == ["b", "a"]
    assert names_in("", ("a",), "only", empty_ok=True) == []
    with pytest.raises(ValueError, match=r"config.models: unknown models x, y; choose from a, b"):
        names_in("a,x,y", ("a", "b"), "models", what="models")
    with pytest.raises(ValueError, match="config.only must name at least one of a"):
        names_in(" , ", ("a",), "only")
