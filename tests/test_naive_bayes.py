"""gdm.naive_bayes against scikit-learn: probabilities (1e-5), partial_fit, parameters, errors."""

import numpy as np
import pytest
import sklearn.naive_bayes as sk
from sklearn.datasets import load_digits
from sklearn.utils.estimator_checks import parametrize_with_checks

import gdm.naive_bayes as nb

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
TRAIN, TEST = slice(0, 1200), slice(1200, None)
WEIGHTS = np.random.default_rng(0).uniform(0.5, 2.0, len(Y_DIGITS))

CASES = [
    ("GaussianNB", {}),
    ("GaussianNB", {"var_smoothing": 1e-3, "priors": np.full(10, 0.1)}),
    ("MultinomialNB", {}),
    ("MultinomialNB", {"alpha": np.linspace(0.5, 2, 64), "fit_prior": False}),
    ("BernoulliNB", {"binarize": 4.0}),
    ("BernoulliNB", {"binarize": 8.0, "alpha": 0.3, "class_prior": np.full(10, 0.1)}),
]


def _pair(name, params):
    return getattr(nb, name)(**params), getattr(sk, name)(**params)


def _assert_same_model(ours, theirs, X):
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(ours.predict_log_proba(X), theirs.predict_log_proba(X),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    for attr in ("theta_", "var_", "class_prior_", "class_count_", "feature_count_",
                 "feature_log_prob_", "class_log_prior_", "epsilon_"):
        if hasattr(theirs, attr):
            np.testing.assert_allclose(getattr(ours, attr), getattr(theirs, attr),
                                       rtol=1e-7, atol=1e-10, err_msg=attr)


@pytest.mark.parametrize(("name", "params"), CASES)
def test_fit_matches_sklearn(name, params):
    ours, theirs = _pair(name, params)
    ours.fit(X_DIGITS[TRAIN], Y_DIGITS[TRAIN], sample_weight=WEIGHTS[TRAIN])
    theirs.fit(X_DIGITS[TRAIN], Y_DIGITS[TRAIN], sample_weight=WEIGHTS[TRAIN])
    _assert_same_model(ours, theirs, X_DIGITS[TEST])


@pytest.mark.parametrize(("name", "params"), CASES[::2])
def test_partial_fit_matches_sklearn(name, params):
    ours, theirs = _pair(name, params)
    classes = np.arange(10)
    # The first batch lacks class 9, so per-class merging of absent classes is exercised.
    first = Y_DIGITS[:300] != 9
    ours.partial_fit(X_DIGITS[:300][first], Y_DIGITS[:300][first], classes=classes)
    theirs.partial_fit(X_DIGITS[:300][first], Y_DIGITS[:300][first], classes=classes)
    for start in range(300, 1200, 300):
        batch = slice(start, start + 300)
        ours.partial_fit(X_DIGITS[batch], Y_DIGITS[batch], sample_weight=WEIGHTS[batch])
        theirs.partial_fit(X_DIGITS[batch], Y_DIGITS[batch], sample_weight=WEIGHTS[batch])
    _assert_same_model(ours, theirs, X_DIGITS[TEST])


def test_string_labels_and_binary():
    y = np.where(Y_DIGITS[:400] < 5, "low", "high")
    for name in ("GaussianNB", "MultinomialNB", "BernoulliNB"):
        ours, theirs = _pair(name, {})
        ours.fit(X_DIGITS[:400], y)
        theirs.fit(X_DIGITS[:400], y)
        _assert_same_model(ours, theirs, X_DIGITS[400:600])


def test_force_alpha_false_clips_and_warns():
    ours, theirs = _pair("MultinomialNB", {"alpha": 0.0, "force_alpha": False})
    with pytest.warns(UserWarning, match="alpha too small"):
        ours.fit(X_DIGITS[TRAIN], Y_DIGITS[TRAIN])
    with pytest.warns(UserWarning, match="alpha too small"):
        theirs.fit(X_DIGITS[TRAIN], Y_DIGITS[TRAIN])
    _assert_same_model(ours, theirs, X_DIGITS[TEST])


@pytest.mark.parametrize(("make", "fit_args", "error", "match"), [
    (lambda: nb.MultinomialNB(), (-X_DIGITS[:20], Y_DIGITS[:20]), ValueError,
     r"Negative values in data passed to MultinomialNB \(input X\)"),
    (lambda: nb.GaussianNB(priors=[0.5, 0.5]), (X_DIGITS[:50], Y_DIGITS[:50]), ValueError,
     "Number of priors must match number of classes"),
    (lambda: nb.GaussianNB(priors=np.full(10, 0.2)), (X_DIGITS[:50], Y_DIGITS[:50]),
     ValueError, "The sum of the priors should be 1"),
    (lambda: nb.GaussianNB(var_smoothing=-1.0), (X_DIGITS[:50], Y_DIGITS[:50]), ValueError,
     "The 'var_smoothing' parameter of GaussianNB must be"),
    (lambda: nb.MultinomialNB(alpha=np.ones(3)), (X_DIGITS[:50], Y_DIGITS[:50]), ValueError,
     "When alpha is an array, it should contains `n_features`"),
    (lambda: nb.GaussianNB(), (np.full((4, 2), np.nan), [0, 1, 0, 1]), ValueError,
     "Input X contains NaN"),
])
def test_bad_inputs_raise_sklearn_errors(make, fit_args, error, match):
    with pytest.raises(error, match=match):
        make().fit(*fit_args)


def test_partial_fit_errors():
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        nb.GaussianNB().partial_fit(X_DIGITS[:20], Y_DIGITS[:20])
    model = nb.GaussianNB().partial_fit(X_DIGITS[:20], Y_DIGITS[:20] % 2, classes=[0, 1])
    with pytest.raises(ValueError, match="do not exist in the initial classes"):
        model.partial_fit(X_DIGITS[:20], Y_DIGITS[:20])
    with pytest.raises(ValueError, match="X has 3 features"):
        model.predict(X_DIGITS[:5, :3])


@parametrize_with_checks([nb.GaussianNB(), nb.MultinomialNB(), nb.BernoulliNB()])
def test_sklearn_compatible(estimator, check):
    check(estimator)
