"""gdm.svm against scikit-learn's libsvm: same solutions, same API, same errors."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import svm as sk_svm
from sklearn.datasets import load_digits, load_iris, make_blobs, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import check_estimator

from gdm.svm import SVC, SVR, fit_grid

# check_estimator checks that cannot apply, with the reason (also in the docstrings' spirit).
SVC_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data":
        "repeating a sample and doubling its weight give the same dual only up to the "
        "solver tolerance (scikit-learn marks its own SVC the same way)",
}
SVR_XFAIL = dict(SVC_XFAIL)


@pytest.fixture(autouse=True)
def _quiet_future_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklearn 1.9 deprecates probability
        yield


def _digits(n=400):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16, y[:n], X[1000:1400] / 16, y[1000:1400]


def _pair_objectives(est, K):
    """Dual objective of every ovo pair from libsvm's dual_coef_ layout (float64 kernel)."""
    k = len(est.classes_)
    sv_class = np.repeat(np.arange(k), est.n_support_)
    Ksv = K[np.ix_(est.support_, est.support_)]
    out = []
    for a in range(k):
        for b in range(a + 1, k):
            beta = np.zeros(len(est.support_))
            beta[sv_class == a] = est.dual_coef_[b - 1, sv_class == a]
            beta[sv_class == b] = est.dual_coef_[a, sv_class == b]
            out.append(0.5 * beta @ Ksv @ beta - np.abs(beta).sum())
    return np.array(out)


KERNELS = [
    ("linear", {}), ("poly", {"degree": 2, "gamma": 0.1, "coef0": 1.0}), ("rbf", {}),
    ("sigmoid", {"gamma": 0.01, "coef0": -1.0}),
]


@pytest.mark.parametrize("kernel,kw", KERNELS, ids=[k for k, _ in KERNELS])
def test_multiclass_matches_libsvm(kernel, kw):
    X, y, Xt, _ = _digits()
    ours = SVC(kernel=kernel, C=2.0, decision_function_shape="ovo", **kw).fit(X, y)
    ref = sk_svm.SVC(kernel=kernel, C=2.0, decision_function_shape="ovo", **kw).fit(X, y)
    assert np.mean(ours.predict(Xt) == ref.predict(Xt)) >= 0.995
    params = {"gamma": ref._gamma, "degree": ours.degree, "coef0": ours.coef0}
    params = {key: params[key] for key in {"linear": [], "poly": ["gamma", "degree", "coef0"],
                                           "rbf": ["gamma"], "sigmoid": ["gamma", "coef0"]}[kernel]}
    K = pairwise_kernels(X, metric=kernel, **params)
    obj_ref = _pair_objectives(ref, K)
    np.testing.assert_allclose(_pair_objectives(ours, K), obj_ref, rtol=1e-3)
    np.testing.assert_allclose(ours.dual_objective_, obj_ref, rtol=1e-3)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=2e-2)
    np.testing.assert_allclose(ours.decision_function(Xt), ref.decision_function(Xt), atol=2e-2)
    if kernel == "linear":
        np.testing.assert_allclose(ours.coef_, ref.coef_, atol=2e-2)
    else:
        assert not hasattr(ours, "coef_")


def test_callable_and_precomputed_kernels():
    X, y, Xt, _ = _digits(200)
    y = y % 2

    def kernel(A, B):
        return jnp.exp(-0.5 * jnp.sum((A[:, None] - B[None]) ** 2, -1))

    ref = sk_svm.SVC(kernel="rbf", gamma=0.5).fit(X, y)
    call = SVC(kernel=kernel).fit(X, y)
    K = np.asarray(kernel(X, X), np.float64)
    pre = SVC(kernel="precomputed").fit(K, y)
    ref_pre = sk_svm.SVC(kernel="precomputed").fit(K, y)
    expected = ref.predict(Xt)
    assert np.mean(call.predict(Xt) == expected) >= 0.995
    assert np.mean(pre.predict(np.asarray(kernel(Xt, X))) == expected) >= 0.995
    np.testing.assert_allclose(pre.dual_objective_, _pair_objectives(ref_pre, K), rtol=1e-3)
    np.testing.assert_allclose(call.dual_objective_, _pair_objectives(ref, K), rtol=1e-3)
    assert pre.support_vectors_.shape == (0, 0) == ref_pre.support_vectors_.shape
    assert SVC(kernel="precomputed").__sklearn_tags__().input_tags.pairwise
    with pytest.raises(ValueError, match="square"):
        SVC(kernel="precomputed").fit(K[:, :50], y)
    with pytest.raises(ValueError, match="features|training time"):
        pre.predict(K[:, :50])


def test_separable_problem_has_libsvm_support_vectors():
    X, y = make_blobs(60, centers=[[-3, 0], [3, 0]], cluster_std=0.8, random_state=0)
    ours = SVC(kernel="linear", C=100.0).fit(X, y)
    ref = sk_svm.SVC(kernel="linear", C=100.0).fit(X, y)
    np.testing.assert_array_equal(np.sort(ours.support_), np.sort(ref.support_))
    np.testing.assert_array_equal(ours.n_support_, ref.n_support_)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-2)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-2)
    assert np.all(ours.predict(X) == y)


def test_ovr_shape_and_working_set_decomposition():
    X, y, Xt, _ = _digits()
    ref = sk_svm.SVC(C=5.0).fit(X, y)
    whole = SVC(C=5.0).fit(X, y)
    split = SVC(C=5.0, working_set_size=32).fit(X, y)  # forces many working-set rounds
    # A kernel budget of 0.25 MB (the matrix needs ~1 MB): kernel blocks are recomputed.
    budget = SVC(C=5.0, cache_size=0.25).fit(X, y)
    assert split.n_outer_iter_ > 1 and whole.n_outer_iter_ == 1 and budget.n_outer_iter_ > 1
    np.testing.assert_allclose(split.dual_objective_, whole.dual_objective_, rtol=1e-3)
    np.testing.assert_allclose(budget.dual_objective_, whole.dual_objective_, rtol=1e-3)
    for est in (whole, split, budget):
        dec = est.decision_function(Xt)
        assert dec.shape == (len(Xt), 10)
        assert np.mean(np.argmax(dec, 1) == np.argmax(ref.decision_function(Xt), 1)) >= 0.995
        assert np.mean(est.predict(Xt) == ref.predict(Xt)) >= 0.995
    tied = SVC(C=5.0, break_ties=True).fit(X, y)
    np.testing.assert_array_equal(tied.predict(Xt), np.argmax(tied.decision_function(Xt), 1))
    with pytest.raises(ValueError, match="break_ties"):
        SVC(break_ties=True, decision_function_shape="ovo").fit(X, y).predict(Xt)


def test_svr_matches_libsvm():
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, (150, 2))
    y = np.sin(X[:, 0]) + 0.3 * X[:, 1] + 0.1 * rng.normal(size=150)
    Xt = rng.uniform(-3, 3, (100, 2))
    for kw in ({"kernel": "rbf", "C": 3.0, "epsilon": 0.1}, {"kernel": "linear", "C": 0.5}):
        ours, ref = SVR(**kw).fit(X, y), sk_svm.SVR(**kw).fit(X, y)
        np.testing.assert_allclose(ours.predict(Xt), ref.predict(Xt), atol=1e-2)
        np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-2)
        K = pairwise_kernels(X, metric=kw["kernel"], **({"gamma": ref._gamma}
                                                        if kw["kernel"] == "rbf" else {}))
        beta = ref.dual_coef_[0]
        Ks = K[np.ix_(ref.support_, ref.support_)]
        obj = 0.5 * beta @ Ks @ beta + ref.epsilon * np.abs(beta).sum() - y[ref.support_] @ beta
        np.testing.assert_allclose(ours.dual_objective_, obj, rtol=1e-3)
        assert abs(len(ours.support_) - len(ref.support_)) <= 2


def test_float64_path_and_global_flag_untouched():
    X, y, Xt, _ = _digits(300)
    before = jax.config.jax_enable_x64
    ours = SVC(C=3.0, dtype="float64", tol=1e-5).fit(X, y)
    ref = sk_svm.SVC(C=3.0, tol=1e-5).fit(X, y)
    assert jax.config.jax_enable_x64 == before
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)
    np.testing.assert_allclose(ours.decision_function(Xt), ref.decision_function(Xt),
                               atol=1e-4)


def test_probabilities_sum_to_one_and_are_calibrated():
    X, y = load_iris(return_X_y=True)
    ours = SVC(probability=True, random_state=0).fit(X, y)
    ref = sk_svm.SVC(probability=True, random_state=0).fit(X, y)
    proba = ours.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.exp(ours.predict_log_proba(X)), proba, rtol=1e-6)
    assert np.abs(proba - ref.predict_proba(X)).mean() < 0.05
    assert np.mean(np.argmax(proba, 1) == y) > 0.9
    Xb, yb = make_classification(300, 5, random_state=1)
    binary = SVC(probability=True, random_state=0).fit(Xb[:200], yb[:200])
    pb = binary.predict_proba(Xb[200:])
    np.testing.assert_allclose(pb.sum(1), 1.0, atol=1e-6)
    # calibrated: on held-out data the mean predicted probability of class 1 tracks its rate
    assert abs(pb[:, 1].mean() - yb[200:].mean()) < 0.1
    assert np.mean((pb[:, 1] > 0.5) == (binary.decision_function(Xb[200:]) > 0)) > 0.9
    assert not hasattr(SVC().fit(Xb, yb), "predict_proba")


def test_string_labels_keep_sklearn_class_order():
    X, y = load_iris(return_X_y=True)
    names = np.array(["virginica", "setosa", "versicolor"])[y]
    ours = SVC().fit(X, names)
    ref = sk_svm.SVC().fit(X, names)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_array_equal(ours.n_support_, ref.n_support_)
    np.testing.assert_array_equal(ours.support_, ref.support_)


def test_class_and_sample_weights_match_libsvm():
    X, y = load_iris(return_X_y=True)
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    for kw, sw in (({"class_weight": {0: 4.0, 2: 0.5}}, None), ({"class_weight": "balanced"}, w),
                   ({}, w)):
        ours = SVC(C=2.0, **kw).fit(X, y, sample_weight=sw)
        ref = sk_svm.SVC(C=2.0, **kw).fit(X, y, sample_weight=sw)
        assert np.mean(ours.predict(X) == ref.predict(X)) >= 0.995
        np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=2e-2)
        np.testing.assert_allclose(ours.class_weight_, ref.class_weight_)


@pytest.mark.parametrize("make_bad,error,match", [
    (lambda X, y: (np.where(X == X[0, 0], np.nan, X), y), ValueError, "NaN"),
    (lambda X, y: (np.where(X == X[0, 0], np.inf, X), y), ValueError, "infinity"),
    (lambda X, y: (X[:, 0], y), ValueError, "2D array"),
    (lambda X, y: (X[:, :, None], y), ValueError, "dim"),
    (lambda X, y: (X, np.zeros_like(y)), ValueError, "greater than one"),
    (lambda X, y: (X[:10], y), ValueError, "inconsistent numbers of samples"),
])
def test_bad_fit_input(make_bad, error, match):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(error, match=match):
        SVC().fit(*make_bad(X, y))


@pytest.mark.parametrize("params,match", [
    ({"kernel": "laplace"}, "'kernel' parameter"), ({"C": 0.0}, "'C' parameter"),
    ({"C": -1.0}, "'C' parameter"), ({"gamma": "big"}, "'gamma' parameter"),
    ({"decision_function_shape": "ova"}, "decision_function_shape"),
    ({"dtype": "float16"}, "'dtype' parameter"),
])
def test_bad_parameters_name_the_argument(params, match):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=match):
        SVC(**params).fit(X, y)
    if "decision_function_shape" not in params:
        with pytest.raises(ValueError, match=match):
            SVR(**params).fit(X, y.astype(float))


def test_max_iter_stops_early_with_convergence_warning():
    X, y = load_iris(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        est = SVC(max_iter=3).fit(X, y)
    assert est.fit_status_ == 1 and np.all(est.n_iter_ <= 3)
    assert SVC().fit(X, y).fit_status_ == 0


def test_predict_before_fit_and_feature_mismatch():
    X, y = load_iris(return_X_y=True)
    for est in (SVC(), SVR()):
        with pytest.raises(NotFittedError):
            est.predict(X)
        est.fit(X, y)
        with pytest.raises(ValueError, match="features"):
            est.predict(X[:, :3])


@pytest.mark.parametrize("est,xfail", [(SVC(), SVC_XFAIL), (SVR(), SVR_XFAIL)],
                         ids=["SVC", "SVR"])
def test_check_estimator(est, xfail):
    check_estimator(est, expected_failed_checks=xfail)


def test_fit_grid_equals_separate_fits():
    X, y = load_digits(return_X_y=True)
    X, y = X[:360] / 16, y[:360]
    Cs, gammas = [0.5, 4.0], [0.02, 0.1]
    res = fit_grid(X, y, C=Cs, gamma=gammas, cv=3)
    assert res["test_scores"].shape == (3, 2, 2) and res["converged"]
    ref = GridSearchCV(sk_svm.SVC(), {"C": Cs, "gamma": gammas}, cv=3).fit(X, y)
    expected = ref.cv_results_["mean_test_score"].reshape(2, 2)  # C-major, like ours
    np.testing.assert_allclose(res["mean_test_score"], expected, atol=1.5 / 120)
    # One cell by hand with our own SVC on the same fold.
    from sklearn.model_selection import StratifiedKFold
    train, test = next(StratifiedKFold(3).split(X, y))
    own = SVC(C=4.0, gamma=0.1).fit(X[train], y[train]).score(X[test], y[test])
    assert abs(res["test_scores"][0, 1, 1] - own) <= 1.5 / len(test)
    with pytest.raises(ValueError, match="C must be"):
        fit_grid(X, y, C=[0.0], gamma=[0.1])


def test_blocked_symmetric_gram_equals_one_matmul():
    from gdm.svm import _kernels

    X = jnp.asarray(np.random.default_rng(0).normal(size=(64, 5)), jnp.float32)
    for kind in ("rbf", "poly"):
        full = _kernels.kernel(X, X, kind, 0.3, 1.0, 3)
        blocked = _kernels.symmetric_gram(X, 72, kind, 0.3, 1.0, 3, blocks=4)
        np.testing.assert_allclose(blocked[:, :64], full, rtol=1e-5, atol=1e-5)
        assert np.all(np.asarray(blocked[:, 64:]) == 0)
