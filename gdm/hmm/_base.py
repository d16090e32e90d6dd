"""Shared estimator machinery for gdm.hmm: validation, initialization, the EM loop, inference.

Mirrors hmmlearn 0.3.3's `BaseHMM` (parameter names, `init_params` / `params` letters, the
convergence monitor, Dirichlet priors) while every computation runs in the compiled kernels of
`gdm.hmm._compiled`, in float64 like hmmlearn so log-likelihoods match to rounding.
"""

from __future__ import annotations

import logging
import sys
from collections import deque
from numbers import Integral, Real

import jax
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from gdm.hmm import _compiled as compiled
from gdm.hmm._plan import HMMPlan, make_plan
from gdm.hmm._sequences import check_lengths, pack, unpack
from gdm.utils.buckets import bucket_size
from gdm.utils.validation import x64

_log = logging.getLogger("gdm.hmm")
DECODER_ALGORITHMS = ("viterbi", "map")
IMPLEMENTATIONS = ("log", "scaling")


class ConvergenceMonitor:
    """EM progress: `history` of log-likelihoods, `iter`, and `converged` (hmmlearn's rule:
    n_iter reached, or the last gain below tol)."""

    _template = "{iter:>10d} {log_prob:>16.8f} {delta:>+16.8f}"

    def __init__(self, tol: float, n_iter: int, verbose: bool):
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history: deque = deque()
        self.iter = 0

    def report(self, log_prob: float) -> None:
        if self.verbose:
            delta = log_prob - self.history[-1] if self.history else np.nan
            print(self._template.format(iter=self.iter + 1, log_prob=log_prob, delta=delta),
                  file=sys.stderr)
        if self.history and log_prob - self.history[-1] < -np.sqrt(np.finfo(float).eps):
            _log.warning("Model is not converging.  Current: %s is not greater than %s.",
                         log_prob, self.history[-1])
        self.history.append(log_prob)
        self.iter += 1

    @property
    def converged(self) -> bool:
        return self.iter == self.n_iter or (
            len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol)


def check_probabilities(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    """`value` as a float64 array of `shape` whose last axis holds probabilities summing to 1
    (checked as np.allclose(sums, 1) does)."""
    arr = check_array(value, ensure_2d=False, dtype=np.float64, ensure_min_samples=0,
                      input_name=name)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    sums = arr.sum(axis=-1)
    if not np.all(np.abs(sums - 1) <= 1e-8 + 1e-5):
        raise ValueError(f"{name} must sum to 1 along its last axis (got sums {sums})")
    return arr


PRIOR_CONSTRAINT = ["array-like", Interval(Real, None, None, closed="neither")]


class BaseHMM(BaseEstimator):
    """hmmlearn-style HMM: subclasses define the emission model (`_kind`, `_emission_letters`,
    `_validate_X`, `_init_emission`, `_checked_emission`, `_set_emission`, `_emission_priors`,
    `_n_emission_scalars`) and extend `_parameter_constraints`."""

    _emission_letters = ""
    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "startprob_prior": PRIOR_CONSTRAINT,
        "transmat_prior": PRIOR_CONSTRAINT,
        "algorithm": [StrOptions(set(DECODER_ALGORITHMS))],
        "random_state": ["random_state"],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "params": [str],
        "init_params": [str],
        "implementation": [StrOptions(set(IMPLEMENTATIONS))],
        "chunk_memory_mb": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [None, Interval(Integral, None, -1, closed="right"),
                   Interval(Integral, 1, None, closed="left")],
    }

    # ----------------------------------------------------------------- validation
    def _validate_hyperparameters(self) -> None:
        """scikit-learn's parameter validation, then the letters of params / init_params."""
        self._validate_params()
        allowed = "st" + self._emission_letters
        for name in ("params", "init_params"):
            value = getattr(self, name)
            if set(value) - set(allowed):
                raise ValueError(f"{name} must be a string of letters from {allowed!r}, got "
                                 f"{value!r}")

    def _check(self) -> tuple[np.ndarray, np.ndarray, dict]:
        """Validated (startprob, transmat, emission parameters) as float64 arrays; the model's
        attributes are left untouched (scikit-learn: predicting must not change the model)."""
        k = self.n_components
        start = check_probabilities("startprob_", self.startprob_, (k,))
        trans = check_probabilities("transmat_", self.transmat_, (k, k))
        return start, trans, self._checked_emission()

    def _needs_init(self, code: str, name: str) -> bool:
        return code in self.init_params or not hasattr(self, name)

    # ----------------------------------------------------------------- fitting
    def _init(self, X: np.ndarray, lengths: np.ndarray) -> None:
        """hmmlearn's initialization, drawn from the same numpy streams so that equal seeds
        give equal starting points: Dirichlet(1/K) start and transition rows, then emissions."""
        k = self.n_components
        random_state = check_random_state(self.random_state)
        if self._needs_init("s", "startprob_"):
            self.startprob_ = random_state.dirichlet(np.full(k, 1.0 / k))
        if self._needs_init("t", "transmat_"):
            self.transmat_ = random_state.dirichlet(np.full(k, 1.0 / k), size=k)
        self._init_emission(X)
        n_scalars = sum(self._n_fit_scalars().get(p, 0) for p in set(self.params))
        if X.size < n_scalars:
            _log.warning("Fitting a model with %d free scalar parameters with only %d data "
                         "points will result in a degenerate solution.", n_scalars, X.size)

    def _n_fit_scalars(self) -> dict[str, int]:
        k = self.n_components
        return {"s": k - 1, "t": k * (k - 1), **self._n_emission_scalars()}

    def fit(self, X, lengths=None) -> BaseHMM:
        """Baum-Welch EM from hmmlearn's initialization; each iteration is one compiled call.

        X : (n_samples, n_features) array, all sequences concatenated.
        lengths : (n_sequences,) ints summing to n_samples; None means one sequence.
        """
        self._validate_hyperparameters()
        X = self._validate_X(X, reset=True)
        lengths = check_lengths(lengths, X.shape[0])
        self._init(X, lengths)
        start, trans, emission = self._check()
        plan = self._plan("fit", lengths, emission)
        block, padded_lengths = pack(X, lengths, plan)
        self.monitor_ = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)
        params = "".join(sorted(set(self.params)))
        with x64():
            priors = self._priors(emission)
            for _ in range(self.n_iter):
                step = self._run(compiled.em_step, plan, params, start, trans, emission,
                                 priors, block, padded_lengths)
                start, trans, emission, log_prob, _ = step
                self.monitor_.report(float(log_prob))
                if self.monitor_.converged:
                    break
            self.startprob_ = np.asarray(start)
            self.transmat_ = np.asarray(trans)
            self._set_emission({key: np.asarray(v) for key, v in emission.items()})
        if np.any(self.transmat_.sum(axis=1) == 0):
            _log.warning("Some rows of transmat_ have zero sum because no transition from the "
                         "state was ever observed.")
        return self

    def _run(self, kernel, *args, **kwargs):
        """Runs a forward-backward kernel with the scaled recursions, which need no exp/log in
        the time loop. If they underflow (only possible when every reachable state's emission
        is ~700 nats below the best one), implementation="log" reruns the call with the
        log-space recursions, so its results are always those of log-space forward-backward;
        implementation="scaling" raises instead, as hmmlearn's does."""
        out = kernel(*args, implementation="scaling", **kwargs)
        if bool(out[-1]):
            return out
        if self.implementation == "scaling":
            raise ValueError("forward pass failed with underflow; consider using "
                             "implementation='log' instead")
        return kernel(*args, implementation="log", **kwargs)

    def _priors(self, emission: dict) -> dict:
        k = self.n_components
        priors = {"startprob_prior": np.broadcast_to(
                      np.asarray(self.startprob_prior, np.float64), (k,)),
                  "transmat_prior": np.broadcast_to(
                      np.asarray(self.transmat_prior, np.float64), (k, k))}
        priors.update({name: np.asarray(v, np.float64)
                       for name, v in self._emission_priors(emission).items()})
        return priors

    # ----------------------------------------------------------------- inference
    def _plan(self, task: str, lengths: np.ndarray, emission: dict) -> HMMPlan:
        return make_plan(task, self._kind, lengths, self.n_components,
                         compiled.n_symbols_of(emission), self.chunk_memory_mb, self.n_jobs)

    def _prepare(self, X, lengths, task: str):
        """Validated model parameters, X packed by the call's plan, the lengths, the plan."""
        check_is_fitted(self, "startprob_")
        self._validate_hyperparameters()
        model = self._check()
        X = self._validate_X(X, reset=False)
        lengths = check_lengths(lengths, X.shape[0])
        plan = self._plan(task, lengths, model[2])
        return model, pack(X, lengths, plan), lengths, plan

    def _score(self, X, lengths, with_posteriors: bool):
        (start, trans, emission), (block, padded), lengths, plan = self._prepare(
            X, lengths, "score")
        with x64():
            log_prob, gamma, _ = self._run(compiled.score, plan, start, trans, emission,
                                           block, padded, with_posteriors)
            log_prob = _total(log_prob, lengths)
            return log_prob, (unpack(np.asarray(gamma), lengths) if with_posteriors else None)

    def score(self, X, lengths=None) -> float:
        """Log-likelihood of X (summed over its sequences) by the forward algorithm."""
        return self._score(X, lengths, with_posteriors=False)[0]

    def score_samples(self, X, lengths=None) -> tuple[float, np.ndarray]:
        """(log-likelihood of X, state posteriors (n_samples, n_components))."""
        return self._score(X, lengths, with_posteriors=True)

    def predict_proba(self, X, lengths=None) -> np.ndarray:
        """State posteriors (n_samples, n_components) by forward-backward."""
        return self._score(X, lengths, with_posteriors=True)[1]

    def decode(self, X, lengths=None, algorithm: str | None = None) -> tuple[float, np.ndarray]:
        """(log-probability, state sequence): Viterbi path, or per-frame posterior argmax for
        algorithm="map" (whose log-probability is, as in hmmlearn, the summed max posterior)."""
        algorithm = algorithm or self.algorithm
        if algorithm not in DECODER_ALGORITHMS:
            raise ValueError(f"algorithm must be one of {DECODER_ALGORITHMS}, got "
                             f"{algorithm!r}")
        if algorithm == "map":
            _, gamma = self._score(X, lengths, with_posteriors=True)
            return float(gamma.max(axis=1).sum()), gamma.argmax(axis=1)
        (start, trans, emission), (block, padded), lengths, plan = self._prepare(
            X, lengths, "decode")
        with x64():
            path, log_prob = compiled.decode(plan, start, trans, emission, block, padded)
            path = unpack(np.asarray(path), lengths, np.int64)
            return _total(log_prob, lengths), path

    def predict(self, X, lengths=None) -> np.ndarray:
        """Most likely state of each sample (decoder `algorithm`, Viterbi by default)."""
        return self.decode(X, lengths)[1]

    def sample(self, n_samples: int = 1, random_state=None, currstate: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(X (n_samples, n_features), states (n_samples,)): a pure function of random_state.

        random_state: int seed, numpy RandomState (a seed is drawn from it) or None (use
        self.random_state). Draws use jax.random, so they differ from hmmlearn's draws.
        """
        check_is_fitted(self, "startprob_")
        start, trans, emission = self._check()
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        if currstate is not None and not 0 <= currstate < self.n_components:
            raise ValueError(f"currstate must be in [0, {self.n_components}), got {currstate}")
        seed = self.random_state if random_state is None else random_state
        if seed is None or isinstance(seed, np.random.RandomState):
            seed = check_random_state(seed).randint(np.iinfo(np.int32).max)
        size = bucket_size(int(n_samples))
        with x64():
            first = -1 if currstate is None else int(currstate)
            X, states = compiled.sample(self._kind, start, trans, emission,
                                        jax.random.key(int(seed)), first, size)
            return np.asarray(X)[:n_samples], np.asarray(states)[:n_samples].astype(np.int64)

    # ----------------------------------------------------------------- model selection
    def get_stationary_distribution(self) -> np.ndarray:
        """Left eigenvector of transmat_ for eigenvalue 1, normalized."""
        check_is_fitted(self, "transmat_")
        eigvals, eigvecs = np.linalg.eig(self.transmat_.T)
        vec = np.real_if_close(eigvecs[:, np.argmax(eigvals.real)])
        return vec / vec.sum()

    def aic(self, X, lengths=None) -> float:
        """Akaike information criterion of the fitted parameters on X."""
        n_params = sum(self._n_fit_scalars().get(p, 0) for p in set(self.params))
        return -2 * self.score(X, lengths) + 2 * n_params

    def bic(self, X, lengths=None) -> float:
        """Bayesian information criterion of the fitted parameters on X."""
        n_params = sum(self._n_fit_scalars().get(p, 0) for p in set(self.params))
        return -2 * self.score(X, lengths) + n_params * np.log(len(X))


def _total(per_sequence, lengths: np.ndarray) -> float:
    """Sum of per-sequence values packed as (n_chunks, chunk): the real sequences come first in
    the flat order, so the sum is the same for every chunking (thread count)."""
    return float(np.asarray(per_sequence).reshape(-1)[:len(lengths)].sum())
