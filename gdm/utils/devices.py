"""A 1-D mesh over the machine's devices, and arrays split by rows over it.

Estimators that shard a data set put its rows on `row_sharding(mesh)` and run their kernels
under `jax.shard_map` over `AXIS`; a mesh of one device runs the same code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "devices"
REPLICATED = PartitionSpec()  # the same on every device


@functools.cache
def device_mesh(n_devices: int | None = None) -> Mesh:
    """A mesh named AXIS over the first n_devices of jax.devices() (None: all of them).

    Cached, so estimators fitted with the same device count share one mesh and, as the mesh is
    part of a compiled program's key, one compilation per shape.
    """
    devices = jax.devices()
    if n_devices is None:
        n_devices = len(devices)
    if not 1 <= n_devices <= len(devices):
        raise ValueError(f"n_devices={n_devices}, but this process has {len(devices)} "
                         f"device(s): {devices}")
    return Mesh(np.asarray(devices[:n_devices]), (AXIS,))


def row_sharding(mesh: Mesh) -> NamedSharding:
    """Axis 0 split into equal blocks over the mesh, the other axes whole."""
    return NamedSharding(mesh, PartitionSpec(AXIS))


def shard_rows(x, mesh: Mesh) -> jax.Array:
    """x on the mesh, its rows split over the devices (the row count must divide evenly).

    An array already so placed is returned as is.
    """
    return jax.device_put(x, row_sharding(mesh))


def padded_to_devices(size: int, mesh: Mesh) -> int:
    """The smallest multiple of the mesh's device count that is >= size."""
    return -(-size // mesh.size) * mesh.size


def axis_sharding(mesh: Mesh, axis: int) -> NamedSharding:
    """Axis `axis` split into equal blocks over the mesh, the other axes whole."""
    return NamedSharding(mesh, PartitionSpec(*([None] * axis), AXIS))


def shard_axis(x, mesh: Mesh, axis: int) -> jax.Array:
    """x on the mesh, axis `axis` split over the devices (its length must divide evenly)."""
    return jax.device_put(x, axis_sharding(mesh, axis))


def on_devices(local: Callable, mesh: Mesh, in_specs, out_specs=REPLICATED) -> Callable:
    """`local` run on every device of the mesh (jax.shard_map over AXIS); by default its
    outputs are the same on every device (replicated)."""
    # check_vma=False: psum / all_gather results are equal on every device but typed as
    # varying, so replicated (P()) outputs would otherwise be refused.
    return jax.shard_map(local, mesh=mesh, in_specs=in_specs, out_specs=out_specs,
                         check_vma=False)
