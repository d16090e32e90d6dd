"""Linear and logistic regression with scikit-learn's API, solved in JAX.

    from gdm.linear_model import LogisticRegression, LinearRegression, Ridge
    clf = LogisticRegression(C=1.0).fit(X, y)      # full-batch L-BFGS (optax), jit-compiled
    reg = Ridge(alpha=1.0).fit(X, y)               # closed form (Cholesky), float64

LogisticRegression minimizes scikit-learn's objective with its scaling,
    (1 / sum(s)) * sum_i s_i * loss_i + ||W||^2 / (2 * C * sum(s)),
(the intercept unpenalized), so the minimizer is scikit-learn's converged solution and `tol`
means the same (max |gradient| of that objective). The whole L-BFGS loop is one
`lax.while_loop` compiled once per (row bucket, feature bucket, n_classes, dtype): rows are
padded with zero sample weight, features with zero columns (whose coefficients stay zero).
Large float32 input (>= 2**18 values, e.g. the MNIST benchmark) is solved in float32, which
halves the memory traffic that bounds each iteration; everything else in float64.
LinearRegression and Ridge are closed forms in float64. All three pass scikit-learn's
check_estimator with no check excluded.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from numbers import Integral, Real

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from gdm.utils.buckets import bucket_size, pad_rows, pad_to, padded_weights
from gdm.utils.compiler import NATIVE_FUSIONS
from gdm.utils.validation import x64

__all__ = ["LinearRegression", "LogisticRegression", "Ridge"]


# ---------------------------------------------------------------- logistic regression

def _logistic_value_and_grad(theta, X, target, weight, l2, fit_intercept):
    """scikit-learn's scaled objective and its gradient; theta packs W (n_features, n_out)
    then b (n_out,). The gradient is in closed form: residuals (p - y) * w, then X^T @ them.

    Written out rather than by autodiff: one forward and one transposed matmul, with no saved
    intermediates, makes each L-BFGS iteration cheaper than the autodiff gradient on XLA:CPU.
    """
    n_features, n_out = X.shape[1], target.shape[1]
    W = theta[: n_features * n_out].reshape(n_features, n_out)
    z = X @ W + theta[n_features * n_out:] * fit_intercept
    if n_out == 1:  # binary, target in {0, 1}: log(1 + e^z) - y z
        loss = jax.nn.softplus(z[:, 0]) - target[:, 0] * z[:, 0]
        p = jax.nn.sigmoid(z)
    else:
        loss = jax.nn.logsumexp(z, axis=1) - jnp.sum(z * target, axis=1)
        p = jax.nn.softmax(z, axis=1)
    value = jnp.sum(weight * loss) + 0.5 * l2 * jnp.sum(W * W)
    residual = (p - target) * weight[:, None]
    grad_w = X.T @ residual + l2 * W
    grad_b = jnp.sum(residual, axis=0) * fit_intercept
    return value, jnp.concatenate([grad_w.ravel(), grad_b])


_MAX_TRIES = 40  # step halvings of the line search before it gives up


def _armijo_line_search(value_and_grad, theta, value, grad, direction, dtype):
    """Backtracking from step 1, halving until the Armijo condition holds or _MAX_TRIES steps
    were tried: (step, value and gradient at the last point tried, whether it holds there)."""
    slope = grad @ direction

    def cond(c):
        step, new_value, _, tries = c
        return (tries == 0) | ((new_value > value + 1e-4 * step * slope)
                               & (tries < _MAX_TRIES))

    def body(c):
        step, _, _, tries = c
        step = jnp.where(tries == 0, 1.0, 0.5 * step).astype(dtype)
        new_value, new_grad = value_and_grad(theta + step * direction)
        return step, new_value, new_grad, tries + 1

    step, new_value, new_grad, _ = jax.lax.while_loop(
        cond, body, (jnp.asarray(1.0, dtype), value, grad, 0))
    found = new_value <= value + 1e-4 * step * slope
    return step, new_value, new_grad, found


def _lbfgs_iteration(c, value_and_grad, lbfgs, dtype, ftol):
    """One L-BFGS iteration on the carry (theta, value, grad, lbfgs state, iteration, stalled):
    the quasi-Newton direction (else steepest descent), a line search, the move if it succeeded;
    stalled if it failed or the objective decreased by at most ftol relative to its size."""
    theta, value, grad, state, it, _ = c
    precond, state = lbfgs.update(grad, state, theta)  # H grad; memory from the last step
    direction = -precond.astype(dtype)
    direction = jnp.where(grad @ direction < 0, direction, -grad)  # safeguard
    step, new_value, new_grad, found = _armijo_line_search(value_and_grad, theta, value, grad,
                                                           direction, dtype)
    stalled = ~found | ((value - new_value)
                        <= ftol * jnp.maximum(jnp.maximum(jnp.abs(value),
                                                          jnp.abs(new_value)), 1.0))
    theta = jnp.where(found, theta + step * direction, theta)
    value = jnp.where(found, new_value, value)
    grad = jnp.where(found, new_grad, grad)
    return theta, value, grad, state, it + 1, stalled


def _lbfgs_running(c, tol, max_iter):
    """Whether L-BFGS goes on: below max_iter, max|grad| above tol, and not stalled."""
    grad, it, stalled = c[2], c[4], c[5]
    return (it < max_iter) & (jnp.max(jnp.abs(grad)) > tol) & ~stalled


def logistic_lbfgs(X, target, weight, l2, fit_intercept, tol, max_iter, memory: int = 20):
    """L-BFGS (optax.scale_by_lbfgs directions) with an Armijo backtracking line search, until
    max|grad| <= tol, stagnation, or max_iter.

    20 curvature pairs rather than scipy's 10: on the MNIST benchmark it reaches the same tol in
    113 iterations instead of 146 (same test accuracy), and a pair costs two dot products
    against the two matmuls over X that each iteration needs anyway.

    The objective is convex, so Armijo steps suffice; a single backtracking loop compiles in
    well under the time of optax's zoom line search (estimators are fitted on many shapes).
    `weight` is already divided by its sum, so the objective is scikit-learn's.
    """
    dtype = X.dtype
    n_params = (X.shape[1] + 1) * target.shape[1]
    value_and_grad = functools.partial(_logistic_value_and_grad, X=X, target=target,
                                       weight=weight, l2=l2, fit_intercept=fit_intercept)
    eps = jnp.finfo(dtype).eps
    ftol = 64 * eps if dtype == jnp.float64 else eps
    lbfgs = optax.scale_by_lbfgs(memory_size=memory)
    theta = jnp.zeros(n_params, dtype)
    value, grad = value_and_grad(theta)
    init = (theta, value, grad, lbfgs.init(theta), 0, jnp.asarray(False))
    theta, _, grad, _, n_iter, _ = jax.lax.while_loop(
        functools.partial(_lbfgs_running, tol=tol, max_iter=max_iter),
        functools.partial(_lbfgs_iteration, value_and_grad=value_and_grad, lbfgs=lbfgs,
                          dtype=dtype, ftol=ftol), init)
    n_coef = X.shape[1] * target.shape[1]
    coef = theta[:n_coef].reshape(X.shape[1], target.shape[1]).T
    return coef, theta[n_coef:] * fit_intercept, n_iter, jnp.max(jnp.abs(grad))


# The estimator's compiled solve. logistic_lbfgs itself is traceable, so callers may vmap it
# (e.g. over training sets given as weights) inside their own jit.
_fit_logistic = functools.partial(jax.jit, static_argnames=("memory",),
                                  compiler_options=NATIVE_FUSIONS)(logistic_lbfgs)


_FLOAT32_MIN_SIZE = 2**18  # X.size from which float32 input is solved in float32


def _class_weight(class_weight, classes, y, sample_weight) -> np.ndarray:
    """compute_class_weight; 'balanced' counts sample weights where sklearn does (>= 1.8)."""
    if "sample_weight" in inspect.signature(compute_class_weight).parameters:
        return compute_class_weight(class_weight, classes=classes, y=y,
                                    sample_weight=sample_weight)
    return compute_class_weight(class_weight, classes=classes, y=y)


@jax.jit
def _linear_scores(X, coef, intercept):
    return X @ coef.T + intercept


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """L2-penalized (or unpenalized) logistic regression, binary or multinomial, by L-BFGS.

    Parameters follow scikit-learn: `C` is the inverse penalty strength (np.inf: no penalty),
    `penalty` is 'l2' or None, `tol` bounds max |gradient| of the scaled objective, `max_iter`
    caps L-BFGS iterations, `class_weight` is a dict or 'balanced'. Binary problems fit one
    coefficient row (classes_[1] is positive), multiclass the full multinomial model.
    """

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l2"}), None],
        "C": [Interval(Real, 0, None, closed="right")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, penalty: str | None = "l2", *, C: float = 1.0, tol: float = 1e-4,
                 fit_intercept: bool = True, class_weight=None, max_iter: int = 100):
        self.penalty = penalty
        self.C = C
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.max_iter = max_iter

    def fit(self, X, y, sample_weight=None) -> LogisticRegression:
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], order="C")
        check_classification_targets(y)
        if X.dtype == np.float32 and X.size < _FLOAT32_MIN_SIZE:
            X = X.astype(np.float64)  # float32 only pays off on large data; one dtype compiles
        self.classes_ = np.unique(y)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError("This solver needs samples of at least 2 classes in the data, but "
                             f"the data contains only one class: {self.classes_[0]!r}")
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        y_index = np.searchsorted(self.classes_, y)
        if self.class_weight is not None:
            class_weight = _class_weight(self.class_weight, self.classes_, y, sample_weight)
            sample_weight = sample_weight * class_weight[y_index]
        binary = n_classes == 2
        target = (y_index[:, None] == (np.array([1]) if binary else np.arange(n_classes)))
        no_penalty = self.penalty is None or self.C == np.inf
        sw_sum = float(sample_weight.sum())
        l2 = 0.0 if no_penalty else 1.0 / (self.C * sw_sum)
        # Zero feature columns keep zero coefficients (zero gradient), so padding features to
        # a bucket, like rows, changes nothing but the number of compilations.
        # At least 128 rows: small fits (check_estimator, CV folds) then share executables.
        # Large data compiles for its shape rounded up to a multiple of 8 instead: on XLA:CPU
        # the bucketed 8192 x 1024 of MNIST's 8000 x 784 makes each iteration 4-5x slower
        # (power-of-two strides), far more than one extra compilation costs.
        if X.size >= _FLOAT32_MIN_SIZE:
            size = -(-X.shape[0] // 8) * 8
            Xp, tp = pad_to(X, size, 0), pad_to(target.astype(X.dtype), size, 0)
            Xp = pad_to(Xp, -(-X.shape[1] // 8) * 8, axis=1)
        else:
            (Xp, tp), size = pad_rows(X, target.astype(X.dtype), minimum=128)
            Xp = pad_to(Xp, bucket_size(X.shape[1]), axis=1)
        weight = padded_weights(len(y), size, sample_weight / sw_sum, X.dtype)
        dtype = X.dtype.type
        with x64():
            coef, intercept, n_iter, gmax = _fit_logistic(
                Xp, tp, weight, dtype(l2), dtype(self.fit_intercept), dtype(self.tol),
                int(self.max_iter))
            # float64 attributes whatever the solve dtype, as scikit-learn's lbfgs gives.
            self.coef_ = np.asarray(coef, np.float64)[:, : X.shape[1]]
            self.intercept_ = np.asarray(intercept, np.float64)
        self.n_iter_ = np.array([int(n_iter)], dtype=np.int32)
        if self.n_iter_[0] >= self.max_iter and float(gmax) > self.tol:
            warnings.warn(f"lbfgs failed to converge after {self.max_iter} iteration(s) "
                          f"(max |grad| {float(gmax):.3g} > tol {self.tol:.3g}): increase "
                          "max_iter or scale the data.", ConvergenceWarning, stacklevel=2)
        return self

    def decision_function(self, X) -> np.ndarray:
        """Scores X @ coef_.T + intercept_; 1-D for binary problems (score of classes_[1])."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        (Xp,), _ = pad_rows(X)
        with x64():
            scores = np.asarray(_linear_scores(Xp, self.coef_, self.intercept_))[: len(X)]
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X) -> np.ndarray:
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    def predict_proba(self, X) -> np.ndarray:
        scores = self.decision_function(X).astype(np.float64)
        if scores.ndim == 1:
            p = 1.0 / (1.0 + np.exp(-scores))
            return np.stack([1.0 - p, p], axis=1)
        scores = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X) -> np.ndarray:
        return np.log(self.predict_proba(X))


# ---------------------------------------------------------------- least squares

@jax.jit
def _weighted_center(X, y, w):
    """Weighted means and the centered, sqrt(weight)-scaled data (padding has weight 0)."""
    x_offset = (w @ X) / jnp.sum(w)
    y_offset = (w @ y) / jnp.sum(w)
    root = jnp.sqrt(w)[:, None]
    return (X - x_offset) * root, (y - y_offset) * root, x_offset, y_offset


@jax.jit
def _lstsq(Xs, ys):
    coef, _, rank, singular = jnp.linalg.lstsq(Xs, ys)
    return coef.T, rank, singular


@jax.jit
def _ridge_solve(Xs, ys, alpha):
    """One Cholesky solve per target (alpha may differ per target), vmapped over targets."""
    gram = Xs.T @ Xs
    rhs = Xs.T @ ys
    eye = jnp.eye(gram.shape[0], dtype=gram.dtype)

    def solve(a, b):
        factor = jax.scipy.linalg.cho_factor(gram + a * eye)
        return jax.scipy.linalg.cho_solve(factor, b)

    return jax.vmap(solve, in_axes=(0, 1))(alpha, rhs)


class _LeastSquares(RegressorMixin, BaseEstimator):
    """Shared fit plumbing: validation, weighted centering, output shapes as in scikit-learn."""

    def _prepare(self, X, y, sample_weight):
        X, y = validate_data(self, X, y, dtype=[np.float64], y_numeric=True, multi_output=True)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        y2 = np.asarray(y, np.float64).reshape(len(y), -1)
        (Xp, yp), size = pad_rows(X, y2)
        w = padded_weights(len(y), size, sample_weight)
        if self.fit_intercept:
            with x64():
                Xs, ys, x_offset, y_offset = (np.asarray(a) for a in _weighted_center(Xp, yp, w))
        else:
            root = np.sqrt(w)[:, None]
            Xs, ys = Xp * root, yp * root
            x_offset, y_offset = np.zeros(X.shape[1]), np.zeros(y2.shape[1])
        return Xs, ys, x_offset, y_offset, y.ndim == 1

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _set_coef(self, coef, x_offset, y_offset, one_target: bool) -> None:
        self.coef_ = coef[0] if one_target else coef
        if not self.fit_intercept:  # scikit-learn: a scalar 0.0 whatever the targets
            self.intercept_ = 0.0
            return
        intercept = y_offset - coef @ x_offset
        self.intercept_ = float(intercept[0]) if one_target else intercept

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64])
        (Xp,), _ = pad_rows(X)
        coef = np.atleast_2d(self.coef_)
        with x64():
            out = np.asarray(_linear_scores(Xp, coef, np.atleast_1d(self.intercept_)))
        out = out[: len(X)]
        return out[:, 0] if np.ndim(self.coef_) == 1 else out


class LinearRegression(_LeastSquares):
    """Ordinary least squares: minimum-norm solution via SVD (as scipy.linalg.lstsq gives)."""

    _parameter_constraints: dict = {"fit_intercept": ["boolean"], "copy_X": ["boolean"]}

    def __init__(self, *, fit_intercept: bool = True, copy_X: bool = True):
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X  # X is never modified in place; kept for API compatibility

    def fit(self, X, y, sample_weight=None) -> LinearRegression:
        self._validate_params()
        Xs, ys, x_offset, y_offset, one_target = self._prepare(X, y, sample_weight)
        with x64():
            coef, rank, singular = _lstsq(Xs, ys)
        self.rank_ = int(rank)
        self.singular_ = np.asarray(singular)
        self._set_coef(np.asarray(coef), x_offset, y_offset, one_target)
        return self


class Ridge(_LeastSquares):
    """L2-penalized least squares, ||y - Xw||^2 + alpha ||w||^2, by Cholesky (solver_='cholesky').

    alpha may be an array with one penalty per target.
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left"), np.ndarray],
        "fit_intercept": ["boolean"],
        "copy_X": ["boolean"],
    }

    def __init__(self, alpha=1.0, *, fit_intercept: bool = True, copy_X: bool = True):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X  # X is never modified in place; kept for API compatibility

    def fit(self, X, y, sample_weight=None) -> Ridge:
        self._validate_params()
        Xs, ys, x_offset, y_offset, one_target = self._prepare(X, y, sample_weight)
        n_targets = ys.shape[1]
        alpha = np.asarray(self.alpha, dtype=np.float64).ravel()
        if alpha.size not in (1, n_targets):
            raise ValueError("Number of targets and number of penalties do not correspond: "
                             f"{alpha.size} != {n_targets}")
        alpha = np.broadcast_to(alpha, (n_targets,)).copy()
        with x64():
            coef = np.asarray(_ridge_solve(Xs, ys, alpha))
        self.n_iter_ = None
        self.solver_ = "cholesky"
        self._set_coef(coef, x_offset, y_offset, one_target)
        return self
