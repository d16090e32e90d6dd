"""Ng & Jordan learning curves: vmapped fits equal scikit-learn's, and the finding's numbers."""

from __future__ import annotations

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.naive_bayes import BernoulliNB as SkBernoulliNB
from sklearn.naive_bayes import GaussianNB as SkGaussianNB

from gdm.runners import _fits, gen_vs_disc
from gdm.utils.validation import x64
from tests.helpers_train import experiment_config

tiny_config = functools.partial(experiment_config, "gen_vs_disc")


def one_split(name: str, m: int, seed: int = 3):
    """Data, train/test masks of one split, and the training rows as scikit-learn sees them."""
    x, y, kind = gen_vs_disc.load_task(name, 0)
    with x64():
        train, test = _fits.split_masks(jax.random.PRNGKey(seed), jnp.asarray(y),
                                        jnp.asarray([m]), 2, 0.3, 2)
    train, test = np.asarray(train[0]), np.asarray(test)
    return x, y, kind, train, test


@pytest.mark.parametrize("name,m", [("iris", 4), ("breast_cancer", 40), ("digits_3v8", 25)])
def test_vmapped_naive_bayes_equals_sklearn_on_one_split(name, m):
    x, y, kind, train, test = one_split(name, m)
    assert train.sum() == m and not (train & test).any() and test.sum() == round(0.3 * len(y))
    assert (np.bincount(y[train]) >= 2).all()  # min_per_class of each class
    fit, scores = _fits.NB_FITS[kind]
    sk = SkGaussianNB() if kind == "gaussian" else SkBernoulliNB(alpha=1.0, binarize=None)
    sk.fit(x[train], y[train])
    param = 1e-9 if kind == "gaussian" else 1.0
    with x64():
        jll = np.asarray(scores(jnp.asarray(x), fit(jnp.asarray(x), jnp.asarray(y),
                                                    jnp.asarray(train, jnp.float64), 2,
                                                    jnp.asarray(param))))
    np.testing.assert_allclose(jll, sk.predict_joint_log_proba(x), rtol=1e-6, atol=1e-6)


def test_vmapped_logistic_regression_matches_sklearn_on_one_split():
    x, y, _, train, _ = one_split("breast_cancer", 60)
    xs = (x - x[train].mean(0)) / x[train].std(0)
    with x64():
        coef, intercept = _fits.fit_logistic(jnp.asarray(xs), jnp.asarray(y),
                                             jnp.asarray(train, jnp.float64), jnp.asarray(1.0),
                                             jnp.asarray(1e-8), jnp.asarray(500))
    sk = SkLogisticRegression(C=1.0, tol=1e-10, max_iter=5000).fit(xs[train], y[train])
    np.testing.assert_allclose(np.asarray(coef), sk.coef_[0], atol=1e-4)
    assert float(intercept) == pytest.approx(sk.intercept_[0], abs=1e-4)


def test_splits_are_nested_and_reproducible():
    y = jnp.asarray(np.r_[np.zeros(30, int), np.ones(10, int)])
    with x64():
        a, ta = _fits.split_masks(jax.random.PRNGKey(1), y, jnp.asarray([4, 9, 28]), 2, 0.3, 2)
        b, tb = _fits.split_masks(jax.random.PRNGKey(1), y, jnp.asarray([4, 9, 28]), 2, 0.3, 2)
    a = np.asarray(a)
    assert (a == np.asarray(b)).all() and (np.asarray(ta) == np.asarray(tb)).all()
    assert (a[0] <= a[1]).all() and (a[1] <= a[2]).all()  # nested training sets
    assert a.sum(1).tolist() == [4, 9, 28] and not (a[2] & np.asarray(ta)).any()


def test_tiny_run_schema_and_the_naive_bayes_model_finding(tmp_path):
    config = tiny_config(datasets="nb_synthetic,iris", splits=40, points=4)
    results = gen_vs_disc.run(config, str(tmp_path))
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved) == {"nb_synthetic", "iris"}
    for curves in saved.values():
        n = len(curves["m"])
        assert curves["m"][0] == 4 and n == 4
        for key in ("naive_bayes", "logistic_regression", "logistic_regression_l2"):
            assert len(curves[f"{key}/error"]) == n == len(curves[f"{key}/error_std"])
            assert all(0.0 <= e <= 1.0 for e in curves[f"{key}/error"])
        assert curves["published"]["nb_reaches_asymptote_faster"] is True
        assert isinstance(curves["summary"]["curves_cross"], bool)
    syn = results["nb_synthetic"]
    nb, lr = np.array(syn["naive_bayes/error"]), np.array(syn["logistic_regression/error"])
    # NB's assumption holds: NB is ahead at small m (the second size, ~4 per class) and by at
    # least as much as the noise over 40 splits, and both learn.
    assert nb[1] < lr[1] - 0.02
    assert nb[-1] < nb[0] - 0.1 and lr[-1] < lr[0] - 0.1
    assert not syn["summary"]["lr_better_at_largest_m"]
    assert (tmp_path / "figures" / "gen_vs_disc.png").exists()
    assert (tmp_path / "figures" / "gen_vs_disc.pdf").exists()


def test_traced_values_do_not_recompile():
    x, y, kind = gen_vs_disc.load_task("iris", 0)
    args = dict(nb_kind=kind, test_fraction=0.3, min_per_class=2, standardize_lr=True)
    with x64():
        def call(seed, c, sizes):
            keys = jax.random.split(jax.random.PRNGKey(seed), 2)
            return _fits.split_errors(keys, jnp.asarray(x), jnp.asarray(y), jnp.asarray(sizes),
                                      jnp.asarray(1e-9), jnp.asarray([c, 1.0]),
                                      jnp.asarray(1e-4), jnp.asarray(5), **args)
        call(0, 1e4, [4, 8])
        before = _fits.split_errors._cache_size()
        call(1, 10.0, [5, 9])
        assert _fits.split_errors._cache_size() == before


def test_pure_function_of_config_and_seed(tmp_path):
    config = tiny_config(datasets="iris", splits=4, points=3, lr_max_iter=10)
    a = gen_vs_disc.dataset_curves("iris", config)
    b = gen_vs_disc.dataset_curves("iris", config)
    assert a["naive_bayes/error"] == b["naive_bayes/error"]
    assert a["logistic_regression/error"] == b["logistic_regression/error"]


def test_summary_detects_a_crossing_and_the_asymptote():
    m = [4, 8, 16, 32]
    noise = np.random.default_rng(0).normal(0, 0.01, (2, 50, 4))
    nb = np.tile([0.2, 0.15, 0.15, 0.15], (50, 1)) + noise[0]
    lr = np.tile([0.3, 0.2, 0.1, 0.05], (50, 1)) + noise[1]
    s = gen_vs_disc.summary(m, nb, lr, tol=0.01)
    assert s["curves_cross"] and s["crossover_m"] == 16
    assert s["naive_bayes/asymptote_m"] == 8 and s["logistic_regression/asymptote_m"] == 32
    assert s["nb_reaches_asymptote_faster"] and s["better_per_m"][0] == "naive_bayes"


@pytest.mark.parametrize("key,value,match", [
    ("datasets", "mnist", "config.datasets.*breast_cancer"),
    ("datasets", " ", "config.datasets"),
    ("splits", 1, "config.splits"),
    ("test_fraction", 1.0, "config.test_fraction"),
    ("lr_C", 0.0, "config.lr_C"),
])
def test_bad_config(key, value, match):
    with pytest.raises(ValueError, match=match):
        gen_vs_disc.run(tiny_config(**{key: value}), "/tmp")
