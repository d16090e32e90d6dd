"""gdm.neighbors with the training rows split over 4 (forced CPU) devices equals 1 device.

JAX fixes the device count when it starts, so the 4-device search runs in a subprocess with
XLA_FLAGS=--xla_force_host_platform_device_count=4; the 1-device reference is the same
estimator with n_devices=1 in that process. Both are also checked against scikit-learn and a
NumPy brute force that breaks ties by index.
"""

import textwrap

import numpy as np
import pytest

from gdm.neighbors import KNeighborsClassifier
from tests.helpers_train import run_on_cpu_devices

SCRIPT = textwrap.dedent("""
    import pickle
    import jax
    import numpy as np
    import sklearn.neighbors as sk
    from scipy.spatial.distance import cdist
    from sklearn.datasets import load_digits
    from gdm.neighbors import KNeighborsClassifier, KNeighborsRegressor

    assert jax.device_count() == 4, jax.devices()
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    queries = x[1500:1700]
    checked = 0
    # 1001 rows: 1024 padded, 256 per device, the last with 233 real rows. 9 rows: 16 padded,
    # 4 per device, so k=5 exceeds a device's rows and the last device holds padding only.
    for n_train in (1001, 9):
        xtr, ytr = x[:n_train], y[:n_train]
        for metric in ("euclidean", "manhattan"):
            brute = cdist(queries, xtr, "cityblock" if metric == "manhattan" else metric)
            order = np.lexsort((np.broadcast_to(np.arange(n_train), brute.shape), brute))
            for k in (1, 5):
                four = KNeighborsClassifier(k, metric=metric).fit(xtr, ytr)
                one = KNeighborsClassifier(k, metric=metric, n_devices=1).fit(xtr, ytr)
                assert four.n_devices_ == 4 and one.n_devices_ == 1
                for array in (four._train64, four._train_sq64):
                    assert len(array.addressable_shards) == 4
                    assert len(array.sharding.device_set) == 4
                    assert array.addressable_shards[0].data.shape[0] * 4 == array.shape[0]
                dist, ind = four.kneighbors(queries)
                ref_dist, ref_ind = one.kneighbors(queries)
                np.testing.assert_array_equal(ind, ref_ind)
                np.testing.assert_allclose(dist, ref_dist, rtol=1e-6, atol=1e-6)
                np.testing.assert_array_equal(ind, order[:, :k])
                np.testing.assert_allclose(dist, np.take_along_axis(brute, ind, 1),
                                           rtol=1e-6, atol=1e-6)
                np.testing.assert_array_equal(four.predict(queries), one.predict(queries))
                np.testing.assert_array_equal(four.predict_proba(queries),
                                              one.predict_proba(queries))
                peer = sk.KNeighborsClassifier(k, metric=metric).fit(xtr, ytr)
                np.testing.assert_allclose(dist, peer.kneighbors(queries)[0], rtol=1e-6,
                                           atol=1e-6)
                # scikit-learn orders exactly tied points arbitrarily: rows whose k-th and
                # (k+1)-th distances tie may vote differently.
                ranked = np.take_along_axis(brute, order, 1)
                untied = ranked[:, k - 1] < ranked[:, k] if k < n_train else True
                np.testing.assert_array_equal(four.predict(queries)[untied],
                                              peer.predict(queries)[untied])
                np.testing.assert_array_equal(four.kneighbors(return_distance=False),
                                              one.kneighbors(return_distance=False))
                checked += 1
    loaded = pickle.loads(pickle.dumps(four))
    assert len(loaded._train64.addressable_shards) == 4
    np.testing.assert_array_equal(loaded.kneighbors(queries)[1], ind)
    targets = x[:1001, :3]
    reg4 = KNeighborsRegressor(5, weights="distance").fit(x[:1001], targets)
    reg1 = KNeighborsRegressor(5, weights="distance", n_devices=1).fit(x[:1001], targets)
    np.testing.assert_allclose(reg4.predict(queries), reg1.predict(queries), rtol=1e-12)
    print("CHECKED", checked)
""")


def test_four_devices_give_the_one_device_neighbours():
    assert "CHECKED 8" in run_on_cpu_devices(SCRIPT, 4)


def test_more_devices_than_the_process_has_raise():
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="n_devices=64"):
        KNeighborsClassifier(3, n_devices=64).fit(x, np.arange(20) % 2)
