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


def initialize_distributed() -> None:
    """jax.distributed.initialize(): SLURM, Open MPI and TPU pods are auto-detected."""
    jax.distributed.initialize()


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


def process_slice(global_size: int) -> slice:
    """The rows of a global batch that this process loads."""
    per_process = global_size // jax.process_count()
    start = jax.process_index() * per_process
    return slice(start, start + per_process)


def to_global(local: dict[str, np.ndarray], sharding: NamedSharding) -> dict[str, Any]:
    """Builds globally sharded arrays from this process's slice of each batch array."""
    return {k: jax.make_array_from_process_local_data(sharding, v) for k, v in local.items()}
