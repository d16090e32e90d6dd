"""Refitting a forest with values that do not change shapes compiles no new program.

Seeds, min_samples_*, max_depth and class weights are traced values of the growth programs,
and every static size comes from shapes and parameter buckets (`gdm.tree._plan`), so seed
loops and cross-validation compile once."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import KFold

from gdm.ensemble import RandomForestClassifier
from gdm.utils.cache import CompileCounter


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


def _compiles(fn) -> int:
    with CompileCounter() as counter:
        fn()
    return counter.count


@pytest.mark.parametrize("change", [
    dict(random_state=1), dict(min_samples_leaf=5), dict(max_depth=7),
    dict(class_weight="balanced"), dict(min_samples_split=6, random_state=2)],
    ids=["random_state", "min_samples_leaf", "max_depth", "class_weight", "min_samples_split"])
def test_refit_with_new_values_compiles_nothing(digits, change):
    x, y = digits
    base = dict(n_estimators=16, random_state=0, min_samples_leaf=2, max_depth=12)
    RandomForestClassifier(**base).fit(x, y)
    changed = RandomForestClassifier(**{**base, **change})
    assert _compiles(lambda: changed.fit(x, y)) == 0


def test_counter_sees_a_new_program(digits):
    """The check above can fail: fewer features per node (another static k) compile."""
    x, y = digits
    RandomForestClassifier(16, random_state=0).fit(x, y)
    assert _compiles(lambda: RandomForestClassifier(16, random_state=0).fit(x[:, :40], y)) > 0


def test_cross_validation_compiles_only_its_first_fold(digits):
    x, y = digits
    folds = list(KFold(5, shuffle=True, random_state=0).split(x))

    def fold(i):
        train, test = folds[i]
        forest = RandomForestClassifier(16, random_state=0).fit(x[train], y[train])
        return forest.score(x[test], y[test])

    fold(0)
    assert _compiles(lambda: [fold(i) for i in range(1, 5)]) == 0


def test_predict_after_fit_compiles_at_most_two_programs(digits):
    x, y = digits
    forest = RandomForestClassifier(16, random_state=3, max_depth=10).fit(x, y)
    with CompileCounter() as counter:
        proba = forest.predict_proba(x[:100])
        forest.predict(x[:100])
    assert counter.count <= 2
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
