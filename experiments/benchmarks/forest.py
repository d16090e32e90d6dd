"""Random forests: gdm.ensemble vs scikit-learn (n_jobs=-1), side by side in one process.

MNIST benchmark split (8,000 / 2,000), digits and breast_cancer (accuracy) and diabetes
(regression, R^2); 100 trees, default parameters, same random_state. Cold = first fit (with JAX
compilation), warm = fastest of the next `--fit_repeats` fits on the same shapes (sklearn: fastest
of as many fits); predict = fastest of 5 calls, both sides. Peak memory: the first warm fit.
compile_s = cold - warm fit; programs = programs JAX lowered for the cold fit and first predict
(`gdm.utils.cache.CompileCounter`); refit_programs = those of a refit with another
random_state (0: seeds share the compiled programs).

    python -m experiments.benchmarks.forest [--mnist_dir DIR] [--n_estimators 100]
"""

from __future__ import annotations

import os

import jax
import numpy as np
from sklearn import ensemble as sk_ensemble
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split

from experiments.benchmarks import common
from gdm import ensemble
from gdm.data import load_mnist_benchmark
from gdm.utils.cache import CompileCounter

COLUMNS = ["dataset", "metric", "ours", "sklearn", "fit_cold_s", "fit_warm_s", "sk_fit_s",
           "fit_ratio", "predict_s", "sk_predict_s", "predict_ratio", "peak_mb", "sk_peak_mb",
           "compile_s", "programs", "refit_programs"]


def datasets(mnist_dir: str):
    """Yields (name, is_classification, x_train, y_train, x_test, y_test)."""
    if os.path.isdir(mnist_dir):
        ds = load_mnist_benchmark(mnist_dir)
        yield "mnist", True, ds.x_train, ds.y_train, ds.x_test, ds.y_test
    else:
        print(f"MNIST not found at {mnist_dir}: skipping it")
    for name, loader, clf in [("digits", load_digits, True),
                              ("breast_cancer", load_breast_cancer, True),
                              ("diabetes", load_diabetes, False)]:
        x, y = loader(return_X_y=True)
        xtr, xte, ytr, yte = train_test_split(x.astype(np.float32), y, test_size=0.25,
                                              random_state=0)
        yield name, clf, xtr, ytr, xte, yte


def run_one(name, clf, xtr, ytr, xte, yte, n_estimators, fit_repeats=3, **params):
    ours_cls = ensemble.RandomForestClassifier if clf else ensemble.RandomForestRegressor
    peer_cls = sk_ensemble.RandomForestClassifier if clf else sk_ensemble.RandomForestRegressor
    ours = ours_cls(n_estimators=n_estimators, random_state=0, **params)
    peer = peer_cls(n_estimators=n_estimators, random_state=0, n_jobs=-1)

    with CompileCounter() as programs:
        _, cold = common.timed(lambda: ours.fit(xtr, ytr))
        ours.predict(xte)
    with CompileCounter() as refit_programs:
        ours_cls(n_estimators=n_estimators, random_state=1, **params).fit(xtr, ytr)
    with common.PeakMemory() as mem:
        _, warm = common.timed(lambda: ours.fit(xtr, ytr))
    if fit_repeats > 1:
        warm = min(warm, common.best_of(lambda: ours.fit(xtr, ytr), fit_repeats - 1)[1])
    pred, predict_s = common.best_of(lambda: ours.predict(xte))
    with common.PeakMemory() as sk_mem:
        _, sk_fit = common.timed(lambda: peer.fit(xtr, ytr))
    if fit_repeats > 1:
        sk_fit = min(sk_fit, common.best_of(lambda: peer.fit(xtr, ytr), fit_repeats - 1)[1])
    peer.predict(xte)
    sk_pred, sk_predict = common.best_of(lambda: peer.predict(xte))
    metric = "accuracy" if clf else "r2"
    score = ours.score(xte, yte)
    sk_score = peer.score(xte, yte)
    del pred, sk_pred
    row = dict(dataset=name, metric=metric, ours=round(float(score), 4),
               sklearn=round(float(sk_score), 4), fit_cold_s=cold, fit_warm_s=warm,
               sk_fit_s=sk_fit, fit_ratio=warm / sk_fit, predict_s=predict_s,
               sk_predict_s=sk_predict, predict_ratio=predict_s / sk_predict,
               peak_mb=mem.peak_mb, sk_peak_mb=sk_mem.peak_mb, compile_s=cold - warm,
               programs=programs.count, refit_programs=refit_programs.count,
               nodes_per_tree=float(np.mean(ours.node_count_)))
    print(row, flush=True)
    return row


def main(argv=None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--n_estimators", type=int, default=100)
    parser.add_argument("--only", default=None, help="comma-separated dataset names")
    parser.add_argument("--node_chunk", type=int, default=32, help="ablation: nodes per step")
    parser.add_argument("--chunk_size", type=int, default=None,
                        help="ablation: histogram cells per step (default: by backend)")
    parser.add_argument("--fit_repeats", type=int, default=3,
                        help="warm fits timed per side (the fastest is reported)")
    parser.add_argument("--name", default="forest", help="results file name")
    args = parser.parse_args(argv)
    params = dict(node_chunk=args.node_chunk, chunk_size=args.chunk_size)
    only = set(args.only.split(",")) if args.only else None
    rows = [run_one(*d, args.n_estimators, args.fit_repeats, **params)
            for d in datasets(args.mnist_dir)
            if only is None or d[0] in only]
    table = common.write_report(args.name, rows, COLUMNS, extra=dict(
        n_estimators=args.n_estimators, fit_repeats=args.fit_repeats,
        jax_devices=str(jax.devices()), **params))
    print(table)


if __name__ == "__main__":
    main()
