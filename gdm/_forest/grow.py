"""Growing many trees from binned features, as jit-compiled programs.

Each tree keeps a queue of nodes still to split (breadth first). One growth step takes the next
`node_chunk` queued nodes, builds their class (or moment) histograms over their sampled
features with scatter-adds, scores every (feature, bin) threshold from cumulative sums, and
appends the children. Pure nodes and nodes stopped by the min_samples / max_depth limits never
enter the queue, so growth ends as soon as every tree is done. The step runs in a
`lax.while_loop`, so compile time does not depend on depth.

Where the time goes on XLA:CPU, and the answers (MNIST, 100 trees: 32 s -> ~13 s):
- the histograms of all sampled features of a step are tens of MB per tree, so building and
  scanning them was memory-bound: features are scanned in groups sized by `chunk_size`, each
  group's histogram staying in cache (`_best_splits`);
- deep steps hold few samples: when the step's nodes hold at most `window` samples, they are
  compacted and only those are scattered;
- vmapped scatters are several times slower per entry than plain ones: real problems grow
  their trees one after another (`lax.map`); toy problems, where per-step overhead dominates,
  stay vmapped.

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

from gdm._compile import NATIVE_FUSIONS

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


def _split_score(left: jax.Array, total: jax.Array, criterion: str) -> jax.Array:
    """sklearn's proxy improvement (larger is better, same argmax as the impurity decrease)
    for left stats (..., S + 1, B) and node totals (..., S + 1, 1). Bins are the contiguous
    axis, so the channel sums are vectorized adds of whole bin rows on XLA CPU."""
    if criterion == "squared_error":
        right = total - left
        return (left[..., 1, :] ** 2 / jnp.maximum(left[..., 0, :], 1e-30)
                + right[..., 1, :] ** 2 / jnp.maximum(right[..., 0, :], 1e-30))
    lc, tc = left[..., :-1, :], total[..., :-1, :]
    lw = lc.sum(-2)
    rw = tc.sum(-2) - lw
    if criterion == "gini":  # sum_c R_c^2 = sum_c T_c^2 - 2 T_c L_c + L_c^2, no R array needed
        l2 = (lc * lc).sum(-2)
        r2 = (tc * tc).sum(-2) - 2 * (tc * lc).sum(-2) + l2
        return l2 / jnp.maximum(lw, 1e-30) + r2 / jnp.maximum(rw, 1e-30)
    rc = tc - lc
    xlogx = lambda c: jnp.where(c > 0, c * jnp.log(jnp.where(c > 0, c, 1.0)), 0.0)
    lw1, rw1 = jnp.maximum(lw, 1e-30), jnp.maximum(rw, 1e-30)
    return (xlogx(lc).sum(-2) - lw * jnp.log(lw1)) + (xlogx(rc).sum(-2) - rw * jnp.log(rw1))


def _cumsum_bins(hist: jax.Array) -> jax.Array:
    """Cumulative sum over the last (bin) axis: a triangular matmul inside blocks of 16 bins
    plus a short cumsum over blocks; ~3x faster than jnp.cumsum on XLA CPU."""
    *lead, B = hist.shape
    block = 16 if B % 16 == 0 else 8
    tri = jnp.triu(jnp.ones((block, block), hist.dtype))
    inner = hist.reshape(*lead, B // block, block) @ tri
    last = inner[..., -1]
    offset = jnp.cumsum(last, axis=-1) - last
    return (inner + offset[..., None]).reshape(hist.shape)


def _weight(stats: jax.Array, criterion: str, axis: int = -1) -> jax.Array:
    """Total sample weight from channel sums whose channel axis is `axis`."""
    stats = jnp.moveaxis(stats, axis, -1)
    return stats[..., 0] if criterion == "squared_error" else stats[..., :-1].sum(-1)


def _channels(target: jax.Array, w: jax.Array, criterion: str, n_channels: int):
    """(channel ids, values) per sample, each (n, P)."""
    n = w.shape[0]
    count = (w > 0).astype(jnp.float32)
    if criterion == "squared_error":
        ids = jnp.broadcast_to(jnp.arange(4, dtype=jnp.int32), (n, 4))
        vals = jnp.stack([w, w * target, w * target**2, count], axis=1)
    else:
        ids = jnp.stack([target.astype(jnp.int32), jnp.full((n,), n_channels, jnp.int32)], 1)
        vals = jnp.stack([w, count], axis=1)
    return ids, vals


def _best_splits(xb, rows, feats, local, active, ids, vals, limits, *, criterion, n_nodes,
                 n_bins, n_stats, group):
    """Best (score, feature slot, bin, left stats) per node of a growth step, and node totals.

    `group` sampled-feature slots at a time (a `lax.fori_loop` over the k_used slots): the
    (slots, nodes, channels, bins) histogram of one group is a few MB at most and stays in
    cache from its scatter through the cumulative sums and scores, where the histogram of all
    slots at once (tens of MB per tree) made every step memory-bound. Ties keep the first slot,
    then the first bin, as an argmax over (slot, bin) would. `rows` are the samples (rows of xb)
    taken into account, with their node `local`, `active` flag and channel `ids` / `vals`.
    """
    K, B, S1, G = n_nodes, n_bins, n_stats, group
    min_leaf, min_weight, k_used = limits[2], limits[3], limits[4].astype(jnp.int32)
    k = feats.shape[1]
    n_groups = -(-k // G)
    feats = jnp.pad(feats, ((0, 0), (0, n_groups * G - k)))
    node_feats = feats[local]                                            # (n, k_pad)
    base = ((local * S1)[:, None] + ids) * B                             # (n, P)
    slot_offset = jnp.arange(G)[:, None, None] * (K * S1 * B)            # (G, 1, 1)
    rows = rows[:, None]

    def one_group(g, best):
        slots = g * G + jnp.arange(G)
        bins = xb[rows, lax.dynamic_slice_in_dim(node_feats, g * G, G, axis=1)]  # (n, G)
        index = slot_offset + base[None] + bins.T.astype(jnp.int32)[:, :, None]  # (G, n, P)
        keep = active[None, :, None] & (slots < k_used)[:, None, None]
        index = jnp.where(keep, index, G * K * S1 * B)                   # dropped
        hist = jnp.zeros(G * K * S1 * B, jnp.float32).at[index.ravel()].add(
            jnp.broadcast_to(vals, index.shape).ravel(), mode="drop")
        left = _cumsum_bins(hist.reshape(G, K, S1, B))
        total = left[..., -1:]
        lw, tw = _weight(left, criterion, -2), _weight(total, criterion, -2)
        lcount, tcount = left[:, :, -1], total[:, :, -1]
        ok = ((lcount >= min_leaf) & (tcount - lcount >= min_leaf)
              & (lw > 0) & (tw - lw > 0) & (lw >= min_weight) & (tw - lw >= min_weight))
        score = jnp.where(ok, _split_score(left, total, criterion), -jnp.inf)   # (G, K, B)
        score = jnp.moveaxis(score, 1, 0).reshape(K, G * B)
        flat = jnp.argmax(score, axis=1)
        s, j, b = jnp.max(score, axis=1), flat // B, flat % B
        better = s > best[0]
        chosen = left[j, jnp.arange(K), :, b]                                    # (K, S1)
        return (jnp.where(better, s, best[0]), jnp.where(better, g * G + j, best[1]),
                jnp.where(better, b, best[2]), jnp.where(better[:, None], chosen, best[3]),
                total[0, :, :, 0])

    init = (jnp.full(K, -jnp.inf, jnp.float32), jnp.zeros(K, jnp.int32), jnp.zeros(K, jnp.int32),
            jnp.zeros((K, S1), jnp.float32), jnp.zeros((K, S1), jnp.float32))
    return lax.fori_loop(0, (k_used + G - 1) // G, one_group, init)


def _grow_one(xb, target, w, feature_ok, key, limits, *, criterion, n_channels, k, node_chunk,
              n_bins, capacity, group, window):
    """Grows one tree; see the module docstring. Shapes are static, loops are lax loops."""
    n, d = xb.shape
    K, B, M, S1 = node_chunk, n_bins, capacity, n_channels + 1
    max_depth, min_split, min_leaf, min_weight, k_used = (limits[i] for i in range(5))
    ids, vals = _channels(target, w, criterion, n_channels)

    def can_grow(stats, imp, depth):
        cnt = stats[..., -1]
        weight = _weight(stats, criterion)
        return ((cnt >= min_split) & (cnt >= 2 * min_leaf) & (depth < max_depth)
                & (weight > 0) & (weight >= 2 * min_weight) & ~_is_pure(stats, imp, criterion))

    root = jnp.zeros(S1, jnp.float32).at[ids.ravel()].add(vals.ravel())
    root_imp = impurity(root, criterion)
    root_grows = can_grow(root, root_imp, 0)
    state = dict(
        qpos=jnp.where(root_grows & (w > 0), 0, -1).astype(jnp.int32),
        queue=jnp.zeros(M + K, jnp.int32),
        qhead=jnp.int32(0), qtail=root_grows.astype(jnp.int32), tail=jnp.int32(1),
        feature=jnp.full(M, -2, jnp.int32), bin=jnp.zeros(M, jnp.int32),
        left=jnp.full(M, -1, jnp.int32), right=jnp.full(M, -1, jnp.int32),
        stats=jnp.zeros((M, S1), jnp.float32).at[0].set(root),
        impurity=jnp.zeros(M, jnp.float32).at[0].set(root_imp),
        depth=jnp.zeros(M, jnp.int32),
    )

    def step(s):
        slots = s["qhead"] + jnp.arange(K)
        valid = slots < s["qtail"]
        nodes = jnp.where(valid, lax.dynamic_slice(s["queue"], (s["qhead"],), (K,)), 0)
        # Features sampled per node without replacement, among non-constant ones (sklearn
        # keeps drawing until it has max_features non-constant features).
        noise = jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(key, i), (d,)))(nodes)
        feats = lax.top_k(jnp.where(feature_ok, noise, -1.0), k)[1]  # (K, k)

        local = s["qpos"] - s["qhead"]
        active = (s["qpos"] >= 0) & (local < K)
        local = jnp.where(active, local, 0)
        search = partial(_best_splits, xb, feats=feats, limits=limits, criterion=criterion,
                         n_nodes=K, n_bins=B, n_stats=S1, group=group)
        # Deep steps hold few samples: search over the first `window` of them (compacted in
        # sample order) rather than over all n, when they fit.
        n_active = active.sum()
        position = jnp.where(active, jnp.cumsum(active) - 1, window)
        picked = jnp.zeros(window, jnp.int32).at[position].set(jnp.arange(n), mode="drop")
        in_window = jnp.arange(window) < n_active

        def few(_):
            return search(picked, local=local[picked], active=in_window, ids=ids[picked],
                          vals=vals[picked])

        def many(_):
            return search(jnp.arange(n), local=local, active=active, ids=ids, vals=vals)

        if window >= n:
            best_score, best_j, best_b, best_left, node_total = many(None)
        else:
            best_score, best_j, best_b, best_left, node_total = lax.cond(
                n_active <= window, few, many, None)
        split = valid & jnp.isfinite(best_score)
        rows = jnp.arange(K)
        best_f = feats[rows, best_j]
        child_stats = jnp.stack([best_left, node_total - best_left], 1)
        child_imp = impurity(child_stats, criterion)
        child_depth = s["depth"][nodes] + 1

        first_child = s["tail"] + 2 * (jnp.cumsum(split) - 1)
        child_ids = first_child[:, None] + jnp.arange(2)  # (K, 2)
        parent_at = jnp.where(split, nodes, M)
        child_at = jnp.where(split[:, None], child_ids, M).ravel()
        grows = (split[:, None] & can_grow(child_stats, child_imp, child_depth[:, None])).ravel()
        queue_at = s["qtail"] + jnp.cumsum(grows) - 1
        child_q = jnp.where(grows, queue_at, -1).reshape(K, 2)

        go_left = xb[jnp.arange(n), best_f[local]].astype(jnp.int32) <= best_b[local]
        new_q = jnp.where(go_left, child_q[local, 0], child_q[local, 1])
        new_q = jnp.where(split[local], new_q, -1)
        drop = dict(mode="drop")
        return dict(
            qpos=jnp.where(active, new_q, s["qpos"]),
            queue=s["queue"].at[jnp.where(grows, queue_at, M + K)].set(child_ids.ravel(), **drop),
            qhead=jnp.minimum(s["qhead"] + K, s["qtail"]),
            qtail=s["qtail"] + grows.sum(dtype=jnp.int32),
            tail=s["tail"] + 2 * split.sum(dtype=jnp.int32),
            feature=s["feature"].at[parent_at].set(best_f, **drop),
            bin=s["bin"].at[parent_at].set(best_b, **drop),
            left=s["left"].at[parent_at].set(child_ids[:, 0], **drop),
            right=s["right"].at[parent_at].set(child_ids[:, 1], **drop),
            stats=s["stats"].at[child_at].set(child_stats.reshape(2 * K, S1), **drop),
            impurity=s["impurity"].at[child_at].set(child_imp.ravel(), **drop),
            depth=s["depth"].at[child_at].set(jnp.repeat(child_depth, 2), **drop),
        )

    s = lax.while_loop(lambda s: s["qhead"] < s["qtail"], step, state)
    return Trees(s["feature"], s["bin"], s["left"], s["right"], s["stats"], s["impurity"],
                 s["tail"])


def grow_trees(xb: jax.Array, target: jax.Array, weights: jax.Array, feature_ok: jax.Array,
               keys: jax.Array, limits: jax.Array, *, criterion: str, n_channels: int, k: int,
               node_chunk: int, n_bins: int, capacity: int, group: int, window: int,
               vmap_trees: bool) -> Trees:
    """Grows len(weights) trees in one program; weights (n_trees, n) are per-tree sample
    weights (bootstrap counts x sample_weight x class_weight, 0 on padding). limits (float32) =
    (max_depth, min_samples_split, min_samples_leaf, min_weight_leaf, max_features).

    vmap_trees: vmapped (toy problems, where a step is tiny and per-step overhead dominates)
    or one after another with `lax.map` (real problems: vmapped scatters are several times
    slower per entry on XLA:CPU, and one tree's working set stays in cache)."""
    grow = partial(_grow_one, criterion=criterion, n_channels=n_channels, k=k,
                   node_chunk=node_chunk, n_bins=n_bins, capacity=capacity, group=group,
                   window=window)

    def one(w, key):
        return grow(xb, target, w, feature_ok, key, limits)

    if vmap_trees:
        return jax.vmap(one)(weights, keys)
    return jax.lax.map(lambda pair: one(*pair), (weights, keys))


_STATIC = ("criterion", "n_channels", "k", "node_chunk", "n_bins", "capacity", "group",
           "window", "vmap_trees")
grow_trees_fast = jax.jit(grow_trees, static_argnames=_STATIC, compiler_options=NATIVE_FUSIONS)
# Small problems (check_estimator, CV on toy data): LLVM optimisation level 0 halves compile
# time, which dominates there; the run time stays in milliseconds.
grow_trees_small = jax.jit(grow_trees, static_argnames=_STATIC,
                           compiler_options={"xla_backend_optimization_level": 0})


@partial(jax.jit, static_argnames=("n_trees",))
def bootstrap_counts(key: jax.Array, sample_weight: jax.Array, n_draws: jax.Array, *,
                     n_trees: int) -> jax.Array:
    """(n_trees, n) draw counts: per tree, n_draws indices drawn with replacement with
    probability proportional to sample_weight (0 on padding), as sklearn 1.9 does; inverse CDF
    so the cost is n log n per tree."""
    n = sample_weight.shape[0]
    cdf = jnp.cumsum(sample_weight)

    def one(k):
        u = jax.random.uniform(k, (n,)) * cdf[-1]
        draws = jnp.minimum(jnp.searchsorted(cdf, u, side="right"), n - 1)
        used = (jnp.arange(n) < n_draws).astype(jnp.float32)
        return jnp.zeros(n, jnp.float32).at[draws].add(used)

    return jax.vmap(one)(jax.random.split(key, n_trees))
