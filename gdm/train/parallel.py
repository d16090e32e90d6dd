"""Data parallelism over a jax.sharding.Mesh of all devices, single- or multi-host.

Params are replicated; batches are sharded over the mesh's 'data' axis. Under jit, XLA inserts
the gradient all-reduce and BatchNorm's global-batch statistics, so the step is written as if
for one device. Multi-host: each process provides only its slice of the global batch.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def initialize_distributed(coordinator_address: str | None = None,
                           num_processes: int | None = None,
                           process_id: int | None = None) -> None:
    """jax.distributed.initialize(), explicit or auto-detected.

    With all three arguments, the processes meet at `coordinator_address` (process 0 serves
    it); with none, SLURM, Open MPI and TPU pods are auto-detected. On CPU, cross-process
    collectives need an implementation (gloo), set before initialization.
    """
    given = [v is not None for v in (coordinator_address, num_processes, process_id)]
    if any(given) and not all(given):
        raise ValueError("--coordinator_address, --num_processes and --process_id go "
                         "together: give all three or none (auto-detection)")
    if all(given):
        if num_processes < 1:
            raise ValueError(f"--num_processes must be >= 1, got {num_processes}")
        if not 0 <= process_id < num_processes:
            raise ValueError(f"--process_id must be in [0, {num_processes}), got {process_id}")
    # Only the CPU backend reads this; GPUs and TPUs keep their own collectives.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)


def make_mesh() -> Mesh:
    return Mesh(np.asarray(jax.devices()), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def batch_sharded(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def check_batch_size(batch_size: int, key: str = "batch_size") -> None:
    n = jax.device_count()
    if batch_size % n:
        raise ValueError(f"config.{key}={batch_size} is not divisible by the number of devices "
                         f"({n}); use a multiple of {n}")


def process_slice(global_size: int, process_index: int | None = None,
                  process_count: int | None = None) -> slice:
    """The rows of a global batch that process `process_index` (default: this one) loads.

    Contiguous equal blocks in process order, matching how the mesh lays out devices (each
    process's local devices are consecutive in jax.devices()), so the global array built by
    `to_global` is the global batch in its original row order.
    """
    index = jax.process_index() if process_index is None else process_index
    count = jax.process_count() if process_count is None else process_count
    if global_size % count:
        raise ValueError(f"batch size {global_size} is not divisible by the process count "
                         f"({count})")
    per_process = global_size // count
    return slice(index * per_process, (index + 1) * per_process)


def to_global(local: dict[str, np.ndarray], sharding: NamedSharding) -> dict[str, Any]:
    """Builds globally sharded arrays from this process's slice of each batch array."""
    return {k: jax.make_array_from_process_local_data(sharding, v) for k, v in local.items()}
