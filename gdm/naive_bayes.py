"""Naive Bayes classifiers (Gaussian, Bernoulli, multinomial) with scikit-learn's API, in JAX.

    from gdm.naive_bayes import GaussianNB
    clf = GaussianNB().fit(X, y)              # or .partial_fit(X, y, classes=...) batch by batch
    clf.predict_proba(X_test)                 # equal to sklearn.naive_bayes.GaussianNB's (1e-5)

The fitted statistics are sums over samples, so they are computed for all classes at once as
one-hot matrix products (rows padded to size buckets, padding given zero weight) and merged
across `partial_fit` calls exactly as scikit-learn merges them. Everything runs in float64
(scikit-learn's precision) inside `gdm.utils.validation.x64`, without touching JAX's global default.
All three pass scikit-learn's check_estimator with no check excluded.
"""

from __future__ import annotations

import warnings
from numbers import Real

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelBinarizer, label_binarize
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import _check_partial_fit_first_call
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    check_non_negative,
    validate_data,
)

from gdm.utils.buckets import pad_rows
from gdm.utils.validation import x64

__all__ = ["BernoulliNB", "GaussianNB", "MultinomialNB"]


# ---------------------------------------------------------------- jitted kernels (float64)

@jax.jit
def _log_normalize(jll):
    return jll - jax.scipy.special.logsumexp(jll, axis=1, keepdims=True)


@jax.jit
def _gaussian_batch_stats(X, Yw, y_index, n_real):
    """Per-class weighted count, mean and (two-pass) variance of one batch, plus max feature var.

    Yw is the one-hot label matrix times sample weights (zero rows on padding); y_index the
    class index of each row.
    """
    count = Yw.sum(0)
    safe = jnp.where(count > 0, count, 1.0)
    mean = (Yw.T @ X) / safe[:, None]
    resid = X - mean[y_index]
    var = (Yw.T @ (resid * resid)) / safe[:, None]
    mask = (jnp.arange(X.shape[0]) < n_real)[:, None]
    col_mean = jnp.sum(jnp.where(mask, X, 0.0), 0) / n_real
    col_var = jnp.sum(jnp.where(mask, (X - col_mean) ** 2, 0.0), 0) / n_real
    return count, mean, var, jnp.max(col_var)


@jax.jit
def _gaussian_merge(n_past, mu, var, n_new, new_mu, new_var):
    """scikit-learn's GaussianNB._update_mean_variance (Chan et al.), for all classes at once."""
    n_total = n_past + n_new
    safe_total = jnp.where(n_total > 0, n_total, 1.0)[:, None]
    total_mu = (n_new[:, None] * new_mu + n_past[:, None] * mu) / safe_total
    total_ssd = (n_past[:, None] * var + n_new[:, None] * new_var
                 + (n_new * n_past)[:, None] / safe_total * (mu - new_mu) ** 2)
    merged_mu = jnp.where((n_past == 0)[:, None], new_mu, total_mu)
    merged_var = jnp.where((n_past == 0)[:, None], new_var, total_ssd / safe_total)
    skip = (jnp.abs(n_new) <= 1e-8)[:, None]  # np.isclose(n_new, 0): batch lacks the class
    return (jnp.where(skip, mu, merged_mu), jnp.where(skip, var, merged_var),
            n_past + jnp.where(skip[:, 0], 0.0, n_new))


@jax.jit
def _gaussian_jll(X, theta, var, log_prior):
    def per_class(args):
        t, v = args
        return -0.5 * jnp.sum(jnp.log(2.0 * jnp.pi * v)) - 0.5 * jnp.sum((X - t) ** 2 / v, 1)

    return jax.lax.map(per_class, (theta, var)).T + log_prior


@jax.jit
def _counts(X, Yw):
    return Yw.T @ X, Yw.sum(0)


@jax.jit
def _linear_jll(X, weights, bias):
    return X @ weights.T + bias


# ---------------------------------------------------------------- estimators

class _BaseNB(ClassifierMixin, BaseEstimator):
    """Prediction shared by all three: argmax / normalization of the joint log-likelihood."""

    def _check_X(self, X):
        return validate_data(self, X, reset=False)

    def _joint_log_likelihood(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _padded_jll(self, X: np.ndarray, kernel, *params) -> np.ndarray:
        (Xp,), _ = pad_rows(np.asarray(X, np.float64))
        with x64():
            return np.asarray(kernel(Xp, *params))[: X.shape[0]]

    def predict_joint_log_proba(self, X) -> np.ndarray:
        """Unnormalized log P(c) + log P(x | c), shape (n_samples, n_classes)."""
        check_is_fitted(self)
        return self._joint_log_likelihood(self._check_X(X))

    def predict(self, X) -> np.ndarray:
        jll = self.predict_joint_log_proba(X)
        return self.classes_[np.argmax(jll, axis=1)]

    def predict_log_proba(self, X) -> np.ndarray:
        jll = self.predict_joint_log_proba(X)
        (jp,), _ = pad_rows(jll)
        with x64():
            return np.asarray(_log_normalize(jp))[: jll.shape[0]]

    def predict_proba(self, X) -> np.ndarray:
        return np.exp(self.predict_log_proba(X))


class GaussianNB(_BaseNB):
    """Gaussian naive Bayes; same parameters, attributes and numbers as sklearn's GaussianNB.

    var_smoothing adds var_smoothing * (largest feature variance of the batch) to every variance,
    re-derived on each `partial_fit` call as scikit-learn does.
    """

    _parameter_constraints: dict = {
        "priors": ["array-like", None],
        "var_smoothing": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, *, priors=None, var_smoothing: float = 1e-9):
        self.priors = priors
        self.var_smoothing = var_smoothing

    def fit(self, X, y, sample_weight=None) -> GaussianNB:
        self._validate_params()
        y = validate_data(self, y=y)
        return self._partial_fit(X, y, np.unique(y), refit=True, sample_weight=sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None) -> GaussianNB:
        """Updates the model with one batch; `classes` is required on the first call."""
        self._validate_params()
        return self._partial_fit(X, y, classes, refit=False, sample_weight=sample_weight)

    def _partial_fit(self, X, y, classes, refit: bool, sample_weight) -> GaussianNB:
        if refit:
            self.classes_ = None
        first_call = _check_partial_fit_first_call(self, classes)
        X, y = validate_data(self, X, y, reset=first_call)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        n_classes, n_features = len(self.classes_), X.shape[1]
        if first_call:
            self.theta_ = np.zeros((n_classes, n_features))
            self.var_ = np.zeros((n_classes, n_features))
            self.class_count_ = np.zeros(n_classes)
            if self.priors is not None:
                priors = np.asarray(self.priors, dtype=np.float64)
                if priors.shape[0] != n_classes:
                    raise ValueError("Number of priors must match number of classes.")
                if not np.isclose(priors.sum(), 1.0):
                    raise ValueError("The sum of the priors should be 1.")
                if (priors < 0).any():
                    raise ValueError("Priors must be non-negative.")
                self.class_prior_ = priors
            else:
                self.class_prior_ = np.zeros(n_classes)
        elif n_features != self.theta_.shape[1]:
            raise ValueError(f"Number of features {n_features} does not match previous data "
                             f"{self.theta_.shape[1]}.")
        unseen = ~np.isin(np.unique(y), self.classes_)
        if unseen.any():
            raise ValueError(f"The target label(s) {np.unique(y)[unseen]} in y do not exist in "
                             f"the initial classes {self.classes_}")
        y_index = np.searchsorted(self.classes_, y)
        Yw = (y_index[:, None] == np.arange(n_classes)[None, :]).astype(np.float64)
        if sample_weight is not None:
            Yw *= sample_weight[:, None]
        (Xp, Ywp, yp), _ = pad_rows(np.asarray(X, np.float64), Yw, y_index)
        with x64():
            count, mean, var, max_var = _gaussian_batch_stats(Xp, Ywp, yp, X.shape[0])
            # As scikit-learn does: the epsilon of THIS batch is subtracted from the stored
            # variances before merging and added back after (matching its numbers exactly).
            self.epsilon_ = float(self.var_smoothing * max_var)
            old_var = self.var_ - (0.0 if first_call else self.epsilon_)
            theta, new_var, class_count = _gaussian_merge(
                self.class_count_, self.theta_, old_var, count, mean, var)
        self.theta_ = np.asarray(theta)
        self.var_ = np.asarray(new_var) + self.epsilon_
        self.class_count_ = np.asarray(class_count)
        if self.priors is None:
            self.class_prior_ = self.class_count_ / self.class_count_.sum()
        return self

    def _joint_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_prior_)
        return self._padded_jll(X, _gaussian_jll, self.theta_, self.var_, log_prior)


class _BaseDiscreteNB(_BaseNB):
    """Counting naive Bayes (Bernoulli, multinomial): additive smoothing of per-class counts."""

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left"), "array-like"],
        "fit_prior": ["boolean"],
        "class_prior": ["array-like", None],
        "force_alpha": ["boolean"],
    }

    def _prepare_X(self, X: np.ndarray) -> np.ndarray:
        return X

    def _check_X(self, X):
        return self._prepare_X(validate_data(self, X, reset=False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _check_alpha(self):
        alpha = np.asarray(self.alpha) if not isinstance(self.alpha, Real) else self.alpha
        alpha_min = np.min(alpha)
        if isinstance(alpha, np.ndarray):
            if alpha.shape[0] != self.n_features_in_:
                raise ValueError(
                    "When alpha is an array, it should contains `n_features`. "
                    f"Got {alpha.shape[0]} elements instead of {self.n_features_in_}.")
            if alpha_min < 0:
                raise ValueError("All values in alpha must be greater than 0.")
        if alpha_min < 1e-10 and not self.force_alpha:
            warnings.warn("alpha too small will result in numeric errors, setting alpha = "
                          "1.0e-10. Use `force_alpha=True` to keep alpha unchanged.",
                          stacklevel=3)
            return np.maximum(alpha, 1e-10)
        return alpha

    def fit(self, X, y, sample_weight=None) -> _BaseDiscreteNB:
        self._validate_params()
        X, y = validate_data(self, X, y)
        self.classes_ = LabelBinarizer().fit(y).classes_
        self.class_count_ = np.zeros(len(self.classes_))
        self.feature_count_ = np.zeros((len(self.classes_), X.shape[1]))
        return self._update(X, y, sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None) -> _BaseDiscreteNB:
        """Adds one batch's counts; `classes` is required on the first call."""
        self._validate_params()
        first_call = not hasattr(self, "classes_")
        X, y = validate_data(self, X, y, reset=first_call)
        if _check_partial_fit_first_call(self, classes):
            self.class_count_ = np.zeros(len(self.classes_))
            self.feature_count_ = np.zeros((len(self.classes_), X.shape[1]))
        return self._update(X, y, sample_weight)

    def _update(self, X, y, sample_weight) -> _BaseDiscreteNB:
        X = self._prepare_X(X)
        Y = label_binarize(y, classes=self.classes_).astype(np.float64)
        if Y.shape[1] == 1:
            Y = np.concatenate((1 - Y, Y), axis=1) if len(self.classes_) == 2 else np.ones_like(Y)
        if sample_weight is not None:
            Y *= _check_sample_weight(sample_weight, X)[:, None]
        self._check_counts_input(X)
        (Xp, Yp), _ = pad_rows(np.asarray(X, np.float64), Y)
        with x64():
            feature_count, class_count = _counts(Xp, Yp)
        self.feature_count_ = self.feature_count_ + np.asarray(feature_count)
        self.class_count_ = self.class_count_ + np.asarray(class_count)
        self._update_feature_log_prob(self._check_alpha())
        self._update_class_log_prior()
        return self

    def _check_counts_input(self, X: np.ndarray) -> None:
        pass

    def _update_class_log_prior(self) -> None:
        n_classes = len(self.classes_)
        if self.class_prior is not None:
            if len(self.class_prior) != n_classes:
                raise ValueError("Number of priors must match number of classes.")
            self.class_log_prior_ = np.log(self.class_prior)
        elif self.fit_prior:
            with np.errstate(divide="ignore"):  # a class not seen yet in partial_fit
                log_class_count = np.log(self.class_count_)
            self.class_log_prior_ = log_class_count - np.log(self.class_count_.sum())
        else:
            self.class_log_prior_ = np.full(n_classes, -np.log(n_classes))


class MultinomialNB(_BaseDiscreteNB):
    """Multinomial naive Bayes for counts (e.g. word counts, pixel intensities)."""

    def __init__(self, *, alpha=1.0, force_alpha: bool = True, fit_prior: bool = True,
                 class_prior=None):
        self.alpha = alpha
        self.force_alpha = force_alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags

    def _check_counts_input(self, X: np.ndarray) -> None:
        check_non_negative(X, "MultinomialNB (input X)")

    def _update_feature_log_prob(self, alpha) -> None:
        smoothed = self.feature_count_ + alpha
        self.feature_log_prob_ = np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))

    def _joint_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        return self._padded_jll(X, _linear_jll, self.feature_log_prob_, self.class_log_prior_)


class BernoulliNB(_BaseDiscreteNB):
    """Bernoulli naive Bayes for binary features; `binarize` thresholds X (None: already 0/1)."""

    _parameter_constraints: dict = {
        **_BaseDiscreteNB._parameter_constraints,
        "binarize": [None, Interval(Real, None, None, closed="neither")],
    }

    def __init__(self, *, alpha=1.0, force_alpha: bool = True, binarize: float | None = 0.0,
                 fit_prior: bool = True, class_prior=None):
        self.alpha = alpha
        self.force_alpha = force_alpha
        self.binarize = binarize
        self.fit_prior = fit_prior
        self.class_prior = class_prior

    def _prepare_X(self, X: np.ndarray) -> np.ndarray:
        if self.binarize is None:
            return X
        return (X > self.binarize).astype(np.float64)

    def _update_feature_log_prob(self, alpha) -> None:
        smoothed_fc = self.feature_count_ + alpha
        smoothed_cc = self.class_count_ + alpha * 2
        self.feature_log_prob_ = np.log(smoothed_fc) - np.log(smoothed_cc.reshape(-1, 1))

    def _joint_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            neg_prob = np.log(1 - np.exp(self.feature_log_prob_))
        return self._padded_jll(X, _linear_jll, self.feature_log_prob_ - neg_prob,
                                self.class_log_prior_ + neg_prob.sum(axis=1))
