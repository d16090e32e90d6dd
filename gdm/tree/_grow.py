"""Growing many trees from binned features, as jit-compiled programs.

Each tree keeps a queue of nodes still to split (breadth first). One growth step takes the next
`node_chunk` queued nodes, builds their class (or moment) histograms over their sampled
features with scatter-adds, scores every (feature, bin) threshold from cumulative sums, and
appends the children. Pure nodes and nodes stopped by the min_samples / max_depth limits never
enter the queue, so growth ends as soon as every tree is done. The step runs in a
`lax.while_loop`, so compile time does not depend on depth.

Where the time goes on XLA:CPU, and the answers:
- the histograms of all sampled features of a step are tens of MB per tree, so building and
  scanning them was memory-bound: features are scanned in groups sized by `chunk_size`, each
  group's histogram staying in cache (`split_search.best_splits`);
- deep steps hold few samples: when the step's nodes hold at most `window` samples, only the
  occupied (node, bin) cells of those samples are scanned (`split_search.best_splits_compact`),
  all sampled features in one group (`compact_group`: its arrays are small, and each group
  costs some 70 XLA ops, whose dispatch is a cost of its own);
- the first levels' steps hold all samples but at most 2, 8 or 16 nodes: they scan that many
  node slots, not node_chunk;
- only samples of positive weight are ever active, and with bootstrap ~37% of the rows have
  none: the full searches scan a compacted window of `bag_rows` samples;
- vmapped scatters are several times slower per entry than plain ones: real problems grow
  their trees one after another (`lax.map`); toy problems, where per-step overhead dominates,
  stay vmapped;
- min / max compile without NaN propagation (`FAST_MIN_MAX`: no NaN reaches them), and
  with 512-bit vectors where the CPU has them (`WIDE_VECTORS`).
On GPU / TPU the opposite holds: a step's kernels are fast and its launches and loop test
dominate, so trees grow in lockstep, vmapped, as many per program as the memory budget allows.
Each step picks its search (compact window, first-level slots, full) for the largest tree of
the batch, an unbatched branch index, so only that branch runs; the rare top_k fallback of
feature sampling likewise runs only in steps where some tree needs it (vmapping the per-tree
loop would batch both choices, and every step would run every branch). The fitted arrays are
computed on the device (`fitted_arrays`), so only the trees' final arrays leave it.

Several devices (`plan.n_devices`, `gdm.tree._shard`): the samples are split over them, each
device building its samples' histograms, summed across the devices before each split search;
the per-node state is computed alike on every device.

Per-sample channels: classification adds the sample weight to the channel of its class,
regression adds (w, w*y, w*y^2); the last channel always counts samples with positive weight
(sklearn's min_samples_* count samples, not weight).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from gdm.tree._plan import ProgramPlan
from gdm.tree._sampling import draws_suffice, sample_features
from gdm.tree._shard import across, shard_samples
from gdm.tree._split_search import gather_bins, weight_of
from gdm.tree._step_search import Splits, step_splits
from gdm.utils.compiler import FAST_COMPILE, FAST_MIN_MAX, NATIVE_FUSIONS, WIDE_VECTORS

PURE_TOL = 1e-7


class Trees(NamedTuple):
    """Node arrays of a batch of trees, shape (n_trees, capacity[, channels])."""

    feature: jax.Array  # split feature, -2 on leaves (sklearn's TREE_UNDEFINED)
    bin: jax.Array  # samples with bin <= this go left
    left: jax.Array  # child ids, -1 on leaves (sklearn's TREE_LEAF)
    right: jax.Array
    stats: jax.Array  # weighted channel sums per node, last channel = sample count
    impurity: jax.Array
    node_count: jax.Array  # (n_trees,)


def impurity(stats: jax.Array, criterion: str) -> jax.Array:
    """Node impurity from channel sums (..., S + 1), as sklearn defines it."""
    if criterion == "squared_error":
        w = jnp.maximum(stats[..., 0], 1e-30)
        mean = stats[..., 1] / w
        return jnp.maximum(stats[..., 2] / w - mean**2, 0.0)
    counts = stats[..., :-1]
    p = counts / jnp.maximum(counts.sum(-1, keepdims=True), 1e-30)
    if criterion == "gini":
        return 1.0 - (p**2).sum(-1)
    return -jnp.where(p > 0, p * jnp.log2(jnp.where(p > 0, p, 1.0)), 0.0).sum(-1)


def _is_pure(stats: jax.Array, imp: jax.Array, criterion: str) -> jax.Array:
    if criterion == "squared_error":  # relative to the second moment: float32 sums cancel
        w = jnp.maximum(stats[..., 0], 1e-30)
        return imp <= 1e-6 * stats[..., 2] / w + 1e-12
    return imp <= PURE_TOL


def _channels(target: jax.Array, w: jax.Array, count: jax.Array, criterion: str,
              n_channels: int, counted: bool):
    """(channel ids, values) per sample, each (n, P), of the split-search histograms; with
    `counted`, a last channel adds `count` (1 for samples of positive weight)."""
    n = w.shape[0]
    if criterion == "squared_error":
        vals = [w, w * target, w * target**2] + ([count] if counted else [])
        ids = jnp.broadcast_to(jnp.arange(len(vals), dtype=jnp.int32), (n, len(vals)))
        return ids, jnp.stack(vals, axis=1)
    ids = [target.astype(jnp.int32)] + ([jnp.full((n,), n_channels, jnp.int32)] if counted
                                        else [])
    return jnp.stack(ids, 1), jnp.stack([w, count] if counted else [w], axis=1)


class _Tree(NamedTuple):
    """What every growth step of one tree reads: its inputs, its program's plan, the traced
    limits unpacked, and the per-sample histogram channels (`_channels`)."""

    plan: ProgramPlan
    xb: jax.Array
    w: jax.Array
    feature_ok: jax.Array
    key: jax.Array
    limits: jax.Array
    bounds: tuple[jax.Array, ...]  # max_depth, min_split, min_leaf, min_weight, k_used
    count: jax.Array  # (n,) 1 for samples of positive weight
    ids: jax.Array  # (n, P) channel ids and values of each sample
    vals: jax.Array


class _Children(NamedTuple):
    """The children a step's splits make, per queued node slot (K) or per sample (n)."""

    split: jax.Array  # (K,) the slot holds a node that splits
    feature: jax.Array  # (K,) its split feature
    bin: jax.Array  # (K,) its split bin
    go_left: jax.Array  # (n,) the sample goes to its node's left child
    stats: jax.Array  # (K, 2, S1) left and right channel sums, last channel a sample count
    impurity: jax.Array  # (K, 2)
    depth: jax.Array  # (K,)


def _tree_inputs(xb: jax.Array, target: jax.Array, w: jax.Array, feature_ok: jax.Array,
                 key: jax.Array, limits: jax.Array, plan: ProgramPlan) -> _Tree:
    """Unpacks the limits and builds the per-sample channels of one tree, once for all its
    steps."""
    bounds = tuple(limits[i] for i in range(5))
    count = (w > 0).astype(jnp.float32)
    ids, vals = _channels(target, w, count, plan.criterion, plan.n_channels, plan.counted)
    return _Tree(plan, xb, w, feature_ok, key, limits, bounds, count, ids, vals)


def _can_grow(t: _Tree, stats: jax.Array, imp: jax.Array, depth) -> jax.Array:
    """Nodes that may split: enough samples and weight for two leaves, below max_depth, and
    not pure. Only these enter the queue."""
    max_depth, min_split, min_leaf, min_weight, _ = t.bounds
    cnt = stats[..., -1]
    weight = weight_of(stats, t.plan.criterion)
    return ((cnt >= min_split) & (cnt >= 2 * min_leaf) & (depth < max_depth)
            & (weight > 0) & (weight >= 2 * min_weight)
            & ~_is_pure(stats, imp, t.plan.criterion))


def _initial_state(t: _Tree) -> dict:
    """The growth state holding the root alone: its stats, and in the queue if it can grow
    (every sample of positive weight then waits at queue position 0)."""
    K, M, S1 = t.plan.node_chunk, t.plan.capacity, t.plan.n_channels + 1
    sharded = t.plan.n_devices > 1
    root = across(jnp.zeros(S1, jnp.float32).at[t.ids.ravel()].add(t.vals.ravel()), sharded)
    if not t.plan.counted:
        root = root.at[-1].set(across(t.count.sum(), sharded))
    root_imp = impurity(root, t.plan.criterion)
    root_grows = _can_grow(t, root, root_imp, 0)
    return dict(
        qpos=jnp.where(root_grows & (t.w > 0), 0, -1).astype(jnp.int32),
        queue=jnp.zeros(M + K, jnp.int32),
        qhead=jnp.int32(0), qtail=root_grows.astype(jnp.int32), tail=jnp.int32(1),
        feature=jnp.full(M, -2, jnp.int32), bin=jnp.zeros(M, jnp.int32),
        left=jnp.full(M, -1, jnp.int32), right=jnp.full(M, -1, jnp.int32),
        stats=jnp.zeros((M, S1), jnp.float32).at[0].set(root),
        impurity=jnp.zeros(M, jnp.float32).at[0].set(root_imp),
        depth=jnp.zeros(M, jnp.int32),
    )


def _frontier(t: _Tree, s: dict) -> tuple[jax.Array, jax.Array]:
    """Per sample, its node's slot among the step's K queued nodes, and whether it is in one."""
    local = s["qpos"] - s["qhead"]
    active = (s["qpos"] >= 0) & (local < t.plan.node_chunk)
    return jnp.where(active, local, 0), active


def _queued(t: _Tree, s: dict) -> tuple[jax.Array, jax.Array]:
    """The step's K queue slots: which hold a node, and its id (0 where none)."""
    K = t.plan.node_chunk
    valid = s["qhead"] + jnp.arange(K) < s["qtail"]
    return valid, jnp.where(valid, lax.dynamic_slice(s["queue"], (s["qhead"],), (K,)), 0)


def _sizes(t: _Tree, s: dict) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """The next step's active samples, queued nodes (at most K), whether feature sampling
    needs no top_k fallback, and the most active samples one device holds: what
    `choose_search` picks the step's search from."""
    suffice = draws_suffice(t.key, _queued(t, s)[1], t.feature_ok, t.plan.k,
                            t.bounds[4].astype(jnp.int32))
    sharded = t.plan.n_devices > 1
    here = _frontier(t, s)[1].sum()
    return (across(here, sharded), jnp.minimum(s["qtail"] - s["qhead"], t.plan.node_chunk),
            suffice, across(here, sharded, lax.pmax))


def _split_children(t: _Tree, s: dict, valid: jax.Array, nodes: jax.Array, feats: jax.Array,
                    local: jax.Array, active: jax.Array, splits: Splits) -> _Children:
    """The children of the step's best splits: which nodes split, where each sample goes, and
    the children's stats (sample counts from one scatter when the histograms carry none)."""
    K, counted = t.plan.node_chunk, t.plan.counted
    best_score, best_j, best_b, best_left, node_total = splits
    n = t.w.shape[0]
    split = valid & jnp.isfinite(best_score)
    rows = jnp.arange(K)
    best_f = feats[rows, best_j]
    go_left = (gather_bins(t.xb, jnp.arange(n), best_f[local], t.plan.by_feature)
               .astype(jnp.int32) <= best_b[local])
    child_stats = jnp.stack([best_left, node_total - best_left], 1)          # (K, 2, S)
    if not counted:
        child_count = across(jnp.zeros((K, 2), jnp.float32).at[
            local, jnp.where(go_left, 0, 1)].add(jnp.where(active, t.count, 0.0)),
            t.plan.n_devices > 1)
        child_stats = jnp.concatenate([child_stats, child_count[..., None]], axis=-1)
    child_imp = impurity(child_stats, t.plan.criterion)
    child_depth = s["depth"][nodes] + 1
    return _Children(split, best_f, best_b, go_left, child_stats, child_imp, child_depth)


def _append_children(t: _Tree, s: dict, nodes: jax.Array, local: jax.Array, active: jax.Array,
                     c: _Children) -> dict:
    """The state after a step: split nodes get their feature, bin and two children (ids in
    slot order after `tail`), children that can grow join the queue, and each sample moves
    to its child's queue position (-1 once its node is a leaf)."""
    K, M, S1 = t.plan.node_chunk, t.plan.capacity, t.plan.n_channels + 1
    first_child = s["tail"] + 2 * (jnp.cumsum(c.split) - 1)
    child_ids = first_child[:, None] + jnp.arange(2)  # (K, 2)
    parent_at = jnp.where(c.split, nodes, M)
    child_at = jnp.where(c.split[:, None], child_ids, M).ravel()
    grows = (c.split[:, None] & _can_grow(t, c.stats, c.impurity, c.depth[:, None])).ravel()
    queue_at = s["qtail"] + jnp.cumsum(grows) - 1
    child_q = jnp.where(grows, queue_at, -1).reshape(K, 2)

    new_q = jnp.where(c.go_left, child_q[local, 0], child_q[local, 1])
    new_q = jnp.where(c.split[local], new_q, -1)
    drop = dict(mode="drop")
    return dict(
        qpos=jnp.where(active, new_q, s["qpos"]),
        queue=s["queue"].at[jnp.where(grows, queue_at, M + K)].set(child_ids.ravel(), **drop),
        qhead=jnp.minimum(s["qhead"] + K, s["qtail"]),
        qtail=s["qtail"] + grows.sum(dtype=jnp.int32),
        tail=s["tail"] + 2 * c.split.sum(dtype=jnp.int32),
        feature=s["feature"].at[parent_at].set(c.feature, **drop),
        bin=s["bin"].at[parent_at].set(c.bin, **drop),
        left=s["left"].at[parent_at].set(child_ids[:, 0], **drop),
        right=s["right"].at[parent_at].set(child_ids[:, 1], **drop),
        stats=s["stats"].at[child_at].set(c.stats.reshape(2 * K, S1), **drop),
        impurity=s["impurity"].at[child_at].set(c.impurity.ravel(), **drop),
        depth=s["depth"].at[child_at].set(jnp.repeat(c.depth, 2), **drop),
    )


def _step(t: _Tree, s: dict, search: jax.Array, all_suffice: jax.Array | None = None) -> dict:
    """One growth step: samples each queued node's features, searches their best splits with
    the search of branch `search`, and appends the children."""
    valid, nodes = _queued(t, s)
    # Features sampled per node without replacement, among non-constant ones (sklearn
    # keeps drawing until it has max_features non-constant features).
    feats = sample_features(t.key, nodes, t.feature_ok, t.plan.k, t.bounds[4].astype(jnp.int32),
                            all_suffice)
    local, active = _frontier(t, s)
    splits = step_splits(t.xb, feats, local, active, t.ids, t.vals, t.limits, search, t.plan)
    children = _split_children(t, s, valid, nodes, feats, local, active, splits)
    return _append_children(t, s, nodes, local, active, children)


def _grower(xb, target, w, feature_ok, key, limits, plan: ProgramPlan):
    """One tree's (initial state, step(state, search), sizes(state)); see the module docstring.
    `sizes` gives the step's active samples and queued nodes, from which `choose_search` picks
    the step's search (a branch index): per tree on CPU, for the largest tree of a vmapped batch
    on GPU / TPU, where a per-tree choice would run every branch.

    Node stats always end with a sample count; the histograms carry it only when `counted`
    (min_samples_leaf > 1 needs it per bin). Otherwise children's counts come from one scatter
    of the step's samples: a channel less to scatter, sum and scan (for MNIST, 11 -> 10; for a
    binary problem, 3 -> 2)."""
    t = _tree_inputs(xb, target, w, feature_ok, key, limits, plan)
    return _initial_state(t), partial(_step, t), partial(_sizes, t)


def choose_search(n_active: jax.Array, n_queued: jax.Array, windows: tuple[int, ...],
                  tops: tuple[tuple[int, int], ...], most: jax.Array | None = None,
                  rows: tuple[int, ...] = ()) -> jax.Array:
    """Branch of a step's `lax.switch`: the smallest compact window holding the step's active
    samples (and, with `rows`, the per-device rows of each window, the `most` one device
    holds), else the full search over the fewest node slots of `tops` ((slots, feature
    group) pairs, ascending, slots < node_chunk) that hold the queued nodes, else the full
    search."""
    few = jnp.asarray([n_queued <= slots for slots, _ in tops] + [True])
    fits = n_active <= jnp.asarray(windows)
    if rows:
        fits = fits & (most <= jnp.asarray(rows))
    top = jnp.argmax(few)  # len(tops): none holds them
    return jnp.where(fits.any(), jnp.argmax(fits), len(windows) + top)


def _trees(s) -> Trees:
    return Trees(s["feature"], s["bin"], s["left"], s["right"], s["stats"], s["impurity"],
                 s["tail"])


def _grow_one(xb, target, w, feature_ok, key, limits, plan: ProgramPlan) -> Trees:
    """One tree, each step choosing its own search."""
    state, step, sizes = _grower(xb, target, w, feature_ok, key, limits, plan)
    choose = partial(choose_search, windows=plan.windows, tops=plan.tops,
                     rows=plan.window_rows)

    def body(s):
        n_active, n_queued, _, most = sizes(s)
        return step(s, choose(n_active, n_queued, most=most))

    s = lax.while_loop(lambda s: s["qhead"] < s["qtail"], body, state)
    return _trees(s)


def _grow_lockstep(xb, target, weights, feature_ok, keys, limits, plan: ProgramPlan) -> Trees:
    """A batch of trees stepping together (GPU / TPU): each step's search is chosen for the
    largest tree, an unbatched branch index, so only that branch runs (vmapping `_grow_one`
    would batch the index and run every branch of the switch)."""
    grower = lambda w, key: _grower(xb, target, w, feature_ok, key, limits, plan)
    choose = partial(choose_search, windows=plan.windows, tops=plan.tops,
                     rows=plan.window_rows)

    def body(states):
        n_active, n_queued, suffice, most = jax.vmap(lambda w, key, s: grower(w, key)[2](s))(
            weights, keys, states)
        search = choose(n_active.max(), n_queued.max(), most=most.max())
        all_suffice = suffice.all()
        return jax.vmap(lambda w, key, s: grower(w, key)[1](s, search, all_suffice))(
            weights, keys, states)

    states = jax.vmap(lambda w, key: grower(w, key)[0])(weights, keys)
    return _trees(lax.while_loop(lambda s: (s["qhead"] < s["qtail"]).any(), body, states))


class Fitted(NamedTuple):
    """What a fit keeps of a batch of trees, shape (n_trees, capacity[, channels]); computed on
    the device, where it is a few small fused ops, rather than on the host after a copy."""

    feature: jax.Array
    threshold: jax.Array  # samples with x <= this go left; -2 on leaves (sklearn's value)
    left: jax.Array
    right: jax.Array
    value: jax.Array  # classifiers: class fractions; regressors: the weighted mean (scaled y)
    gains: jax.Array  # (n_trees, n_features): impurity decrease summed per split feature
    node_count: jax.Array


NODE_ARRAYS = ("feature", "threshold", "left", "right", "value")  # Fitted's per-node fields


def fitted_arrays(trees: Trees, edges: jax.Array, criterion: str) -> Fitted:
    """Thresholds (bin edges), node values and per-feature impurity decreases of grown trees.
    Padding class channels are zero, so values over them are zero too."""
    internal = trees.feature >= 0
    feature = jnp.maximum(trees.feature, 0)
    threshold = jnp.where(internal,
                          edges[feature, jnp.minimum(trees.bin, edges.shape[1] - 1)], -2.0)
    channels = trees.stats[..., :-1]
    weight = channels[..., 0] if criterion == "squared_error" else channels.sum(-1)
    scale = jnp.maximum(weight, 1e-30)[..., None]
    value = channels[..., 1:2] / scale if criterion == "squared_error" else channels / scale
    decrease = weight * trees.impurity
    child = lambda at: jnp.take_along_axis(decrease, jnp.maximum(at, 0), axis=1)
    gain = jnp.where(internal, decrease - child(trees.left) - child(trees.right), 0.0)
    rows = jnp.arange(feature.shape[0])[:, None]
    gains = jnp.zeros((feature.shape[0], edges.shape[0]), jnp.float32).at[rows, feature].add(gain)
    return Fitted(trees.feature, threshold, trees.left, trees.right, value, gains,
                  trees.node_count)


def grow_trees(xb: jax.Array, target: jax.Array, weights: jax.Array, feature_ok: jax.Array,
               keys: jax.Array, limits: jax.Array, edges: jax.Array, *,
               plan: ProgramPlan) -> Fitted:
    """Grows len(weights) trees in one program; weights (n_trees, n) are per-tree sample
    weights (bootstrap counts x sample_weight x class_weight, 0 on padding). limits (float32) =
    (max_depth, min_samples_split, min_samples_leaf, min_weight_leaf, max_features), traced,
    so fits differing only in them share the program; edges (n_features, n_bins - 1) the bin
    edges, for the thresholds. `plan` (static) holds every size and strategy
    (`gdm.tree._plan.plan_growth`); plan.bag_rows >= the most samples of positive weight in any
    tree: the full searches scan that many (compacted) rows, not n.

    plan.vmap_trees: in lockstep, vmapped (GPU / TPU, and toy problems, where a step is tiny
    and per-step overhead dominates) or one after another with `lax.map` (real problems on CPU:
    vmapped scatters are several times slower per entry on XLA:CPU, and one tree's working set
    stays in cache).

    plan.n_devices > 1: the samples (xb's sample axis, target, weights' second axis) are split
    over that many devices, their histograms summed across them (`gdm.tree._shard`)."""
    grow = partial(_grow_batch, plan=plan)
    if plan.n_devices > 1:
        grow = shard_samples(grow, plan.n_devices, plan.by_feature)
    return fitted_arrays(grow(xb, target, weights, feature_ok, keys, limits), edges,
                         plan.criterion)


def _grow_batch(xb, target, weights, feature_ok, keys, limits, plan: ProgramPlan) -> Trees:
    """The trees of `grow_trees`, on one device's samples (all of them, or its block when
    plan.n_devices > 1, `gdm.tree._shard`)."""
    if plan.vmap_trees:
        return _grow_lockstep(xb, target, weights, feature_ok, keys, limits, plan)
    return lax.map(lambda wk: _grow_one(xb, target, wk[0], feature_ok, wk[1], limits, plan),
                   (weights, keys))


_grow_fast = jax.jit(grow_trees, static_argnames=("plan",),
                     compiler_options=NATIVE_FUSIONS | FAST_MIN_MAX | WIDE_VECTORS)
# Small problems (check_estimator, CV on toy data): LLVM optimisation level 0 halves compile
# time, which dominates there; the run time stays in milliseconds.
_grow_small = jax.jit(grow_trees, static_argnames=("plan",), compiler_options=FAST_COMPILE)


def grow_compiled(xb: jax.Array, target: jax.Array, weights: jax.Array, feature_ok: jax.Array,
                  keys: jax.Array, limits: jax.Array, edges: jax.Array,
                  plan: ProgramPlan) -> Fitted:
    """`grow_trees` compiled for `plan`: at a low optimisation level for toy plans."""
    grow = _grow_small if plan.small else _grow_fast
    return grow(xb, target, weights, feature_ok, keys, limits, edges, plan=plan)
