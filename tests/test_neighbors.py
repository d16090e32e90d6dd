"""gdm.neighbors against scikit-learn's brute force: neighbours, distances, predictions."""


import numpy as np
import pytest
import sklearn.neighbors as sk
from sklearn.utils.estimator_checks import parametrize_with_checks

from gdm.neighbors import KNeighborsClassifier, KNeighborsRegressor
from tests.conftest import MNIST_DIR, has_mnist

RNG = np.random.default_rng(0)
X_TRAIN = RNG.normal(size=(300, 6))
Y_TRAIN = RNG.integers(0, 3, 300)
X_QUERY = RNG.normal(size=(77, 6))

METRICS = [("euclidean", 2), ("manhattan", 2), ("cosine", 2), ("minkowski", 3),
           ("minkowski", 2), ("chebyshev", 2)]


@pytest.mark.parametrize(("metric", "p"), METRICS)
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_matches_sklearn(metric, p, weights):
    params = dict(n_neighbors=5, weights=weights, metric=metric, p=p)
    ours = KNeighborsClassifier(**params).fit(X_TRAIN, Y_TRAIN)
    theirs = sk.KNeighborsClassifier(**params).fit(X_TRAIN, Y_TRAIN)
    dist, ind = ours.kneighbors(X_QUERY)
    ref_dist, ref_ind = theirs.kneighbors(X_QUERY)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(ours.predict(X_QUERY), theirs.predict(X_QUERY))
    np.testing.assert_allclose(ours.predict_proba(X_QUERY), theirs.predict_proba(X_QUERY))
    # Query the training set itself: each point is left out of its own neighbours.
    np.testing.assert_array_equal(ours.kneighbors(return_distance=False),
                                  theirs.kneighbors(return_distance=False))

    targets = X_TRAIN[:, :2] ** 2
    reg = KNeighborsRegressor(**params).fit(X_TRAIN, targets)
    ref = sk.KNeighborsRegressor(**params).fit(X_TRAIN, targets)
    np.testing.assert_allclose(reg.predict(X_QUERY), ref.predict(X_QUERY), rtol=1e-10)
    reg1 = KNeighborsRegressor(**params).fit(X_TRAIN, targets[:, 0])
    ref1 = sk.KNeighborsRegressor(**params).fit(X_TRAIN, targets[:, 0])
    np.testing.assert_allclose(reg1.predict(X_QUERY), ref1.predict(X_QUERY), rtol=1e-10)


def test_exact_ties_and_duplicates_take_the_exact_path():
    """Integer-grid points tie exactly, so the float32 stage cannot certify the rows.

    scikit-learn's order among exactly tied points is unspecified (heaps merged across
    threads); ours is by index. So distances must agree exactly, and our neighbour set must be
    every point strictly closer than the k-th distance plus the lowest-index tied ones.
    """
    grid = RNG.integers(0, 3, size=(200, 3)).astype(np.float64)
    labels = RNG.integers(0, 4, 200)
    queries = RNG.integers(0, 3, size=(40, 3)).astype(np.float64)
    ours = KNeighborsClassifier(7).fit(grid, labels)
    dist, ind = ours.kneighbors(queries)
    np.testing.assert_allclose(dist, sk.KNeighborsClassifier(7).fit(grid, labels)
                               .kneighbors(queries)[0])
    all_dist = np.sqrt(((queries[:, None, :] - grid[None]) ** 2).sum(-1))
    expected = np.lexsort((np.broadcast_to(np.arange(200), all_dist.shape), all_dist))[:, :7]
    np.testing.assert_array_equal(ind, expected)


def test_chunking_gives_the_same_answer():
    big = KNeighborsClassifier(4).fit(X_TRAIN, Y_TRAIN)
    tiny = KNeighborsClassifier(4, chunk_memory_mb=0.01).fit(X_TRAIN, Y_TRAIN)
    assert tiny._chunk_rows(128, 4) < 128
    (d1, i1), (d2, i2) = big.kneighbors(X_QUERY), tiny.kneighbors(X_QUERY)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, rtol=1e-14)


def test_string_labels_and_kneighbors_argument():
    labels = np.array(["a", "b", "c"])[Y_TRAIN]
    ours = KNeighborsClassifier(3).fit(X_TRAIN, labels)
    theirs = sk.KNeighborsClassifier(3).fit(X_TRAIN, labels)
    np.testing.assert_array_equal(ours.predict(X_QUERY), theirs.predict(X_QUERY))
    np.testing.assert_array_equal(ours.kneighbors(X_QUERY, 9, return_distance=False),
                                  theirs.kneighbors(X_QUERY, 9, return_distance=False))


@pytest.mark.skipif(not has_mnist(), reason="set GDM_MNIST_DIR to an MNIST IDX directory")
def test_mnist_predictions_identical_to_sklearn():
    from gdm.data import load_mnist_benchmark

    ds = load_mnist_benchmark(MNIST_DIR)
    ours = KNeighborsClassifier(3).fit(ds.x_train, ds.y_train)
    theirs = sk.KNeighborsClassifier(3).fit(ds.x_train, ds.y_train)
    predictions = ours.predict(ds.x_test)
    np.testing.assert_array_equal(predictions, theirs.predict(ds.x_test))
    assert (predictions == ds.y_test).mean() > 0.94
    dist, ind = ours.kneighbors(ds.x_test[:300])
    ref_dist, ref_ind = theirs.kneighbors(ds.x_test[:300])
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-5)


@pytest.mark.parametrize(("params", "call", "error", "match"), [
    ({"n_neighbors": 0}, "fit", ValueError, "The 'n_neighbors' parameter"),
    ({"metric": "hamming"}, "fit", ValueError, "The 'metric' parameter"),
    ({"weights": "inverse"}, "fit", ValueError, "The 'weights' parameter"),
    ({"n_neighbors": 500}, "predict", ValueError, "Expected n_neighbors <= n_samples_fit"),
    ({}, "wrong_features", ValueError, "X has 2 features"),
    ({}, "nan", ValueError, "Input X contains NaN"),
])
def test_bad_inputs_raise_sklearn_errors(params, call, error, match):
    model = KNeighborsClassifier(**params)
    with pytest.raises(error, match=match):
        if call == "fit":
            model.fit(X_TRAIN, Y_TRAIN)
        model = model.fit(X_TRAIN, Y_TRAIN)
        if call == "predict":
            model.predict(X_QUERY)
        elif call == "wrong_features":
            model.predict(X_QUERY[:, :2])
        elif call == "nan":
            model.predict(np.full((2, 6), np.nan))


@parametrize_with_checks([KNeighborsClassifier(), KNeighborsRegressor()])
def test_sklearn_compatible(estimator, check):
    check(estimator)
