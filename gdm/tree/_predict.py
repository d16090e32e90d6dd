"""Inference for all trees at once: a vmapped descent, one gather per level for every tree.

Samples are processed `sample_chunk` at a time (`lax.map`) so memory stays at
n_trees x sample_chunk x n_outputs whatever the number of samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from gdm.utils.compiler import NATIVE_FUSIONS


@dataclass(frozen=True)
class PredictPlan:
    """Static sizes of a predict: samples padded to n_pad (a multiple of sample_chunk, pushed
    through all trees sample_chunk at a time), trees to n_trees and nodes to n_nodes."""

    n_pad: int
    sample_chunk: int
    n_trees: int
    n_nodes: int


def _descend(x, feature, threshold, left, right):
    """Leaf ids (n_trees, n) of samples x (n, d) in every tree."""
    n_trees, n = feature.shape[0], x.shape[0]
    cols = jnp.arange(n)[None, :]

    def step(node):
        at = lambda a: jnp.take_along_axis(a, node, axis=1)
        value = x[cols, jnp.maximum(at(feature), 0)]
        child = jnp.where(value <= at(threshold), at(left), at(right))
        return jnp.where(child >= 0, child, node)

    def not_done(node):
        return jnp.any(jnp.take_along_axis(left, node, axis=1) >= 0)

    return lax.while_loop(not_done, step, jnp.zeros((n_trees, n), jnp.int32))


def _chunks(x, sample_chunk):
    n, d = x.shape
    return x.reshape(n // sample_chunk, sample_chunk, d)


@partial(jax.jit, static_argnames=("plan",), compiler_options=NATIVE_FUSIONS)
def apply_trees(x: jax.Array, feature: jax.Array, threshold: jax.Array, left: jax.Array,
                right: jax.Array, *, plan: PredictPlan) -> jax.Array:
    """Leaf index of every sample in every tree: (n, n_trees), x padded as `plan` says."""
    sample_chunk = plan.sample_chunk
    leaves = lax.map(lambda xc: _descend(xc, feature, threshold, left, right),
                     _chunks(x, sample_chunk))  # (n_chunks, n_trees, chunk)
    return jnp.moveaxis(leaves, 1, 2).reshape(x.shape[0], feature.shape[0])


@partial(jax.jit, static_argnames=("plan",), compiler_options=NATIVE_FUSIONS)
def mean_leaf_value(x: jax.Array, feature: jax.Array, threshold: jax.Array, left: jax.Array,
                    right: jax.Array, value: jax.Array, *, plan: PredictPlan) -> jax.Array:
    """Average over trees of the leaf value (n_trees, capacity, n_outputs) -> (n, n_outputs)."""
    sample_chunk = plan.sample_chunk

    def chunk(xc):
        leaves = _descend(xc, feature, threshold, left, right)  # (n_trees, chunk)
        per_tree = jnp.take_along_axis(value, leaves[:, :, None], axis=1)
        return per_tree.mean(axis=0)

    out = lax.map(chunk, _chunks(x, sample_chunk))
    return out.reshape(x.shape[0], value.shape[2])


@partial(jax.jit, compiler_options=NATIVE_FUSIONS)
def oob_sums(x, feature, threshold, left, right, value, in_bag):
    """Sum over the trees where each sample is out of bag of its leaf value, and their count."""
    leaves = _descend(x, feature, threshold, left, right)
    per_tree = jnp.take_along_axis(value, leaves[:, :, None], axis=1)  # (n_trees, n, out)
    oob = (in_bag == 0).astype(value.dtype)  # (n_trees, n)
    # HIGHEST: GPUs would otherwise round the float32 leaf values to TF32.
    return (jnp.einsum("tn,tno->no", oob, per_tree, precision=lax.Precision.HIGHEST),
            oob.sum(0))
