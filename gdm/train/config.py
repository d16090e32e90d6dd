"""The common config layout every experiment shares, and its validation at start-up.

Experiments call `base(...)` and override what they need; `validate` turns every bad value into
one ValueError that names the key, before any data is loaded or anything is compiled.
"""

from __future__ import annotations

import dataclasses
import os

import ml_collections

from gdm import nn as gdm_nn
from gdm.data import NORMALIZATIONS
from gdm.train.optim import OPTIMIZERS, SCHEDULES
from gdm.train.tasks import get_task_class

POSITIVE_INTS = ("batch_size", "eval_batch_size", "num_train_steps", "log_every_steps",
                 "eval_every_steps", "checkpoint_every_steps", "keep_checkpoints")


def base(task: str = "classify", dataset: str = "digits", model: str = "mlp",
         **overrides) -> ml_collections.ConfigDict:
    """The shared layout with sane defaults; keyword overrides set top-level keys."""
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.task = task
    c.runner = "train"
    c.dataset = ml_collections.ConfigDict(dict(
        name=dataset, data_dir="", normalize="auto", flatten=False, binarize=-1.0,
        test_fraction=0.2, validation_fraction=0.0, n_samples=0, noise=-1.0))
    c.model = ml_collections.ConfigDict(dict(name=model))
    c.task_options = ml_collections.ConfigDict()
    c.batch_size = 128
    c.eval_batch_size = 1000
    c.num_train_steps = 1000
    c.log_every_steps = 100
    c.eval_every_steps = 500
    c.checkpoint_every_steps = 500
    c.keep_checkpoints = 2
    c.optimizer = ml_collections.ConfigDict(dict(
        name="adam", learning_rate=1e-3, schedule="constant", warmup_steps=0, momentum=0.9,
        weight_decay=0.0))
    for key, value in overrides.items():
        c[key] = value
    return c


def mnist_benchmark(config: ml_collections.ConfigDict, arg: str | None, file: str,
                    **settings) -> ml_collections.ConfigDict:
    """An MNIST experiment's settings for `arg`: unchanged for no argument; for "benchmark",
    the offline, CPU-sized run on MNIST IDX files (`dataset.data_dir` from $GDM_MNIST_DIR) with
    `settings` applied (`num_train_steps=3000`; nested keys as `task_options__ais_steps=...`)."""
    if arg == "benchmark":
        from gdm.data import default_mnist_dir

        config.dataset.name = "mnist_idx"
        config.dataset.data_dir = default_mnist_dir()
        for key, value in settings.items():
            *path, leaf = key.split("__")
            node = config
            for part in path:
                node = node[part]
            node[leaf] = value
    elif arg:
        raise ValueError(f"{file} takes no argument or 'benchmark', got {arg!r}")
    return config


def validate(config: ml_collections.ConfigDict) -> None:
    """Raises ValueError naming the first bad key of `config`."""
    for key in ("seed", "task", "dataset", "model", "optimizer", *POSITIVE_INTS):
        if key not in config:
            raise ValueError(f"config.{key} is missing")
    for key in POSITIVE_INTS:
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"config.{key} must be a positive integer, got {value!r}")
    get_task_class(config.task)
    cls = gdm_nn.get_model_class(config.model.name)
    fields = {f.name for f in dataclasses.fields(cls)} - {"parent", "name"}
    for key in config.model:
        if key != "name" and key not in fields:
            raise ValueError(f"config.model.{key} is not a field of model "
                             f"{config.model.name!r}; allowed: {sorted(fields)}")
    d = config.dataset
    for key in base().dataset:
        if key not in d:
            raise ValueError(f"config.dataset.{key} is missing (see gdm.train.config.base)")
    if not d.name:
        raise ValueError("config.dataset.name is missing")
    data_dir = d.data_dir
    if data_dir and not os.path.isdir(os.path.expanduser(data_dir)):
        raise ValueError(f"config.dataset.data_dir {data_dir!r} does not exist")
    if d.name == "mnist_idx" and not data_dir:
        raise ValueError("config.dataset.data_dir is required for dataset 'mnist_idx' "
                         "(a directory with MNIST IDX files; the :benchmark settings default to "
                         "$GDM_MNIST_DIR)")
    if d.normalize not in NORMALIZATIONS:
        raise ValueError(f"config.dataset.normalize must be one of {NORMALIZATIONS}, "
                         f"got {d.normalize!r}")
    o = config.optimizer
    if o.name not in OPTIMIZERS:
        raise ValueError(f"config.optimizer.name must be one of {OPTIMIZERS}, got {o.name!r}")
    if o.get("schedule", "constant") not in SCHEDULES:
        raise ValueError(f"config.optimizer.schedule must be one of {SCHEDULES}, "
                         f"got {o.schedule!r}")
    if not o.learning_rate > 0:
        raise ValueError(f"config.optimizer.learning_rate must be > 0, got {o.learning_rate!r}")
