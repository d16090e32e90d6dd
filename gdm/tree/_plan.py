"""How a fit grows its trees: every static size and strategy, decided in one place.

`plan_growth` turns (n, d, parameters, backend) into a `GrowthPlan`. Its `program` part
(`ProgramPlan`, hashable) is the one static argument of the compiled growth programs; the
rest says how the fit calls them (trees per call, threads). Static sizes come from shapes and
parameter buckets only, so fits that differ in values that do not change shapes (seeds,
min_samples_*, max_depth, class weights) share compiled programs.
"""

from __future__ import annotations

from dataclasses import dataclass

from gdm.utils.buckets import bucket_size

SMALL_CHUNK = 8  # trees per vmapped toy program, and the multiple trees are padded to
TREES_PER_CALL = 8  # real problems on CPU: trees per compiled call, one after another inside
# Compact-search windows as fractions n / divisor of the padded sample count: a step whose
# nodes hold at most a window's samples searches only those, in the smallest window they fit,
# so a step costs about its window. Each window is one more compiled branch, so the grid is
# coarse: windows from n / 16 (the deep levels) to 3n / 8.
WINDOW_DIVISORS = (16, 32 / 3, 8, 16 / 3, 4, 8 / 3)
# GPU / TPU grow trees in lockstep and choose a step's window for the largest tree, so a
# coarser grid serves them; finer windows would double the compile time for little gain.
ACCELERATOR_WINDOW_DIVISORS = (32, 16, 8, 4)
# The first levels' steps hold all samples but at most this many queued nodes: they search
# that many node slots rather than node_chunk, since a full search costs the same per slot
# whether a slot holds a node or not.
TOP_SLOTS = (2, 8, 16)
ACCELERATOR_TOP_SLOTS = (8,)
# Histogram cells built at once (float32). CPU: a step's histograms stay in the L2 / L3 cache
# from their scatter through the scan. GPU / TPU: the memory budget of trees in lockstep.
CPU_CELLS = 2**19
ACCELERATOR_CELLS = 2**29
# Toy problems (check_estimator, CV on tiny data): one small vmapped program under this many
# histogram cells, compiled at a low optimisation level since compiling dominates there.
TOY_CELLS = 2**22
# Fewest padded sample rows per device of a sharded fit.
MIN_DEVICE_ROWS = 128


def devices_of(n_pad: int, devices: int, *, toy: bool) -> int:
    """Devices a fit's samples are split over (see `plan_growth`)."""
    if toy or devices <= 1 or n_pad % devices or n_pad // devices < MIN_DEVICE_ROWS:
        return 1
    return devices


def device_rows(windows: tuple[int, ...], n_devices: int, n_local: int) -> tuple[int, ...]:
    """Rows each device scans of each compact window: its even share with half again as many
    for imbalance (multiples of 16, at most the device's rows)."""
    return tuple(min(n_local, -(-3 * w // (2 * n_devices * 16)) * 16) for w in windows)


def coarse_bucket(n: int, minimum: int) -> int:
    """The trees' size bucket: powers of two up to 2048, the default grid above."""
    return bucket_size(n, minimum, powers_of_two_to=2048)


def windows_of(n_pad: int, divisors: tuple[float, ...]) -> tuple[int, ...]:
    """Sample windows of the compact search (multiples of 16, at least 256, at most n_pad)."""
    return tuple(sorted({min(n_pad, max(256, int(n_pad / dv) // 16 * 16)) for dv in divisors}))


def even_groups(k: int, most: int) -> int:
    """Feature slots per group of the split search: k slots in the fewest groups of at most
    `most`, of equal size, rather than groups of `most` and a last one mostly padding (its
    slots are computed all the same)."""
    n_groups = -(-k // max(most, 1))
    return -(-k // n_groups)


def bag_bound(n_used: int, n_draws: int | None) -> int:
    """At most how many distinct samples a tree's bag holds, but for a vanishing chance: all
    n_used samples of positive weight without bootstrap (n_draws None), else the expected
    number of distinct ones among n_draws draws plus six standard deviations (uniform weights
    maximise it). A function of sizes only, not of the draw, so seeds share programs."""
    if n_draws is None or n_used <= 1:
        return n_used
    miss, miss2 = (1 - 1 / n_used) ** n_draws, (1 - 2 / n_used) ** n_draws
    mean = n_used * (1 - miss)
    var = n_used * (n_used - 1) * miss2 + n_used * miss - (n_used * miss) ** 2
    return min(n_used, int(mean + 6 * max(var, 0.0) ** 0.5) + 16)


def bag_rows_of(n_bag: int, n_pad: int) -> int:
    """Rows the full searches scan for bags of at most n_bag samples: in steps of n_pad / 16,
    so that fits of nearby sizes share one program."""
    step = -(-n_pad // 16)
    return min(n_pad, -(-n_bag // step) * step)


def device_bag_bound(n_used: int, n_draws: int | None, n_local: int) -> int:
    """At most how many distinct samples of a tree's bag one device's n_local rows hold, but
    for a vanishing chance: `bag_bound` of the min(n_used, n_local) used samples it may hold
    and the draws that land on them (their share of n_draws plus six standard deviations)."""
    held = min(n_used, n_local)
    if n_draws is None or held <= 1:
        return held
    share = n_draws * held / max(n_used, 1)
    return min(held, bag_bound(held, int(share + 6 * share**0.5) + 1))


def needs_counts(min_samples_leaf: int) -> bool:
    """Whether split search needs sample counts per bin (else positive weight says enough)."""
    return min_samples_leaf > 1


@dataclass(frozen=True)
class ProgramPlan:
    """The static sizes and strategies of one compiled growth program (see `plan_growth`)."""

    criterion: str
    n_channels: int  # histogram class (or moment) channels, padded for few classes
    k: int  # sampled-feature slots per node
    node_chunk: int  # queued nodes per growth step
    n_bins: int
    capacity: int  # nodes per tree
    group: int  # feature slots per group of the full search
    tops: tuple[tuple[int, int], ...]  # (node slots, feature group) of the first levels
    compact_group: int  # feature slots per group of the compact search
    windows: tuple[int, ...]  # compact-search sample windows, ascending
    bag_rows: int  # rows the full searches scan (compacted samples of positive weight)
    counted: bool  # histograms carry a sample-count channel
    vmap_trees: bool  # trees in vmapped lockstep, else one after another
    by_feature: bool  # binned x laid out (features, samples), else (samples, features)
    small: bool  # the toy program (low optimisation level)
    n_devices: int = 1  # devices the samples are split over (bag_rows then counts per device)
    window_rows: tuple[int, ...] = ()  # n_devices > 1: rows per device of each window


@dataclass(frozen=True)
class GrowthPlan:
    """A fit's plan: the compiled program's `program`, and how the fit calls it."""

    program: ProgramPlan
    tree_chunk: int  # trees per compiled call
    n_rows: int  # trees padded to whole calls
    workers: int  # threads running calls at once


def _padded_sizes(n_pad: int, k: int, n_trees: int, d_pad: int, *, node_chunk: int,
                  max_bins: int, n_bins_used: int, n_channels: int,
                  classifier: bool) -> tuple[int, int, int, bool]:
    """(feature slots, bins, channels, toy): the padded sizes of the histograms, and whether
    the problem is a toy one (few trees, small histograms), whose sizes are bucketed coarsely
    so that toy fits share one program."""
    k_pad = min(coarse_bucket(k, 1), d_pad)
    if 2 * k_pad > d_pad:
        k_pad = d_pad
    n_bins = max(32, min(n_pad, coarse_bucket(max_bins, 1)))
    n_channels_pad = n_channels
    if classifier and 0 < n_channels <= 4:
        n_channels_pad = coarse_bucket(n_channels, 2)
    toy = (n_trees <= SMALL_CHUNK
           and node_chunk * k_pad * n_bins * (n_channels_pad + 1) * SMALL_CHUNK <= TOY_CELLS)
    if not toy:
        n_bins = max(32, coarse_bucket(n_bins_used, 1))
    return k_pad, n_bins, n_channels_pad, toy


def _tree_batching(n_pad: int, k: int, n_trees: int, slot_cells: int, cells: int, *,
                   toy: bool, accelerator: bool) -> tuple[int, int, tuple[int, ...]]:
    """(trees per call, trees grown at once, compact-search windows): toy problems one vmapped
    call; GPU / TPU as many trees in lockstep as fit in `cells`, in equal calls of a multiple
    of SMALL_CHUNK trees; CPU one tree at a time, TREES_PER_CALL per call."""
    if toy:
        return SMALL_CHUNK, SMALL_CHUNK, (n_pad,)
    if accelerator:
        fit = max(1, min(n_trees, cells // (k * slot_cells)))
        per_call = -(-n_trees // -(-n_trees // fit))  # equal calls, a multiple of 8 trees
        tree_chunk = -(-per_call // SMALL_CHUNK) * SMALL_CHUNK
        return tree_chunk, tree_chunk, windows_of(n_pad, ACCELERATOR_WINDOW_DIVISORS)
    return TREES_PER_CALL, 1, windows_of(n_pad, WINDOW_DIVISORS)


def _feature_groups(k_slots: int, node_chunk: int, n_bins: int, hist_channels: int, cells: int,
                    trees_at_once: int, windows: tuple[int, ...], n_pad: int, *, toy: bool,
                    accelerator: bool) -> tuple[int, tuple[tuple[int, int], ...], int]:
    """(full-search group, first-level (slots, group) pairs, compact-search group): feature
    slots per group such that the histograms of `trees_at_once` trees fit in `cells`."""
    room = cells // (node_chunk * n_bins * hist_channels * trees_at_once)
    # No top-level branch of node_chunk slots or more: it would compile the full search again.
    tops = tuple((slots, even_groups(k_slots, room * node_chunk // slots))
                 for slots in (ACCELERATOR_TOP_SLOTS if accelerator else TOP_SLOTS)
                 if slots < node_chunk)
    group_window = windows[-1] if toy or accelerator else min(windows[-1], n_pad // 4)
    compact_cells = group_window * (hist_channels + 2) + node_chunk * n_bins
    return (even_groups(k_slots, room), tops,
            even_groups(k_slots, cells // (compact_cells * trees_at_once)))


def plan_growth(n_pad: int, k: int, n_trees: int, *, criterion: str, n_channels: int,
                classifier: bool, max_bins: int, n_bins_used: int, min_samples_leaf: int,
                node_chunk: int, chunk_size: int | None, threads: int, accelerator: bool,
                d_pad: int, n_used: int, n_draws: int | None, devices: int = 1) -> GrowthPlan:
    """Plans the growth of n_trees trees on n_pad (padded) samples and d_pad features, k of
    them usable per node, n_used samples of positive weight drawn n_draws times per tree
    (None: no bootstrap), on at most `devices` devices.

    - Feature slots: k padded to a bucket (toy problems, so that they share programs across
      max_features) or exact (real problems scan no padding slots).
    - Bins: toy problems take a fixed bucket of max_bins (one program for all data); real ones
      as many as the data needs (n_bins_used, bucketed): the bin scan is most of a full search.
    - Channels: few classes are padded to a bucket (fewer programs), many are kept (less work);
      a sample-count channel only when min_samples_leaf > 1 needs it per bin (two programs
      for all min_samples_leaf, the value itself is traced).
    - Rows: on CPU the full searches scan only a compacted window holding the largest bag
      (with bootstrap ~63% of the samples carry weight, and only those are ever active),
      sized from n_bag, never from the draw, so that a new seed compiles nothing; the fit
      falls back to all rows in the rare draw that exceeds it (the same trees either way).
      Toy and GPU / TPU programs scan all rows.
    - node_chunk: fewer queued nodes per step on small data, since the first levels and the
      thin deep levels fill only part of a step and a step costs the same however full it is.
    - Strategy: toy problems grow in one vmapped program at a low optimisation level, since
      compiling dominates there. GPU / TPU grow as many trees in lockstep as their histograms
      fit in `chunk_size`, so one step's kernel launches serve them all. CPU grows trees one
      after another (vmapped scatters are slower per entry on XLA:CPU, and one tree's working
      set stays in cache), calls of TREES_PER_CALL trees running on `threads` threads.
    - Groups: the full search scans feature slots in groups whose histograms fit `chunk_size`
      (in cache on CPU), the compact search likewise for its per-slot arrays (sized on CPU for
      windows up to n / 4), the first levels' searches for their fewer node slots.
    - Devices: the samples (binned rows, weights, node positions) are split over n_devices
      devices, each building its rows' partial histograms, summed across devices before every
      split search, so all devices choose the same splits (`gdm.tree._shard`). All `devices`
      unless the problem is a toy one (one device: compiling dominates there, and a program
      with collectives compiles slower), n_pad does not split evenly, or a device would hold
      fewer than MIN_DEVICE_ROWS rows (the collectives would cost more than the histograms).
      Every search, full, first-level and compact, is sharded, in lockstep and one tree after
      another alike. bag_rows then counts one device's compacted rows, bounded for the
      largest share of a bag one device holds (`device_bag_bound`); the compact windows stay
      global sample counts, each device scanning `window_rows` of its own samples (a window
      takes a step when the step's samples fit it and each device's share fits its rows). The
      scans of the summed histograms are split too: the full search's node slots and the
      compact search's feature slots (compact_group rounded up to a multiple of n_devices)
      in one block per device, where they split evenly. On CPU
      each call already keeps n_devices cores busy, so threads / n_devices calls run at once.
    """
    node_chunk = min(node_chunk, max(8, n_pad // 32))
    n_bag = bag_bound(n_used, n_draws)
    k_pad, n_bins, n_channels_pad, toy = _padded_sizes(
        n_pad, k, n_trees, d_pad, node_chunk=node_chunk, max_bins=max_bins,
        n_bins_used=n_bins_used, n_channels=n_channels, classifier=classifier)
    counted = needs_counts(min_samples_leaf)
    hist_channels = n_channels_pad + counted
    cells = chunk_size or (ACCELERATOR_CELLS if accelerator else CPU_CELLS)
    tree_chunk, trees_at_once, windows = _tree_batching(
        n_pad, k, n_trees, node_chunk * n_bins * hist_channels, cells, toy=toy,
        accelerator=accelerator)
    group, tops, compact_group = _feature_groups(
        k_pad if toy else k, node_chunk, n_bins, hist_channels, cells, trees_at_once,
        windows, n_pad, toy=toy, accelerator=accelerator)
    n_devices = devices_of(n_pad, devices, toy=toy)
    if n_devices > 1:
        if compact_group >= n_devices:  # whole blocks of slots, one per device
            compact_group = -(-compact_group // n_devices) * n_devices
        n_local = n_pad // n_devices
        bag_rows = n_local if toy or accelerator else bag_rows_of(
            device_bag_bound(n_used, n_draws, n_local), n_local)
    else:
        bag_rows = n_pad if toy or accelerator else bag_rows_of(n_bag, n_pad)
    program = ProgramPlan(
        criterion=criterion, n_channels=n_channels_pad, k=k_pad, node_chunk=node_chunk,
        n_bins=n_bins, capacity=2 * n_pad, group=group, tops=tops, compact_group=compact_group,
        windows=windows, bag_rows=bag_rows, counted=counted, vmap_trees=toy or accelerator,
        by_feature=not toy and not accelerator, small=toy, n_devices=n_devices,
        window_rows=device_rows(windows, n_devices, n_pad // n_devices) if n_devices > 1
        else ())
    return GrowthPlan(program=program, tree_chunk=tree_chunk,
                      n_rows=-(-n_trees // tree_chunk) * tree_chunk,
                      workers=1 if toy else max(1, threads // n_devices))
