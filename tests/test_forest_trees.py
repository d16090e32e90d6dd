"""Breiman's random-forest curves: error vs number of trees and the out-of-bag estimate."""

from __future__ import annotations

import functools
import json

import jax.numpy as jnp
import numpy as np
import pytest

from gdm.runners import forest_trees
from tests.helpers_train import experiment_config

tiny_config = functools.partial(experiment_config, "forest_trees")


def test_tiny_run_the_finding_and_the_schema(tmp_path):
    results = forest_trees.run(tiny_config(), str(tmp_path))
    saved = json.loads((tmp_path / "results.json").read_text())
    trees = saved["n_trees"]
    assert trees[0] == 1 and trees[-1] == 100 and 10 in trees
    for key in ("test/error", "test/error_std", "oob/error", "oob/error_std"):
        assert len(saved[key]) == len(trees)
    test = np.array(results["test/error"])
    s = results["summary"]
    assert s["error_100_trees"] <= s["error_10_trees"] < s["error_1_tree"]  # falls, no rise
    assert s["error_100_trees"] < 0.06 and s["error_1_tree"] > 0.12
    assert test[-1] <= test.min() + 0.01 and not s["overfits_with_more_trees"]
    # The OOB curve at all trees is the forest's own OOB score, seed by seed on average.
    assert results["oob/error"][-1] == pytest.approx(np.mean(results["oob/sklearn_error"]),
                                                     abs=1e-6)
    assert abs(results["oob/error"][-1] - test[-1]) < 0.03
    importances = np.array(saved["feature_importances"])
    assert importances.shape == (8, 8) and importances.sum() == pytest.approx(1.0)
    assert importances[:, 0].sum() < importances[:, 3].sum()  # border pixels matter less
    assert saved["published"]["overfits_with_more_trees"] is False
    assert (tmp_path / "figures" / "forest_trees.png").exists()
    assert (tmp_path / "figures" / "forest_trees.pdf").exists()


def test_prefix_errors_match_a_forest_of_k_votes():
    rng = np.random.default_rng(0)
    votes = rng.dirichlet(np.ones(3), size=(5, 7)).astype(np.float32)  # (trees, n, classes)
    y = rng.integers(0, 3, 7)
    use = (rng.random((5, 7)) < 0.6).astype(np.float32)
    errors = np.asarray(forest_trees.prefix_errors(jnp.asarray(votes), jnp.asarray(y),
                                                   jnp.asarray(use), jnp.asarray([1, 3, 5])))
    for i, k in enumerate([1, 3, 5]):
        sums = (votes[:k] * use[:k, :, None]).sum(0)
        voted = use[:k].sum(0) > 0
        wrong = (sums.argmax(1) != y) & voted
        assert errors[i] == pytest.approx(wrong.sum() / max(voted.sum(), 1))


@pytest.mark.parametrize("key,value,match", [
    ("n_trees", 5, "config.n_trees"),
    ("seeds", 0, "config.seeds"),
    ("max_features", "all", "config.max_features"),
    ("test_fraction", 0.0, "config.test_fraction"),
])
def test_bad_config(key, value, match):
    with pytest.raises(ValueError, match=match):
        forest_trees.run(tiny_config(**{key: value}), "/tmp")
