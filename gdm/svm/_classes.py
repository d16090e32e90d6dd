"""SVC and SVR: scikit-learn's estimators with the libsvm dual solved in JAX."""

from __future__ import annotations

from numbers import Real
from typing import NamedTuple

import numpy as np
from jax.sharding import Mesh
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from gdm.svm import _platt
from gdm.svm._base import MIN_ROWS, BaseLibSVM
from gdm.utils.buckets import bucket_size, pad_to
from gdm.utils.devices import padded_to_devices
from gdm.utils.validation import x64

N_PROBABILITY_FOLDS = 5  # libsvm's internal cross-validation for Platt scaling


def ovo_layout(class_of_slot, counts, n, n_rows):
    """Variables of every one-vs-one pair over class-sorted slots.

    Returns (slot, valid, y, starts, L, n_cols, first, second). Two classes: one problem over
    all slots. More: pair (a, b) is segment [start_a, start_a + L) then [start_b, start_b + L)
    with L the bucketed largest class; the kernel gets a few zero columns past the slots so
    that every segment is a full-width slice.
    """
    k = len(counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    first, second = np.triu_indices(k, 1)
    if k == 2:
        slot = np.arange(n_rows)[None]
        valid = slot < n
        y = np.where(pad_to(class_of_slot, n_rows)[None] == 0, 1.0, -1.0) * valid
        return slot, valid, y, np.zeros((1, 1), np.int64), n_rows, n_rows, first, second
    L = int(counts.max())
    L = bucket_size(L, MIN_ROWS // 2) if L <= 512 else -(-L // 128) * 128
    t = np.arange(L)
    slot = np.concatenate([starts[first][:, None] + t, starts[second][:, None] + t], axis=1)
    valid = np.concatenate([t < counts[first][:, None], t < counts[second][:, None]], axis=1)
    y = np.concatenate([np.ones((len(first), L)), -np.ones((len(first), L))], axis=1) * valid
    seg = np.stack([starts[first], starts[second]], axis=1)
    # Columns past the slots, so the last class's segment is a full-width slice.
    overhang = int(np.max(starts + L)) - n_rows
    n_cols = n_rows + (bucket_size(overhang, 8) if overhang > 0 else 0)
    return slot, valid, y, seg, L, n_cols, first, second


class PairLayout(NamedTuple):
    """A fit's one-vs-one problems over class-sorted slots (`ovo_layout`)."""

    order: np.ndarray  # the samples in slot order (sorted by class, stable)
    class_of_slot: np.ndarray
    counts: np.ndarray  # samples per class
    slot: np.ndarray  # (P, m) each pair variable's slot
    valid: np.ndarray  # (P, m) the variable is a sample (not padding)
    yv: np.ndarray  # (P, m) labels +-1, 0 on padding
    seg: np.ndarray  # (P, 2) segment starts
    L: int
    n_rows: int
    n_cols: int
    first: np.ndarray  # (P,) the pairs' classes
    second: np.ndarray


def pair_layout(y_enc: np.ndarray, k: int, mesh: Mesh) -> PairLayout:
    """The one-vs-one problems of encoded labels y_enc over k classes, rows bucketed and
    padded to a multiple of the mesh's device count (padding rows are never variables)."""
    n = len(y_enc)
    order = np.argsort(y_enc, kind="stable")
    class_of_slot = y_enc[order]
    counts = np.bincount(class_of_slot, minlength=k)
    n_rows = padded_to_devices(bucket_size(n, MIN_ROWS), mesh)
    slot, valid, yv, seg, L, n_cols, first, second = ovo_layout(class_of_slot, counts, n, n_rows)
    return PairLayout(order, class_of_slot, counts, slot, valid, yv, seg, L, n_rows, n_cols,
                      first, second)


def ovr_decision_function(dec, k, first, second):
    """scikit-learn's _ovr_decision_function(dec < 0, -dec, k) without loops over pairs."""
    E1 = np.eye(k)[first]
    E2 = np.eye(k)[second]
    votes = (dec > 0) @ E1 + (dec <= 0) @ E2
    conf = dec @ E1 - dec @ E2
    return votes + conf / (3 * (np.abs(conf) + 1))


class SVC(ClassifierMixin, BaseLibSVM):
    """C-support vector classification (libsvm's C-SVC), solved in JAX.

    Same parameters, fitted attributes and results as sklearn.svm.SVC (one-vs-one pairs,
    libsvm's intercept, ovr shape derived from ovo votes), with all pairs, and with
    `probability=True` all cross-validation fits, solved together in one compiled call.
    `probability` is kept (scikit-learn 1.9 deprecates it) for Platt-scaled
    `predict_proba`; `probA_`/`probB_` hold the per-pair sigmoids. See BaseLibSVM for the extra
    parameters. `dual_objective_` holds each pair's dual objective.
    """

    _parameter_constraints: dict = {
        **BaseLibSVM._parameter_constraints,
        "probability": ["boolean"],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "decision_function_shape": [StrOptions({"ovo", "ovr"})],
        "break_ties": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, *, C=1.0, kernel="rbf", degree=3, gamma="scale", coef0=0.0,
                 probability=False, tol=1e-3, cache_size=1024, class_weight=None, max_iter=-1,
                 decision_function_shape="ovr", break_ties=False, random_state=None,
                 working_set_size=4096, predict_chunk=2048, dtype="float32", n_devices=None):
        self.C = C
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.probability = probability
        self.tol = tol
        self.cache_size = cache_size
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.decision_function_shape = decision_function_shape
        self.break_ties = break_ties
        self.random_state = random_state
        self.working_set_size = working_set_size
        self.predict_chunk = predict_chunk
        self.dtype = dtype
        self.n_devices = n_devices

    def fit(self, X, y, sample_weight=None) -> SVC:
        """Fits all one-vs-one machines (and the Platt folds) in one solver call."""
        X, y_enc, sample_weight = self._check_fit(X, y, sample_weight)
        lay = pair_layout(y_enc, len(self.classes_), self._mesh())
        y_all, c_all, starts, held = self._fit_problems(lay, sample_weight)
        with x64(self.dtype == "float64"):
            sol = self._fit_solve(X, lay.order, lay.n_rows, lay.n_cols, y_all,
                                  -(y_all != 0).astype(float), c_all, starts, lay.L)
            if self.probability:
                self._fit_platt(sol, lay.yv, lay.valid, held, len(lay.first))
            else:
                self.probA_ = self.probB_ = np.empty(0)
        self._store_solution(X, sol, lay)
        self.shape_fit_ = X.shape if hasattr(X, "shape") else (len(y_enc),)
        return self

    def _check_fit(self, X, y, sample_weight):
        """Validated (X, encoded y, sample_weight); sets classes_, class_weight_ and the
        resolved gamma."""
        self._validate_params()
        X, y = self._validate_fit_input(X, y, y_numeric=False)
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        self.class_weight_ = compute_class_weight(self.class_weight, classes=classes, y=y)
        if len(classes) < 2:
            raise ValueError("The number of classes has to be greater than one; got "
                             f"{len(classes)} class")
        self.classes_ = classes
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        self._gamma = self._resolve_gamma(X)
        return X, y_enc, sample_weight

    def _fit_problems(self, lay: PairLayout, sample_weight: np.ndarray):
        """The solver's batch (labels, upper bounds, segment starts): the pairs' problems,
        then with probability=True those of each Platt fold, whose held-out variables get
        C = 0; and the held-out mask (None without probability)."""
        c_slot = pad_to(np.maximum(self.C * self.class_weight_[lay.class_of_slot]
                                   * sample_weight[lay.order], 0), lay.n_cols)
        c_var = np.where(lay.valid, c_slot[lay.slot], 0.0)
        ys, cs, segs, held = [lay.yv], [c_var], [lay.seg], None
        if self.probability:
            fold = self._folds(lay.class_of_slot, lay.counts, lay.n_cols)
            held = fold[lay.slot][None] == np.arange(N_PROBABILITY_FOLDS)[:, None, None]
            ys.append(np.tile(lay.yv, (N_PROBABILITY_FOLDS, 1)))
            cs.append(np.where(held, 0.0, c_var[None]).reshape(-1, c_var.shape[1]))
            segs.append(np.tile(lay.seg, (N_PROBABILITY_FOLDS, 1)))
        return np.concatenate(ys), np.concatenate(cs), np.concatenate(segs), held

    def _store_solution(self, X, sol, lay: PairLayout) -> None:
        """The fitted attributes from the pairs' solutions: support vectors (samples with a
        nonzero coefficient in some pair), their coefficients and the intercepts."""
        self._set_status(sol)
        n_pairs, n = len(lay.first), len(lay.order)
        alpha = sol.alpha[:n_pairs]
        beta = np.zeros((n_pairs, lay.n_cols))
        np.add.at(beta, (np.arange(n_pairs)[:, None], lay.slot), lay.yv * alpha)
        sv_slots = np.flatnonzero(np.any(beta[:, :n] != 0, axis=0))
        self._store_support(X, lay.order[sv_slots])
        self.n_support_ = np.bincount(lay.class_of_slot[sv_slots],
                                      minlength=len(self.classes_)).astype(np.int32)
        self._sv_coef = beta[:, sv_slots].T
        self._rho = sol.rho[:n_pairs]
        self._first, self._second = lay.first, lay.second
        self.dual_objective_ = sol.objective[:n_pairs]
        self.n_iter_ = sol.steps[:n_pairs].astype(np.int32)
        self.n_outer_iter_ = int(sol.outer)
        self.dual_coef_, self.intercept_ = self._libsvm_coef(lay.class_of_slot[sv_slots])
        if not (np.isfinite(self.intercept_).all() and np.isfinite(self.dual_coef_).all()):
            raise ValueError("The dual coefficients or intercepts are not finite. The input "
                             "data may contain large values and need to be preprocessed.")

    def _libsvm_coef(self, sv_class: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dual_coef_, intercept_) in libsvm's layout: binary, one row; multiclass, row
        b - 1 (a) holds a support vector of class a (b)'s coefficient in pair (a, b)."""
        k = len(self.classes_)
        if k == 2:
            return -self._sv_coef.T, self._rho.copy()
        cls = sv_class[None, :]
        a, b = self._first[:, None], self._second[:, None]
        member = (cls == a) | (cls == b)
        row = np.where(cls == a, b - 1, a)
        col = np.broadcast_to(np.arange(len(sv_class)), member.shape)
        dual_coef = np.zeros((k - 1, len(sv_class)))
        dual_coef[row[member], col[member]] = self._sv_coef.T[member]
        return dual_coef, -self._rho

    def _folds(self, class_of_slot, counts, n_cols):
        """Stratified random fold of every slot (padding gets fold -1)."""
        rng = check_random_state(self.random_state)
        n = len(class_of_slot)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        idx = np.lexsort((rng.random_sample(n), class_of_slot))
        fold = np.full(n_cols, -1)
        fold[idx] = (np.arange(n) - starts[class_of_slot[idx]]) % N_PROBABILITY_FOLDS
        return fold

    def _fit_platt(self, sol, yv, valid, held, n_pairs):
        """Sigmoids on held-out decision values: y_t (G_t - p_t) - rho of each fold's fit."""
        shape = (N_PROBABILITY_FOLDS, n_pairs, -1)
        grad = sol.grad[n_pairs:].reshape(shape)
        rho = sol.rho[n_pairs:].reshape(N_PROBABILITY_FOLDS, n_pairs, 1)
        dec = np.sum(np.where(held, yv * (grad + 1) - rho, 0.0), axis=0)
        A, B = _platt.fit_sigmoids(*(np.asarray(a, self._float) for a in (dec, yv, valid)))
        self.probA_, self.probB_ = np.asarray(A, np.float64), np.asarray(B, np.float64)

    def _votes_argmax(self, dec):
        k = len(self.classes_)
        if k == 2:
            return np.where(dec[:, 0] > 0, 0, 1)
        votes = (dec > 0) @ np.eye(k)[self._first] + (dec <= 0) @ np.eye(k)[self._second]
        return np.argmax(votes, axis=1)

    def predict(self, X):
        """Majority vote of the one-vs-one machines (ties: lowest class), as libsvm."""
        check_is_fitted(self)
        if self.break_ties and self.decision_function_shape == "ovo":
            raise ValueError("break_ties must be False when decision_function_shape is 'ovo'")
        if self.break_ties and self.decision_function_shape == "ovr" and len(self.classes_) > 2:
            return self.classes_.take(np.argmax(self.decision_function(X), axis=1))
        dec = self._internal_decision(self._validate_predict_input(X))
        return self.classes_.take(self._votes_argmax(dec))

    def decision_function(self, X):
        """Binary: positive means classes_[1]. Multiclass: ovo values, or ovr as sklearn."""
        dec = self._internal_decision(self._validate_predict_input(X))
        k = len(self.classes_)
        if k == 2:
            return -dec[:, 0]
        if self.decision_function_shape == "ovr":
            return ovr_decision_function(dec, k, self._first, self._second)
        return dec

    def _check_proba(self):
        if not self.probability:
            raise AttributeError("predict_proba is not available when probability=False")
        return True

    @available_if(_check_proba)
    def predict_proba(self, X):
        """Platt sigmoids per pair, coupled into class probabilities (libsvm's method)."""
        dec = self._internal_decision(self._validate_predict_input(X))
        with x64(self.dtype == "float64"):
            proba = _platt.pairwise_proba(
                *(np.asarray(a, self._float) for a in (dec, self.probA_, self.probB_)),
                self._first, self._second, k=len(self.classes_))
        proba = np.asarray(proba, np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    @available_if(_check_proba)
    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))


class SVR(RegressorMixin, BaseLibSVM):
    """Epsilon-support vector regression (libsvm's epsilon-SVR), solved in JAX.

    The 2n-variable dual (a, a*) is one problem whose two segments share the kernel columns.
    See BaseLibSVM for the parameters beyond scikit-learn's.
    """

    _parameter_constraints: dict = {
        **BaseLibSVM._parameter_constraints,
        "epsilon": [Interval(Real, 0.0, None, closed="left")],
    }

    def __init__(self, *, kernel="rbf", degree=3, gamma="scale", coef0=0.0, tol=1e-3, C=1.0,
                 epsilon=0.1, cache_size=1024, max_iter=-1, working_set_size=4096,
                 predict_chunk=2048, dtype="float32", n_devices=None):
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.tol = tol
        self.C = C
        self.epsilon = epsilon
        self.cache_size = cache_size
        self.max_iter = max_iter
        self.working_set_size = working_set_size
        self.predict_chunk = predict_chunk
        self.dtype = dtype
        self.n_devices = n_devices

    def fit(self, X, y, sample_weight=None) -> SVR:
        """Solves the epsilon-SVR dual (libsvm's solve_epsilon_svr layout)."""
        self._validate_params()
        X, y = self._validate_fit_input(X, y, y_numeric=True)
        y = np.asarray(y, np.float64)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        self._gamma = self._resolve_gamma(X)
        n = len(y)
        n_rows = padded_to_devices(bucket_size(n, MIN_ROWS), self._mesh())
        valid = (np.arange(n_rows) < n).astype(float)
        z = pad_to(y, n_rows)
        c = pad_to(np.maximum(self.C * sample_weight, 0), n_rows)
        yv = np.concatenate([valid, -valid])[None]
        p = (np.concatenate([self.epsilon - z, self.epsilon + z]) * np.concatenate([valid] * 2))
        with x64(self.dtype == "float64"):
            sol = self._fit_solve(X, np.arange(n), n_rows, n_rows, yv, p[None],
                                  np.concatenate([c, c])[None], np.zeros((1, 2), np.int64),
                                  n_rows)
        self._set_status(sol)
        beta = sol.alpha[0, :n] - sol.alpha[0, n_rows:n_rows + n]
        sv = np.flatnonzero(beta != 0)
        self._store_support(X, sv)
        self._sv_coef = beta[sv][:, None]
        self._rho = sol.rho[:1]
        self.dual_coef_ = beta[sv][None]
        self.intercept_ = -self._rho
        self.n_support_ = np.array([len(sv)], np.int32)
        self.n_iter_ = int(sol.steps[0])
        self.dual_objective_ = float(sol.objective[0])
        self.shape_fit_ = X.shape if hasattr(X, "shape") else (n,)
        return self

    def predict(self, X):
        """sum_i (a_i - a*_i) K(x, x_i) + intercept_."""
        return self._internal_decision(self._validate_predict_input(X))[:, 0]
