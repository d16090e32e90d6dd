"""Kernel SVMs: gdm.svm.SVC vs sklearn.svm.SVC (libsvm), side by side in one process.

MNIST benchmark split (8,000 / 2,000, RBF, C=10, gamma='scale'), digits and a binary
problem; same hyperparameters for both. Cold = first fit/predict in the process (includes JAX
compilation), warm = a second call on the same shapes. Ratios are ours / sklearn for
fit + predict. Also: fit_grid on digits (C x gamma x 5 folds in one call) vs GridSearchCV.

    python -m experiments.benchmarks.svm [--mnist_dir DIR] [--only mnist,digits,binary,grid]
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
from sklearn import svm as sk_svm
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import GridSearchCV, train_test_split

from experiments.benchmarks import common
from gdm import svm

COLUMNS = ["dataset", "accuracy", "sk_accuracy", "fit_cold_s", "fit_warm_s", "sk_fit_s",
           "predict_cold_s", "predict_s", "sk_predict_s", "ratio_warm", "ratio_cold",
           "peak_mb", "sk_peak_mb", "n_sv", "sk_n_sv"]
GRID_C = [0.1, 1.0, 10.0, 100.0]
GRID_GAMMA = [0.003, 0.01, 0.03, 0.1]


def datasets(mnist_dir: str):
    """Yields (name, x_train, y_train, x_test, y_test): MNIST, digits, then a binary problem."""
    yield from common.mnist_and_digits(mnist_dir)
    x, y = make_classification(5000, 20, n_informative=10, random_state=0)
    yield ("binary", *_split(x, y))


def _split(x, y):
    xtr, xte, ytr, yte = train_test_split(x.astype(np.float32), y, test_size=0.25,
                                          random_state=0)
    return xtr, ytr, xte, yte


def run_one(name, xtr, ytr, xte, yte):
    params = dict(C=10.0, kernel="rbf", gamma="scale")
    ours = svm.SVC(**params)
    _, fit_cold = common.timed(lambda: ours.fit(xtr, ytr))
    _, predict_cold = common.timed(lambda: ours.predict(xte))
    with common.PeakMemory() as mem:
        _, fit_warm = common.timed(lambda: ours.fit(xtr, ytr))
        pred, predict_warm = common.timed(lambda: ours.predict(xte))
    peer = sk_svm.SVC(**params)
    with common.PeakMemory() as sk_mem:
        _, sk_fit = common.timed(lambda: peer.fit(xtr, ytr))
        sk_pred, sk_predict = common.timed(lambda: peer.predict(xte))
    sk_total = sk_fit + sk_predict
    row = dict(
        dataset=name, accuracy=float(np.mean(pred == yte)),
        sk_accuracy=float(np.mean(sk_pred == yte)), agreement=float(np.mean(pred == sk_pred)),
        fit_cold_s=fit_cold, fit_warm_s=fit_warm, sk_fit_s=sk_fit,
        predict_cold_s=predict_cold, predict_s=predict_warm, sk_predict_s=sk_predict,
        ratio_warm=(fit_warm + predict_warm) / sk_total,
        ratio_cold=(fit_cold + predict_cold) / sk_total,
        peak_mb=mem.peak_mb, sk_peak_mb=sk_mem.peak_mb,
        n_sv=int(ours.n_support_.sum()), sk_n_sv=int(peer.n_support_.sum()),
        smo_steps_max=int(np.max(ours.n_iter_)), sk_iter_max=int(np.max(peer.n_iter_)),
        outer_rounds=ours.n_outer_iter_)
    print(row, flush=True)
    return row


def run_grid():
    """fit_grid on digits: 4 C x 4 gamma x 5 folds = 80 SVCs (3,600 binary machines)."""
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    res, cold = common.timed(lambda: svm.fit_grid(x, y, C=GRID_C, gamma=GRID_GAMMA, cv=5))
    with common.PeakMemory() as mem:
        res, warm = common.timed(lambda: svm.fit_grid(x, y, C=GRID_C, gamma=GRID_GAMMA, cv=5))
    search = GridSearchCV(sk_svm.SVC(), {"C": GRID_C, "gamma": GRID_GAMMA}, cv=5, n_jobs=1)
    with common.PeakMemory() as sk_mem:
        _, sk_time = common.timed(lambda: search.fit(x, y))
    sk_scores = search.cv_results_["mean_test_score"].reshape(len(GRID_C), len(GRID_GAMMA))
    row = dict(
        dataset="digits fit_grid (16 params x 5 folds)", accuracy=res["best_score"],
        sk_accuracy=float(search.best_score_), fit_cold_s=cold, fit_warm_s=warm,
        sk_fit_s=sk_time, ratio_warm=warm / sk_time, ratio_cold=cold / sk_time,
        peak_mb=mem.peak_mb, sk_peak_mb=sk_mem.peak_mb,
        best_params=res["best_params"], sk_best_params=search.best_params_,
        max_abs_score_diff=float(np.max(np.abs(res["mean_test_score"] - sk_scores))))
    print(row, flush=True)
    return row


def main(argv=None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--only", default=None, help="comma-separated: mnist,digits,binary,grid")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    warnings.simplefilter("ignore", FutureWarning)
    rows = [run_one(*d) for d in datasets(args.mnist_dir) if only is None or d[0] in only]
    if only is None or "grid" in only:
        rows.append(run_grid())
    table = common.write_report("svm", rows, COLUMNS, extra=dict(
        jax_devices=str(jax.devices()), params="C=10, kernel='rbf', gamma='scale'",
        grid=dict(C=GRID_C, gamma=GRID_GAMMA, cv=5)))
    print(table)


if __name__ == "__main__":
    main()
