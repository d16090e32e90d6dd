"""Learning curves of naive Bayes and logistic regression over many random splits, vmapped.

One split is a pure function of a PRNG key: a random test set (a fixed fraction of the rows)
and a random order of the remaining pool, led by `min_per_class` examples of every class; the
training set of size m is the first m rows of that order, so the sets of one split are nested
and grow with m. A training set is a 0/1 weight over all rows, so every m of a dataset has the
same shapes: `split_errors` fits every (split, m, model) in one jit-compiled, vmapped call.

The fits are gdm's own kernels: naive Bayes from gdm.naive_bayes (the sums GaussianNB and
BernoulliNB fit with, weighted so that zero weight means "not in the training set"), logistic
regression by gdm.linear_model's L-BFGS solver with scikit-learn's scaled objective. Sizes,
penalties, smoothing and keys are traced, so new values compile nothing.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from gdm.linear_model import logistic_lbfgs
from gdm.naive_bayes import _counts, _gaussian_batch_stats, _gaussian_jll, _linear_jll
from gdm.utils.compiler import NATIVE_FUSIONS

NB_KINDS = ("gaussian", "bernoulli")


def split_masks(key: jax.Array, y: jax.Array, sizes: jax.Array, n_classes: int,
                test_fraction: float, min_per_class: int) -> tuple[jax.Array, jax.Array]:
    """(train masks (n_sizes, n), test mask (n,)) of one random split, boolean."""
    n = y.shape[0]
    k_test, k_order = jax.random.split(key)
    n_test = int(round(test_fraction * n))
    test = jnp.zeros(n, bool).at[jax.random.permutation(k_test, n)[:n_test]].set(True)
    u = jax.random.uniform(k_order, (n,))
    u = jnp.where(test, 2.0 + u, u)  # test rows go last and are never trained on
    # Rank of each pool row within its class: the first min_per_class of each class lead.
    onehot = y[:, None] == jnp.arange(n_classes)[None, :]
    by_class = jnp.where(onehot, u[:, None], jnp.inf)
    rank_in_class = jnp.argsort(jnp.argsort(by_class, axis=0), axis=0)
    lead = (jnp.sum(jnp.where(onehot, rank_in_class, 0), axis=1) < min_per_class) & ~test
    order_key = jnp.where(lead, u - 1.0, u)
    rank = jnp.argsort(jnp.argsort(order_key))
    return rank[None, :] < sizes[:, None], test


def fit_gaussian_nb(x: jax.Array, y: jax.Array, w: jax.Array, n_classes: int,
                    var_smoothing: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """GaussianNB.fit on the rows with weight 1: (theta, var, log prior) as scikit-learn's."""
    yw = (y[:, None] == jnp.arange(n_classes)[None, :]) * w[:, None]
    count, theta, var, _ = _gaussian_batch_stats(x, yw, y, x.shape[0])
    col_mean = (w @ x) / w.sum()
    col_var = (w @ (x - col_mean) ** 2) / w.sum()
    var = var + var_smoothing * jnp.max(col_var)
    return theta, var, jnp.log(count / count.sum())


def gaussian_nb_scores(x: jax.Array, params) -> jax.Array:
    theta, var, log_prior = params
    return _gaussian_jll(x, theta, var, log_prior)


def fit_bernoulli_nb(x: jax.Array, y: jax.Array, w: jax.Array, n_classes: int,
                     alpha: jax.Array) -> tuple[jax.Array, jax.Array]:
    """BernoulliNB.fit (0/1 features, fitted priors) on the rows with weight 1, as the
    linear scores' (weights, bias) of its joint log-likelihood."""
    yw = (y[:, None] == jnp.arange(n_classes)[None, :]) * w[:, None]
    feature_count, class_count = _counts(x, yw)
    log_p = jnp.log(feature_count + alpha) - jnp.log(class_count + 2 * alpha)[:, None]
    log_not_p = jnp.log1p(-jnp.exp(log_p))
    log_prior = jnp.log(class_count) - jnp.log(class_count.sum())
    return log_p - log_not_p, log_prior + log_not_p.sum(axis=1)


def bernoulli_nb_scores(x: jax.Array, params) -> jax.Array:
    return _linear_jll(x, *params)


NB_FITS = {"gaussian": (fit_gaussian_nb, gaussian_nb_scores),
           "bernoulli": (fit_bernoulli_nb, bernoulli_nb_scores)}


def fit_logistic(x: jax.Array, y: jax.Array, w: jax.Array, C: jax.Array, tol: jax.Array,
                 max_iter: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Binary LogisticRegression(C).fit on the rows with weight 1 (C=inf: no penalty):
    (coef (d,), intercept)."""
    m = w.sum()
    l2 = jnp.where(jnp.isinf(C), 0.0, 1.0 / (C * m))
    target = (y == 1).astype(x.dtype)[:, None]
    coef, intercept, _, _ = logistic_lbfgs(x, target, w / m, l2, jnp.asarray(1.0, x.dtype),
                                           tol, max_iter)
    return coef[0], intercept[0]


def standardize(x: jax.Array, pool: jax.Array) -> jax.Array:
    """Features centred and scaled by the statistics of the pool rows (weights 0/1)."""
    mean = (pool @ x) / pool.sum()
    sd = jnp.sqrt((pool @ (x - mean) ** 2) / pool.sum())
    return (x - mean) / jnp.where(sd > 0, sd, 1.0)


def _error(pred: jax.Array, y: jax.Array, test: jax.Array) -> jax.Array:
    return jnp.sum((pred != y) * test) / jnp.sum(test)


@functools.partial(jax.jit, static_argnames=("nb_kind", "n_classes", "test_fraction",
                                             "min_per_class", "standardize_lr"),
                   compiler_options=NATIVE_FUSIONS)
def split_errors(keys: jax.Array, x: jax.Array, y: jax.Array, sizes: jax.Array,
                 nb_param: jax.Array, lr_C: jax.Array, lr_tol: jax.Array,
                 lr_max_iter: jax.Array, *, nb_kind: str, n_classes: int = 2,
                 test_fraction: float = 0.3, min_per_class: int = 2,
                 standardize_lr: bool = True) -> tuple[jax.Array, jax.Array]:
    """Test errors of naive Bayes (n_splits, n_sizes) and of logistic regression for every C
    (n_splits, n_C, n_sizes), one split per key. nb_param: var_smoothing (Gaussian) or alpha
    (Bernoulli). Call under gdm.utils.validation.x64 for scikit-learn's float64 numbers."""
    nb_fit, nb_scores = NB_FITS[nb_kind]

    def one_split(key):
        train, test = split_masks(key, y, sizes, n_classes, test_fraction, min_per_class)
        train, test = train.astype(x.dtype), test.astype(x.dtype)

        def nb_error(w):
            return _error(jnp.argmax(nb_scores(x, nb_fit(x, y, w, n_classes, nb_param)), 1),
                          y, test)

        xl = standardize(x, 1.0 - test) if standardize_lr else x

        def lr_error(w, C):
            coef, intercept = fit_logistic(xl, y, w, C, lr_tol, lr_max_iter)
            return _error((xl @ coef + intercept > 0).astype(y.dtype), y, test)

        lr = jax.vmap(lambda C: jax.vmap(lambda w: lr_error(w, C))(train))(lr_C)
        return jax.vmap(nb_error)(train), lr

    return jax.vmap(one_split)(keys)
