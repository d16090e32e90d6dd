"""gdm.hmm against hmmlearn 0.3.3, from identical parameters.

All Gaussian tests share one data set (3 features, 4 sequences padded to one bucket) so each
kernel compiles once per covariance type.

scikit-learn's check_estimator and an HMM: hmmlearn's API is `fit(X, lengths)`, and sklearn's
checks call `fit(X, y)` with a target vector; for an HMM that vector lands in `lengths` and is
rightly rejected (it does not sum to n_samples). So the checks that fit are run twice:
- on the real classes, where only the checks that never fit apply (clone, repr, get/set_params,
  tags, no attributes set in __init__, unfitted errors, empty data, complex data, sparse
  rejection, ...); the fitting checks are listed as expected failures for that reason;
- on a view that only renames the second argument of fit/score to `y` (and ignores it, i.e.
  one sequence), so that every other property is checked on our code: fit returns self, does
  not change parameters, is idempotent, sets n_features_in_, rejects NaN/inf, accepts all
  dtypes, memmaps and F-ordered arrays, pickles, pipelines. Two checks cannot apply to a
  sequence model: sample-order and subset invariance (a state posterior depends on the
  neighbouring samples, and hmmlearn's `score_samples` returns (log-likelihood, posteriors),
  not one value per sample).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hmmlearn import hmm as peer
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

from gdm import hmm

K, D = 3, 3
LENGTHS = np.array([60, 35, 1, 44])
COVARIANCE_TYPES = ["diag", "full", "spherical", "tied"]


def _gaussian_parameters(covariance_type: str, rng: np.random.Generator) -> dict:
    covars = {"diag": rng.uniform(0.5, 2.0, size=(K, D)),
              "spherical": rng.uniform(0.5, 2.0, size=K),
              "full": np.array([np.eye(D) + 0.4 * (k + 1) / K * np.ones((D, D))
                                for k in range(K)]),
              "tied": np.eye(D) + 0.3 * np.ones((D, D))}[covariance_type]
    return {"startprob_": rng.dirichlet(np.ones(K)),
            "transmat_": 0.6 * np.eye(K) + 0.4 * rng.dirichlet(np.ones(K), size=K),
            "means_": rng.normal(scale=2.0, size=(K, D)), "covars_": covars}


def _with_parameters(model, parameters: dict):
    for name, value in parameters.items():
        setattr(model, name, value)
    return model


def _pair(covariance_type: str, seed: int = 0, **kwargs):
    parameters = _gaussian_parameters(covariance_type, np.random.default_rng(seed))
    kwargs = {"init_params": "", "n_iter": 1, **kwargs}
    ours = _with_parameters(hmm.GaussianHMM(K, covariance_type, **kwargs), parameters)
    theirs = _with_parameters(peer.GaussianHMM(K, covariance_type, **kwargs), parameters)
    return ours, theirs


@pytest.fixture(scope="module")
def gaussian_data():
    _, theirs = _pair("full", seed=1)
    X, _ = theirs.sample(int(LENGTHS.sum()), random_state=2)
    return X


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_matches_hmmlearn(covariance_type, gaussian_data):
    X = gaussian_data
    ours, theirs = _pair(covariance_type)
    log_prob, posteriors = ours.score_samples(X, LENGTHS)
    ref_log_prob, ref_posteriors = theirs.score_samples(X, LENGTHS)
    np.testing.assert_allclose(log_prob, ref_log_prob, rtol=1e-10)
    np.testing.assert_allclose(posteriors, ref_posteriors, atol=1e-9)
    np.testing.assert_allclose(ours.score(X, LENGTHS), ref_log_prob, rtol=1e-10)

    path_log_prob, path = ours.decode(X, LENGTHS)
    ref_path_log_prob, ref_path = theirs.decode(X, LENGTHS)
    np.testing.assert_array_equal(path, ref_path)
    assert path.dtype == ref_path.dtype  # int64, widened from the kernel's int8
    np.testing.assert_allclose(path_log_prob, ref_path_log_prob, rtol=1e-10)
    map_log_prob, map_path = ours.decode(X, LENGTHS, algorithm="map")
    np.testing.assert_array_equal(map_path, theirs.decode(X, LENGTHS, algorithm="map")[1])

    ours.fit(X, LENGTHS)   # one EM step from the same parameters
    theirs.fit(X, LENGTHS)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        if covariance_type == "spherical" and name == "covars_":
            ref = theirs._covars_[:, 0, None, None] * np.eye(D)   # hmmlearn's getter misshapes
        else:
            ref = getattr(theirs, name)
        np.testing.assert_allclose(getattr(ours, name), ref, rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(ours.monitor_.history[-1], theirs.monitor_.history[-1],
                               rtol=1e-10)


def test_em_step_with_priors_matches_hmmlearn(gaussian_data):
    X = gaussian_data
    priors = {"startprob_prior": 2.0, "transmat_prior": np.full((K, K), 1.5),
              "means_prior": 0.5, "means_weight": 2.0, "covars_prior": 0.2,
              "covars_weight": 3.0}
    ours, theirs = _pair("diag", **priors)
    ours.fit(X, LENGTHS)
    theirs.fit(X, LENGTHS)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-9,
                                   err_msg=name)


def test_default_fit_matches_hmmlearn(gaussian_data):
    """Same seed -> same k-means/Dirichlet start -> same EM trajectory."""
    X = gaussian_data
    ours = hmm.GaussianHMM(K, "diag", n_iter=6, tol=0.0, random_state=3).fit(X, LENGTHS)
    theirs = peer.GaussianHMM(K, "diag", n_iter=6, tol=0.0, random_state=3).fit(X, LENGTHS)
    np.testing.assert_allclose(list(ours.monitor_.history), list(theirs.monitor_.history),
                               rtol=1e-9)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.transmat_, theirs.transmat_, rtol=1e-7, atol=1e-9)


def test_em_increases_likelihood_monotonically(gaussian_data):
    model = hmm.GaussianHMM(K, "full", n_iter=25, tol=0.0, random_state=0)
    model.fit(gaussian_data, LENGTHS)
    history = np.array(model.monitor_.history)
    assert len(history) >= 5
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))
    assert history[-1] > history[0]
    # The last update too: the fitted parameters score at least the last reported value.
    # (Not "close to it": EM may still be climbing at iteration 25, and how fast depends on
    # rounding; on a GPU it was 1.7 nats below the fitted score there.)
    assert model.score(gaussian_data, LENGTHS) >= history[-1] - 1e-9 * abs(history[-1])


def test_underflow_falls_back_to_log_space_like_hmmlearn():
    """A left-right model whose data jump to a state ~5e5 nats away: the scaled recursions
    underflow; implementation="log" must then give hmmlearn's log-space results exactly and
    "scaling" must raise, as hmmlearn's scaling does."""
    X = np.array([[100.0], [100.0], [99.0], [0.0], [100.0]])
    parameters = {"startprob_": np.array([1.0, 0.0]),
                  "transmat_": np.array([[0.9, 0.1], [0.0, 1.0]]),
                  "means_": np.array([[0.0], [100.0]]), "covars_": np.array([[0.01], [0.01]])}
    ours = _with_parameters(hmm.GaussianHMM(2, init_params="", n_iter=1), parameters)
    theirs = _with_parameters(peer.GaussianHMM(2, init_params="", n_iter=1), parameters)
    log_prob, posteriors = ours.score_samples(X)
    ref_log_prob, ref_posteriors = theirs.score_samples(X)
    np.testing.assert_allclose(log_prob, ref_log_prob, rtol=1e-12)
    np.testing.assert_allclose(posteriors, ref_posteriors, atol=1e-12)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    ours.fit(X)
    theirs.fit(X)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-12)
    np.testing.assert_allclose(ours.transmat_, theirs.transmat_, atol=1e-12)
    scaling = _with_parameters(hmm.GaussianHMM(2, init_params="", implementation="scaling"),
                               parameters)
    with pytest.raises(ValueError, match="underflow"):
        scaling.score(X)


@pytest.mark.parametrize("implementation", ["scaling"])
def test_scaling_implementation_matches_hmmlearn(implementation, gaussian_data):
    X = gaussian_data
    ours, theirs = _pair("diag", implementation=implementation)
    np.testing.assert_allclose(ours.score_samples(X, LENGTHS)[1],
                               theirs.score_samples(X, LENGTHS)[1], atol=1e-9)
    ours.fit(X, LENGTHS)
    theirs.fit(X, LENGTHS)
    np.testing.assert_allclose(ours.transmat_, theirs.transmat_, rtol=1e-9)


def _categorical_pair(n_symbols: int = 5, **kwargs):
    rng = np.random.default_rng(5)
    parameters = {"startprob_": rng.dirichlet(np.ones(K)),
                  "transmat_": 0.5 * np.eye(K) + 0.5 * rng.dirichlet(np.ones(K), size=K),
                  "emissionprob_": rng.dirichlet(np.ones(n_symbols), size=K)}
    kwargs = {"init_params": "", "n_iter": 1, **kwargs}
    return (_with_parameters(hmm.CategoricalHMM(K, **kwargs), parameters),
            _with_parameters(peer.CategoricalHMM(K, **kwargs), parameters))


def test_categorical_matches_hmmlearn():
    ours, theirs = _categorical_pair(emissionprob_prior=1.5)
    X, _ = theirs.sample(int(LENGTHS.sum()), random_state=4)
    log_prob, posteriors = ours.score_samples(X, LENGTHS)
    ref_log_prob, ref_posteriors = theirs.score_samples(X, LENGTHS)
    np.testing.assert_allclose(log_prob, ref_log_prob, rtol=1e-10)
    np.testing.assert_allclose(posteriors, ref_posteriors, atol=1e-9)
    # Discrete symbols make exact Viterbi ties: equal paths need hmmlearn's tie-breaking too.
    np.testing.assert_array_equal(ours.predict(X, LENGTHS), theirs.predict(X, LENGTHS))
    ours.fit(X, LENGTHS)
    theirs.fit(X, LENGTHS)
    for name in ("startprob_", "transmat_", "emissionprob_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-9,
                                   err_msg=name)

    fitted = hmm.CategoricalHMM(K, n_iter=5, random_state=0).fit(X, LENGTHS)
    reference = peer.CategoricalHMM(K, n_iter=5, random_state=0).fit(X, LENGTHS)
    np.testing.assert_allclose(list(fitted.monitor_.history),
                               list(reference.monitor_.history), rtol=1e-9)
    assert fitted.n_features_ == 5 and fitted.n_features is None


def test_categorical_with_many_symbols_matches_hmmlearn():
    """Over SELECT_MAX_SYMBOLS symbols the frames are gathered rather than selected."""
    from gdm.hmm._plan import SELECT_MAX_SYMBOLS
    ours, theirs = _categorical_pair(n_symbols=SELECT_MAX_SYMBOLS + 9)
    X, _ = theirs.sample(int(LENGTHS.sum()), random_state=6)
    assert len(np.unique(X)) > SELECT_MAX_SYMBOLS
    np.testing.assert_allclose(ours.score(X, LENGTHS), theirs.score(X, LENGTHS), rtol=1e-10)
    log_prob, path = ours.decode(X, LENGTHS)
    ref_log_prob, ref_path = theirs.decode(X, LENGTHS)
    np.testing.assert_allclose(log_prob, ref_log_prob, rtol=1e-10)
    np.testing.assert_array_equal(path, ref_path)


def test_lengths_split_sequences_independently(gaussian_data):
    ours, _ = _pair("diag")
    X = gaussian_data
    pieces = np.split(X, np.cumsum(LENGTHS)[:-1])
    total = ours.score(X, LENGTHS)
    np.testing.assert_allclose(total, sum(ours.score(p) for p in pieces), rtol=1e-12)
    np.testing.assert_array_equal(ours.predict(X, LENGTHS),
                                  np.concatenate([ours.predict(p) for p in pieces]))
    # lengths=None is one sequence: different from the split score
    assert not np.isclose(ours.score(X), total)
    assert ours.predict_proba(X, LENGTHS).shape == (len(X), K)


def test_sample_is_deterministic_and_follows_the_model():
    ours, _ = _pair("full", seed=3)
    X1, states1 = ours.sample(3000, random_state=7)
    X2, states2 = ours.sample(3000, random_state=7)
    X3, _ = ours.sample(3000, random_state=8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(states1, states2)
    assert not np.allclose(X1, X3)
    assert X1.shape == (3000, D) and states1.shape == (3000,)
    assert ours.sample(3000, currstate=2, random_state=0)[1][0] == 2
    counts = np.zeros((K, K))
    np.add.at(counts, (states1[:-1], states1[1:]), 1)
    empirical = counts / counts.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(empirical, ours.transmat_, atol=0.06)
    for k in range(K):
        np.testing.assert_allclose(X1[states1 == k].mean(0), ours.means_[k], atol=0.25)

    cat, _ = _categorical_pair()
    symbols, cat_states = cat.sample(50, random_state=1)
    assert symbols.shape == (50, 1) and np.issubdtype(symbols.dtype, np.integer)
    assert symbols.min() >= 0 and symbols.max() < 5 and cat_states.shape == (50,)


class _TabularView(hmm.GaussianHMM):
    """The estimator with fit/score's second argument named `y` (one sequence): lets
    scikit-learn's checks exercise everything but the lengths argument."""

    def fit(self, X, y=None):
        return super().fit(X)

    def score(self, X, y=None):
        return super().score(X)


# Checks that fit with sklearn's y as the second positional argument (= lengths here).
_FIT_CHECKS = [
    "check_fit_score_takes_y", "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
    "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_dtype_object",
    "check_pipeline_consistency", "check_estimators_nan_inf", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_fit2d_1feature", "check_dict_unchanged",
    "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in",
    "check_fit2d_predict1d", "check_fit2d_1sample",
]
_FIT_CHECKS_REASON = ("calls fit(X, y): for an HMM the second argument is lengths (hmmlearn's "
                      "API), which a target vector does not satisfy")
_SEQUENCE_CHECKS = {
    "check_methods_sample_order_invariance": "posteriors depend on the neighbouring samples, "
                                             "and score_samples returns (log-lik, posteriors)",
    "check_methods_subset_invariance": "posteriors of a subsequence differ from those of the "
                                       "whole sequence (that is the point of an HMM)",
}


def test_check_estimator_subset():
    expected = dict.fromkeys(_FIT_CHECKS, _FIT_CHECKS_REASON)
    results = check_estimator(hmm.GaussianHMM(2, n_iter=2, random_state=0), on_fail=None,
                              expected_failed_checks=expected)
    for r in results:
        if r["status"] == "failed":   # only ever on the lengths argument
            assert r["check_name"] in expected, (r["check_name"], r["exception"])
            assert "lengths" in str(r["exception"]) or "positive_only" in str(
                r["exception"]), (r["check_name"], r["exception"])
    passed = {r["check_name"] for r in results if r["status"] == "passed"}
    assert passed >= {
        "check_estimator_cloneable", "check_estimator_repr", "check_no_attributes_set_in_init",
        "check_estimators_unfitted", "check_get_params_invariance", "check_set_params",
        "check_parameters_default_constructible", "check_complex_data",
        "check_estimators_empty_data_messages", "check_estimator_sparse_array"}

    # Everything else, through the view that only renames the second argument.
    results = check_estimator(_TabularView(2, n_iter=2, random_state=0), on_fail=None,
                              expected_failed_checks=_SEQUENCE_CHECKS)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed <= set(_SEQUENCE_CHECKS), failed
    assert len({r["check_name"] for r in results if r["status"] == "passed"}) >= 35


@pytest.mark.parametrize("n_states", [5, 7, 17])
def test_viterbi_breaks_exact_ties_as_hmmlearn(n_states):
    """Predecessor ties go to the last state, final-state ties to the first: on both sides of
    UNROLL_STATES (a running max up to 16 states, a reduction above), odd counts included.
    Rounded probabilities make many scores exactly equal, identical rows make all of them."""
    from gdm.hmm._plan import UNROLL_STATES
    assert n_states < UNROLL_STATES or n_states > UNROLL_STATES
    rng = np.random.default_rng(n_states)

    def rounded(size):  # rows of multiples of 1/10: equal entries, equal sums of logs
        counts = rng.multinomial(10, np.ones(size[-1]) / size[-1], size=size[:-1])
        return np.maximum(counts, 1) / np.maximum(counts, 1).sum(-1, keepdims=True)

    for params in ({"startprob_": np.full(n_states, 1 / n_states),
                    "transmat_": np.full((n_states, n_states), 1 / n_states),
                    "emissionprob_": np.full((n_states, 3), 1 / 3)},
                   {"startprob_": rounded((n_states,)),
                    "transmat_": rounded((n_states, n_states)),
                    "emissionprob_": rounded((n_states, 3))}):
        ours = _with_parameters(hmm.CategoricalHMM(n_states, init_params=""), params)
        theirs = _with_parameters(peer.CategoricalHMM(n_states, init_params=""), params)
        X = rng.integers(0, 3, size=(60, 1))
        lengths = np.array([25, 1, 34])
        log_prob, path = ours.decode(X, lengths)
        ref_log_prob, ref_path = theirs.decode(X, lengths)
        np.testing.assert_allclose(log_prob, ref_log_prob, rtol=1e-12)
        np.testing.assert_array_equal(path, ref_path)
    assert len(np.unique(ref_path)) > 1  # the rounded model's path is not a constant


def test_fit_does_not_mutate_given_parameters(gaussian_data):
    ours, _ = _pair("diag")
    before = copy.deepcopy(ours.get_params())
    ours.score(gaussian_data, LENGTHS)
    assert ours.get_params() == before


@pytest.mark.parametrize("make, X, lengths, match", [
    (lambda: hmm.GaussianHMM(2), np.array([[0.0, np.nan], [1.0, 2.0], [3, 4]]), None, "NaN"),
    (lambda: hmm.GaussianHMM(2), np.arange(6.0), None, "2D array"),
    (lambda: hmm.GaussianHMM(2), np.ones((6, 2)), [2, 2], "sums to 4"),
    (lambda: hmm.GaussianHMM(2), np.ones((6, 2)), [7, -1], "positive"),
    (lambda: hmm.GaussianHMM(2, covariance_type="banana"), np.ones((6, 2)), None,
     "covariance_type"),
    (lambda: hmm.GaussianHMM(2, algorithm="fast"), np.ones((6, 2)), None, "algorithm"),
    (lambda: hmm.GaussianHMM(2, params="stx"), np.ones((6, 2)), None, "params"),
    (lambda: hmm.GaussianHMM(0), np.ones((6, 2)), None, "n_components"),
    (lambda: hmm.GaussianHMM(2, chunk_memory_mb=0), np.ones((6, 2)), None, "chunk_memory_mb"),
    (lambda: hmm.GaussianHMM(2, n_jobs=0), np.ones((6, 2)), None, "n_jobs"),
    (lambda: hmm.GaussianHMM(2, n_jobs=1.5), np.ones((6, 2)), None, "n_jobs"),
    (lambda: hmm.CategoricalHMM(2, n_jobs="all"), np.array([[0], [1]]), None, "n_jobs"),
    (lambda: hmm.GaussianHMM(4), np.ones((3, 2)), None, "n_samples=3"),
    (lambda: hmm.CategoricalHMM(2), np.array([[0.5], [1.0]]), None, "integers"),
    (lambda: hmm.CategoricalHMM(2), np.array([[0], [-1]]), None, "nonnegative"),
    (lambda: hmm.CategoricalHMM(2, n_features=3), np.array([[0], [3]]), None, "Largest"),
    (lambda: hmm.CategoricalHMM(2), np.array([[0, 1], [1, 0]]), None, r"\(n_samples, 1\)"),
])
def test_bad_inputs_raise_value_errors(make, X, lengths, match):
    with pytest.raises(ValueError, match=match):
        make().fit(X, lengths)


def test_bad_inputs_after_fit(gaussian_data):
    ours, _ = _pair("diag")
    with pytest.raises(ValueError, match="features"):
        ours.score(gaussian_data[:, :2])
    with pytest.raises(ValueError, match="algorithm"):
        ours.decode(gaussian_data, algorithm="beam")
    with pytest.raises(ValueError, match="covars must be positive"):
        ours.covars_ = -np.ones((K, D))
    with pytest.raises(ValueError, match="transmat_"):
        _with_parameters(copy.deepcopy(ours), {"transmat_": np.ones((K, K))}).score(
            gaussian_data)
    with pytest.raises(NotFittedError):
        hmm.GaussianHMM(2).score(gaussian_data)
    cat, _ = _categorical_pair()
    with pytest.raises(ValueError, match="Largest symbol is 7"):
        cat.score(np.array([[0], [7]]))
