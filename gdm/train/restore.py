"""Load a finished (or interrupted) run's train state from its workdir, for tools and metrics
that need the trained model after gdm.train.loop.train_and_evaluate returned."""

from __future__ import annotations

from typing import Any

import jax
import ml_collections


def restore_state(config: ml_collections.ConfigDict, workdir: str,
                  dataset: Any | None = None) -> tuple[Any, Any, Any]:
    """(task, model, host TrainState) of the latest checkpoint in `workdir`, built with the
    loop's own builders so the template matches what the loop saved."""
    from gdm.train import loop, parallel
    from gdm.train.checkpoint import Checkpointer
    from gdm.train.optim import make_optimizer

    dataset = dataset if dataset is not None else loop.load_dataset(config)
    task, model = loop.build(config, dataset)
    template, _ = loop.initial_state(config, task, model, dataset,
                                     make_optimizer(config.optimizer, config.num_train_steps),
                                     parallel.make_mesh())
    checkpointer = Checkpointer(workdir, keep=config.keep_checkpoints)
    if checkpointer.latest_step() is None:
        checkpointer.close()
        raise ValueError(f"no checkpoint in {workdir}/checkpoints")
    state = jax.device_get(checkpointer.restore(template))
    checkpointer.close()
    return task, model, state
