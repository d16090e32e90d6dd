"""gdm.svm with the kernel's rows split over 4 (forced CPU) devices equals 1 device.

JAX fixes the device count when it starts, so the 4-device fits run in a subprocess with
XLA_FLAGS=--xla_force_host_platform_device_count=4; the 1-device reference is the same
estimator with n_devices=1 in that process. The solver's entry points are wrapped to record
how their kernel rows, samples and test rows are placed.
"""

import textwrap

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from gdm.svm import SVC
from tests.helpers_train import run_on_cpu_devices

SCRIPT = textwrap.dedent("""
    import pickle
    import jax
    import numpy as np
    from sklearn.datasets import load_digits
    from gdm.svm import SVC, SVR, _base, _grid, _solver, fit_grid

    assert jax.device_count() == 4, jax.devices()
    placed = []

    def recording(fn, name):
        def wrapped(first, *args, **kwargs):
            shards = first.addressable_shards
            placed.append((name, kwargs["mesh"].size, len(shards),
                           shards[0].data.shape[0] * len(shards) == first.shape[0],
                           len({s.index[0].start for s in shards}) == len(shards)))
            return fn(first, *args, **kwargs)
        return wrapped

    _solver.solve = recording(_solver.solve, "kernel rows")
    _solver.solve_uncached = recording(_solver.solve_uncached, "samples")
    _base._decision = recording(_base._decision, "test rows")
    _grid._grid_scores = recording(_grid._grid_scores, "grid samples")

    def split_over(*names):
        # every call ran on its estimator's mesh, its first argument's rows split evenly
        assert set(placed) == {(name, d, d, True, True) for name in names for d in (1, 4)}, placed
        placed.clear()

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    n = 1001  # 1024 padded slots, 256 kernel rows per device; 997 test rows
    xtr, xte = x[:n], x[n:]
    cases = [(dict(kernel="rbf"), y[:n] % 2), (dict(kernel="linear"), y[:n] % 2),
             (dict(kernel="rbf"), y[:n]), (dict(kernel="linear", C=0.5), y[:n]),
             (dict(kernel="rbf", working_set_size=64), y[:n]),  # working-set rounds
             (dict(kernel="rbf", cache_size=0.5), y[:n] % 2)]  # kernel rows recomputed
    for params, ytr in cases:
        one = SVC(n_devices=1, **params).fit(xtr, ytr)
        four = SVC(**params).fit(xtr, ytr)
        assert four.n_devices_ == 4 and one.n_devices_ == 1
        np.testing.assert_array_equal(four.support_, one.support_)
        np.testing.assert_allclose(four.dual_coef_, one.dual_coef_, rtol=0, atol=1e-5)
        np.testing.assert_allclose(four.intercept_, one.intercept_, rtol=0, atol=1e-5)
        np.testing.assert_allclose(four.decision_function(xte), one.decision_function(xte),
                                   rtol=0, atol=1e-5)
        np.testing.assert_array_equal(four.predict(xte), one.predict(xte))
        split_over("samples" if "cache_size" in params else "kernel rows", "test rows")
        print("CASE", params, "ok")
    loaded = pickle.loads(pickle.dumps(four))
    np.testing.assert_array_equal(loaded.decision_function(xte), four.decision_function(xte))
    placed.clear()
    grids = [fit_grid(xtr[:601], y[:601], C=[1.0, 4.0], gamma=[0.02, "scale"], cv=3,
                      n_devices=d) for d in (4, 1)]
    split_over("grid samples")
    np.testing.assert_array_equal(grids[0]["test_scores"], grids[1]["test_scores"])
    np.testing.assert_array_equal(grids[0]["n_iter"], grids[1]["n_iter"])
    t = x[:n, 0] * 3 + x[:n, 5]
    reg = [SVR(n_devices=d).fit(xtr, t) for d in (4, 1)]
    np.testing.assert_allclose(reg[0].dual_coef_, reg[1].dual_coef_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(reg[0].predict(xte), reg[1].predict(xte), rtol=0, atol=1e-5)
    print("CHECKED", len(cases))
""")


def test_four_devices_give_the_one_device_machines():
    assert "CHECKED 6" in run_on_cpu_devices(SCRIPT, 4)


def test_bad_device_counts_raise():
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="n_devices=64"):
        SVC(n_devices=64).fit(x, np.arange(20) % 2)
    with pytest.raises(InvalidParameterError, match="n_devices"):
        SVC(n_devices=0).fit(x, np.arange(20) % 2)
