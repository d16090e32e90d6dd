"""gdm.hmm compiles once per (emission model, bucketed shape): values that do not change shapes
(tolerances, iteration counts, priors, seeds, the params / init_params letters) and new data of
the same bucketed shape reuse the compiled programs. Counted with gdm.utils.cache's
CompileCounter, which sees every program JAX lowers."""

from __future__ import annotations

import numpy as np
import pytest

from gdm import hmm
from gdm.utils.cache import CompileCounter

LENGTHS = np.array([50, 31, 44])
OTHER_LENGTHS = np.array([47, 40, 20, 12])   # another data set in the same buckets


def _data(categorical: bool, lengths: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(lengths.sum())
    if categorical:
        return rng.integers(0, 4, size=(n, 1))
    return rng.normal(size=(n, 2)) + np.repeat(rng.normal(size=(len(lengths), 2)), lengths, 0)


GAUSSIAN_CHANGES = [
    {"tol": 0.5}, {"n_iter": 4}, {"min_covar": 0.1}, {"random_state": 7},
    {"startprob_prior": 2.0, "transmat_prior": 1.5}, {"means_prior": 0.5, "means_weight": 0.1},
    {"covars_prior": 0.1, "covars_weight": 3}, {"params": "stm"}, {"params": "c"},
    {"init_params": "st"}, {"implementation": "scaling"},
]
CATEGORICAL_CHANGES = [
    {"tol": 0.5}, {"n_iter": 4}, {"random_state": 7}, {"emissionprob_prior": 1.5},
    {"startprob_prior": 2.0}, {"params": "st"}, {"params": "e"}, {"init_params": "t"},
]
CASES = ([("diag", change) for change in GAUSSIAN_CHANGES]
         + [("full", {"params": "st", "covars_prior": 0.5})]
         + [("categorical", change) for change in CATEGORICAL_CHANGES])


def _model(kind: str):
    if kind == "categorical":
        return hmm.CategoricalHMM(3, n_features=4, n_iter=2, random_state=0)
    return hmm.GaussianHMM(3, covariance_type=kind, n_iter=2, random_state=0)


@pytest.mark.parametrize("kind, change", CASES)
def test_refit_with_other_values_compiles_nothing(kind, change):
    """A second fit that changes only values which keep every shape compiles 0 programs, and
    still changes the result (so the value did reach the computation)."""
    X = _data(kind == "categorical", LENGTHS, 0)
    model = _model(kind).fit(X, LENGTHS)
    before = model.transmat_.copy(), model.monitor_.iter
    with CompileCounter() as counter:
        model.set_params(**change).fit(X, LENGTHS)
    assert counter.count == 0, change
    if not set(change) & {"tol", "implementation"}:
        assert (model.monitor_.iter != before[1]
                or not np.array_equal(model.transmat_, before[0])), change


@pytest.mark.parametrize("kind", ["diag", "full", "categorical"])
def test_inference_on_new_data_of_a_bucketed_shape_compiles_nothing(kind):
    """After one round of score / score_samples / decode (Viterbi and MAP) / sample, the same
    calls on another data set whose padded shape is the same, and sample with another seed
    and size in the same bucket, compile 0 programs."""
    categorical = kind == "categorical"
    model = _model(kind).fit(_data(categorical, LENGTHS, 0), LENGTHS)

    def calls(X, lengths, seed, n_samples):
        model.score(X, lengths)
        model.score_samples(X, lengths)
        model.decode(X, lengths)
        model.decode(X, lengths, algorithm="map")
        model.sample(n_samples, random_state=seed)

    calls(_data(categorical, LENGTHS, 1), LENGTHS, 0, 20)
    with CompileCounter() as counter:
        calls(_data(categorical, OTHER_LENGTHS, 2), OTHER_LENGTHS, 5, 17)
    assert counter.count == 0


def test_a_new_shape_does_compile():
    """The counter sees compilations: a data set past the step bucket needs new programs."""
    model = _model("diag").fit(_data(False, LENGTHS, 0), LENGTHS)
    longer = np.array([500])
    with CompileCounter() as counter:
        model.score(_data(False, longer, 3), longer)
    assert counter.count > 0
