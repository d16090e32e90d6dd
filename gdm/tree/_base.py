"""Shared fit / predict logic of the four estimators: validation, binning, padding, growth.

A decision tree is a forest of one tree without bootstrap, so both share this code (and its
compiled programs). Sample counts and feature counts are padded to size buckets
(`gdm.utils.buckets`) so cross-validation and check_estimator compile once per bucket.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
import time
from numbers import Integral, Real
from typing import NamedTuple

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
from gdm.tree._grow import NODE_ARRAYS, Fitted, grow_compiled
from gdm.tree._plan import GrowthPlan, coarse_bucket, plan_growth
from gdm.tree._predict import PredictPlan, apply_trees, mean_leaf_value, oob_sums
from gdm.tree._sampling import bootstrap_counts
from gdm.utils.buckets import pad_to
from gdm.utils.compiler import on_accelerator
from gdm.utils.devices import device_mesh, padded_to_devices, shard_axis
from gdm.utils.threads import effective_workers, map_chunks

CHUNK_DOC = """node_chunk : int, default=32
        Queued nodes per tree whose histograms are built in one growth step.
    chunk_size : int or None, default=None
        Histogram cells (float32) built at once, about 4 bytes each. On CPU (None: 2**19) a
        growth step scans its nodes' sampled features in groups of as many as fit, so the
        histograms stay in cache. On GPU / TPU (None: 2**29) trees grow vmapped, as many at
        once as fit, so one step's kernels serve them all.
    sample_chunk : int, default=4096
        Samples pushed through all trees at once at predict time.
    n_devices : int or None, default=None
        Devices the training samples are split over (None: all of this process's devices;
        toy problems use one). Each device builds its samples' histograms, summed across the
        devices before each split search: classifiers grow the trees of one device.
        Fitted: n_devices_, the count used."""


class _Binned(NamedTuple):
    """A fit's binned features and what the plan reads of them."""

    edges: np.ndarray  # (d_pad, max_bins - 1) bin edges, +inf padded
    xb: jax.Array  # binned x on the device
    by_feature: bool  # xb laid out (features, samples)
    feature_ok: np.ndarray  # features with at least two distinct values
    n: int
    n_pad: int
    d_pad: int
    k: int  # features sampled per node (at most the usable ones)
    threads: int
    sw: np.ndarray  # sample weights x class weights


class _Progress:
    """verbose > 0: one line per call of trees grown, on stderr."""

    def __init__(self, name: str, n_trees: int, chunk: int) -> None:
        self.name, self.n_trees, self.chunk = name, n_trees, chunk
        self.started, self.done, self.lock = time.perf_counter(), 0, threading.Lock()

    def step(self) -> None:
        with self.lock:
            self.done += 1
            print(f"[{self.name}] {min(self.done * self.chunk, self.n_trees)}/{self.n_trees} "
                  f"trees grown, {time.perf_counter() - self.started:.1f} s",
                  file=sys.stderr, flush=True)


def _gather(chunks: list[Fitted]) -> Fitted:
    """The calls' trees in one host Fitted, node arrays cut to the nodes grown (rounded up):
    their capacity is 2 n, mostly unused. GPU / TPU cut them on the device, before they leave
    it (a slice program per size); CPU arrays are host memory already, cut in numpy, so a fit
    whose trees grow to another size compiles nothing."""
    size = -(-int(max(np.max(c.node_count) for c in chunks)) // 256) * 256
    if on_accelerator():
        chunks = [c._replace(**{name: getattr(c, name)[:, :size] for name in NODE_ARRAYS})
                  for c in chunks]
    chunks = [c._replace(**{name: np.ascontiguousarray(getattr(c, name)[:, :size])
                            for name in NODE_ARRAYS}) for c in jax.device_get(chunks)]
    return chunks[0] if len(chunks) == 1 else jax.tree.map(lambda *a: np.concatenate(a),
                                                           *chunks)


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
        "n_devices": [Interval(Integral, 1, None, closed="left"), None],
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
        """Validate, bin, plan, grow, store, as scikit-learn's trees do."""
        X, y, target, sw, n_channels = self._validate_fit(X, y, sample_weight)
        binned = self._bin(X, sw)
        plan = self._plan(binned, n_channels)
        self.n_devices_ = plan.program.n_devices
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        boot_key, tree_key = jax.random.split(jax.random.PRNGKey(seed))
        weights, counts = self._tree_weights(plan, sw, target, boot_key)
        plan = self._fit_bag(plan, weights)
        fitted = self._grow(plan, binned, target, weights, jax.random.split(tree_key,
                                                                            plan.n_rows))
        n, d = X.shape
        self._store(fitted, self._n_trees(), n_channels, d)
        if not self._classifier:
            self._exact_leaf_means(X, y, np.asarray(weights)[:self._n_trees(), :n])
        if self._forest and self.oob_score:
            self._compute_oob(X, y, target, np.asarray(counts)[:self._n_trees(), :n])
        return self

    def _validate_fit(self, X, y, sample_weight):
        """Checked X (float32), y, the encoded target, sample weights x class weights, and the
        target's channel count; sets the fit's min_samples and criterion."""
        self._validate_params()
        # GPU / TPU: X's finiteness is checked on the device, with the binning.
        X, y = validate_data(self, X, y, dtype=np.float32, y_numeric=not self._classifier,
                             multi_output=False, ensure_all_finite=not on_accelerator())
        target, n_channels, cw_factor = self._targets(y)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if cw_factor is not None:
            sw = sw * cw_factor
        if sw.sum() <= 0:
            raise ValueError("Sum of sample_weight must be positive; all weights are zero.")
        if self._forest:
            self._check_forest_params()
        self._n_samples = X.shape[0]
        self._devices = device_mesh(self.n_devices).size  # raises for more than there are
        self._min_split, self._min_leaf = self._min_samples(X.shape[0])
        self._criterion = {"log_loss": "entropy"}.get(self.criterion, self.criterion)
        return X, y, target, sw, n_channels

    def _bin(self, X: np.ndarray, sw: np.ndarray) -> _Binned:
        """Bins from the samples that carry weight (sklearn drops zero-weight samples), laid
        out as the split search reads them: (features, samples) on CPU (gather_bins)."""
        accelerator = on_accelerator()
        n, d = X.shape
        n_pad, d_pad = coarse_bucket(n, 128), coarse_bucket(d, 16)
        if self._devices > 1:  # rows split evenly over the devices
            n_pad = padded_to_devices(n_pad, device_mesh(self._devices))
        threads = effective_workers(getattr(self, "n_jobs", None))
        edges, xb, finite = bin_features(X, sw > 0, self.max_bins, device_sort=accelerator,
                                         shape=(n_pad, d_pad), by_feature=not accelerator,
                                         workers=threads)
        if not finite:  # sklearn's own error
            assert_all_finite(X, input_name="X", estimator_name=type(self).__name__)
        feature_ok = np.isfinite(edges[:, 0])  # at least two distinct values; padding has none
        k = min(self._resolve_max_features(d), max(int(feature_ok.sum()), 1))
        return _Binned(edges, xb, not accelerator, feature_ok, n, n_pad, d_pad, k, threads,
                       sw)

    def _plan(self, binned: _Binned, n_channels: int) -> GrowthPlan:
        return plan_growth(
            binned.n_pad, binned.k, self._n_trees(), criterion=self._criterion,
            n_channels=n_channels, classifier=self._classifier, max_bins=self.max_bins,
            n_bins_used=int(np.isfinite(binned.edges).sum(axis=1).max()) + 1,
            min_samples_leaf=self._min_leaf, node_chunk=self.node_chunk,
            chunk_size=self.chunk_size, threads=binned.threads, accelerator=on_accelerator(),
            d_pad=binned.d_pad, n_used=int((binned.sw > 0).sum()), n_draws=self._draws(),
            devices=self._devices)

    def _draws(self) -> int | None:
        """Bootstrap draws per tree, None without bootstrap."""
        bootstrap = self._forest and self.bootstrap
        return self._n_bootstrap(self._n_samples) if bootstrap else None

    def _tree_weights(self, plan: GrowthPlan, sw: np.ndarray, target: np.ndarray,
                      boot_key: jax.Array) -> tuple[jax.Array, jax.Array | None]:
        """Per-tree sample weights (n_rows, n_pad) on the device, and the bootstrap counts
        (None without bootstrap), drawn on the device and kept there."""
        n, n_pad, n_trees = sw.shape[0], plan.program.capacity // 2, self._n_trees()
        sw_pad = pad_to(sw.astype(np.float32), n_pad)
        counts = None
        if self._forest and self.bootstrap:
            counts = bootstrap_counts(boot_key, jnp.asarray(sw_pad), self._n_bootstrap(n),
                                      n_trees=n_trees, n_rows=plan.n_rows)
            weights = counts
            if getattr(self, "class_weight", None) == "balanced_subsample":
                on_host = np.asarray(counts)
                weights = on_host * self._balanced_subsample(on_host, target, n)
        else:
            weights = pad_to(np.broadcast_to(sw_pad, (n_trees, n_pad)), plan.n_rows, 0)
        return jnp.asarray(weights, jnp.float32), counts

    @staticmethod
    def _fit_bag(plan: GrowthPlan, weights: jax.Array) -> GrowthPlan:
        """The plan, or all rows for the full searches in the rare draw whose largest bag
        (on one device: bag_rows counts a device's rows) exceeds the planned window
        (`plan_growth`): the same trees, one more program."""
        program = plan.program
        rows = program.capacity // 2 // program.n_devices
        if program.bag_rows >= rows:
            return plan
        blocks = (weights > 0).reshape(weights.shape[0], program.n_devices, rows)
        if int(jnp.max(jnp.sum(blocks, axis=2))) <= program.bag_rows:
            return plan
        return dataclasses.replace(plan, program=dataclasses.replace(program, bag_rows=rows))

    def _limits(self, k: int, sw: np.ndarray) -> jax.Array:
        """The traced growth limits (max_depth, min_samples_split, min_samples_leaf,
        min_weight_leaf, max_features): changing them compiles nothing."""
        big = float(np.iinfo(np.int32).max)
        min_weight = self.min_weight_fraction_leaf * float(sw.sum())
        return jnp.asarray([self.max_depth or big, self._min_split, self._min_leaf,
                            min_weight, k], jnp.float32)

    def _grow(self, plan: GrowthPlan, binned: _Binned, target: np.ndarray,
              weights: jax.Array, keys: jax.Array) -> Fitted:
        """Grows the trees in calls of plan.tree_chunk, on plan.workers threads (CPU: each
        thread waits for its call, since XLA:CPU keeps a growth step's small ops mostly on one
        core). Each call is a pure function of its trees' keys and weights, so the trees do
        not depend on the thread count."""
        program, accelerator = plan.program, on_accelerator()
        xb = binned.xb if program.by_feature == binned.by_feature else binned.xb.T
        target = jnp.asarray(pad_to(target, binned.n_pad))
        if program.n_devices > 1:  # the samples split over the devices
            mesh = device_mesh(program.n_devices)
            xb, target = shard_axis(xb, mesh, 1 if program.by_feature else 0), \
                shard_axis(target, mesh, 0)
            weights = shard_axis(weights, mesh, 1)
        args = (xb, target)
        limits = self._limits(binned.k, binned.sw)
        feature_ok, edges = jnp.asarray(binned.feature_ok), jnp.asarray(binned.edges)
        chunk, verbose = plan.tree_chunk, getattr(self, "verbose", 0)
        progress = _Progress(type(self).__name__, self._n_trees(), chunk) if verbose else None

        def grow_chunk(c: int) -> Fitted:
            rows = slice(c * chunk, (c + 1) * chunk)
            out = grow_compiled(*args, weights[rows], feature_ok, keys[rows], limits, edges,
                                program)
            if not accelerator or verbose:
                jax.block_until_ready(out)
            if progress:
                progress.step()
            return out

        chunks = map_chunks(grow_chunk, plan.n_rows // chunk, plan.workers)  # bounds memory
        return _gather(chunks)

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
    def _predict_plan(self, n: int) -> PredictPlan:
        """Padded sizes of a predict: samples to a bucket and whole sample chunks, trees to a
        multiple of 8 and nodes to a power of two, so that trees and small forests share
        compiled predict programs (padded trees are one leaf of value 0, out of the mean)."""
        n_pad = coarse_bucket(n, 64)
        chunk = min(self.sample_chunk, n_pad)
        n_trees, size = self.tree_arrays_["feature"].shape
        return PredictPlan(n_pad=-(-n_pad // chunk) * chunk, sample_chunk=chunk,
                           n_trees=-(-n_trees // 8) * 8, n_nodes=coarse_bucket(size, 64))

    def _padded(self, X):
        check_is_fitted(self, "tree_arrays_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        plan = self._predict_plan(X.shape[0])
        return jnp.asarray(pad_to(X, plan.n_pad)), X.shape[0], plan

    def _packed_trees(self):
        """Node arrays padded to the predict plan's tree and node counts."""
        t = self.tree_arrays_
        n_trees, size = t["feature"].shape
        plan = self._predict_plan(1)
        shape = (plan.n_trees, plan.n_nodes)

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
        x, n, plan = self._padded(X)
        *arrays, n_trees = self._packed_trees()
        out = mean_leaf_value(x, *arrays, plan=plan)
        return np.asarray(out)[:n] * (arrays[0].shape[0] / n_trees)

    def _apply(self, X) -> np.ndarray:
        x, n, plan = self._padded(X)
        *arrays, n_trees = self._packed_trees()
        leaves = apply_trees(x, *arrays[:4], plan=plan)
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
