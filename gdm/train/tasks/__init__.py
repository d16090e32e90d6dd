"""Objectives by name. Modules are imported lazily so a run loads only what it uses."""

from __future__ import annotations

import importlib

from gdm.train.tasks.base import GradientTask, Task

TASKS = {
    "classify": "gdm.train.tasks.classify:ClassifyTask",
    "regress": "gdm.train.tasks.regress:RegressTask",
    "reconstruct": "gdm.train.tasks.reconstruct:ReconstructTask",
    "elbo": "gdm.train.tasks.elbo:ElboTask",
    "gan": "gdm.train.tasks.gan:GanTask",
    "cd": "gdm.train.tasks.cd:ContrastiveDivergenceTask",
}

__all__ = ["TASKS", "GradientTask", "Task", "get_task_class"]


def get_task_class(name: str) -> type[Task]:
    if name not in TASKS:
        raise ValueError(f"config.task must be one of {sorted(TASKS)}, got {name!r}")
    module, cls = TASKS[name].split(":")
    return getattr(importlib.import_module(module), cls)
