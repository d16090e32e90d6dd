"""orbax checkpoints of the whole train state: save every K steps, keep N, resume the latest."""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp
from absl import logging as absl_logging


def _write_replicated_arrays_from_process_zero() -> None:
    """Registers orbax's jax.Array handler without replica-parallel saving.

    The train state is replicated. With replica parallelism every replica (so every process)
    writes a part of each array; without it only the replica on process 0's first device
    writes, so a multi-process checkpoint is written by process 0 alone (the others take part
    in orbax's barriers but write no array data).
    """
    previous = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)  # orbax warns on every override
    try:
        ocp.type_handlers.register_type_handler(
            jax.Array, ocp.type_handlers.ArrayHandler(use_replica_parallel=False),
            override=True)
    finally:
        absl_logging.set_verbosity(previous)


_write_replicated_arrays_from_process_zero()


class Checkpointer:
    """Thin wrapper over ocp.CheckpointManager (async saves; `close` waits for them)."""

    def __init__(self, workdir: str, keep: int = 2):
        directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
        options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                               enable_async_checkpointing=True)
        self.manager = ocp.CheckpointManager(directory, options=options)

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(self, step: int, state: Any, force: bool = False) -> None:
        self.manager.save(step, args=ocp.args.StandardSave(state), force=force)

    def restore(self, state_like: Any) -> Any:
        """Restores the latest checkpoint into arrays with `state_like`'s shapes and shardings."""
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state_like)
        step = self.manager.latest_step()
        return self.manager.restore(step, args=ocp.args.StandardRestore(abstract))

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()
