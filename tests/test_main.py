"""The command line: every bad config fails at start, non-zero, naming the key, no traceback."""

from __future__ import annotations

import pytest

from tests.helpers_train import cli

CONFIG = "experiments/mlp_digits.py"


# Real processes for what only the command line can get wrong (parsing) plus one of each kind
# of validation; the other keys are checked in-process below (a process costs seconds).
CASES = [
    ("--config.no_such_key=3", "config.no_such_key"),
    ("--config.model.widht=3", "config.model.widht"),
    ("--config.batch_size=abc", "config.batch_size"),
    ("--config.batch_size=0", "config.batch_size"),
    ("--config.dataset.name=no_such_set", "config.dataset.name"),
    ("--config.dataset.data_dir=/no/such/dir", "config.dataset.data_dir"),
]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """Every case as a real process, all started at once (flags parse once per process)."""
    procs = {}
    for override, _ in CASES:
        workdir = tmp_path_factory.mktemp("w")
        procs[override] = cli([f"--config={CONFIG}", f"--workdir={workdir}", override])
    return {k: (p.communicate(timeout=300), p.returncode) for k, p in procs.items()}


@pytest.mark.parametrize("override,named", CASES)
def test_bad_config_exits_naming_the_key(override, named, finished):
    (out, err), code = finished[override]
    assert code != 0
    assert "Traceback" not in err
    assert "gdm: error:" in err and named in err.split("gdm: error:")[1]


def test_mnist_idx_dir_without_files(tmp_path):
    proc = cli([f"--config={CONFIG}", f"--workdir={tmp_path / 'w'}",
                "--config.dataset.name=mnist_idx", f"--config.dataset.data_dir={tmp_path}"])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Traceback" not in err
    assert "dataset.data_dir" in err and "no MNIST-format IDX files" in err


@pytest.mark.parametrize("key,value", [
    ("batch_size", -8), ("num_train_steps", 0), ("log_every_steps", -1), ("eval_batch_size", 0),
    ("checkpoint_every_steps", 0), ("keep_checkpoints", 0), ("task", "no_such_task"),
    ("model.name", "no_such_model"), ("optimizer.name", "rmsprop"),
    ("optimizer.schedule", "linear"), ("optimizer.learning_rate", -1.0),
    ("dataset.normalize", "zscore"), ("dataset.name", "mnist_idx"),
])
def test_validate_names_the_key(key, value):
    from gdm.train.config import base, validate

    config = base()
    node, leaf = (config, key) if "." not in key else (config[key.split(".")[0]],
                                                       key.split(".")[1])
    node[leaf] = value
    expected = "config.dataset.data_dir" if value == "mnist_idx" else f"config.{key}"
    with pytest.raises(ValueError, match=expected.replace(".", r"\.")):
        validate(config)
