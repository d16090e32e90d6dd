"""Shared machinery of SVC and SVR: validation, the class-sorted slot layout, kernel matrices,
solver calls and the batched decision function. All heavy work is jitted JAX; numpy only
builds index arrays and the fitted attributes scikit-learn users expect.
"""

from __future__ import annotations

import warnings
from functools import partial
from numbers import Integral, Real

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from gdm.svm import _kernels, _solver
from gdm.svm._solver import ROWS
from gdm.utils.buckets import bucket_size, pad_to
from gdm.utils.devices import AXIS, device_mesh, on_devices, shard_rows
from gdm.utils.validation import x64

NO_LIMIT = 10_000_000  # libsvm's default cap on SMO steps when max_iter=-1
MIN_ROWS = 64  # tiny fits (check_estimator, CV folds) share a few compiled shapes


def pad_features(X: np.ndarray) -> np.ndarray:
    """Zero features change no kernel (dot products and distances stay), so pad few features
    to a bucket to share compilations; wide inputs only to a multiple of 8."""
    d = X.shape[1]
    return pad_to(X, bucket_size(d, 8) if d < 64 else -(-d // 8) * 8, axis=1)


@partial(jax.jit, static_argnames=("mesh", "n_cols", "kind", "degree"))
def _fit_kernel(X_rows, gamma, coef0, *, mesh: Mesh, n_cols: int, kind: str, degree: int):
    """Kernel between the slots (zero columns beyond them), its rows split over the mesh as
    X_rows is, and its diagonal (on every device)."""
    def local(X_local, gamma, coef0):
        X_all = lax.all_gather(X_local, AXIS, axis=0, tiled=True)
        n, n_local = X_all.shape[0], X_local.shape[0]
        if n_local == n:  # the whole matrix here: each tile pair computed once
            K = _kernels.symmetric_gram(X_all, n_cols, kind, gamma, coef0, degree,
                                        4 if n >= 2048 else 1)
        else:
            sq = _kernels.row_norms(X_all)
            K = _kernels.kernel_rows(X_all, sq, lax.axis_index(AXIS) * n_local, n_local,
                                     X_all, sq, kind, gamma, coef0, degree)
            K = jnp.pad(K, ((0, 0), (0, n_cols - n)))
        diag = _kernels.kernel_diag(X_all, kind, gamma, coef0, degree)
        return K, jnp.pad(diag, (0, n_cols - n))

    return on_devices(local, mesh, (ROWS, P(), P()), (ROWS, P()))(X_rows, gamma, coef0)


@partial(jax.jit, static_argnames=("mesh", "kind", "degree", "chunk"))
def _decision(X, SV, coef, rho, gamma, coef0, *, mesh: Mesh, kind: str, degree: int,
              chunk: int):
    """K(X, SV) @ coef - rho, the test rows split over the mesh, each device's in row blocks
    of `chunk`: one matmul per block."""
    def local(X, SV, coef, rho, gamma, coef0):
        return _kernels.chunked_apply(
            lambda xb: _kernels.kernel(xb, SV, kind, gamma, coef0, degree) @ coef - rho, X,
            chunk)

    return on_devices(local, mesh, (ROWS,) + (P(),) * 5, ROWS)(
        X, SV, coef, rho, gamma, coef0)


class BaseLibSVM(BaseEstimator):
    """Parameters and helpers shared by SVC and SVR (scikit-learn's names and meanings).

    Beyond scikit-learn: `working_set_size` (q, variables per inner SMO solve; a problem
    with at most q variables is solved whole), `cache_size` (MB the cached kernel matrix may
    take, default 1024; above it kernel blocks are recomputed from the samples),
    `predict_chunk` (test rows per decision block), `dtype` ('float32' or 'float64') and
    `n_devices` (devices the kernel's rows and the test rows are split over, None: all of
    them; `n_devices_` after fit). `cache_size` budgets each device's share of the kernel rows.
    `shrinking`, `verbose` and `nu` do not exist here (no shrinking heuristic is needed).

    check_estimator: passes except check_sample_weight_equivalence_on_dense_data, which
    demands rtol 1e-7 between a repeated sample and a doubled weight; the two duals are the
    same problem but are solved only to `tol` (scikit-learn marks its own SVC/SVR likewise).
    """

    _parameter_constraints: dict = {
        "kernel": [StrOptions({"linear", "poly", "rbf", "sigmoid", "precomputed"}), callable],
        "degree": [Interval(Integral, 0, None, closed="left")],
        "gamma": [StrOptions({"scale", "auto"}), Interval(Real, 0.0, None, closed="left")],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "tol": [Interval(Real, 0.0, None, closed="neither")],
        "C": [Interval(Real, 0.0, None, closed="neither")],
        "cache_size": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, -1, None, closed="left")],
        "working_set_size": [Interval(Integral, 2, None, closed="left")],
        "predict_chunk": [Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"})],
        "n_devices": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.kernel == "precomputed"
        return tags

    # ---- input ---------------------------------------------------------------------------
    def _validate_fit_input(self, X, y, y_numeric):
        if callable(self.kernel):
            X, y = validate_data(self, X, y, dtype=None, ensure_2d=False, y_numeric=y_numeric,
                                 ensure_all_finite=False)
        else:
            X, y = validate_data(self, X, y, dtype=np.float64, order="C", y_numeric=y_numeric)
        if self.kernel == "precomputed" and X.shape[0] != X.shape[1]:
            raise ValueError("Precomputed matrix must be a square matrix."
                             f" Input is a {X.shape[0]}x{X.shape[1]} matrix.")
        return X, y

    def _validate_predict_input(self, X):
        check_is_fitted(self)
        if callable(self.kernel):
            X = validate_data(self, X, dtype=None, ensure_2d=False, reset=False,
                              ensure_all_finite=False)
        else:
            X = validate_data(self, X, dtype=np.float64, order="C", reset=False)
        if self.kernel == "precomputed" and X.shape[1] != self.shape_fit_[0]:
            raise ValueError(f"X.shape[1] = {X.shape[1]} should be equal to "
                             f"{self.shape_fit_[0]}, the number of samples at training time")
        return X

    def _resolve_gamma(self, X) -> float:
        if not isinstance(self.kernel, str) or self.kernel == "precomputed":
            return 0.0
        if self.gamma == "scale":
            var = X.var()
            return 1.0 / (X.shape[1] * var) if var != 0 else 1.0
        if self.gamma == "auto":
            return 1.0 / X.shape[1]
        return float(self.gamma)

    @property
    def _float(self):
        return np.float64 if self.dtype == "float64" else np.float32

    # ---- kernel and solver at fit -----------------------------------------------------------
    def _mesh(self) -> Mesh:
        """The devices' mesh (n_devices, None: all), padded row counts a multiple of its size."""
        return device_mesh(self.n_devices)

    def _fit_solve(self, X, order, n_rows, n_cols, y, p, C, starts, L):
        """Solves the problems on the kernel between samples X[order] (zero-padded slots).

        The kernel's rows are split over the mesh. They are cached when each device's rows x
        columns fit in `cache_size` MB; otherwise the solver recomputes kernel rows from the
        samples (never more than the budget per device).
        """
        mesh = self._mesh()
        self.n_devices_ = mesh.size
        m = y.shape[1]
        q = int(self.working_set_size) // 2 * 2
        max_iter = NO_LIMIT if self.max_iter == -1 else int(self.max_iter)
        prob = _solver.Problems(*(jnp.asarray(a, self._float) for a in (y, p, C)),
                                jnp.asarray(starts, jnp.int32))
        itemsize = np.dtype(self._float).itemsize
        budget_rows = int(self.cache_size * 2**20 // (n_cols * itemsize))
        n_local = n_rows // mesh.size
        builtin = isinstance(self.kernel, str) and self.kernel != "precomputed"
        if builtin:
            X_np = pad_to(pad_features(np.asarray(X[order], self._float)), n_rows)
            X_rows = shard_rows(X_np, mesh)
        if builtin and budget_rows < n_local:
            q = min(q, max(2, m // 4 * 2))
            diag = _kernels.kernel_diag(jnp.asarray(pad_to(X_np, n_cols)), self.kernel,
                                        self._gamma, self.coef0, int(self.degree))
            sol = _solver.solve_uncached(
                X_rows, self._gamma, self.coef0, diag, prob, mesh=mesh, kind=self.kernel,
                degree=int(self.degree), n_cols=n_cols, L=L, q=q,
                chunk=max(8, budget_rows // 8 * 8), tol=self.tol, max_iter=max_iter)
        else:
            if builtin:
                K, diag = _fit_kernel(X_rows, self._gamma, self.coef0, mesh=mesh,
                                      n_cols=n_cols, kind=self.kernel, degree=int(self.degree))
            else:
                K = X if self.kernel == "precomputed" else np.asarray(self.kernel(X, X))
                K = np.asarray(K, self._float)[np.ix_(order, order)]
                diag = jnp.asarray(pad_to(np.diag(K).copy(), n_cols))
                K = shard_rows(pad_to(pad_to(K, n_rows, 0), n_cols, 1), mesh)
            sol = _solver.solve(K, diag, prob, mesh=mesh, L=L, q=m if m <= q else q,
                                tol=self.tol, max_iter=max_iter)
        return jax.tree.map(lambda a: np.asarray(a, np.float64 if a.dtype.kind == "f"
                                                 else a.dtype), sol)

    def _set_status(self, sol):
        self.fit_status_ = int(not np.all(sol.gap <= self.tol))
        if self.fit_status_:
            warnings.warn(f"Solver terminated early (max_iter={self.max_iter}).  Consider "
                          "pre-processing your data with StandardScaler or MinMaxScaler.",
                          ConvergenceWarning, stacklevel=3)

    # ---- prediction ----------------------------------------------------------------------
    def _internal_decision(self, X):
        """libsvm's decision values (n, problems): sum coef K(x, sv) - rho."""
        n = X.shape[0]
        if self.kernel == "precomputed" or callable(self.kernel):
            K = (np.asarray(X, np.float64)[:, self.support_] if self.kernel == "precomputed"
                 else np.asarray(self.kernel(X, self._sv_fit), np.float64))
            return K @ self._sv_coef - self._rho
        mesh = self._mesh()
        with x64(self.dtype == "float64"):
            n_b = bucket_size(n, MIN_ROWS)
            chunk = min(int(self.predict_chunk), -(-n_b // mesh.size))
            n_b = -(-n_b // (chunk * mesh.size)) * chunk * mesh.size
            # Support vectors padded to the training rows' bucket, not their own count: the
            # count changes with C, gamma and the data, and a new count would compile a new
            # program in every fit of a grid search or cross-validation.
            s_b = bucket_size(self.shape_fit_[0], MIN_ROWS)
            dec = _decision(
                shard_rows(pad_to(pad_features(np.asarray(X, self._float)), n_b), mesh),
                jnp.asarray(pad_to(pad_features(self.support_vectors_.astype(self._float)), s_b)),
                jnp.asarray(pad_to(self._sv_coef.astype(self._float), s_b)),
                jnp.asarray(self._rho, self._float), self._gamma, self.coef0, mesh=mesh,
                kind=self.kernel, degree=int(self.degree), chunk=chunk)
            return np.asarray(dec, np.float64)[:n]

    @property
    def coef_(self):
        """Primal weights for the linear kernel: (pairs or 1, n_features), as scikit-learn."""
        if self.kernel != "linear":
            raise AttributeError("coef_ is only available when using a linear kernel")
        check_is_fitted(self)
        if self.dual_coef_.shape[0] == 1:
            return self.dual_coef_ @ self.support_vectors_
        return self._sv_coef.T @ self.support_vectors_

    def _store_support(self, X, support):
        self.support_ = support.astype(np.int32)
        if isinstance(self.kernel, str) and self.kernel != "precomputed":
            self.support_vectors_ = np.asarray(X[support], np.float64)
        else:
            self.support_vectors_ = np.empty((0, 0))
            if callable(self.kernel):
                self._sv_fit = X[support]
