"""orbax checkpoints of the whole train state: save every K steps, keep N, resume the latest."""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp

# The train state is replicated: without replica parallelism only the replica on process 0's
# first device writes each array, so a multi-process checkpoint holds one copy written by
# process 0 (the others take part in orbax's barriers but write no array data).
ocp.type_handlers.register_type_handler(
    jax.Array, ocp.type_handlers.ArrayHandler(use_replica_parallel=False), override=True)


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
