"""fit_grid: a whole C x gamma x CV-fold grid of SVCs in one compiled, vectorized call.

The accelerator answer to GridSearchCV(SVC): the kernel's base matrix (inner products or
squared distances) is computed once; each gamma derives its kernel from it (vmap over gamma),
and every (fold, C, class pair) is one more row of the solver's batch, with the held-out
fold's variables switched off (C = 0). Validation decisions come from one matmul per gamma.
The kernel's rows are split over the devices as in gdm.svm._solver.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import compute_class_weight
from sklearn.utils.validation import check_X_y

from gdm.svm import _kernels, _solver
from gdm.svm._base import NO_LIMIT, pad_features
from gdm.svm._classes import SVC, PairLayout, pair_layout
from gdm.utils.buckets import pad_to
from gdm.utils.compiler import on_accelerator
from gdm.utils.devices import AXIS, on_devices, shard_rows
from gdm.utils.validation import x64


@partial(jax.jit, static_argnames=("mesh", "kind", "degree", "L", "q", "n_cols", "k",
                                   "n_folds", "grid_batch"))
def _grid_scores(X_rows, gammas, C_values, coef0, y, p, c_unit, starts, slot, class_of_slot,
                 fold_of_slot, first, second, tol, max_iter, *, mesh, kind, degree, L, q,
                 n_cols, k, n_folds, grid_batch):
    """Every grid point's fold accuracies, SMO steps and gaps; the slots' samples X_rows, and
    so the kernel's rows, split over the mesh (see gdm.svm._solver)."""
    def local(X_local, gammas, C_values, coef0, y, p, c_unit, starts, slot, class_of_slot,
              fold_of_slot, first, second, tol, max_iter):
        X_all = lax.all_gather(X_local, AXIS, axis=0, tiled=True)
        n_rows = X_all.shape[0]
        X_cols = jnp.pad(X_all, ((0, n_cols - n_rows), (0, 0)))
        sq = _kernels.row_norms(X_cols)  # one set of norms: the same values on any split
        offset = lax.axis_index(AXIS) * X_local.shape[0]
        base = _kernels.base(X_local, X_cols, kind,
                             lax.dynamic_slice_in_dim(sq, offset, X_local.shape[0]), sq)
        base_diag = _kernels.base_diag(X_cols, kind)
        in_fold = fold_of_slot[None, :n_rows] == jnp.arange(n_folds)[:, None]
        problems = (y, p, c_unit, starts, slot, class_of_slot, first, second, tol, max_iter)

        def per_point(point):
            K = _kernels.finish(base, kind, point[0], coef0, degree)
            diag = _kernels.finish(base_diag, kind, point[0], coef0, degree)
            return _point_scores(K, diag, point[1], problems, in_fold, L=L, q=q, k=k,
                                 n_folds=n_folds)

        g, c = jnp.meshgrid(gammas, C_values, indexing="ij")
        # Grid points in batches: vmapped fits move in lockstep until the slowest converges,
        # so on CPU one point at a time (its folds x pairs vmapped) wastes least; on GPU more.
        return lax.map(per_point, (g.ravel(), c.ravel()), batch_size=grid_batch)

    return on_devices(local, mesh, (_solver.ROWS,) + (P(),) * 14)(
        X_rows, gammas, C_values, coef0, y, p, c_unit, starts, slot, class_of_slot,
        fold_of_slot, first, second, tol, max_iter)


def _point_scores(K, diag, c, problems, in_fold, *, L, q, k, n_folds):
    """One grid point on this device's kernel rows K: fold accuracies, SMO steps, gaps."""
    y, p, c_unit, starts, slot, class_of_slot, first, second, tol, max_iter = problems
    sol = _solver.solve_local(K, diag, _solver.Problems(y, p, c * c_unit, starts), L=L, q=q,
                              tol=tol, max_iter=max_iter)
    beta = jnp.zeros((y.shape[0], K.shape[1]), K.dtype).at[
        jnp.arange(y.shape[0])[:, None], slot].add(y * sol.alpha)
    n_rows = in_fold.shape[1]
    # beta @ K over the slots, column blocks from the devices holding those rows.
    dec = _solver.gradient_columns(lambda b: K[:, :n_rows] @ b, beta[:, :n_rows], n_rows)
    dec = (dec - sol.rho[:, None]).reshape(n_folds, -1, n_rows)
    if k == 2:
        pred = jnp.where(dec[:, 0] > 0, 0, 1)
    else:
        e1 = jax.nn.one_hot(first, k, dtype=K.dtype)
        e2 = jax.nn.one_hot(second, k, dtype=K.dtype)
        votes = (jnp.einsum("fpn,pk->fnk", (dec > 0).astype(K.dtype), e1)
                 + jnp.einsum("fpn,pk->fnk", (dec <= 0).astype(K.dtype), e2))
        pred = jnp.argmax(votes, axis=-1)
    correct = (pred == class_of_slot[None, :]) & in_fold
    return jnp.sum(correct, -1) / jnp.sum(in_fold, -1), sol.steps, sol.gap


class _GridLayout(NamedTuple):
    """The solver's batch of a grid: every (fold, class pair) problem over class-sorted slots
    (`pair_layout`), the held-out fold's variables switched off."""

    pairs: PairLayout
    fold_of_slot: np.ndarray  # -1 on padding
    c_unit: np.ndarray  # (F * P, m) upper bound per unit of C: class weight, 0 held out
    y_all: np.ndarray  # (F * P, m) labels +-1, 0 on padding
    n_folds: int


def _checked_grid(est: SVC, X, y, C: Sequence[float], gamma: Sequence[float | str]):
    """Validated (X, y, C values, gammas): the SVC parameters, the kernel (fit_grid needs a
    built-in one), the data, and each gamma resolved on all of X ('scale' / 'auto')."""
    est._validate_params()
    if est.kernel not in _kernels.BUILTIN_KERNELS:
        raise ValueError(f"fit_grid supports kernel in {_kernels.BUILTIN_KERNELS}, "
                         f"got {est.kernel!r}")
    X, y = check_X_y(X, y, dtype=np.float64)
    C_values = np.asarray(C, np.float64).ravel()
    if C_values.size == 0 or np.any(~(C_values > 0)):
        raise ValueError(f"C must be a non-empty list of values > 0, got {list(C)}")
    gammas = []
    for g in gamma:
        est.set_params(gamma=g)
        est._validate_params()
        gammas.append(est._resolve_gamma(X))
    return X, y, C_values, gammas


def _fold_weights(X, y, classes, cv, class_weight) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each sample's test fold, and each fold's class weights from its training part (as
    GridSearchCV's fits compute them)."""
    splitter = StratifiedKFold(cv) if isinstance(cv, int) else cv
    fold_of_sample = np.full(len(y), -1)
    weights = []
    for f, (train, test) in enumerate(splitter.split(X, y)):
        fold_of_sample[test] = f
        cw = compute_class_weight(class_weight, classes=classes, y=y[train])
        weights.append(cw)
    if np.any(fold_of_sample < 0):
        raise ValueError("cv's test folds must cover every sample")
    return fold_of_sample, weights


def _grid_layout(y_enc: np.ndarray, k: int, fold_of_sample: np.ndarray,
                 weights: list[np.ndarray], mesh: Mesh) -> _GridLayout:
    """Every fold's one-vs-one problems over class-sorted slots, one batch for the solver."""
    n_folds = len(weights)
    pairs = pair_layout(y_enc, k, mesh)
    slot = pairs.slot
    fold_of_slot = pad_to(fold_of_sample[pairs.order], pairs.n_cols, value=-1)
    cls_pad = pad_to(pairs.class_of_slot, pairs.n_cols)
    held = fold_of_slot[slot][None] == np.arange(n_folds)[:, None, None]  # (F, P, m)
    cw_var = np.stack(weights)[:, cls_pad[slot]]                             # (F, P, m)
    c_unit = (cw_var * pairs.valid * ~held).reshape(-1, slot.shape[1])  # (F * P, m)
    return _GridLayout(pairs, fold_of_slot, c_unit, np.tile(pairs.yv, (n_folds, 1)), n_folds)


def _solve_grid(X, lay: _GridLayout, gammas: list[float], C_values: np.ndarray, k: int, *,
                kernel: str, degree: int, coef0: float, tol: float, max_iter: int,
                working_set_size: int, dtype: str, grid_batch: int | None, mesh: Mesh):
    """(scores, SMO steps, gaps) of every grid point from one `_grid_scores` call."""
    n_folds, m = lay.n_folds, lay.y_all.shape[1]
    q = working_set_size // 2 * 2
    n_points = len(C_values) * len(gammas)
    if grid_batch is None:
        grid_batch = n_points if on_accelerator() else 1
    fdt = np.float64 if dtype == "float64" else np.float32
    pairs = lay.pairs
    with x64(dtype == "float64"):
        X_rows = pad_to(pad_features(np.asarray(X[pairs.order], fdt)), pairs.n_rows)
        return _grid_scores(
            shard_rows(X_rows, mesh), jnp.asarray(gammas, fdt), jnp.asarray(C_values, fdt), coef0,
            jnp.asarray(lay.y_all, fdt), jnp.asarray(-(lay.y_all != 0).astype(fdt)),
            jnp.asarray(lay.c_unit, fdt),
            jnp.asarray(np.tile(pairs.seg, (n_folds, 1)), jnp.int32),
            jnp.asarray(np.tile(pairs.slot, (n_folds, 1)), jnp.int32),
            jnp.asarray(pad_to(pairs.class_of_slot, pairs.n_rows)),
            jnp.asarray(lay.fold_of_slot), jnp.asarray(pairs.first), jnp.asarray(pairs.second),
            tol, NO_LIMIT if max_iter == -1 else max_iter,
            mesh=mesh, kind=kernel, degree=int(degree), L=pairs.L, q=q if m > q else m,
            n_cols=pairs.n_cols, k=k, n_folds=n_folds, grid_batch=min(int(grid_batch), n_points))


def _grid_results(C_values: np.ndarray, gammas: list[float], scores, steps, gap, tol: float,
                  n_folds: int) -> dict[str, Any]:
    """fit_grid's result dict from the per-point outputs, indexed (fold, C, gamma)."""
    shape = (len(gammas), len(C_values))
    scores = np.asarray(scores, np.float64).reshape(*shape, n_folds).transpose(2, 1, 0)
    steps = np.asarray(steps).reshape(*shape, n_folds, -1).transpose(2, 1, 0, 3)
    mean = scores.mean(axis=0)
    best = np.unravel_index(np.argmax(mean), mean.shape)
    return {
        "C": C_values, "gamma": np.asarray(gammas), "test_scores": scores,
        "mean_test_score": mean, "std_test_score": scores.std(axis=0),
        "best_params": {"C": float(C_values[best[0]]), "gamma": float(gammas[best[1]])},
        "best_score": float(mean[best]),
        "n_iter": steps,  # (folds, len(C), len(gamma), pairs) SMO steps
        "converged": bool(np.all(np.asarray(gap) <= tol)),
    }


def fit_grid(X, y, *, C: Sequence[float], gamma: Sequence[float | str], kernel: str = "rbf",
             degree: int = 3, coef0: float = 0.0, cv: int | Any = 5, tol: float = 1e-3,
             class_weight: dict | str | None = None, max_iter: int = -1,
             working_set_size: int = 4096, dtype: str = "float32",
             grid_batch: int | None = None, n_devices: int | None = None) -> dict[str, Any]:
    """Cross-validated accuracy of SVC(C=c, gamma=g) for every c in C and g in gamma.

    cv: number of StratifiedKFold splits (unshuffled, as GridSearchCV uses) or a splitter
    whose test folds partition the data. gamma may hold 'scale' / 'auto', resolved on all of X.
    Returns test_scores (folds, len(C), len(gamma)), mean_test_score, std_test_score,
    best_params, and n_iter / converged per fit. grid_batch: grid points solved at once
    (default 1 on CPU, all on accelerators). n_devices: devices the kernel's rows are split
    over (None: all), as SVC's.
    """
    est = SVC(kernel=kernel, degree=degree, coef0=coef0, tol=tol, class_weight=class_weight,
              max_iter=max_iter, working_set_size=working_set_size, dtype=dtype,
              n_devices=n_devices)
    X, y, C_values, gammas = _checked_grid(est, X, y, C, gamma)
    classes, y_enc = np.unique(y, return_inverse=True)
    k = len(classes)
    if k < 2:
        raise ValueError(f"The number of classes has to be greater than one; got {k} class")
    fold_of_sample, weights = _fold_weights(X, y, classes, cv, class_weight)
    mesh = est._mesh()
    layout = _grid_layout(y_enc, k, fold_of_sample, weights, mesh)
    scores, steps, gap = _solve_grid(
        X, layout, gammas, C_values, k, kernel=kernel, degree=degree, coef0=coef0, tol=tol,
        max_iter=max_iter, working_set_size=working_set_size, dtype=dtype,
        grid_batch=grid_batch, mesh=mesh)
    return _grid_results(C_values, gammas, scores, steps, gap, tol, layout.n_folds)
