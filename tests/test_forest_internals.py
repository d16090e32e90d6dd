"""Forest internals. Binning (jit-compiled) against a numpy statement of the same rules:
sklearn's midpoint thresholds for features with few distinct values, numpy's "midpoint"
quantiles (deduplicated) for the others, and bins = number of edges below the value. Feature
sampling per node: distinct, usable, uniform."""

from __future__ import annotations

import numpy as np
import pytest

from gdm.tree._binning import bin_features
from tests.conftest import MNIST_DIR, has_mnist


def numpy_edges(x: np.ndarray, max_bins: int) -> np.ndarray:
    """The rules in float64 numpy, one feature at a time."""
    edges = np.full((x.shape[1], max_bins - 1), np.inf)
    for j in range(x.shape[1]):
        values = np.unique(x[:, j].astype(np.float64))
        if values.size <= max_bins:
            mid = (values[:-1] / 2 + values[1:] / 2).astype(np.float32)
            mid = np.where(mid >= values[1:].astype(np.float32), values[:-1], mid)
        else:
            q = np.linspace(0, 1, max_bins + 1)[1:-1]
            mid = np.unique(np.quantile(x[:, j].astype(np.float64), q, method="midpoint"))
        edges[j, : mid.size] = mid
    return edges.astype(np.float32)


def check(x: np.ndarray, use: np.ndarray, max_bins: int) -> None:
    edges, bins, _ = bin_features(x, use, max_bins, device_sort=False)  # the CPU path
    on_device = bin_features(x, use, max_bins, device_sort=True)  # the GPU / TPU path
    np.testing.assert_array_equal(on_device[0], edges)
    np.testing.assert_array_equal(np.asarray(on_device[1]), np.asarray(bins))
    assert on_device[2]
    expected = numpy_edges(x[use], max_bins)
    np.testing.assert_array_equal(edges, expected)
    want = np.stack([np.searchsorted(expected[j], x[:, j], side="left")
                     for j in range(x.shape[1])], axis=1)
    np.testing.assert_array_equal(np.asarray(bins), want)
    for device_sort in (False, True):  # (features, samples), numpy on two threads
        by_feature = bin_features(x, use, max_bins, device_sort, by_feature=True, workers=2)
        np.testing.assert_array_equal(by_feature[0], edges)
        np.testing.assert_array_equal(np.asarray(by_feature[1]), want.T)


@pytest.mark.parametrize("max_bins", [2, 16, 255, 256])
def test_edges_and_bins_match_numpy(max_bins):
    rng = np.random.default_rng(max_bins)
    n = 700
    x = np.stack([rng.normal(size=n),                    # all distinct: quantiles
                  rng.integers(0, 5, n),                 # few distinct: midpoints
                  np.full(n, 3.0),                       # constant: no edge
                  np.round(rng.normal(size=n), 1),       # ties and more distinct than bins
                  rng.integers(0, 300, n) * 1e-3,        # ~256-300 distinct values
                  np.exp(rng.normal(size=n) * 20)],      # wide dynamic range
                 axis=1).astype(np.float32)
    use = rng.random(n) > 0.2  # zero-weight samples take no part in the edges
    check(x, use, max_bins)
    check(x, np.ones(n, bool), max_bins)


def test_midpoint_of_adjacent_floats_takes_the_lower_value():
    a = np.float32(1.0)
    x = np.array([[a], [np.nextafter(a, np.float32(2))], [a]], np.float32)
    check(x, np.ones(3, bool), 256)


def test_padding_on_the_device_matches_the_host(monkeypatch):
    """GPU / TPU: large inputs are sent unpadded and padded on the device; the same edges and
    bins as the host's padding, and non-finite values are found there (in any row)."""
    from gdm.tree import _binning as binning

    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(700, 20)), 2).astype(np.float32)
    use = rng.random(700) > 0.1
    shape = (768, 32)
    edges, bins, finite = bin_features(x, use, 64, device_sort=False, shape=shape)
    monkeypatch.setattr(binning, "DEVICE_PAD_CELLS", 1)
    on_device = bin_features(x, use, 64, device_sort=True, shape=shape)
    assert finite and on_device[2] and on_device[1].shape == shape
    np.testing.assert_array_equal(on_device[0], edges)
    np.testing.assert_array_equal(np.asarray(on_device[1]), np.asarray(bins))
    by_feature = bin_features(x, use, 64, device_sort=False, shape=shape, by_feature=True,
                              workers=3)  # columns split unevenly over the threads
    np.testing.assert_array_equal(by_feature[0], edges)
    np.testing.assert_array_equal(np.asarray(by_feature[1]), np.asarray(bins).T)
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[np.flatnonzero(~use)[0], 5] = bad
        assert not bin_features(y, use, 64, device_sort=True, shape=shape)[2]


@pytest.mark.skipif(not has_mnist(), reason="set GDM_MNIST_DIR to an MNIST IDX directory")
def test_mnist_pixels_match_numpy():
    from gdm.data import load_mnist_benchmark

    x = load_mnist_benchmark(MNIST_DIR).x_train[:3000]
    check(x, np.ones(len(x), bool), 256)
    check(x, np.ones(len(x), bool), 32)


@pytest.mark.parametrize("d, k, n_valid", [(784, 32, 700), (64, 8, 61), (40, 16, 40)],
                         ids=["draws", "draws_small", "top_k"])
def test_feature_sampling_is_uniform_without_replacement(d, k, n_valid):
    """sample_features: per node, k distinct usable features; every usable feature as likely
    as any other (frequency within 5 standard deviations of k / n_valid)."""
    import jax

    from gdm.tree._sampling import sample_features

    ok = np.zeros(d, bool)
    ok[np.random.default_rng(0).choice(d, n_valid, replace=False)] = True
    nodes = np.arange(20_000, dtype=np.int32)
    feats = np.asarray(jax.jit(sample_features, static_argnums=3)(
        jax.random.PRNGKey(1), nodes, ok, k, k))
    assert feats.shape == (len(nodes), k)
    assert ok[feats].all()
    assert all(len(set(row)) == k for row in feats[:2000])
    freq = np.bincount(feats.ravel(), minlength=d)[ok] / len(nodes)
    p = k / n_valid
    assert np.abs(freq - p).max() < 5 * np.sqrt(p * (1 - p) / len(nodes))


def test_feature_sampling_falls_back_when_draws_repeat():
    """Nearly all features needed: 2k draws rarely hold k distinct ones, so the top_k path
    runs; it too gives k distinct usable features."""
    import jax

    from gdm.tree._sampling import _top_k_features, sample_features

    ok = np.zeros(1024, bool)
    ok[:130] = True  # k=128 of 130 usable features, but 8 k <= 1024 selects the draws first
    key, nodes = jax.random.PRNGKey(0), np.arange(64, dtype=np.int32)
    feats = np.asarray(sample_features(key, nodes, jax.numpy.asarray(ok), 128, 128))
    np.testing.assert_array_equal(feats, _top_k_features(key, nodes, jax.numpy.asarray(ok), 128))
    assert ok[feats].all()
    assert all(len(set(row)) == 128 for row in feats)


@pytest.mark.parametrize("usable", [130, 717], ids=["draws_repeat", "draws_suffice"])
def test_lockstep_feature_sampling_keeps_each_trees_choice(usable):
    """Trees in lockstep skip the top_k fallback only when every tree's draws sufficed
    (`all_suffice`); otherwise each tree keeps its own choice, so a tree's features never
    depend on the other trees of its batch."""
    import jax

    from gdm.tree._sampling import draws_suffice, sample_features

    ok = np.zeros(1024, bool)
    ok[:usable] = True
    ok = jax.numpy.asarray(ok)
    key, nodes = jax.random.PRNGKey(1), np.arange(64, dtype=np.int32)
    k = 28 if usable > 130 else 128
    alone = np.asarray(sample_features(key, nodes, ok, k, k))
    suffice = bool(draws_suffice(key, nodes, ok, k, k))
    assert suffice == (usable > 130)
    for all_suffice in {suffice, False}:
        np.testing.assert_array_equal(
            sample_features(key, nodes, ok, k, k, jax.numpy.bool_(all_suffice)), alone)


@pytest.mark.parametrize("n_cells", [64, 8192, 100])
def test_occupied_rank_counts_distinct_smaller_cells(n_cells):
    """The compact search numbers occupied (node, bin) cells by popcounts of packed occupancy
    bits: per row, the number of distinct cells below each entry (entries >= n_cells ignored),
    as numpy's unique / searchsorted give it."""
    import jax

    from gdm.tree._split_search import _occupied_rank

    rng = np.random.default_rng(0)
    cell = rng.integers(0, n_cells + n_cells // 4, size=(5, 300)).astype(np.int32)
    ours = np.asarray(jax.jit(_occupied_rank, static_argnums=1)(cell, n_cells))
    for row, got in zip(cell, ours, strict=True):
        seen = np.unique(row[row < n_cells])
        used = row < n_cells
        np.testing.assert_array_equal(got[used], np.searchsorted(seen, row[used]))


def test_score_keys_order_as_the_scores():
    """The compact search takes its segment max over int32 keys of the float32 scores: the
    keys must order as the scores (negative entropy scores, zeros of both signs, -inf) and
    map back to them, and keys below that of -inf (an empty segment) to -inf."""
    import jax.numpy as jnp

    from gdm.tree._split_search import _key_score, _ordered_key

    rng = np.random.default_rng(0)
    tiny = np.finfo(np.float32).tiny  # XLA:CPU flushes subnormals to zero: not compared
    scores = np.concatenate([rng.normal(scale=1e3, size=500), rng.normal(size=500),
                             [0.0, -0.0, -np.inf, np.finfo(np.float32).max, tiny, -tiny]]
                            ).astype(np.float32)
    keys = np.asarray(_ordered_key(jnp.asarray(scores)))
    a, b = np.meshgrid(np.arange(scores.size), np.arange(scores.size))
    np.testing.assert_array_equal(keys[a] < keys[b], scores[a] < scores[b])
    np.testing.assert_array_equal(keys[a] == keys[b], scores[a] == scores[b])
    np.testing.assert_array_equal(np.asarray(_key_score(jnp.asarray(keys))), scores + 0.0)
    empty = jnp.asarray([np.iinfo(np.int32).min], jnp.int32)
    assert np.asarray(_key_score(empty))[0] == -np.inf


def test_even_groups_fit_the_budget_with_the_least_padding():
    """Feature slots per search group: within the budget, in the fewest groups, and the
    padding of the last group smaller than the number of groups (equal sizes)."""
    from gdm.tree._plan import even_groups as _even_groups

    for k in range(1, 80):
        for most in range(0, 40):
            group = _even_groups(k, most)
            n_groups = -(-k // group)
            assert 1 <= group <= max(most, 1)
            assert n_groups == -(-k // max(most, 1))
            assert n_groups * group - k < n_groups
