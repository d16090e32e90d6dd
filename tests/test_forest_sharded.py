"""Trees grown with the samples split over 4 (forced CPU) devices equal the 1-device trees.

JAX fixes the device count when it starts, so the 4-device fits run in a subprocess with
XLA_FLAGS=--xla_force_host_platform_device_count=4; the reference is the same estimator with
n_devices=1 in that process. Classification histograms hold integer-valued counts, whose
float32 sums are exact in any order: every node array must be equal. Regression sums w * y:
with targets of +-1 (mean 0, std 1, so the scaled targets and all sums are integers) the
trees must be equal too; with digit labels as targets, mathematically equal scores of
different splits round differently in another summation order, so only the root splits must
agree and the held-out R^2 stay within 0.05.
"""

import textwrap

import numpy as np
import pytest

from gdm.ensemble import RandomForestClassifier
from tests.helpers_train import run_on_cpu_devices

SCRIPT = textwrap.dedent("""
    import jax
    import numpy as np
    from sklearn.datasets import load_digits
    import gdm.tree._base as base
    from gdm.ensemble import RandomForestClassifier, RandomForestRegressor
    from gdm.tree import DecisionTreeClassifier

    assert jax.device_count() == 4, jax.devices()
    seen = []
    grow = base.grow_compiled
    base.grow_compiled = lambda *a: seen.append(a[:3]) or grow(*a)

    def split_over_four(arrays, axes):
        for array, axis in zip(arrays, axes):
            assert len(array.sharding.device_set) == 4, array.sharding
            assert array.addressable_shards[0].data.shape[axis] * 4 == array.shape[axis]

    def same_trees(a, b):
        assert a.n_devices_ == 4 and b.n_devices_ == 1, (a.n_devices_, b.n_devices_)
        assert a.tree_arrays_.keys() == b.tree_arrays_.keys()
        for name, array in a.tree_arrays_.items():
            assert np.array_equal(array, b.tree_arrays_[name]), name

    x, y = load_digits(return_X_y=True)
    # 501 rows: 512 padded, 128 per device, the last holding 117 real ones.
    xtr, ytr, xte, yte = x[:501], y[:501], x[501:], y[501:]
    checked = 0
    for make in (lambda n: RandomForestClassifier(8, random_state=0, max_features=16,
                                                  n_devices=n),
                 lambda n: DecisionTreeClassifier(random_state=0, n_devices=n)):
        seen.clear()
        four, one = make(4).fit(xtr, ytr), make(1).fit(xtr, ytr)
        xb, target, weights = seen[0]
        split_over_four((xb, target, weights), (1, 0, 1))  # xb laid out (features, samples)
        assert all(len(a.sharding.device_set) == 1 for a in seen[-1])
        same_trees(four, one)
        assert four.node_count_.min() > 50  # real trees, grown by all three searches
        np.testing.assert_array_equal(four.predict_proba(xte), one.predict_proba(xte))
        checked += 1

    regressor = lambda n: RandomForestRegressor(8, random_state=0, max_features=0.6,
                                                n_devices=n)
    signs = np.where(np.random.default_rng(0).permutation(500) % 2 == 0, 1.0, -1.0)
    four, one = regressor(4).fit(x[:500], signs), regressor(1).fit(x[:500], signs)
    same_trees(four, one)
    np.testing.assert_array_equal(four.predict(xte), one.predict(xte))
    checked += 1
    four, one = regressor(4).fit(xtr, ytr), regressor(1).fit(xtr, ytr)
    for name in ("feature", "threshold"):
        np.testing.assert_array_equal(four.tree_arrays_[name][:, 0],
                                      one.tree_arrays_[name][:, 0])
    r2_four, r2_one = four.score(xte, yte), one.score(xte, yte)
    assert r2_one > 0.6 and abs(r2_four - r2_one) < 0.05, (r2_four, r2_one)
    checked += 1

    # GPU / TPU plans: trees in vmapped lockstep, xb laid out (samples, features).
    base.on_accelerator = lambda: True
    seen.clear()
    make = lambda n: RandomForestClassifier(8, random_state=1, max_features=16, n_devices=n)
    four, one = make(4).fit(xtr, ytr), make(1).fit(xtr, ytr)
    split_over_four(seen[0], (0, 0, 1))
    same_trees(four, one)
    checked += 1
    print("CHECKED", checked)
""")


def test_four_devices_grow_the_one_device_trees():
    assert "CHECKED 5" in run_on_cpu_devices(SCRIPT, 4, timeout=600)


def test_more_devices_than_the_process_has_raise():
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="n_devices=64"):
        RandomForestClassifier(2, n_devices=64).fit(x, np.arange(20) % 2)


def test_one_device_plans_toy_problems():
    """A toy fit (compiling dominates) keeps one device whatever n_devices allows."""
    from gdm.tree._plan import plan_growth

    kw = dict(criterion="gini", n_channels=2, classifier=True, max_bins=256, n_bins_used=40,
              min_samples_leaf=1, node_chunk=32, chunk_size=None, threads=2,
              accelerator=False, d_pad=16, n_used=1000, n_draws=1000, devices=4)
    assert plan_growth(1024, 4, 4, **kw).program.n_devices == 1
    big = plan_growth(4096, 64, 100, **dict(kw, d_pad=64, n_used=4000, n_draws=4000))
    assert big.program.n_devices == 4 and big.workers == 1
    assert big.program.bag_rows < 1024  # a device's share of the bag, not all its rows
