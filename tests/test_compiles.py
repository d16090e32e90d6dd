"""Hyperparameters that do not change shapes compile nothing new; the compilation cache is
shared between processes.

JAX compiles one program per shape and static argument. A second fit that changes only such
values (C, gamma, tol, alpha, var_smoothing, class_weight, ...), and every fold of a 5-fold
cross-validation after the first, must reuse the programs of the first fit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, cross_val_score

from gdm.linear_model import LogisticRegression
from gdm.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
from gdm.neighbors import KNeighborsClassifier
from gdm.svm import SVC, SVR
from gdm.utils.cache import CompileCounter

# (estimator, first parameters, second parameters, programs a first fit + predict may compile)
CASES = [
    (SVC, dict(C=1.0, gamma=0.02), dict(C=5.0, gamma=0.05, tol=1e-2), 12),
    (SVC, dict(C=1.0), dict(C=2.0, class_weight="balanced"), 12),
    (SVR, dict(C=1.0, gamma=0.02), dict(C=3.0, gamma=0.05, epsilon=0.2), 10),
    (LogisticRegression, dict(C=1.0), dict(C=0.1, tol=1e-3, class_weight="balanced"), 4),
    (KNeighborsClassifier, dict(n_neighbors=3), dict(n_neighbors=3, weights="distance"), 12),
    (GaussianNB, dict(), dict(var_smoothing=1e-5), 6),
    (MultinomialNB, dict(), dict(alpha=0.3), 4),
    (BernoulliNB, dict(), dict(alpha=0.3, binarize=0.3), 4),
]
IDS = [f"{cls.__name__}-{sorted(second)}" for cls, _, second, _ in CASES]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _target(cls, y):
    return y.astype(np.float64) if cls is SVR else y


@pytest.mark.parametrize("cls, first, second, bound", CASES, ids=IDS)
def test_second_fit_with_new_values_compiles_nothing(cls, first, second, bound, digits):
    X, y = digits
    y = _target(cls, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with CompileCounter() as c1:
            before = cls(**first).fit(X, y).predict(X)
        with CompileCounter() as c2:
            after = cls(**second).fit(X, y).predict(X)
    assert c1.count <= bound
    assert c2.count == 0
    model = cls(**second).fit(X, y)
    assert model.get_params()[next(iter(second))] == second[next(iter(second))]
    assert before.shape == after.shape


@pytest.mark.parametrize("cls, first, second, bound", CASES, ids=IDS)
def test_cross_validation_compiles_nothing_after_its_first_fold(cls, first, second, bound,
                                                                digits):
    X, y = digits
    y = _target(cls, y)
    folds = KFold(5, shuffle=True, random_state=0)
    train, test = next(folds.split(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = cls(**first).fit(X[train], y[train])
        model.score(X[test], y[test])  # the first fold: its programs compile here
        with CompileCounter() as counter:
            scores = cross_val_score(cls(**first), X, y, cv=folds)
    assert counter.count == 0
    assert scores.shape == (5,) and np.all(np.isfinite(scores))


def test_counter_sees_a_new_shape(digits):
    X, y = digits
    GaussianNB().fit(X, y).predict(X)
    with CompileCounter() as counter:
        GaussianNB().fit(X[:, :17], y).predict(X[:, :17])  # another feature count
    assert counter.count > 0


_CACHE_PROBE = """
import json, jax
hits = []
jax.monitoring.register_event_listener(
    lambda event, **kw: hits.append(event) if "cache_hits" in event else None)
import numpy as np
from gdm.linear_model import LogisticRegression
X = np.random.default_rng(0).normal(size=(64, 5)); y = (X[:, 0] > 0).astype(int)
LogisticRegression().fit(X, y).predict(X)
print(json.dumps({"dir": jax.config.jax_compilation_cache_dir, "hits": len(hits)}))
"""


def _probe(cache: str) -> dict:
    env = {**os.environ, "GDM_COMPILATION_CACHE": cache}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", _CACHE_PROBE], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_second_process_reads_the_persistent_cache(tmp_path):
    first = _probe(str(tmp_path))
    assert first["dir"] == str(tmp_path) and first["hits"] == 0 and any(tmp_path.iterdir())
    second = _probe(str(tmp_path))
    assert second["hits"] > 0
    assert _probe("0")["dir"] is None
