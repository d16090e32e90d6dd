"""Split search of a growth step: the best (feature, bin) threshold of each node.

Two searches give the same splits. `best_splits` builds (slots, nodes, channels, bins)
histograms, a group of sampled-feature slots at a time; its cost is the bin scan, the same for
a node of 5 samples as for one of 5,000. `best_splits_compact`, for steps whose nodes hold few
samples in all (deep in the tree, most steps), keeps only the (node, bin) cells that hold
samples, so the scan costs what the samples do, not nodes x bins.

`devices` > 1: the samples are split over a mesh of that many devices (`gdm.tree._shard`);
each device builds its samples' partial histograms (and, in the compact search, occupied cells
and node totals), combined across the devices before the scan, so every device finds the same
splits. The full search sums each group's histograms into node blocks, one per device
(reduce-scatter), so each device scans node_chunk / devices nodes, and the nodes' best splits
are gathered; node slots that do not split evenly (the first levels' 2) are summed whole.
The compact search likewise sums each group's compact histograms into blocks of feature
slots, one per device (when the group splits evenly), each device scanning its slots, and the
devices' best splits are compared in slot order.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from gdm.tree._shard import across, first_best, gathered, own_block, summed_blocks
from gdm.utils.compiler import on_accelerator


def _split_score(left: jax.Array, total: jax.Array, criterion: str, counted: bool,
                 lw: jax.Array, tw: jax.Array) -> jax.Array:
    """sklearn's proxy improvement (larger is better, same argmax as the impurity decrease)
    for left stats (..., S [+ 1 count], B), node totals (..., S [+ 1], 1) and their weights lw,
    tw (`weight_of`, shared with `_allowed`: computed once, one pass over the histograms). Bins
    are the contiguous axis, so the channel sums are vectorized adds of whole bin rows on XLA
    CPU."""
    rw = tw - lw
    if criterion == "squared_error":
        right1 = total[..., 1, :] - left[..., 1, :]
        return (left[..., 1, :] ** 2 / jnp.maximum(lw, 1e-30)
                + right1 ** 2 / jnp.maximum(rw, 1e-30))
    lc, tc = (left[..., :-1, :], total[..., :-1, :]) if counted else (left, total)
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
    plus a short cumsum over blocks (itself blocked when there are 32 or more blocks, as in
    the compact search's windows): matmuls vectorize on XLA:CPU and GPUs where jnp.cumsum's
    scan does not.
    HIGHEST precision: GPUs would otherwise round the sums to TF32 and pick other splits."""
    *lead, B = hist.shape
    block = 16 if B % 16 == 0 else 8
    tri = jnp.triu(jnp.ones((block, block), hist.dtype))
    inner = jnp.matmul(hist.reshape(*lead, B // block, block), tri,
                       precision=lax.Precision.HIGHEST)
    last = inner[..., -1]
    n_blocks = last.shape[-1]
    offset = (_cumsum_bins(last) if n_blocks % 16 == 0 and n_blocks >= 32
              else jnp.cumsum(last, axis=-1)) - last
    return (inner + offset[..., None]).reshape(hist.shape)


def weight_of(stats: jax.Array, criterion: str, axis: int = -1,
              counted: bool = True) -> jax.Array:
    """Total sample weight from channel sums whose channel axis is `axis` (`counted`: its last
    channel counts samples). Reduced along `axis` in place (no moveaxis), the same reduction
    as the split score's channel sums, and computed once for both `_allowed` and the score
    (a moveaxis would copy the histograms)."""
    axis = axis % stats.ndim
    if criterion == "squared_error":
        return lax.index_in_dim(stats, 0, axis, keepdims=False)
    n = stats.shape[axis] - (1 if counted else 0)
    return lax.slice_in_dim(stats, 0, n, axis=axis).sum(axis)


def _scored(left, total, limits, criterion, counted):
    """Split scores (-inf where a split is not allowed) of left / total sums."""
    lw, tw = weight_of(left, criterion, -2, counted), weight_of(total, criterion, -2, counted)
    ok = _allowed(left, total, limits, criterion, counted, lw, tw)
    return jnp.where(ok, _split_score(left, total, criterion, counted, lw, tw), -jnp.inf)


def _allowed(left, total, limits, criterion, counted, lw, tw):
    """Splits that leave both sides min_samples_leaf samples and min_weight_leaf weight, from
    left / total sums with the channel axis second to last and their weights. Without a count
    channel min_samples_leaf is 1, which positive weight on each side already means."""
    counts = (left[..., -1, :], total[..., -1, :]) if counted else None
    return _allowed_sizes(lw, tw, counts, limits)


def _allowed_sizes(lw, tw, counts, limits):
    """`_allowed` from left / total weights and (left count, total count) or None."""
    min_leaf, min_weight = limits[2], limits[3]
    ok = (lw > 0) & (tw - lw > 0) & (lw >= min_weight) & (tw - lw >= min_weight)
    if counts is not None:
        lcount, tcount = counts
        ok = ok & (lcount >= min_leaf) & (tcount - lcount >= min_leaf)
    return ok


def _right_occupied(hist: jax.Array) -> jax.Array:
    """Per (slot, node, bin) of hist (G, K, S1, B), whether a bin above it holds samples.
    The right side's weight tw - lw rounds with fractional weights, so above a node's last
    occupied bin it may be a tiny positive number: a split moving no sample would pass the
    weight test, and its left child, the node again, would be queued without end."""
    bins = jnp.arange(hist.shape[-1])
    last = jnp.max(jnp.where((hist != 0).any(-2), bins, -1), axis=-1, keepdims=True)
    return bins < last


def _first_max(score: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per node, the largest score of (slots G, nodes K, bins B) scores and its (slot, bin),
    the first in (slot, bin) order among equals (all -inf gives slot 0, bin 0).

    XLA:CPU: max, then the min of the matching flat indices; two plain reductions, which
    vectorize where argmax's (value, index) reduction does not. GPU / TPU: XLA fuses the score
    into each reduction that reads it, so the two would compute it from the histograms twice;
    argmax over the bins (contiguous) then over the slots computes it once."""
    G, K, B = score.shape
    if not on_accelerator():
        score = jnp.moveaxis(score, 1, 0).reshape(K, G * B)
        s = jnp.max(score, axis=1)
        flat = jnp.min(jnp.where(score == s[:, None], jnp.arange(G * B), G * B), axis=1)
        return s, flat // B, flat % B
    bin_at = jnp.argmax(score, axis=-1)                                          # (G, K)
    top = jnp.take_along_axis(score, bin_at[..., None], axis=-1)[..., 0]        # (G, K)
    j = jnp.argmax(top, axis=0)
    nodes = jnp.arange(K)
    return top[j, nodes], j, bin_at[j, nodes]


def gather_bins(xb: jax.Array, rows: jax.Array, feats: jax.Array, by_feature: bool):
    """Bins of samples `rows` at features `feats` (broadcast together) from xb laid out
    (samples, features), or (features, samples) when `by_feature`: a node's samples, in
    sample order, then read along one feature's row, where (samples, features) reads a cache
    line per sample and feature (CPU; GPU / TPU keep (samples, features), whose gathers
    coalesce across samples)."""
    return xb[feats, rows] if by_feature else xb[rows, feats]


def best_splits(xb, rows, feats, local, active, ids, vals, limits, *, criterion, n_nodes,
                n_bins, n_stats, group, counted, by_feature, devices=1):
    """Best (score, feature slot, bin, left stats) per node of a growth step, and node totals.

    `group` sampled-feature slots at a time (a `lax.fori_loop` over the k_used slots): the
    (slots, nodes, channels, bins) histogram of one group is a few MB at most and stays in
    cache from its scatter through the cumulative sums and scores, where the histogram of all
    slots at once (tens of MB per tree) made every step memory-bound. Ties keep the first slot,
    then the first bin, as an argmax over (slot, bin) would. `rows` are the samples (rows of xb)
    taken into account, with their node `local`, `active` flag and channel `ids` / `vals`.
    """
    K_all, B, S1, G = n_nodes, n_bins, n_stats, group
    blocks = devices > 1 and K_all % devices == 0  # each device scans its block of nodes
    K = K_all // devices if blocks else K_all
    k_used = limits[4].astype(jnp.int32)
    k = feats.shape[1]
    n_groups = -(-k // G)
    feats = jnp.pad(feats, ((0, 0), (0, n_groups * G - k)))
    base = ((local * S1)[:, None] + ids) * B                             # (n, P)
    slot_offset = jnp.arange(G)[:, None, None] * (K_all * S1 * B)        # (G, 1, 1)
    rows = rows[:, None]

    def one_group(g, best):
        slots = g * G + jnp.arange(G)
        bins = gather_bins(xb, rows, lax.dynamic_slice_in_dim(feats, g * G, G, axis=1)[local],
                           by_feature)                                            # (n, G)
        index = slot_offset + base[None] + bins.T.astype(jnp.int32)[:, :, None]  # (G, n, P)
        keep = active[None, :, None] & (slots < k_used)[:, None, None]
        index = jnp.where(keep, index, G * K_all * S1 * B)               # dropped
        hist = jnp.zeros(G * K_all * S1 * B, jnp.float32).at[index.ravel()].add(
            jnp.broadcast_to(vals, index.shape).ravel(), mode="drop").reshape(G, K_all, S1 * B)
        hist = summed_blocks(hist, 1) if blocks else across(hist, devices > 1)
        hist = hist.reshape(G, K, S1, B)
        left = _cumsum_bins(hist)
        total = left[..., -1:]
        score = jnp.where(_right_occupied(hist), _scored(left, total, limits, criterion,
                                                         counted), -jnp.inf)     # (G, K, B)
        s, j, b = _first_max(score)
        better = s > best[0]
        chosen = left[j, jnp.arange(K), :, b]                                    # (K, S1)
        return (jnp.where(better, s, best[0]), jnp.where(better, g * G + j, best[1]),
                jnp.where(better, b, best[2]), jnp.where(better[:, None], chosen, best[3]),
                total[0, :, :, 0])

    init = (jnp.full(K, -jnp.inf, jnp.float32), jnp.zeros(K, jnp.int32), jnp.zeros(K, jnp.int32),
            jnp.zeros((K, S1), jnp.float32), jnp.zeros((K, S1), jnp.float32))
    out = lax.fori_loop(0, (k_used + G - 1) // G, one_group, init)
    return tuple(gathered(a, 0) for a in out) if blocks else out




def _occupancy(cell: jax.Array, n_cells: int,
               sharded: bool = False) -> tuple[jax.Array, jax.Array]:
    """Occupancy bits of the cells in each row of cell (G, W) (entries of n_cells or more are
    ignored; `sharded`: cells occupied on any device), packed 32 to a word, and the number of
    occupied cells before each word: what `_rank` numbers cells with, 32 times less to sum
    than a cumulative sum over all cells."""
    G = cell.shape[0]
    n_words = -(-n_cells // 512) * 16  # whole blocks of `_cumsum_bins`
    bits = jnp.zeros((G, n_words * 32 + 1), jnp.uint8).at[
        jnp.arange(G)[:, None], jnp.minimum(cell, n_cells)].set(1, mode="drop")[:, :n_words * 32]
    bits = across(bits, sharded, lax.pmax)
    words = (bits.reshape(G, n_words, 32).astype(jnp.uint32)
             << jnp.arange(32, dtype=jnp.uint32)).sum(-1)
    counts = lax.population_count(words).astype(jnp.float32)
    return words, (_cumsum_bins(counts) - counts).astype(jnp.int32)               # (G, words)


def _rank(words: jax.Array, before: jax.Array, c: jax.Array) -> jax.Array:
    """Per entry of c (G, X), the number of occupied cells smaller than it in its row."""
    c = jnp.minimum(c, words.shape[1] * 32 - 1)
    word = jnp.take_along_axis(words, c >> 5, 1)
    below = word & ((jnp.uint32(1) << (c & 31).astype(jnp.uint32)) - 1)
    return jnp.take_along_axis(before, c >> 5, 1) + lax.population_count(below).astype(jnp.int32)


def _occupied_rank(cell: jax.Array, n_cells: int) -> jax.Array:
    """Per entry of cell (G, W), the number of distinct smaller values in its row (entries of
    n_cells or more are ignored, their result is meaningless)."""
    return _rank(*_occupancy(cell, n_cells), cell)


def _gini_compact_score(left, node_sums, t_weights, g_index, slot, ends, at_node, limits,
                        counted, devices):
    """Gini scores (G, W) of compact slots from their left sums (restarted at each node):
    sum_c R_c^2 = sum_c T_c^2 - 2 sum_c T_c L_c + sum_c L_c^2, where sum_c T_c L_c is the
    cumulative sum of each sample's weight times its node's total of its class (restarted
    the same way), so node totals enter only as per-node scalars. With integer weights
    (bootstrap counts) every term is exact while it stays below 2**24 (nodes of up to ~4,000
    samples, e.g. all of MNIST's compact windows), so the scores, and the splits, are those
    of `best_splits`; past that both forms round, differently, which can break an exact tie
    between two splits the other way."""
    classes = left.shape[1] - (1 if counted else 0)
    totals = node_sums[:, :classes]
    t2 = (totals * totals).sum(-1)                                                 # (K,)
    tl = _summed(jnp.zeros((slot.shape[0], left.shape[2]), jnp.float32).at[g_index, slot].add(
        jnp.broadcast_to(t_weights, slot.shape), mode="drop"), devices, left.shape[0])
    g_own = jnp.arange(left.shape[0])[:, None]
    tl = _cumsum_bins(tl.at[g_own, ends].add(-t2[:-1], mode="drop"))               # (G, W)
    lc = left[:, :classes]
    lw, l2 = lc.sum(1), (lc * lc).sum(1)
    tw = totals.sum(-1)[at_node]
    counts = (left[:, -1], node_sums[:, -1][at_node]) if counted else None
    ok = _allowed_sizes(lw, tw, counts, limits)
    r2 = t2[at_node] - 2 * tl + l2
    score = l2 / jnp.maximum(lw, 1e-30) + r2 / jnp.maximum(tw - lw, 1e-30)
    return jnp.where(ok, score, -jnp.inf)


def _flip_negative(bits: jax.Array) -> jax.Array:
    """Flips the magnitude bits of negative int32s: float32 bit patterns so mapped order as
    the floats do, and the map is its own inverse."""
    return jnp.where(bits >= 0, bits, bits ^ jnp.int32(0x7FFFFFFF))


def _ordered_key(score: jax.Array) -> jax.Array:
    """int32 keys ordered as the float32 scores (no NaN; -0 counted as +0): the compact
    search's segment max runs on them, since XLA:CPU's float scatter-max is several times
    slower than its int32 one (the same order, so the same trees)."""
    return _flip_negative(lax.bitcast_convert_type(score + 0.0, jnp.int32))


def _key_score(key: jax.Array) -> jax.Array:
    """Inverse of `_ordered_key`; keys below that of -inf (empty segments) give -inf."""
    key = jnp.maximum(key, _ordered_key(jnp.float32(-jnp.inf)))
    return lax.bitcast_convert_type(_flip_negative(key), jnp.float32)


def _compact_node_totals(local, active, ids, vals, n_nodes: int, n_stats: int,
                         counted: bool,
                         sharded: bool = False) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Node totals (K, S1), the totals of the nodes before each (in compact slot order), and
    for gini each sample's weight times its node's total of its class (class channels only).
    The same for every feature slot: one small scatter, not one per slot."""
    K, S1 = n_nodes, n_stats
    node_sums = across(jnp.zeros((K + 1, S1), jnp.float32).at[
        jnp.where(active, local, K)[:, None], ids].add(vals)[:K], sharded)        # (K, S1)
    before = jnp.cumsum(node_sums, axis=0) - node_sums
    classes = S1 - 1 if counted else S1
    t_weights = jnp.where(ids < classes, vals * node_sums[local[:, None],
                                                          jnp.minimum(ids, classes - 1)],
                          0.0).sum(-1)                                            # (W,)
    return node_sums, before, t_weights


def _compact_cells(xb, rows, feats, local, active, g, k_used, *, group: int, n_nodes: int,
                   n_bins: int, n_slots: int, by_feature: bool, sharded: bool = False):
    """The (node, bin) cell of each sample at each slot of feature group g (K * B where the
    sample or slot is unused), the cells' occupancy (`_occupancy`), and each sample's compact
    slot: its cell's rank among the occupied ones (n_slots where unused)."""
    G, K, B = group, n_nodes, n_bins
    slots = g * G + jnp.arange(G)
    # Each group gathers only its own slots' features per sample (gathering all padded
    # slots at once would read columns a group never uses), and scatters the (node, bin)
    # cell as one index rather than node and bin separately.
    slot_feats = lax.dynamic_slice_in_dim(feats, g * G, G, axis=1)[local]      # (W, G)
    bins = (gather_bins(xb, rows.T, slot_feats.T, True) if by_feature
            else xb[rows, slot_feats].T)                                      # (G, W)
    keep = active[None, :] & (slots < k_used)[:, None]
    cell = jnp.where(keep, local * B + bins.astype(jnp.int32), K * B)          # (G, W)
    occupied = _occupancy(cell, K * B, sharded)
    slot = jnp.where(keep, _rank(*occupied, cell), n_slots)
    return cell, occupied, slot


def _summed(x: jax.Array, devices: int, own: int) -> jax.Array:
    """x (G, ...) summed over the devices: whole, or each device's block of `own` rows."""
    return summed_blocks(x, 0) if own < x.shape[0] else across(x, devices > 1)


def _compact_histogram(ids, vals, cell, slot, g_index, *, n_nodes: int, n_bins: int,
                       n_slots: int, n_stats: int, devices: int = 1, own: int | None = None):
    """Channel sums (G, S1, W = n_slots) of the compact slots, and each slot's node, bin and segment
    (g * K + node, G * K for empty slots) for the per-node maxima; g_index = arange(G)[:, None].
    `own` < G: this device's block of `own` feature slots of them (`best_splits_compact`)."""
    G, W = cell.shape[0], n_slots
    K, B, S1, own = n_nodes, n_bins, n_stats, own or G
    hist = _summed(jnp.zeros((G, S1, W), jnp.float32).at[
        g_index[:, :, None], ids[None], slot[:, :, None]].add(
        vals[None], mode="drop"), devices, own)                              # (G, S1, W)
    cell_of = across(jnp.full((G, W), K * B, jnp.int32).at[g_index, slot].set(
        cell, mode="drop"), devices > 1, lax.pmin)
    cell_of = own_block(cell_of, own) if own < G else cell_of
    node_of, bin_of = cell_of // B, cell_of % B
    segment = jnp.where(node_of < K, jnp.arange(own)[:, None] * K + node_of, own * K)
    return hist, node_of, bin_of, segment


def _compact_scores(hist, occupied, slot, node_of, g_index, totals, limits, *,
                    criterion: str, counted: bool, n_bins: int, devices: int = 1):
    """Left sums (G, S1, W) of the compact slots, restarted at each node, and their split
    scores (-inf where not allowed or empty); totals = `_compact_node_totals`. hist and
    node_of may hold this device's block of the slots of occupied, slot and g_index."""
    node_sums, before, t_weights = totals
    G, S1, _ = hist.shape
    K, B = node_sums.shape[0], n_bins
    at_node = jnp.minimum(node_of, K - 1)
    if criterion == "gini":
        # Node m's sums are subtracted at the first slot of node m + 1, so the cumulative
        # sum restarts at each node: no (G, S1, W) gathers of the nodes' sums.
        own = [own_block(a, G) for a in occupied] if G < slot.shape[0] else occupied
        ends = _rank(*own, jnp.broadcast_to(jnp.arange(1, K) * B, (G, K - 1)))
        left = _cumsum_bins(hist.at[jnp.arange(G)[:, None, None], jnp.arange(S1),
                                    ends[:, :, None]]
                            .add(-node_sums[None, :K - 1], mode="drop"))      # (G, S1, W)
        score = _gini_compact_score(left, node_sums, t_weights, g_index, slot, ends,
                                    at_node, limits, counted, devices)
    else:
        # Each node's (K, S1) sums at each slot, gathered straight into the (G, S1, W)
        # layout: gathering (G, W, S1) rows and transposing them (moveaxis) would add two
        # transpose kernels over arrays of that size on a GPU.
        gather = lambda a: jnp.take_along_axis(a.T[None], at_node[:, None, :], axis=2)
        left = _cumsum_bins(hist) - gather(before)                            # (G, S1, W)
        score = _scored(left, gather(node_sums), limits, criterion, counted)
    # A node's last occupied slot sends all its samples left: never a split (its rounded
    # right weight may be positive, see `_right_occupied`).
    same_next = node_of == jnp.concatenate([node_of[:, 1:], jnp.full_like(node_of[:, :1], K)],
                                           axis=1)
    return left, jnp.where((node_of < K) & same_next, score, -jnp.inf)        # (G, W)


def _segment_best(score, left, segment, bin_of, n_nodes: int):
    """Per node, the best score over a group's slots and its (slot, bin, left sums), the first
    of equal scores: a segment max of `_ordered_key`s, then the segment min of the positions
    holding it."""
    G, W = score.shape
    K = n_nodes
    key = _ordered_key(score).ravel()
    top = jax.ops.segment_max(key, segment.ravel(), G * K + 1)[:-1]
    at_top = key == top[jnp.minimum(segment.ravel(), G * K - 1)]
    position = jnp.broadcast_to(jnp.arange(W), (G, W)).ravel()
    first = jax.ops.segment_min(jnp.where(at_top, position, W), segment.ravel(),
                                G * K + 1)[:-1].reshape(G, K)
    top = _key_score(top).reshape(G, K)
    j = jnp.argmax(top, axis=0)                                                # (K,)
    s = jnp.max(top, axis=0)
    nodes = jnp.arange(K)
    where = jnp.minimum(first[j, nodes], W - 1)
    return s, j, bin_of[j, where], left[j, :, where]                         # chosen (K, S1)


def best_splits_compact(xb, rows, feats, local, active, ids, vals, limits, *, criterion,
                        n_nodes, n_bins, n_stats, group, counted, by_feature, devices=1,
                        n_slots=None):
    """`best_splits` for at most n_slots (None: len(rows)) samples in all, on all devices:
    the same splits, cheaper. `rows` are this device's (at most n_slots) samples.

    Per sampled-feature slot, the (node, bin) cells holding samples are numbered in (node, bin)
    order (`_occupied_rank`), and the channel sums go to those compact slots: len(rows) of
    them instead of nodes x bins. A cumulative sum over all compact slots minus the totals
    of the nodes before gives each node's left sums (gini subtracts them inside the sum, at
    each node's first slot, and scores with per-node scalars, no gathers of node sums);
    segment max (of `_ordered_key`s) and min pick
    each node's best slot, the first of equal scores (the lowest bin), so ties resolve as in
    `best_splits`, where an empty bin repeats the score of the occupied one before it.
    """
    K, B, S1, G = n_nodes, n_bins, n_stats, group
    sharded = devices > 1
    own = G // devices if sharded and G % devices == 0 else G  # this device's slots
    k_used = limits[4].astype(jnp.int32)
    k = feats.shape[1]
    n_groups = -(-k // G)
    feats = jnp.pad(feats, ((0, 0), (0, n_groups * G - k)))
    g_index = jnp.arange(G)[:, None]
    rows = rows[:, None]
    totals = _compact_node_totals(local, active, ids, vals, K, S1, counted, sharded)
    sizes = dict(n_nodes=K, n_bins=B, n_slots=n_slots or rows.shape[0])

    def one_group(g, best):
        cell, occupied, slot = _compact_cells(xb, rows, feats, local, active, g, k_used,
                                              group=G, by_feature=by_feature, sharded=sharded,
                                              **sizes)
        hist, node_of, bin_of, segment = _compact_histogram(
            ids, vals, cell, slot, g_index, n_stats=S1, devices=devices, own=own, **sizes)
        left, score = _compact_scores(hist, occupied, slot, node_of, g_index, totals, limits,
                                      criterion=criterion, counted=counted, n_bins=B,
                                      devices=devices)
        s, j, b, chosen = _segment_best(score, left, segment, bin_of, K)
        if own < G:  # the best of the devices' slot blocks, the first in slot order
            s, j, b, chosen = first_best(s, j, b, chosen, size=own)
        better = s > best[0]
        return (jnp.where(better, s, best[0]), jnp.where(better, g * G + j, best[1]),
                jnp.where(better, b, best[2]), jnp.where(better[:, None], chosen, best[3]))

    init = (jnp.full(K, -jnp.inf, jnp.float32), jnp.zeros(K, jnp.int32), jnp.zeros(K, jnp.int32),
            jnp.zeros((K, S1), jnp.float32))
    return lax.fori_loop(0, (k_used + G - 1) // G, one_group, init) + (totals[0],)
