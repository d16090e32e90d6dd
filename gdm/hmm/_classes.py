"""Hidden Markov models with hmmlearn's API, computed in JAX.

`GaussianHMM` (covariance_type "spherical", "diag", "full", "tied") and `CategoricalHMM` take
hmmlearn 0.3.3's parameters and give its results: `fit(X, lengths)` by Baum-Welch EM, `score`,
`score_samples`, `predict_proba`, `decode` / `predict` (Viterbi or "map"), `sample`, and the
fitted `startprob_`, `transmat_`, `means_`, `covars_`, `emissionprob_`, `monitor_`. Sequences
are concatenated in X with their `lengths`, as in hmmlearn.

Inside, forward-backward and Viterbi are `lax.scan`s over time, vectorized over sequences
(padded to size buckets and masked), in float64; see `gdm.hmm`. Sequences are processed in
chunks whose working set (about 64 bytes x padded length x n_components per sequence) stays
within `chunk_memory_mb` (default 256; an addition to hmmlearn's parameters); EM sums the
expected counts over chunks, so results do not depend on it. One sequence is never split.
On CPU, chunks also hold at most 120 sequences, Viterbi's 96 (XLA:CPU's cost per sequence
grows beyond; see `gdm.hmm._plan`) and run on `n_jobs` threads at once (gdm's other
addition; scikit-learn's convention, default -1: all cores), since XLA:CPU runs each time
loop on one core. For inference the sequences are split into at least n_jobs chunks (100
sequences on 2 cores: two); EM runs on threads only the chunks that chunk_memory_mb and the
120-sequence limit make, so that its sums over sequences round the same way. Results are
identical for every n_jobs.

Differences from hmmlearn, all deliberate:
- `GaussianHMM.covars_` is always (n_components, n_features, n_features) (hmmlearn's
  spherical getter returns a wrongly shaped array); set it in the compact shape of the
  covariance type, as in hmmlearn.
- Sufficient statistics for means are always collected, so params="stc" updates covariances
  around the current means (hmmlearn 0.3.3 divides by zero counts there).
- `CategoricalHMM` keeps the constructor's `n_features` untouched (scikit-learn forbids fit
  changing parameters) and stores the symbol count in `n_features_`.
- `sample` draws with jax.random: deterministic for a seed, but not hmmlearn's numbers.
- `implementation`: both values first run the scaled recursions (probabilities normalized at
  every step, frames divided by their per-frame maximum: no exp/log inside the time loop).
  Those can only underflow when every reachable state's emission is ~700 nats below the best
  state's; then "log" (the default, as in hmmlearn) reruns the call with the log-space
  (logsumexp) recursions, so it always returns log-space forward-backward's results, and
  "scaling" raises a ValueError, as hmmlearn's scaling implementation does.

scikit-learn's `check_estimator` (tests/test_hmm.py runs it):
- applies as is: cloning, repr, get/set_params, tags, no attributes set in __init__,
  NotFittedError before fit, empty / complex / sparse input rejected;
- the checks that fit call `fit(X, y)`, and hmmlearn's second argument is `lengths`, which a
  target vector does not satisfy (ValueError). Through a view that only names that argument
  `y` (one sequence), all of them pass: fit returns self, leaves parameters alone, is
  idempotent, sets n_features_in_, rejects NaN/inf, takes every dtype, memmaps, F-order,
  pickles, pipelines;
- cannot apply: sample-order and subset invariance (an HMM's posteriors depend on the
  neighbouring samples; hmmlearn's score_samples returns (log-likelihood, posteriors)).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn import cluster
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from gdm.hmm._base import PRIOR_CONSTRAINT, BaseHMM, ConvergenceMonitor, check_probabilities
from gdm.hmm._emissions import GAUSSIAN_KINDS
from gdm.utils.validation import store_init_params

__all__ = ["CategoricalHMM", "ConvergenceMonitor", "GaussianHMM"]


def _full_covars(covars: np.ndarray, covariance_type: str, n_components: int,
                 n_features: int) -> np.ndarray:
    """Compact covariances -> (n_components, n_features, n_features)."""
    if covariance_type == "full":
        return covars
    if covariance_type == "tied":
        return np.tile(covars, (n_components, 1, 1))
    if covariance_type == "spherical":
        covars = np.broadcast_to(np.asarray(covars)[:, None], (n_components, n_features))
    return np.einsum("kd,de->kde", covars, np.eye(n_features))


def _check_covars(covars: np.ndarray, covariance_type: str, n_components: int,
                  n_features: int | None) -> np.ndarray:
    """hmmlearn's covariance checks: shapes of the compact form, positivity, SPD matrices."""
    covars = np.array(covars, dtype=np.float64, copy=True)
    d = n_features
    shapes = {"spherical": (n_components,), "diag": (n_components, d),
              "full": (n_components, d, d), "tied": (d, d)}
    if covariance_type not in shapes:
        raise ValueError(f"covariance_type must be one of {GAUSSIAN_KINDS}, got "
                         f"{covariance_type!r}")
    expected = shapes[covariance_type]
    if d is None:   # no means yet: check the rank only
        expected = tuple(covars.shape[i] if s is None else s for i, s in enumerate(expected))
    if covars.shape != expected:
        raise ValueError(f"{covariance_type!r} covars must have shape {expected}, got "
                         f"{covars.shape}")
    if not np.all(np.isfinite(covars)):
        raise ValueError("covars must be finite")
    if covariance_type in ("spherical", "diag"):
        if np.any(covars <= 0):
            raise ValueError(f"{covariance_type!r} covars must be positive")
    else:
        mats = covars.reshape((-1,) + covars.shape[-2:])
        symmetric = np.allclose(mats, np.swapaxes(mats, 1, 2))
        if not symmetric or np.any(np.linalg.eigvalsh(mats) <= 0):
            raise ValueError(f"{covariance_type!r} covars must be symmetric, positive-definite")
    return covars


class GaussianHMM(BaseHMM):
    """HMM with Gaussian emissions (hmmlearn.hmm.GaussianHMM's parameters and attributes).

    Parameters: n_components, covariance_type ("spherical", "diag", "full", "tied"),
    min_covar (added to the initial covariance), Dirichlet priors startprob_prior and
    transmat_prior, Normal / inverse-gamma(Wishart) priors means_prior, means_weight,
    covars_prior, covars_weight, algorithm ("viterbi" or "map"), random_state, n_iter, tol,
    verbose, params and init_params (letters s t m c), implementation, and gdm's
    chunk_memory_mb (working memory of the sequences processed at once) and n_jobs (CPU
    threads), see the module doc.
    """

    _emission_letters = "mc"
    _parameter_constraints: dict = {
        **BaseHMM._parameter_constraints,
        "covariance_type": [StrOptions(set(GAUSSIAN_KINDS))],
        "min_covar": [Interval(Real, 0, None, closed="left")],
        "means_prior": PRIOR_CONSTRAINT, "means_weight": PRIOR_CONSTRAINT,
        "covars_prior": PRIOR_CONSTRAINT, "covars_weight": PRIOR_CONSTRAINT,
    }

    def __init__(self, n_components: int = 1, covariance_type: str = "diag",
                 min_covar: float = 1e-3, startprob_prior=1.0, transmat_prior=1.0,
                 means_prior=0, means_weight=0, covars_prior=1e-2, covars_weight=1,
                 algorithm: str = "viterbi", random_state=None, n_iter: int = 10,
                 tol: float = 1e-2, verbose: bool = False, params: str = "stmc",
                 init_params: str = "stmc", implementation: str = "log",
                 chunk_memory_mb: float = 256, n_jobs: int | None = -1):
        store_init_params(self, locals())

    @property
    def _kind(self) -> str:
        return self.covariance_type

    @property
    def n_features(self) -> int:
        """Dimension of the emissions (hmmlearn's attribute), from means_."""
        if not hasattr(self, "means_"):
            raise AttributeError("n_features is known once means_ is set or the model fitted")
        return np.shape(self.means_)[1]

    @property
    def covars_(self) -> np.ndarray:
        """Covariance matrices, (n_components, n_features, n_features) for every type."""
        return _full_covars(self._covars_, self.covariance_type, self.n_components,
                            self.n_features)

    @covars_.setter
    def covars_(self, covars) -> None:
        n_features = np.shape(self.means_)[1] if hasattr(self, "means_") else None
        self._covars_ = _check_covars(covars, self.covariance_type, self.n_components,
                                      n_features)

    def _validate_X(self, X, reset: bool) -> np.ndarray:
        X = validate_data(self, X, reset=reset, dtype=np.float64)
        if not reset and hasattr(self, "means_") and X.shape[1] != np.shape(self.means_)[1]:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {np.shape(self.means_)[1]} features (means_)")
        return X

    def _init_emission(self, X: np.ndarray) -> None:
        n, k = X.shape[0], self.n_components
        if self._needs_init("m", "means_") and n < k:
            raise ValueError(f"n_samples={n} should be >= n_components={k} for the k-means "
                             f"initialization of means_")
        if self._needs_init("c", "_covars_") and n < 2:
            raise ValueError(f"n_samples={n}: at least 2 samples are needed to initialize "
                             f"covars_ from the data covariance")
        if self._needs_init("m", "means_"):
            kmeans = cluster.KMeans(n_clusters=self.n_components,
                                    random_state=self.random_state, n_init=10)
            self.means_ = kmeans.fit(X).cluster_centers_
        if self._needs_init("c", "_covars_"):
            cv = np.atleast_2d(np.cov(X.T)) + self.min_covar * np.eye(X.shape[1])
            k = self.n_components
            self._covars_ = {"spherical": np.full(k, cv.mean()),
                             "diag": np.tile(np.diag(cv), (k, 1)),
                             "full": np.tile(cv, (k, 1, 1)), "tied": cv}[self.covariance_type]

    def _checked_emission(self) -> dict:
        means = np.asarray(self.means_, dtype=np.float64)
        if means.ndim != 2 or means.shape[0] != self.n_components:
            raise ValueError(f"means_ must have shape (n_components, n_features), got "
                             f"{means.shape}")
        if hasattr(self, "n_features_in_") and means.shape[1] != self.n_features_in_:
            raise ValueError(f"means_ has {means.shape[1]} features, X has "
                             f"{self.n_features_in_}")
        if not hasattr(self, "_covars_"):
            raise ValueError("covars_ must be set when 'c' is not in init_params")
        covars = _check_covars(self._covars_, self.covariance_type, self.n_components,
                               means.shape[1])
        return {"means": means, "covars": covars}

    def _set_emission(self, emission: dict) -> None:
        self.means_ = emission["means"]
        self._covars_ = emission["covars"]

    def _emission_priors(self, emission: dict) -> dict:
        return {"means_prior": self.means_prior, "means_weight": self.means_weight,
                "covars_prior": self.covars_prior, "covars_weight": self.covars_weight}

    def _n_emission_scalars(self) -> dict[str, int]:
        k, d = self.n_components, self.n_features
        return {"m": k * d, "c": {"spherical": k, "diag": k * d, "full": k * d * (d + 1) // 2,
                                  "tied": d * (d + 1) // 2}[self.covariance_type]}


class CategoricalHMM(BaseHMM):
    """HMM with categorical emissions over symbols 0..n_features-1; X is (n_samples, 1) ints.

    Parameters as hmmlearn.hmm.CategoricalHMM: n_components, startprob_prior, transmat_prior,
    emissionprob_prior, n_features (inferred from the data when None), algorithm,
    random_state, n_iter, tol, verbose, params and init_params (letters s t e),
    implementation, and gdm's chunk_memory_mb and n_jobs (see the module doc).
    """

    _emission_letters = "e"
    _kind = "categorical"
    _parameter_constraints: dict = {
        **BaseHMM._parameter_constraints,
        "emissionprob_prior": PRIOR_CONSTRAINT,
        "n_features": [None, Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, n_components: int = 1, startprob_prior=1.0, transmat_prior=1.0, *,
                 emissionprob_prior=1.0, n_features: int | None = None,
                 algorithm: str = "viterbi", random_state=None, n_iter: int = 10,
                 tol: float = 1e-2, verbose: bool = False, params: str = "ste",
                 init_params: str = "ste", implementation: str = "log",
                 chunk_memory_mb: float = 256, n_jobs: int | None = -1):
        store_init_params(self, locals())

    def _symbol_count(self) -> int | None:
        if hasattr(self, "emissionprob_"):
            return np.shape(self.emissionprob_)[1]
        return self.n_features

    def _validate_X(self, X, reset: bool) -> np.ndarray:
        X = validate_data(self, X, reset=reset, dtype=None)
        if X.shape[1] != 1:
            raise ValueError(f"CategoricalHMM expects X of shape (n_samples, 1) holding "
                             f"symbols, got {X.shape}")
        if not np.issubdtype(X.dtype, np.integer):
            if not (np.issubdtype(X.dtype, np.floating) and np.all(np.mod(X, 1) == 0)):
                raise ValueError(f"Symbols should be integers, got dtype {X.dtype}")
        symbols = X[:, 0]
        lowest, highest = int(symbols.min()), int(symbols.max())
        if lowest < 0:
            raise ValueError("Symbols should be nonnegative")
        if not reset:
            count = self._symbol_count()
        elif self.n_features is not None:
            count = self.n_features
        elif hasattr(self, "emissionprob_") and "e" not in self.init_params:
            count = np.shape(self.emissionprob_)[1]
        else:
            count = None
        if count is not None and highest >= count:
            raise ValueError(f"Largest symbol is {highest} but the model only emits "
                             f"symbols up to {count - 1}")
        if reset:
            self.n_features_ = highest + 1 if count is None else int(count)
        return symbols

    def _init_emission(self, X: np.ndarray) -> None:
        if self._needs_init("e", "emissionprob_"):
            prob = check_random_state(self.random_state).rand(self.n_components,
                                                              self.n_features_)
            self.emissionprob_ = prob / prob.sum(axis=1, keepdims=True)

    def _checked_emission(self) -> dict:
        prob = np.atleast_2d(np.asarray(self.emissionprob_, dtype=np.float64))
        count = getattr(self, "n_features_", None) or self.n_features or prob.shape[1]
        return {"emissionprob": check_probabilities("emissionprob_", prob,
                                                    (self.n_components, count))}

    def _set_emission(self, emission: dict) -> None:
        self.emissionprob_ = emission["emissionprob"]

    def _emission_priors(self, emission: dict) -> dict:
        shape = np.shape(emission["emissionprob"])
        return {"emissionprob_prior": np.broadcast_to(
            np.asarray(self.emissionprob_prior, np.float64), shape)}

    def _n_emission_scalars(self) -> dict[str, int]:
        return {"e": self.n_components * (np.shape(self.emissionprob_)[1] - 1)}
