"""Shared fit / predict logic of the four estimators: validation, binning, padding, growth.

A decision tree is a forest of one tree without bootstrap, so both share this code (and its
compiled programs). Sample counts and feature counts are padded to size buckets
(`gdm.utils.buckets`) so cross-validation and check_estimator compile once per bucket.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from numbers import Integral, Real

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from gdm.tree._binning import bin_features
from gdm.tree._grow import NODE_ARRAYS, Fitted, grow_trees_fast, grow_trees_small
from gdm.tree._predict import apply_trees, mean_leaf_value, oob_sums
from gdm.tree._sampling import bootstrap_counts
from gdm.utils.buckets import bucket_size, pad_to
from gdm.utils.compiler import on_accelerator
from gdm.utils.threads import effective_workers, map_chunks

CHUNK_DOC = """node_chunk : int, default=32
        Queued nodes per tree whose histograms are built in one growth step.
    chunk_size : int or None, default=None
        Histogram cells (float32) built at once, about 4 bytes each. On CPU (None: 2**19) a
        growth step scans its nodes' sampled features in groups of as many as fit, so the
        histograms stay in cache (2 MB measured fastest on MNIST). On GPU / TPU (None:
        2**29) trees grow vmapped, as many at once as fit, so one step's kernels serve them
        all.
    sample_chunk : int, default=4096
        Samples pushed through all trees at once at predict time."""


def _coarse_bucket(n: int, minimum: int) -> int:
    """The trees' size bucket: powers of two up to 2048, the default grid above."""
    return bucket_size(n, minimum, powers_of_two_to=2048)


def _windows(n_pad: int, divisors: tuple[float, ...]) -> tuple[int, ...]:
    """Sample windows of the compact search (multiples of 16, at least 256, at most n_pad)."""
    return tuple(sorted({min(n_pad, max(256, int(n_pad / dv) // 16 * 16)) for dv in divisors}))


SMALL_CHUNK = 8
TREES_PER_CALL = 8  # real problems: trees per compiled call (one after another inside it)
# Steps whose nodes hold at most n / 16 (else 3n / 32, n / 8, 3n / 16, n / 4, 3n / 8) samples
# search only those samples, in the smallest window they fit: a step costs about its window.
# MNIST, 8 trees in one process: 0.37 s with (16, ..., 4), 0.41 s with (16, 8, 4), 0.44 s with
# (8, 4); adding n / 32 and 3n / 64 gained nothing, 3n / 8 3% (n / 2 nothing more). Each
# window is a compiled branch (+0.6 s cold).
WINDOW_DIVISORS = (16, 32 / 3, 8, 16 / 3, 4, 8 / 3)
# GPU / TPU (trees in lockstep, windows for the largest tree): MNIST on an H200, 0.149 s with
# these, 0.158 s with (32, 16, 8), 0.157 s adding 2 (and twice the compile time), 0.186 s
# with the full search in every step.
ACCELERATOR_WINDOW_DIVISORS = (32, 16, 8, 4)
# Steps of the first levels (all samples, at most this many nodes) search this many node
# slots rather than node_chunk. CPU adds 16 for the fifth level and 2 for the first two (16
# MNIST trees on one core: 0.57-0.58 s vs 0.61 s with 8 alone; 2, 4, 8, 16 gained nothing
# more); GPU / TPU keep 8, as measured there.
TOP_SLOTS = (2, 8, 16)
ACCELERATOR_TOP_SLOTS = (8,)
# Default chunk_size on CPU: a step's histograms stay in cache. MNIST, 48 trees on one core:
# 2**19 2.00-2.01 s (median), 2**20 2.05 s, 2**21 slower still.
CPU_CELLS = 2**19
ACCELERATOR_CELLS = 2**29  # default chunk_size on GPU / TPU: 2 GB of histograms per step


def _bag_rows(weights: jax.Array, n_pad: int) -> int:
    """Rows the full split searches scan: only samples of positive weight are ever active
    (with bootstrap ~63%), so a window holding the largest bag of the fit, in steps of n / 16
    (one program for most fits of a size). MNIST, 8 trees in one process: 0.42 vs 0.48 s."""
    in_bag = int(jnp.max(jnp.sum(weights > 0, axis=1)))
    step = -(-n_pad // 16)
    return min(n_pad, -(-in_bag // step) * step)


def _even_groups(k: int, most: int) -> int:
    """Feature slots per group of the split search: k slots in the fewest groups of at most
    `most`, of equal size, not groups of `most` and a last one mostly padding (its slots are
    computed all the same). MNIST, 28 features with room for 12: 3 groups of 10 (30 slots),
    8 trees in 0.353 s, rather than 3 of 12 (36 slots), 0.372 s."""
    n_groups = -(-k // max(most, 1))
    return -(-k // n_groups)


def _needs_counts(min_samples_leaf: int) -> bool:
    """Whether split search needs sample counts per bin (else positive weight says enough)."""
    return min_samples_leaf > 1


class _BaseForest(BaseEstimator):
    """Fit/predict for trees and forests; subclasses set `_classifier` and `_forest`."""

    _classifier: bool = True
    _forest: bool = False

    _parameter_constraints: dict = {
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_split": [Interval(Integral, 2, None, closed="left"),
                              Interval(RealNotInt, 0.0, 1.0, closed="right")],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left"),
                             Interval(RealNotInt, 0.0, 1.0, closed="neither")],
        "max_features": [Interval(Integral, 1, None, closed="left"),
                         Interval(RealNotInt, 0.0, 1.0, closed="right"),
                         StrOptions({"sqrt", "log2"}), None],
        "min_weight_fraction_leaf": [Interval(Real, 0.0, 0.5, closed="both")],
        "max_bins": [Interval(Integral, 2, 256, closed="both")],
        "random_state": ["random_state"],
        "node_chunk": [Interval(Integral, 1, None, closed="left")],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
        "sample_chunk": [Interval(Integral, 1, None, closed="left")],
    }

    # ---------------------------------------------------------------- fit
    def _n_trees(self) -> int:
        return self.n_estimators if self._forest else 1

    def _resolve_max_features(self, d: int) -> int:
        mf = self.max_features
        if mf is None:
            k = d
        elif mf == "sqrt":
            k = max(1, int(math.sqrt(d)))
        elif mf == "log2":
            k = max(1, int(math.log2(d)))
        elif isinstance(mf, Integral):
            if mf > d:
                raise ValueError(f"max_features must be in (0, n_features={d}], got {mf}.")
            k = int(mf)
        else:
            k = max(1, int(mf * d))
        return k

    def _targets(self, y: np.ndarray):
        """Returns (target per sample, n_channels, class-weight factors per sample)."""
        if not self._classifier:
            y = y.astype(np.float64)
            self._y_mean, self._y_scale = float(y.mean()), float(y.std()) or 1.0
            return ((y - self._y_mean) / self._y_scale).astype(np.float32), 3, None
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        self.n_classes_ = len(self.classes_)
        cw = getattr(self, "class_weight", None)
        factor = None
        if cw is not None and cw != "balanced_subsample":
            factor = compute_sample_weight(cw, encoded)
        return encoded.astype(np.float32), self.n_classes_, factor

    def _fit(self, X, y, sample_weight=None):
        self._validate_params()
        accelerator = on_accelerator()  # trees grow in lockstep there
        # GPU / TPU: X's finiteness is checked on the device, with the binning.
        X, y = validate_data(self, X, y, dtype=np.float32, y_numeric=not self._classifier,
                             multi_output=False, ensure_all_finite=not accelerator)
        n, d = X.shape
        target, n_channels, cw_factor = self._targets(y)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if cw_factor is not None:
            sw = sw * cw_factor
        if sw.sum() <= 0:
            raise ValueError("Sum of sample_weight must be positive; all weights are zero.")
        if self._forest:
            self._check_forest_params()
        min_split, min_leaf = self._min_samples(n)
        self._criterion = {"log_loss": "entropy"}.get(self.criterion, self.criterion)

        # Bins from the samples that carry weight (sklearn drops zero-weight samples).
        n_pad, d_pad = _coarse_bucket(n, 128), _coarse_bucket(d, 16)
        threads = effective_workers(getattr(self, "n_jobs", None))
        # CPU: binned (features, samples), the layout the split search reads (gather_bins).
        binned_by_feature = not accelerator
        edges, xb, finite = bin_features(X, sw > 0, self.max_bins, device_sort=accelerator,
                                         shape=(n_pad, d_pad), by_feature=binned_by_feature,
                                         workers=threads)
        if not finite:  # sklearn's own error
            assert_all_finite(X, input_name="X", estimator_name=type(self).__name__)
        n_bins_used = int(np.isfinite(edges).sum(axis=1).max()) + 1
        feature_ok = np.isfinite(edges[:, 0])  # at least two distinct values; padding has none
        k = min(self._resolve_max_features(d), max(int(feature_ok.sum()), 1))
        # Static sizes depend on (n_pad, d_pad, max_bins, max_features) only, not on the data,
        # so check_estimator and CV reuse a handful of compiled programs.
        k_pad = min(_coarse_bucket(k, 1), d_pad)
        if 2 * k_pad > d_pad:
            k_pad = d_pad
        n_bins = max(32, min(n_pad, _coarse_bucket(self.max_bins, 1)))  # toy problems
        # Few classes: pad the channel count (fewer programs); many: exact (less work).
        n_channels_pad = _coarse_bucket(n_channels, 2) if 0 < n_channels <= 4 else n_channels
        n_channels_pad = n_channels if not self._classifier else n_channels_pad

        n_trees = self._n_trees()
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        boot_key, tree_key = jax.random.split(jax.random.PRNGKey(seed))
        # Fewer queued nodes per step on smaller data: the first levels and the thin deep
        # levels fill only part of a step, and a step costs the same however full it is
        # (n / 32, not n / 64: diabetes, 100 trees, 0.106 vs 0.138 s; MNIST keeps 32).
        node_chunk = min(self.node_chunk, max(8, n_pad // 32))
        toy = (n_trees <= SMALL_CHUNK
               and node_chunk * k_pad * n_bins * (n_channels_pad + 1) * SMALL_CHUNK <= 2**22)
        cells = self.chunk_size or (ACCELERATOR_CELLS if accelerator else CPU_CELLS)
        if not toy:  # real problems: as many bins as the data needs
            n_bins = max(32, _coarse_bucket(n_bins_used, 1))
        # Histograms count samples per bin only if min_samples_leaf needs it (see grow.py).
        counted = _needs_counts(min_leaf)
        hist_channels = n_channels_pad + counted
        slot_cells = node_chunk * n_bins * hist_channels
        if toy:
            # Toy problems (check_estimator, CV on tiny data): one tree and a few-tree forest
            # share one vmapped program, compiled at LLVM -O0 since compiling dominates there.
            grow_trees, tree_chunk, trees_at_once, windows = (
                grow_trees_small, SMALL_CHUNK, SMALL_CHUNK, (n_pad,))
            vmap_trees = True
        elif accelerator:
            # GPU / TPU: as many trees in lockstep as the histograms of all their sampled
            # features fit in `cells`, so one step's kernel launches and loop test serve them
            # all; deep steps take the compact search when the largest tree's step fits a window.
            fit = max(1, min(n_trees, cells // (k * slot_cells)))
            per_call = -(-n_trees // -(-n_trees // fit))  # equal calls, a multiple of 8 trees
            tree_chunk = -(-per_call // SMALL_CHUNK) * SMALL_CHUNK
            grow_trees, trees_at_once, vmap_trees = grow_trees_fast, tree_chunk, True
            windows = _windows(n_pad, ACCELERATOR_WINDOW_DIVISORS)
        else:  # real problems on CPU: one tree after another
            grow_trees, tree_chunk, trees_at_once = grow_trees_fast, TREES_PER_CALL, 1
            windows = _windows(n_pad, WINDOW_DIVISORS)
            vmap_trees = False
        # Toy problems share programs across max_features; real ones scan no padding slots.
        k_slots = k_pad if toy else k
        room = cells // (slot_cells * trees_at_once)  # feature slots per full-search group
        group = _even_groups(k_slots, room)
        # (node slots, feature group) of the first levels' searches; none of node_chunk or
        # more (their branch would compile the full search again).
        tops = tuple((slots, _even_groups(k_slots, room * node_chunk // slots))
                     for slots in (ACCELERATOR_TOP_SLOTS if accelerator else TOP_SLOTS)
                     if slots < node_chunk)
        # The compact search's arrays per slot: (channels + 2) x window and node x bin flags,
        # sized on CPU for windows up to n / 4: the 3n / 8 one runs in the same groups (MNIST:
        # two groups of 14 features, 2 MB each, 1-2% faster on one core than one of 28).
        group_window = windows[-1] if toy or accelerator else min(windows[-1], n_pad // 4)
        compact_cells = group_window * (hist_channels + 2) + node_chunk * n_bins
        compact_group = _even_groups(k_slots, cells // (compact_cells * trees_at_once))
        n_rows = -(-n_trees // tree_chunk) * tree_chunk  # trees padded to whole calls
        sw_pad = pad_to(sw.astype(np.float32), n_pad)
        counts = None
        if self._forest and self.bootstrap:  # drawn on the device, kept there
            counts = bootstrap_counts(boot_key, jnp.asarray(sw_pad), self._n_bootstrap(n),
                                      n_trees=n_trees, n_rows=n_rows)
            weights = counts
            if getattr(self, "class_weight", None) == "balanced_subsample":
                on_host = np.asarray(counts)
                weights = on_host * self._balanced_subsample(on_host, target, n)
        else:
            weights = pad_to(np.broadcast_to(sw_pad, (n_trees, n_pad)), n_rows, 0)
        weights = jnp.asarray(weights, jnp.float32)
        # Toy and GPU / TPU programs scan all rows (the window is not measured there).
        bag_rows = n_pad if toy or accelerator else _bag_rows(weights, n_pad)
        keys = jax.random.split(tree_key, n_rows)
        big = float(np.iinfo(np.int32).max)
        min_weight = self.min_weight_fraction_leaf * float(sw.sum())
        limits = jnp.asarray([self.max_depth or big, min_split, min_leaf, min_weight, k],
                             jnp.float32)
        by_feature = not toy and not accelerator  # see split_search.gather_bins
        args = (xb if by_feature == binned_by_feature else xb.T,
                jnp.asarray(pad_to(target, n_pad)))
        static = dict(criterion=self._criterion, n_channels=n_channels_pad, k=k_pad,
                      node_chunk=node_chunk, n_bins=n_bins, capacity=2 * n_pad,
                      group=group, tops=tops, compact_group=compact_group,
                      windows=windows, bag_rows=bag_rows, counted=counted,
                      vmap_trees=vmap_trees, by_feature=by_feature)
        # CPU: calls of tree_chunk trees run on n_jobs threads, each thread waiting for its
        # call (XLA:CPU keeps a growth step's small ops mostly on one core). MNIST, 100 trees,
        # 2 cores, same process: n_jobs=1 6.0 s, 2 threads 4.9 s; dispatching all 13 calls
        # without waiting (as before n_jobs) let XLA run them at once, 6.8-9.2 s. Each call is
        # a pure function of its trees' keys and weights: the trees do not depend on n_jobs.
        workers = 1 if toy else threads
        started, done, lock = time.perf_counter(), [0], threading.Lock()
        feature_ok_dev, edges_dev = jnp.asarray(feature_ok), jnp.asarray(edges)  # sent once

        def grow_chunk(c: int) -> Fitted:
            i = c * tree_chunk
            out = grow_trees(*args, weights[i:i + tree_chunk], feature_ok_dev,
                             keys[i:i + tree_chunk], limits, edges_dev, **static)
            if not accelerator or getattr(self, "verbose", 0):
                jax.block_until_ready(out)
            if getattr(self, "verbose", 0):
                with lock:
                    done[0] += 1
                    print(f"[{type(self).__name__}] {min(done[0] * tree_chunk, n_trees)}/"
                          f"{n_trees} trees grown, {time.perf_counter() - started:.1f} s",
                          file=sys.stderr, flush=True)
            return out

        chunks = map_chunks(grow_chunk, n_rows // tree_chunk, workers)  # bounds memory
        # Cut the node arrays to the nodes grown (rounded up, few slice programs) before they
        # leave the device: their capacity is 2 n, mostly unused.
        size = -(-int(max(np.max(c.node_count) for c in chunks)) // 256) * 256
        chunks = [c._replace(**{name: getattr(c, name)[:, :size] for name in NODE_ARRAYS})
                  for c in chunks]
        chunks = jax.device_get(chunks)  # one chunk on GPU / TPU: no copy to concatenate
        fitted = chunks[0] if len(chunks) == 1 else jax.tree.map(
            lambda *a: np.concatenate(a), *chunks)
        self._store(fitted, n_trees, n_channels, d)
        if not self._classifier:
            self._exact_leaf_means(X, y, np.asarray(weights)[:n_trees, :n])
        if self._forest and self.oob_score:
            self._compute_oob(X, y, target, np.asarray(counts)[:n_trees, :n])
        return self

    def _exact_leaf_means(self, X, y, weights) -> None:
        """Regression leaf values recomputed in float64 from the training samples of each leaf,
        so predictions do not carry float32 round-off from the histogram sums."""
        leaves = self._apply(X).T  # (n_trees, n)
        n_trees, size = self.tree_arrays_["feature"].shape
        flat = (np.arange(n_trees)[:, None] * size + leaves).ravel()
        w = weights.ravel().astype(np.float64)
        wy = np.bincount(flat, w * np.broadcast_to(y, weights.shape).ravel(), n_trees * size)
        total = np.bincount(flat, w, n_trees * size)
        value = self.tree_arrays_["value"].astype(np.float64).reshape(-1)
        has = total > 0
        value[has] = wy[has] / total[has]
        self.tree_arrays_["value"] = value.reshape(n_trees, size, 1)

    def _min_samples(self, n: int) -> tuple[int, int]:
        mss, msl = self.min_samples_split, self.min_samples_leaf
        if not isinstance(mss, Integral):
            mss = max(2, math.ceil(mss * n))
        if not isinstance(msl, Integral):
            msl = max(1, math.ceil(msl * n))
        return int(mss), int(msl)

    def _store(self, fitted: Fitted, n_trees: int, n_channels: int, d: int) -> None:
        """Keeps the node arrays (trimmed to the largest tree) and the importances."""
        size = int(fitted.node_count[:n_trees].max())
        cut = lambda a: a[:n_trees, :size]
        self.tree_arrays_ = dict(feature=cut(fitted.feature), threshold=cut(fitted.threshold),
                                 left=cut(fitted.left), right=cut(fitted.right))
        if self._classifier:
            value = cut(fitted.value)[..., :n_channels]
        else:
            value = cut(fitted.value).astype(np.float64) * self._y_scale + self._y_mean
            value = value.astype(np.float32)
        self.tree_arrays_["value"] = value
        self.node_count_ = np.asarray(fitted.node_count[:n_trees])
        # Impurity decrease per feature, normalised per tree, then averaged.
        per_tree = fitted.gains[:n_trees, :d].astype(np.float64)
        totals = per_tree.sum(1, keepdims=True)
        per_tree = np.divide(per_tree, totals, out=np.zeros_like(per_tree), where=totals > 0)
        mean = per_tree.mean(0)
        self.feature_importances_ = mean / mean.sum() if mean.sum() > 0 else mean

    # ---------------------------------------------------------------- predict
    def _padded(self, X):
        check_is_fitted(self, "tree_arrays_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        n = X.shape[0]
        n_pad = _coarse_bucket(n, 64)
        chunk = min(self.sample_chunk, n_pad)
        n_pad = -(-n_pad // chunk) * chunk
        return jnp.asarray(pad_to(X, n_pad)), n, chunk

    def _packed_trees(self):
        """Node arrays padded to a multiple of 8 trees and a power-of-two node count, so that
        trees and small forests share compiled predict programs; padded trees are one leaf
        with value 0 and are left out of the mean. (A power-of-two tree count made 100 trees
        128 for every level of the descent: MNIST predict 14 -> 10 ms with 104.)"""
        t = self.tree_arrays_
        n_trees, size = t["feature"].shape
        shape = (-(-n_trees // SMALL_CHUNK) * SMALL_CHUNK, _coarse_bucket(size, 64))

        def pad(a, fill):
            out = np.full(shape + a.shape[2:], fill, a.dtype)
            out[:n_trees, :size] = a
            return out

        return (pad(t["feature"], -2), pad(t["threshold"], -2.0), pad(t["left"], -1),
                pad(t["right"], -1), pad(t["value"], 0.0), n_trees)

    def _mean_value(self, X) -> np.ndarray:
        if not self._classifier:  # leaf means kept in float64: average them on the host
            leaves = self._apply(X)  # (n, n_trees)
            value = self.tree_arrays_["value"][np.arange(leaves.shape[1]), leaves]
            return value.mean(axis=1)
        x, n, chunk = self._padded(X)
        *arrays, n_trees = self._packed_trees()
        out = mean_leaf_value(x, *arrays, sample_chunk=chunk)
        return np.asarray(out)[:n] * (arrays[0].shape[0] / n_trees)

    def _apply(self, X) -> np.ndarray:
        x, n, chunk = self._padded(X)
        *arrays, n_trees = self._packed_trees()
        leaves = apply_trees(x, *arrays[:4], sample_chunk=chunk)
        return np.asarray(leaves)[:n, :n_trees]

    def _oob_mean(self, X, in_bag):
        *arrays, n_trees = self._packed_trees()
        in_bag = pad_to(in_bag, arrays[0].shape[0], 0, value=1.0)  # padded trees: never OOB
        sums, n_oob = oob_sums(jnp.asarray(X), *arrays, jnp.asarray(in_bag))
        return np.asarray(sums), np.asarray(n_oob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
