"""gdm.linear_model against scikit-learn's converged solutions and closed forms."""


import numpy as np
import pytest
import sklearn.linear_model as sk
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from gdm.linear_model import LinearRegression, LogisticRegression, Ridge
from tests.conftest import MNIST_DIR, has_mnist

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_BIN, Y_BIN = make_classification(200, 6, n_informative=4, random_state=0)
WEIGHTS = np.random.default_rng(0).uniform(0.5, 2.0, 200)


def _compare_logistic(X, y, rtol=1e-4, **params):
    """Fit both to (near) convergence; coefficients and probabilities must agree."""
    params = {"tol": 1e-9, "max_iter": 2000, **params}
    fit_kw = {k: params.pop(k) for k in ("sample_weight",) if k in params}
    ours = LogisticRegression(**params).fit(X, y, **fit_kw)
    sk_params = {k: v for k, v in params.items() if k != "penalty"}
    if params.get("penalty", "l2") is None:
        sk_params["C"] = np.inf
    theirs = sk.LogisticRegression(**sk_params).fit(X, y, **fit_kw)
    scale = np.abs(theirs.coef_).max()
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=rtol * scale)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=rtol * scale)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X),
                               atol=rtol * scale * 10)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.coef_.shape == theirs.coef_.shape
    assert ours.intercept_.shape == theirs.intercept_.shape
    assert ours.n_iter_.shape == (1,) and 1 <= ours.n_iter_[0] <= params["max_iter"]
    return ours


@pytest.mark.parametrize("params", [
    {},
    {"C": 0.05, "fit_intercept": False},
    {"class_weight": "balanced", "sample_weight": WEIGHTS},
    {"penalty": None, "C": 1.0},
])
def test_binary_matches_sklearn(params):
    _compare_logistic(X_BIN, Y_BIN, **params)


@pytest.mark.parametrize("params", [
    {},
    {"C": 0.1, "class_weight": {0: 2.0, 1: 1.0, 2: 0.5}},
])
def test_multinomial_matches_sklearn(params):
    _compare_logistic(X_IRIS, Y_IRIS, **params)


def test_large_float32_input_is_solved_in_float32_and_agrees():
    """Iris repeated 440 times (2**18 values and more) takes the float32 solver.

    Repeating the data n times is sklearn's objective with C multiplied by n.
    """
    X = (X_IRIS - X_IRIS.mean(0)) / X_IRIS.std(0)
    ours = LogisticRegression(C=0.01, tol=1e-5, max_iter=500).fit(
        np.tile(X, (440, 1)).astype(np.float32), np.tile(Y_IRIS, 440))
    theirs = sk.LogisticRegression(C=4.4, tol=1e-8, max_iter=2000).fit(X, Y_IRIS)
    assert ours.coef_.dtype == np.float64  # float64 attributes, as sklearn's lbfgs
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-3 * np.abs(theirs.coef_).max())
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-3)


def test_max_iter_reached_warns():
    with pytest.warns(ConvergenceWarning, match="failed to converge"):
        model = LogisticRegression(max_iter=2, tol=1e-12).fit(X_IRIS, Y_IRIS)
    assert model.n_iter_[0] == 2


@pytest.mark.skipif(not has_mnist(), reason="set GDM_MNIST_DIR to an MNIST IDX directory")
def test_mnist_accuracy_close_to_sklearn():
    from gdm.data import load_mnist_benchmark

    ds = load_mnist_benchmark(MNIST_DIR)
    model = LogisticRegression(max_iter=200).fit(ds.x_train, ds.y_train)
    # scikit-learn (lbfgs, max_iter=200) converges at 143 iterations to 90.30% on this split.
    assert abs(model.score(ds.x_test, ds.y_test) - 0.903) <= 0.003


@pytest.mark.parametrize("model_cls", [LinearRegression, Ridge])
@pytest.mark.parametrize("n_targets", [1, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_least_squares_match_sklearn(model_cls, n_targets, fit_intercept):
    X, y = make_regression(120, 7, n_targets=n_targets, noise=1.0, random_state=n_targets)
    y = y + 3.0
    kw = {"fit_intercept": fit_intercept}
    if model_cls is Ridge:
        kw["alpha"] = np.linspace(0.5, 5.0, n_targets) if n_targets > 1 else 2.5
    ours = model_cls(**kw).fit(X, y, sample_weight=WEIGHTS[:120])
    theirs = getattr(sk, model_cls.__name__)(**kw).fit(X, y, sample_weight=WEIGHTS[:120])
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9)
    assert np.shape(ours.coef_) == np.shape(theirs.coef_)
    assert np.shape(ours.intercept_) == np.shape(theirs.intercept_)


def test_linear_regression_rank_deficient_min_norm():
    X = np.random.default_rng(1).normal(size=(40, 3))
    X = np.hstack([X, X[:, :1]])  # duplicated column: sklearn returns the minimum-norm fit
    y = X @ np.array([1.0, -2.0, 0.5, 1.0])
    ours = LinearRegression().fit(X, y)
    theirs = sk.LinearRegression().fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-8)
    assert ours.rank_ == theirs.rank_ == 3
    np.testing.assert_allclose(ours.singular_, theirs.singular_, rtol=1e-10)


@pytest.mark.parametrize(("make", "X", "y", "error", "match"), [
    (lambda: LogisticRegression(), X_IRIS, np.zeros(150), ValueError,
     "needs samples of at least 2 classes"),
    (lambda: LogisticRegression(), X_IRIS, X_IRIS[:, 0], ValueError, "Unknown label type"),
    (lambda: LogisticRegression(C=0.0), X_IRIS, Y_IRIS, ValueError,
     "The 'C' parameter of LogisticRegression must be"),
    (lambda: LogisticRegression(penalty="l1"), X_IRIS, Y_IRIS, ValueError,
     "The 'penalty' parameter of LogisticRegression must be"),
    (lambda: Ridge(alpha=np.ones(2)), X_IRIS, X_IRIS[:, :3], ValueError,
     "Number of targets and number of penalties do not correspond"),
    (lambda: Ridge(alpha=-1.0), X_IRIS, Y_IRIS, ValueError, "The 'alpha' parameter of Ridge"),
    (lambda: LinearRegression(), np.full((3, 2), np.inf), [1.0, 2.0, 3.0], ValueError,
     "Input X contains infinity"),
    (lambda: LinearRegression(), X_IRIS, Y_IRIS[:10], ValueError,
     "inconsistent numbers of samples"),
])
def test_bad_inputs_raise_sklearn_errors(make, X, y, error, match):
    with pytest.raises(error, match=match):
        make().fit(X, y)


@parametrize_with_checks([LogisticRegression(), LinearRegression(), Ridge()])
def test_sklearn_compatible(estimator, check):
    check(estimator)
