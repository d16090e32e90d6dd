"""gdm.ensemble against scikit-learn's forests: accuracy, R^2, importances, OOB, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import ensemble as sk_ensemble
from sklearn.datasets import load_breast_cancer, load_digits, make_classification, make_friedman1
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import check_estimator

from gdm.ensemble import RandomForestClassifier, RandomForestRegressor

# Up to 8 trees on small data share one compiled program with the tree and check_estimator
# tests, which keeps this file inside its time budget.
N_TREES = 8


def split(loader):
    x, y = loader(return_X_y=True)
    return train_test_split(x, y, test_size=0.3, random_state=0)


@pytest.mark.parametrize("loader", [load_digits, load_breast_cancer],
                         ids=["digits", "breast_cancer"])
def test_forest_accuracy_matches_sklearn(loader):
    """Test accuracy, averaged over 5 seeds of 50-tree forests (a seed's accuracy varies by
    about a point, the mean by well under one), within 1 point of scikit-learn's."""
    xtr, xte, ytr, yte = split(loader)
    ours, ref = [], []
    for seed in range(5):
        forest = RandomForestClassifier(50, random_state=seed).fit(xtr, ytr)
        ours.append(forest.score(xte, yte))
        sk = sk_ensemble.RandomForestClassifier(50, random_state=seed, n_jobs=2).fit(xtr, ytr)
        ref.append(sk.score(xte, yte))
    assert np.mean(ours) >= np.mean(ref) - 0.01, (ours, ref)
    proba = forest.predict_proba(xte)
    assert proba.shape == (len(xte), len(np.unique(ytr)))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(forest.classes_, sk.classes_)
    assert forest.apply(xte).shape == (len(xte), 50)


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_compacted_deep_steps_grow_the_same_trees(monkeypatch, criterion):
    """Steps whose nodes hold few samples search only the occupied (node, bin) cells of a
    compacted window of samples (split_search.best_splits_compact); with the window as large
    as the data, every step takes the full histogram search. Both must grow identical trees
    (bootstrap weights are integers, so every sum is exact in both)."""
    from gdm.tree import _plan as plan

    xtr, _, ytr, _ = split(load_digits)
    compacted = RandomForestClassifier(N_TREES, criterion=criterion, random_state=0)
    compacted.fit(xtr, ytr)
    monkeypatch.setattr(plan, "WINDOW_DIVISORS", (1,))
    full = RandomForestClassifier(N_TREES, criterion=criterion, random_state=0).fit(xtr, ytr)
    for name, array in compacted.tree_arrays_.items():
        np.testing.assert_array_equal(array, full.tree_arrays_[name], err_msg=name)


def test_first_level_searches_grow_the_same_trees(monkeypatch):
    """Steps of the first levels (all samples, at most 2, 8 or 16 queued nodes) search that many
    node slots, not node_chunk; searching all node_chunk slots in every such step must grow
    identical trees. The compact windows are kept small so that these searches run for the
    first five levels and deeper."""
    from gdm.tree import _plan as plan

    xtr, _, ytr, _ = split(load_digits)
    monkeypatch.setattr(plan, "WINDOW_DIVISORS", (64,))
    assert plan.TOP_SLOTS == (2, 8, 16)
    first_levels = RandomForestClassifier(N_TREES, random_state=0).fit(xtr, ytr)
    monkeypatch.setattr(plan, "TOP_SLOTS", ())
    full = RandomForestClassifier(N_TREES, random_state=0).fit(xtr, ytr)
    for name, array in first_levels.tree_arrays_.items():
        np.testing.assert_array_equal(array, full.tree_arrays_[name], err_msg=name)


@pytest.mark.parametrize("zero_weights", [False, True], ids=["bootstrap", "sample_weight_0"])
def test_full_search_over_the_bag_grows_the_same_trees(monkeypatch, zero_weights):
    """The full searches scan only a window of the samples that carry weight, compacted, sized
    from the expected bag (`_plan.bag_bound`); scanning all rows must grow identical trees,
    with bootstrap and with sample_weight zeros on top of it."""
    from gdm.tree import _plan as plan

    xtr, _, ytr, _ = split(load_digits)
    weight = np.where(np.arange(len(ytr)) % 3 == 0, 0.0, 1.0) if zero_weights else None
    used = []
    bag_rows = plan.bag_rows_of
    monkeypatch.setattr(plan, "bag_rows_of", lambda *a: used.append(bag_rows(*a)) or used[-1])
    bagged = RandomForestClassifier(N_TREES, random_state=0).fit(xtr, ytr, weight)
    n_pad = plan.coarse_bucket(len(ytr), 128)
    assert used and used[-1] <= n_pad * (0.5 if zero_weights else 0.75)
    monkeypatch.setattr(plan, "bag_rows_of", lambda n_bag, n_pad: n_pad)
    every_row = RandomForestClassifier(N_TREES, random_state=0).fit(xtr, ytr, weight)
    for name, array in bagged.tree_arrays_.items():
        np.testing.assert_array_equal(array, every_row.tree_arrays_[name], err_msg=name)


def test_bag_bound_holds_the_bags():
    """The planned bag bound is at least the largest bag of many draws, at most n."""
    import jax

    from gdm.tree import _plan as plan
    from gdm.tree._sampling import bootstrap_counts

    for n in (50, 1257, 8000):
        counts = np.asarray(bootstrap_counts(jax.random.PRNGKey(n), np.ones(n, np.float32), n,
                                             n_trees=64))
        largest = (counts > 0).sum(1).max()
        assert largest <= plan.bag_bound(n, n) <= n
    assert plan.bag_bound(8000, 8000) < 0.66 * 8000  # 1 - 1/e of them, plus six sd


@pytest.mark.parametrize("chunk_size", [None, 200_000], ids=["all_at_once", "two_calls"])
def test_accelerator_layout_grows_the_same_trees(monkeypatch, chunk_size):
    """On GPU / TPU trees grow vmapped, as many per call as chunk_size allows, with the full
    histogram search in every step; the CPU grows them one after another with the compact
    search for deep steps. Same seed, same trees (run here by forcing the layout, with the
    input padded on the device and the best split found by argmax, as there)."""
    from gdm.tree import _base as base
    from gdm.tree import _binning as binning
    from gdm.tree import _split_search as split_search

    xtr, _, ytr, _ = split(load_digits)
    cpu = RandomForestClassifier(12, random_state=0, chunk_size=chunk_size).fit(xtr, ytr)
    monkeypatch.setattr(base, "on_accelerator", lambda: True)
    monkeypatch.setattr(split_search, "on_accelerator", lambda: True)
    monkeypatch.setattr(binning, "DEVICE_PAD_CELLS", 1)
    vmapped = RandomForestClassifier(12, random_state=0, chunk_size=chunk_size).fit(xtr, ytr)
    for name, array in cpu.tree_arrays_.items():
        np.testing.assert_array_equal(array, vmapped.tree_arrays_[name], err_msg=name)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_accelerator_layout_rejects_non_finite_input(monkeypatch, bad):
    """On GPU / TPU X's finiteness is checked on the device with the binning, not by sklearn's
    validation; the error is still sklearn's, zero-weight rows included."""
    from gdm.tree import _base as base
    from gdm.tree import _binning as binning

    monkeypatch.setattr(base, "on_accelerator", lambda: True)
    monkeypatch.setattr(binning, "DEVICE_PAD_CELLS", 1)
    x, y = load_breast_cancer(return_X_y=True)
    x[7, 3] = bad
    weight = np.ones(len(y))
    weight[7] = 0.0
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        RandomForestClassifier(4, random_state=0).fit(x, y, sample_weight=weight)


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_histograms_without_counts_grow_the_same_trees(monkeypatch, criterion):
    """With min_samples_leaf=1 the split search drops the per-bin sample counts (positive
    weight on both sides says the same) and counts children's samples afterwards; forcing the
    counted histograms must grow identical trees."""
    from gdm.tree import _plan as plan

    xtr, _, ytr, _ = split(load_breast_cancer)
    lean = RandomForestClassifier(12, criterion=criterion, random_state=0).fit(xtr, ytr)
    monkeypatch.setattr(plan, "needs_counts", lambda min_samples_leaf: True)
    counted = RandomForestClassifier(12, criterion=criterion, random_state=0).fit(xtr, ytr)
    for name, array in lean.tree_arrays_.items():
        np.testing.assert_array_equal(array, counted.tree_arrays_[name], err_msg=name)


def test_compacted_deep_steps_regression(monkeypatch):
    """The same for squared error, whose y sums are not integers: the compacted search's
    sums differ by rounding, so the forests are compared by their predictions."""
    from gdm.tree import _plan as plan

    x, y = make_friedman1(n_samples=600, random_state=0)
    compacted = RandomForestRegressor(16, random_state=0).fit(x, y)  # > 8 trees: not toy
    monkeypatch.setattr(plan, "WINDOW_DIVISORS", (1,))
    full = RandomForestRegressor(16, random_state=0).fit(x, y)
    assert abs(r2_score(y, compacted.predict(x)) - r2_score(y, full.predict(x))) < 0.01
    assert compacted.node_count_.mean() == pytest.approx(full.node_count_.mean(), rel=0.05)


def test_importances_rank_informative_features_first():
    x, y = make_classification(n_samples=400, n_features=10, n_informative=3, n_redundant=0,
                               n_repeated=0, shuffle=False, random_state=0)
    ours = RandomForestClassifier(N_TREES, random_state=0).fit(x, y)
    imp = ours.feature_importances_
    assert imp.sum() == pytest.approx(1.0)
    assert set(np.argsort(imp)[-3:]) == {0, 1, 2}


def test_oob_score_close_to_held_out_score():
    xtr, xte, ytr, yte = split(load_breast_cancer)
    ours = RandomForestClassifier(N_TREES, oob_score=True, random_state=0).fit(xtr, ytr)
    assert abs(ours.oob_score_ - ours.score(xte, yte)) < 0.06
    assert ours.oob_decision_function_.shape == (len(xtr), 2)
    ref = sk_ensemble.RandomForestClassifier(N_TREES, oob_score=True, random_state=0)
    assert abs(ours.oob_score_ - ref.fit(xtr, ytr).oob_score_) < 0.05


def test_regressor_r2_close_to_sklearn_and_oob():
    # Friedman #1 rather than diabetes: with 8 trees diabetes' R^2 moves by ~0.1 with random_state.
    x, y = make_friedman1(n_samples=400, noise=1.0, random_state=0)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=0)
    ours = RandomForestRegressor(N_TREES, oob_score=True, random_state=0).fit(xtr, ytr)
    ref = sk_ensemble.RandomForestRegressor(N_TREES, oob_score=True, random_state=0)
    ref.fit(xtr, ytr)
    assert abs(ours.score(xte, yte) - ref.score(xte, yte)) < 0.05
    # With 8 trees ~2.6% of samples are in every bootstrap; both libraries predict 0 there,
    # which dominates oob_score_. Compare the OOB R^2 on samples both could score.
    covered = (ours.oob_prediction_ != 0) & (ref.oob_prediction_ != 0)
    assert covered.mean() > 0.9
    ours_oob = r2_score(ytr[covered], ours.oob_prediction_[covered])
    assert abs(ours_oob - r2_score(ytr[covered], ref.oob_prediction_[covered])) < 0.05
    assert ours.oob_score_ == pytest.approx(r2_score(ytr, ours.oob_prediction_))
    assert ours.feature_importances_.sum() == pytest.approx(1.0)


def test_determinism_by_random_state():
    xtr, xte, ytr, _ = split(load_breast_cancer)
    a = RandomForestClassifier(N_TREES, random_state=3).fit(xtr, ytr).predict_proba(xte)
    b = RandomForestClassifier(N_TREES, random_state=3).fit(xtr, ytr).predict_proba(xte)
    c = RandomForestClassifier(N_TREES, random_state=4).fit(xtr, ytr).predict_proba(xte)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_trees_do_not_depend_on_n_jobs():
    """Batches of trees grow on n_jobs CPU threads; each batch is a pure function of its trees'
    keys and weights, so any n_jobs grows the same forest (3 batches of 8 trees here)."""
    xtr, _, ytr, _ = split(load_digits)
    forests = [RandomForestClassifier(24, random_state=0, n_jobs=n).fit(xtr, ytr)
               for n in (1, 2, -1)]
    for other in forests[1:]:
        for name, array in forests[0].tree_arrays_.items():
            np.testing.assert_array_equal(array, other.tree_arrays_[name], err_msg=name)


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2"])
def test_bad_n_jobs_raise(n_jobs):
    x, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(ValueError, match="n_jobs"):
        RandomForestClassifier(5, n_jobs=n_jobs).fit(x, y)


def test_class_weight_and_max_samples():
    xtr, xte, ytr, yte = split(load_breast_cancer)
    for cw in ["balanced", "balanced_subsample", {0: 2.0, 1: 1.0}]:
        est = RandomForestClassifier(N_TREES, class_weight=cw, max_samples=0.5, random_state=0)
        assert est.fit(xtr, ytr).score(xte, yte) > 0.9


def test_bad_inputs_raise():
    x, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(ValueError, match="bootstrap=True"):
        RandomForestClassifier(5, bootstrap=False, oob_score=True).fit(x, y)
    with pytest.raises(ValueError, match="max_samples"):
        RandomForestClassifier(5, max_samples=10**6).fit(x, y)
    with pytest.raises(ValueError, match="n_estimators"):
        RandomForestClassifier(0).fit(x, y)
    with pytest.raises(ValueError, match="criterion"):
        RandomForestRegressor(5, criterion="gini").fit(x, y)
    with pytest.raises(ValueError, match="NaN"):
        RandomForestRegressor(5).fit(np.where(x > 100, np.nan, x), y)


# sklearn lists these as expected failures for its own forests (instance_generator.py):
# bootstrap draws make sample_weight differ from repeating samples in distribution only.
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data":
        "sample_weight is not equivalent to removing/repeating samples (bootstrap draws).",
}


@pytest.mark.parametrize("estimator", [RandomForestClassifier(5), RandomForestRegressor(5)],
                         ids=lambda e: type(e).__name__)
def test_check_estimator(estimator):
    check_estimator(estimator, expected_failed_checks=EXPECTED_FAILED)


def test_verbose_reports_progress_per_batch_of_trees(capsys):
    xtr, _, ytr, _ = split(load_breast_cancer)
    RandomForestClassifier(12, random_state=0).fit(xtr, ytr)
    assert capsys.readouterr().err == ""
    RandomForestClassifier(12, random_state=0, verbose=1).fit(xtr, ytr)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("[RandomForestClassifier] 12/12 trees grown")
    from gdm.utils.compiler import on_accelerator

    # CPU: 8 trees per compiled call; GPU / TPU: all 12 vmapped in one.
    assert len(lines) == (1 if on_accelerator() else 2)
