"""gdm.tree against scikit-learn: same splits on clear data, same quality at full depth."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import ensemble as sk_ensemble
from sklearn import tree as sk_tree
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import check_estimator

from gdm.ensemble import RandomForestClassifier
from gdm.tree import DecisionTreeClassifier, DecisionTreeRegressor


def clear_split_data(n=240, seed=0):
    """Integer features where y is decided by three thresholds of different strength."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, size=(n, 4)).astype(np.float64)
    y = 4 * (x[:, 0] > 4) + 2 * (x[:, 2] > 5) + (x[:, 1] > 2)
    return x, y


def splits(arrays):
    """Sorted (feature, threshold) pairs of the internal nodes."""
    internal = arrays[0] >= 0
    return sorted(zip(arrays[0][internal].tolist(),
                      np.round(arrays[1][internal], 5).tolist(), strict=True))


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_shallow_tree_picks_sklearns_splits(depth, criterion):
    x, y = clear_split_data()
    ours = DecisionTreeClassifier(max_depth=depth, criterion=criterion, random_state=0).fit(x, y)
    ref = sk_tree.DecisionTreeClassifier(max_depth=depth, criterion=criterion,
                                         random_state=0).fit(x, y)
    t = ours.tree_arrays_
    assert splits((t["feature"][0], t["threshold"][0])) == splits(
        (ref.tree_.feature, ref.tree_.threshold))
    # Root: same feature and threshold (node 0 in both numberings).
    assert t["feature"][0, 0] == ref.tree_.feature[0]
    assert t["threshold"][0, 0] == pytest.approx(ref.tree_.threshold[0])
    np.testing.assert_allclose(ours.predict_proba(x), ref.predict_proba(x), atol=1e-6)


def test_shallow_regressor_picks_sklearns_splits():
    x, y = clear_split_data()
    y = y * 1.5 + 0.1 * x[:, 3]
    ours = DecisionTreeRegressor(max_depth=2).fit(x, y)
    ref = sk_tree.DecisionTreeRegressor(max_depth=2, random_state=0).fit(x, y)
    t = ours.tree_arrays_
    assert splits((t["feature"][0], t["threshold"][0])) == splits(
        (ref.tree_.feature, ref.tree_.threshold))
    np.testing.assert_allclose(ours.predict(x), ref.predict(x), rtol=1e-5)


@pytest.mark.parametrize("model", ["gini", "entropy", "squared_error"])
def test_importances_and_node_values_match_sklearn_on_the_same_splits(model):
    """Thresholds, node values and impurity-based importances (computed on the device from the
    grown node arrays) equal sklearn's when both grow the same tree."""
    x, y = clear_split_data()
    if model == "squared_error":
        y = y * 1.5 + 0.1 * x[:, 3]
        ours = DecisionTreeRegressor(max_depth=3).fit(x, y)
        ref = sk_tree.DecisionTreeRegressor(max_depth=3, random_state=0).fit(x, y)
        predict, ref_predict = ours.predict, ref.predict
    else:
        ours = DecisionTreeClassifier(max_depth=3, criterion=model).fit(x, y)
        ref = sk_tree.DecisionTreeClassifier(max_depth=3, criterion=model,
                                             random_state=0).fit(x, y)
        predict, ref_predict = ours.predict_proba, ref.predict_proba
    t = ours.tree_arrays_
    assert splits((t["feature"][0], t["threshold"][0])) == splits(
        (ref.tree_.feature, ref.tree_.threshold))
    np.testing.assert_allclose(ours.feature_importances_, ref.feature_importances_,
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(predict(x), ref_predict(x), rtol=1e-5, atol=1e-7)


def test_full_depth_tree_quality_matches_sklearn():
    x, y = load_breast_cancer(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=0)
    ours = DecisionTreeClassifier(random_state=0).fit(xtr, ytr)
    ref = sk_tree.DecisionTreeClassifier(random_state=0).fit(xtr, ytr)
    assert ours.score(xtr, ytr) == 1.0  # grown until pure, like sklearn
    assert abs(ours.score(xte, yte) - ref.score(xte, yte)) < 0.05
    leaves = ours.apply(xte)
    assert leaves.shape == (len(xte),)
    assert np.all(ours.tree_arrays_["feature"][0, leaves] == -2)
    np.testing.assert_allclose(ours.predict_proba(xte).sum(1), 1.0, rtol=1e-6)
    assert ours.feature_importances_.sum() == pytest.approx(1.0)


def samples_per_node(arrays, tree, x):
    """Training samples reaching each node of one tree, routed through its thresholds."""
    feature, threshold = arrays["feature"][tree], arrays["threshold"][tree]
    left, right = arrays["left"][tree], arrays["right"][tree]
    node, rows = np.zeros(len(x), int), np.arange(len(x))
    counts = np.zeros(len(feature), int)
    counts[0] = len(x)
    while (feature[node] >= 0).any():
        inner = feature[node] >= 0
        f = np.maximum(feature[node], 0)
        node = np.where(inner, np.where(x[rows, f] <= threshold[node], left[node], right[node]),
                        node)
        np.add.at(counts, node[inner], 1)
    return counts


def splits_moving_no_sample(arrays, tree, x):
    internal = np.flatnonzero(arrays["feature"][tree] >= 0)
    counts = samples_per_node(arrays, tree, x)
    return int(np.sum(np.minimum(counts[arrays["left"][tree][internal]],
                                 counts[arrays["right"][tree][internal]]) == 0))


def test_fractional_weights_on_ten_classes_match_sklearn():
    # Fractional weights round the right side's weight of a node's last occupied bin to a
    # tiny positive number: such a split moves no sample, and growth must not take it.
    x, y = load_digits(return_X_y=True)
    xtr, ytr, xte, yte = x[:701], y[:701], x[701:], y[701:]
    sw = np.random.default_rng(0).uniform(0.5, 1.5, len(ytr))
    capped = DecisionTreeClassifier(max_depth=40, random_state=0).fit(xtr, ytr, sample_weight=sw)
    assert splits_moving_no_sample(capped.tree_arrays_, 0, xtr) == 0
    ours = DecisionTreeClassifier(random_state=0).fit(xtr, ytr, sample_weight=sw)
    refs = [sk_tree.DecisionTreeClassifier(random_state=s).fit(xtr, ytr, sample_weight=sw)
            for s in range(5)]
    assert ours.score(xtr, ytr) == 1.0
    assert splits_moving_no_sample(ours.tree_arrays_, 0, xtr) == 0
    leaves = int(np.sum(ours.tree_arrays_["feature"][0] >= 0)) + 1  # a binary tree
    ref_leaves = np.mean([r.get_n_leaves() for r in refs])
    assert abs(leaves - ref_leaves) <= 0.15 * ref_leaves
    ref_acc = np.mean([r.score(xte, yte) for r in refs])
    assert abs(ours.score(xte, yte) - ref_acc) < 0.04


def test_balanced_subsample_forest_on_ten_classes():
    x, y = load_digits(return_X_y=True)
    xtr, ytr, xte, yte = x[:701], y[:701], x[701:], y[701:]
    ours = RandomForestClassifier(8, class_weight="balanced_subsample", random_state=0)
    ours.fit(xtr, ytr)
    assert all(splits_moving_no_sample(ours.tree_arrays_, t, xtr) == 0 for t in range(8))
    ref = np.mean([sk_ensemble.RandomForestClassifier(
        8, class_weight="balanced_subsample", random_state=s).fit(xtr, ytr).score(xte, yte)
        for s in range(5)])
    assert abs(ours.score(xte, yte) - ref) < 0.04


def test_regressor_r2_close_to_sklearn():
    x, y = load_diabetes(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=0)
    ours = DecisionTreeRegressor(max_depth=4).fit(xtr, ytr)
    ref = sk_tree.DecisionTreeRegressor(max_depth=4, random_state=0).fit(xtr, ytr)
    assert abs(ours.score(xte, yte) - ref.score(xte, yte)) < 0.05
    assert ours.score(xtr, ytr) == pytest.approx(ref.score(xtr, ytr), abs=0.02)


def test_min_samples_limits_are_respected():
    x, y = load_breast_cancer(return_X_y=True)
    ours = DecisionTreeClassifier(min_samples_leaf=10, max_depth=5, random_state=0).fit(x, y)
    ref = sk_tree.DecisionTreeClassifier(min_samples_leaf=10, max_depth=5,
                                         random_state=0).fit(x, y)
    leaves = ours.apply(x)
    assert np.bincount(leaves)[np.unique(leaves)].min() >= 10
    assert len(np.unique(leaves)) > 4
    assert abs(ours.score(x, y) - ref.score(x, y)) < 0.03


@pytest.mark.parametrize("bad, error", [
    (dict(criterion="mse"), ValueError),
    (dict(max_features="half"), ValueError),
    (dict(max_features=0), ValueError),
    (dict(max_depth=0), ValueError),
    (dict(min_samples_split=1), ValueError),
    (dict(max_bins=300), ValueError),
])
def test_bad_parameters_raise(bad, error):
    x, y = clear_split_data(40)
    with pytest.raises(error):
        DecisionTreeClassifier(**bad).fit(x, y)


def test_bad_inputs_raise_sklearn_errors():
    x, y = clear_split_data(40)
    with pytest.raises(ValueError, match="NaN"):
        DecisionTreeClassifier().fit(np.where(x > 8, np.nan, x), y)
    with pytest.raises(ValueError, match="max_features"):
        DecisionTreeClassifier(max_features=5).fit(x, y)  # only 4 features
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        DecisionTreeClassifier().fit(x, y[:-1])
    with pytest.raises(ValueError, match="Unknown label type"):
        DecisionTreeClassifier().fit(x, y + 0.5)
    fitted = DecisionTreeClassifier().fit(x, y)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(x[:, :3])


EXPECTED_FAILED = {}  # every check applies and passes


@pytest.mark.parametrize("estimator", [DecisionTreeClassifier(), DecisionTreeRegressor()],
                         ids=lambda e: type(e).__name__)
def test_check_estimator(estimator):
    check_estimator(estimator, expected_failed_checks=EXPECTED_FAILED)
