"""Runners: experiments that are more than one training run (sweeps, comparisons, figures)."""

from __future__ import annotations

import importlib


def run_experiment(config, workdir: str) -> dict:
    """Dispatches `config` to the training loop or to a named runner (gdm/runners/<name>.py)."""
    runner = config.get("runner", "train")
    if runner == "train":
        from gdm.train.loop import train_and_evaluate

        return train_and_evaluate(config, workdir)
    try:
        module = importlib.import_module(f"gdm.runners.{runner}")
    except ModuleNotFoundError as e:
        if e.name != f"gdm.runners.{runner}":
            raise
        raise ValueError(f"config.runner {runner!r} is not 'train' nor a module in "
                         "gdm/runners/") from None
    return module.run(config, workdir)
