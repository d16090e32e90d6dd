"""Growth with the samples split over a 1-D mesh of devices (`ProgramPlan.n_devices`).

Each device holds a block of the samples: their binned rows, per-tree weights and targets,
and so their node positions and histogram channels. Everything per node (the queue, the node
arrays, the sampled features) is computed alike on every device. Wherever a step reduces
samples to nodes (the root's stats, the histograms of every search, the children's counts,
the active-sample count that picks a step's search, the compact search's occupied cells) the
devices' partial results are combined across the mesh (`across`) before anything reads them,
so every device chooses the same splits. Classification histograms hold integer-valued
weighted counts (bootstrap counts), whose float32 sums are exact in any order: the trees are
those of one device. Regression sums w * y in float32, which the order of a sum rounds
differently: near-tied splits may then go the other way.

One device runs the same growth code without the mesh and without collectives: `across` is
then the identity, so its programs are those of an unsharded fit.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec as P

from gdm.utils.devices import AXIS, device_mesh, on_devices


def across(x: jax.Array, sharded: bool, op: Callable = lax.psum) -> jax.Array:
    """x combined over the mesh's devices by `op` (psum, pmax, pmin) when `sharded`, else x."""
    return op(x, AXIS) if sharded else x


def summed_blocks(x: jax.Array, axis: int) -> jax.Array:
    """x summed over the devices, each device keeping its block of `axis` (reduce-scatter)."""
    return lax.psum_scatter(x, AXIS, scatter_dimension=axis, tiled=True)


def gathered(x: jax.Array, axis: int) -> jax.Array:
    """The devices' blocks of x side by side along `axis`, in device order."""
    return lax.all_gather(x, AXIS, axis=axis, tiled=True)


def own_block(x: jax.Array, size: int) -> jax.Array:
    """This device's block of `size` rows of x (device d: rows d * size to (d + 1) * size)."""
    return lax.dynamic_slice_in_dim(x, lax.axis_index(AXIS) * size, size, axis=0)


def first_best(score: jax.Array, slot: jax.Array, *rest: jax.Array,
               size: int) -> tuple[jax.Array, ...]:
    """Per node (axis 0), the best of the devices' (score, slot, *rest), each device's slots
    its block of `size` (slot local to it): the first device of the largest score, so equal
    scores go to the lowest slot, as on one device."""
    scores = gathered(score[None], 0)                                     # (devices, K)
    at = jnp.argmax(scores, axis=0)
    nodes = jnp.arange(score.shape[0])
    pick = lambda a: gathered(a[None], 0)[at, nodes]
    return (scores[at, nodes], pick(slot) + at * size) + tuple(pick(a) for a in rest)


def shard_samples(grow: Callable, n_devices: int, by_feature: bool) -> Callable:
    """grow(xb, target, weights, feature_ok, keys, limits) -> Trees run on each device's block
    of samples: xb split along its sample axis (1 when `by_feature`), target along its only
    axis, weights (trees, samples) along the samples; the rest, and the trees grown, whole.
    """
    samples = P(None, AXIS) if by_feature else P(AXIS)
    return on_devices(grow, device_mesh(n_devices),
                      (samples, P(AXIS), P(None, AXIS), P(), P(), P()))
