"""Exact k-nearest-neighbour search in JAX: the jitted kernels behind gdm.neighbors.

The training rows are split over a 1-D mesh of devices (gdm.utils.devices; a mesh of one device
runs the same code). Each device searches its own rows for every query of a chunk, and the
devices' k best (distance, global index) lists are gathered and merged by (distance, index):
each of the k nearest overall is among its own device's k nearest, and the merge orders ties
by index as a search of all rows at once does, so every device count gives the same result.

Euclidean and cosine search run in two stages. (1) Candidates: a float32 matmul scores every
training point (||t||^2 - 2 q.t, or -cos) and `lax.top_k` keeps `n_candidates` per query and
device. (2) Exact re-ranking: distances to those candidates are recomputed in float64 and sorted
by (distance, index), the order scikit-learn's brute-force search gives. A per-row float32
rounding bound certifies that no point outside a device's candidates can be among its k
nearest; rows that some device cannot certify (near-ties) are flagged and redone by the exact
float64 kernel. Other metrics (manhattan, minkowski p, chebyshev) use the exact kernel
directly. Queries are processed in chunks of rows (one compiled shape), the chunk size set by
a memory budget; each chunk goes whole to every device.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from gdm.utils.devices import AXIS, on_devices

MATMUL_METRICS = ("euclidean", "cosine")
_ROWS = P(AXIS)  # training rows split over the devices
_COLUMNS = P(None, AXIS)  # per-device candidate blocks side by side


def _safe_normalize(x):
    norm = jnp.sqrt(jnp.sum(x * x, axis=-1, keepdims=True))
    return x / jnp.where(norm > 0, norm, 1.0)  # zero rows stay zero, as sklearn's normalize


def _row_offset(n_local: int):
    """Global index of this device's first training row."""
    return jax.lax.axis_index(AXIS) * n_local


def _merge(dist, ind, k: int):
    """Every device's (distance, global index) lists side by side, the k best by (distance,
    index) kept: ties go to the lower index, as in a search of all rows at once."""
    dist = jax.lax.all_gather(dist, AXIS, axis=1, tiled=True)
    ind = jax.lax.all_gather(ind, AXIS, axis=1, tiled=True)
    dist, ind = jax.lax.sort((dist, ind), dimension=1, num_keys=2)
    return dist[:, :k], ind[:, :k]


@functools.partial(jax.jit, static_argnames=("mesh", "metric", "n_candidates"))
def float32_candidates(q64, train32, train_sq32, n_real, *, mesh: Mesh, metric: str,
                       n_candidates: int):
    """Stage 1 for one chunk of queries: each device's n_candidates best float32 scores and
    their local row indices, the devices' blocks side by side (shape (c, devices * n)).

    Scores are ||t||^2 - 2 q.t (euclidean) or -q.t/|q| (cosine; train32 holds unit rows).
    Only top_k's outputs leave this executable: consuming its values inside the same
    executable made XLA's CPU backend ~10x slower here.
    """
    def local(q64, train32, train_sq32, n_real):
        n_local = train32.shape[0]
        valid = _row_offset(n_local) + jnp.arange(n_local) < n_real
        q32 = q64.astype(jnp.float32)
        if metric == "euclidean":
            scores = train_sq32[None, :] - 2.0 * (q32 @ train32.T)
        else:
            scores = -(_safe_normalize(q32) @ train32.T)
        scores = jnp.where(valid[None, :], scores, jnp.inf)
        neg_scores, cand = jax.lax.top_k(-scores, min(n_candidates, n_local))
        return -neg_scores, cand

    return on_devices(local, mesh, (P(), _ROWS, _ROWS, P()), (_COLUMNS, _COLUMNS))(
        q64, train32, train_sq32, n_real)


def _certified(q64, cand_scores, max_train_norm, n_local_real, metric: str, k: int):
    """Whether a device's candidates certainly hold its k nearest rows."""
    n_candidates, n_features = cand_scores.shape[1], q64.shape[1]
    # Forward error of a float32 dot product is <= n * eps * sum|q_i t_i| <= n eps |q| |t|;
    # (n + 4) also covers rounding inputs and norms to float32; a factor 2 is kept as margin.
    # If the last candidate's score is not 2 bounds worse than the k-th, some point outside
    # the candidates might be closer than the k-th: the row is not certified.
    gamma = (n_features + 4) * jnp.finfo(jnp.float32).eps
    if metric == "euclidean":
        q_norm = jnp.sqrt(jnp.sum(q64 * q64, axis=1))
        bound = gamma * (max_train_norm ** 2 + 2.0 * q_norm * max_train_norm) * 2.0
    else:
        bound = jnp.full(q64.shape[0], gamma * 4.0)
    return ((n_candidates >= n_local_real)
            | (cand_scores[:, -1] - cand_scores[:, k - 1] > 2.0 * bound))


@functools.partial(jax.jit, static_argnames=("mesh", "metric", "k"))
def rerank_exact(q64, train64, cand, cand_scores, max_train_norm, n_real, *, mesh: Mesh,
                 metric: str, k: int):
    """Stage 2: float64 distances to each device's candidates, merged over the devices and
    sorted by (distance, global index) as sklearn, and whether every device's candidates
    certainly hold its k nearest (for cosine, unit train64 rows).
    """
    def local(q64, train64, cand, cand_scores, max_train_norm, n_real):
        n_local = train64.shape[0]
        offset = _row_offset(n_local)
        k_local = min(k, cand.shape[1])
        certified = _certified(q64, cand_scores, max_train_norm,
                               jnp.clip(n_real - offset, 0, n_local), metric, k_local)
        neighbours = jnp.take(train64, cand.reshape(-1), axis=0).reshape(*cand.shape, -1)
        if metric == "euclidean":
            diff = q64[:, None, :] - neighbours
            dist = jnp.sqrt(jnp.sum(diff * diff, axis=-1))
        else:
            dist = 1.0 - jnp.sum(_safe_normalize(q64)[:, None, :] * neighbours, axis=-1)
            dist = jnp.clip(dist, 0.0, 2.0)
        ind = cand + offset
        dist = jnp.where(ind < n_real, dist, jnp.inf)  # a device with few real rows
        dist, ind = jax.lax.sort((dist, ind), dimension=1, num_keys=2)
        dist, ind = _merge(dist[:, :k_local], ind[:, :k_local], k)
        return dist, ind, jax.lax.pmin(certified.astype(jnp.int32), AXIS) > 0

    return on_devices(local, mesh, (P(), _ROWS, _COLUMNS, _COLUMNS, P(), P()), P())(
        q64, train64, cand, cand_scores, max_train_norm, n_real)


def _pairwise(q, train, train_sq, metric: str, p: float):
    """float64 distances from query rows q (c, d) to all training rows (n, d)."""
    if metric == "euclidean":  # the matmul expansion, as scikit-learn computes it
        sq = jnp.sum(q * q, axis=1)[:, None] - 2.0 * (q @ train.T) + train_sq[None, :]
        return jnp.sqrt(jnp.maximum(sq, 0.0))
    if metric == "cosine":
        return jnp.clip(1.0 - _safe_normalize(q) @ _safe_normalize(train).T, 0.0, 2.0)

    def one_row(x):
        diff = jnp.abs(x[None, :] - train)
        if metric == "manhattan":
            return jnp.sum(diff, axis=1)
        if metric == "chebyshev":
            return jnp.max(diff, axis=1)
        return jnp.sum(diff ** p, axis=1) ** (1.0 / p)

    return jax.lax.map(one_row, q)


@functools.partial(jax.jit, static_argnames=("mesh", "metric", "k"))
def exact_knn(q, train64, train_sq64, n_real, p, *, mesh: Mesh, metric: str, k: int):
    """Exact float64 search of one chunk over all training rows; ties go to the lower index."""
    def local(q, train64, train_sq64, n_real, p):
        n_local = train64.shape[0]
        offset = _row_offset(n_local)
        valid = offset + jnp.arange(n_local) < n_real
        dist = jnp.where(valid[None, :], _pairwise(q, train64, train_sq64, metric, p), jnp.inf)
        neg, local_ind = jax.lax.top_k(-dist, min(k, n_local))
        return _merge(-neg, local_ind + offset, k)

    return on_devices(local, mesh, (P(), _ROWS, _ROWS, P(), P()), P())(
        q, train64, train_sq64, n_real, p)


@functools.partial(jax.jit, static_argnames=("n_classes",))
def class_votes(neigh_labels, weights, *, n_classes: int):
    """Per-class vote totals, normalized to probabilities (rows with zero total stay zero)."""
    votes = jnp.sum(jax.nn.one_hot(neigh_labels, n_classes, dtype=weights.dtype)
                    * weights[..., None], axis=1)
    total = jnp.sum(votes, axis=1, keepdims=True)
    return votes / jnp.where(total == 0, 1.0, total)


@jax.jit
def weighted_average(neigh_targets, weights):
    """Per-query weighted mean of the neighbours' targets (n, k, n_outputs)."""
    return (jnp.sum(neigh_targets * weights[..., None], axis=1)
            / jnp.sum(weights, axis=1)[:, None])
