"""The split search of one growth step: which search runs, and over which samples.

A step's nodes are searched by one of three searches (`gdm.tree._grow.choose_search` picks
the branch): the compact search over the smallest sample window that holds the step's
samples, the full search over the few node slots of the first levels, or the full search over
all node_chunk slots. Both full searches scan the first `bag_rows` samples in sample order,
compacted so that the samples of positive weight (the only ones ever active) come first.

With the samples split over devices (`plan.n_devices`), each device compacts its own samples:
a search scans `bag_rows` (counted per device) or a window's `window_rows` of them. A window
holds a step when its active samples on all devices fit the window and those of each device
fit its rows (`gdm.tree._grow.choose_search`).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from gdm.tree._plan import ProgramPlan
from gdm.tree._split_search import best_splits, best_splits_compact

# (best score, feature slot, bin, left stats) per node, then the node totals
Splits = tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]


class _StepSamples(NamedTuple):
    """A step's samples as every search reads them."""

    xb: jax.Array
    local: jax.Array  # (n,) each sample's node slot in the step (0 when inactive)
    active: jax.Array  # (n,) samples of the step's nodes
    ids: jax.Array  # (n, P) histogram channels of each sample
    vals: jax.Array  # (n, P) and their values
    picked: jax.Array  # the active samples first, in sample order, then padding
    n_active: jax.Array
    static: dict  # the keyword arguments both searches share


def _compacted(active: jax.Array, window: int) -> tuple[jax.Array, jax.Array]:
    """(number of active samples, their indices in sample order padded to `window`): the rows
    a search scans instead of all n."""
    n = active.shape[0]
    n_active = active.sum()
    position = jnp.where(active, jnp.cumsum(active) - 1, window)
    picked = jnp.zeros(window, jnp.int32).at[position].set(jnp.arange(n), mode="drop")
    return n_active, picked


def _full_search(st: _StepSamples, bag_rows: int, **kw) -> Splits:
    """`best_splits` over the first `bag_rows` compacted samples (all n when bag_rows >= n);
    `kw` overrides the shared keyword arguments (fewer node slots, another group)."""
    n = st.local.shape[0]
    if bag_rows >= n:
        return best_splits(st.xb, jnp.arange(n), local=st.local, active=st.active, ids=st.ids,
                           vals=st.vals, **dict(st.static, **kw))
    rows = st.picked[:bag_rows]
    in_window = jnp.arange(bag_rows) < st.n_active
    return best_splits(st.xb, rows, local=st.local[rows], active=in_window, ids=st.ids[rows],
                       vals=st.vals[rows], **dict(st.static, **kw))


def _compact_search(st: _StepSamples, width: int, n_rows: int, compact_group: int,
                    _) -> Splits:
    """`best_splits_compact` over a window of `width` samples in all (deep steps), of which
    each device holds at most `n_rows`, its first compacted samples (width on one device)."""
    rows = st.picked[:n_rows]
    return best_splits_compact(st.xb, rows, local=st.local[rows],
                               active=jnp.arange(n_rows) < st.n_active, ids=st.ids[rows],
                               vals=st.vals[rows], n_slots=width,
                               **dict(st.static, group=compact_group))


def _top_search(st: _StepSamples, slots: int, group: int, node_chunk: int, bag_rows: int,
                _) -> Splits:
    """The full search over the first `slots` node slots (the first levels hold at most that
    many nodes), its outputs padded back to node_chunk nodes (score -inf: no split)."""
    out = _full_search(st, bag_rows, feats=st.static["feats"][:slots], n_nodes=slots,
                       group=group)
    pad = lambda a, fill: jnp.concatenate(
        [a, jnp.full((node_chunk - slots,) + a.shape[1:], fill, a.dtype)])
    return (pad(out[0], -jnp.inf),) + tuple(pad(a, 0) for a in out[1:])


def step_splits(xb: jax.Array, feats: jax.Array, local: jax.Array, active: jax.Array,
                ids: jax.Array, vals: jax.Array, limits: jax.Array, search: jax.Array,
                plan: ProgramPlan) -> Splits:
    """Best split of each of a step's nodes, by the search of branch `search`: the compact
    windows (ascending), then the first levels' node slots (`plan.tops`), then the full
    search. Problems whose smallest window holds all samples have only the full search."""
    K, S1 = plan.node_chunk, plan.n_channels + 1
    static = dict(feats=feats, limits=limits, criterion=plan.criterion, n_nodes=K,
                  n_bins=plan.n_bins, n_stats=S1 if plan.counted else S1 - 1, group=plan.group,
                  counted=plan.counted, by_feature=plan.by_feature,
                  devices=plan.n_devices)
    n_active, picked = _compacted(active, max(plan.windows[-1], plan.bag_rows))
    st = _StepSamples(xb, local, active, ids, vals, picked, n_active, static)
    if plan.windows[-1] >= plan.capacity // 2:  # all samples, on every device
        return _full_search(st, plan.bag_rows)
    window_rows = plan.window_rows or plan.windows
    return lax.switch(search, [partial(_compact_search, st, w, r, plan.compact_group)
                               for w, r in zip(plan.windows, window_rows, strict=True)]
                      + [partial(_top_search, st, *top, K, plan.bag_rows) for top in plan.tops]
                      + [lambda _: _full_search(st, plan.bag_rows)], None)
