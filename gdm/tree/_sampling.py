"""Random draws of a fit: bootstrap sample counts per tree, sampled features per node.

Both are pure functions of a key, so a fit is a function of (data, random_state), and a node's
features depend on its id only, not on how nodes are batched into growth steps or trees into
programs (CPU one after another, GPU in lockstep)."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


@partial(jax.jit, static_argnames=("n_trees", "n_rows"))
def bootstrap_counts(key: jax.Array, sample_weight: jax.Array, n_draws: jax.Array, *,
                     n_trees: int, n_rows: int | None = None) -> jax.Array:
    """(n_rows, n) draw counts (rows past n_trees zero): per tree, n_draws indices drawn with
    replacement with probability proportional to sample_weight (0 on padding), as sklearn 1.9
    does; inverse CDF so the cost is n log n per tree. They stay on the device, where the trees
    grow (a round trip through the host cost a GPU fit a sync and two copies)."""
    n = sample_weight.shape[0]
    cdf = jnp.cumsum(sample_weight)

    def one(k):
        u = jax.random.uniform(k, (n,)) * cdf[-1]
        draws = jnp.minimum(jnp.searchsorted(cdf, u, side="right"), n - 1)
        used = (jnp.arange(n) < n_draws).astype(jnp.float32)
        return jnp.zeros(n, jnp.float32).at[draws].add(used)

    counts = jax.vmap(one)(jax.random.split(key, n_trees))
    return jnp.pad(counts, ((0, (n_rows or n_trees) - n_trees), (0, 0)))


def _top_k_features(key, nodes, feature_ok, k):
    noise = jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(key, i),
                                                  feature_ok.shape))(nodes)
    return lax.top_k(jnp.where(feature_ok, noise, -1.0), k)[1]


def _distinct_draws(key, nodes, feature_ok, k, k_used):
    """(len(nodes), k) features from 2k draws with replacement (the first k distinct ones), and
    whether every node got k_used distinct ones."""
    d = feature_ok.shape[0]
    valid = jnp.nonzero(feature_ok, size=d, fill_value=0)[0]
    n_valid = jnp.maximum(feature_ok.sum(), 1)
    m = 2 * k
    draws = jax.vmap(lambda i: jax.random.randint(jax.random.fold_in(key, i), (m,), 0,
                                                  n_valid))(nodes)                 # (K, m)
    earlier = jnp.arange(m)[:, None] > jnp.arange(m)[None, :]
    first = ~((draws[:, :, None] == draws[:, None, :]) & earlier).any(-1)         # (K, m)
    slot = jnp.where(first, jnp.cumsum(first, axis=1) - 1, k)
    rows = jnp.arange(nodes.shape[0])[:, None]
    feats = jnp.zeros((nodes.shape[0], k), jnp.int32).at[rows, slot].set(
        valid[draws], mode="drop")
    return feats, (first.sum(axis=1) >= k_used).all()


def draws_suffice(key, nodes, feature_ok, k, k_used) -> jax.Array:
    """Whether `sample_features` keeps its draws (no top_k fallback) for these nodes."""
    if 8 * k > feature_ok.shape[0]:
        return jnp.bool_(False)
    return _distinct_draws(key, nodes, feature_ok, k, k_used)[1]


def sample_features(key, nodes, feature_ok, k, k_used, all_suffice=None):
    """(len(nodes), k) feature ids: per node, k_used distinct features drawn uniformly among
    the usable ones (`feature_ok`), without replacement, as sklearn does; slots past k_used are
    ignored by the split search. The node id seeds the draw, so a node's features do not
    depend on how nodes are batched into steps.

    When k is small against the number of features (MNIST: 28 of 717), 2k draws with
    replacement keep their first k distinct values, a uniform k-subset in uniform order; that
    replaces a top_k over all features, a noticeable part of the fit. Too few distinct draws
    (rare) fall back to the top_k of uniform noise, as do small feature counts. Trees in
    lockstep pass `all_suffice` (unbatched: every tree's draws sufficed), so that the fallback
    runs only in steps where some tree needs it (under vmap a per-tree lax.cond runs both
    branches)."""
    if 8 * k > feature_ok.shape[0]:
        return _top_k_features(key, nodes, feature_ok, k)
    feats, enough = _distinct_draws(key, nodes, feature_ok, k, k_used)
    fallback = lambda: _top_k_features(key, nodes, feature_ok, k).astype(jnp.int32)
    if all_suffice is None:
        return lax.cond(enough, lambda: feats, fallback)
    return lax.cond(all_suffice, lambda: feats, lambda: jnp.where(enough, feats, fallback()))
