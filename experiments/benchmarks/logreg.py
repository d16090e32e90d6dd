"""Logistic regression: gdm.linear_model.LogisticRegression vs scikit-learn's lbfgs.

MNIST benchmark split (8,000 / 2,000, pixels / 255, C=1, max_iter=200) and digits, the same
hyperparameters for both. Cold = first fit in the process (includes JAX compilation), warm =
a second fit on the same shapes. Ratios are ours / sklearn for fit.

    python -m experiments.benchmarks.logreg [--mnist_dir DIR]
"""

from __future__ import annotations

import argparse
import os
import warnings

import jax
import numpy as np
from sklearn import linear_model as sk_linear
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from experiments.benchmarks import common
from gdm.data import load_mnist_benchmark
from gdm.linear_model import LogisticRegression

COLUMNS = ["dataset", "accuracy", "sk_accuracy", "fit_cold_s", "fit_warm_s", "sk_fit_s",
           "ratio_warm", "ratio_cold", "predict_s", "sk_predict_s", "n_iter", "sk_n_iter",
           "peak_mb", "sk_peak_mb"]
PARAMS = dict(C=1.0, max_iter=200)


def datasets(mnist_dir: str):
    if os.path.isdir(mnist_dir):
        ds = load_mnist_benchmark(mnist_dir)
        yield "mnist", ds.x_train, ds.y_train, ds.x_test, ds.y_test
    else:
        print(f"MNIST not found at {mnist_dir}: skipping it")
    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split((x / 16.0).astype(np.float32), y, test_size=0.25,
                                          random_state=0)
    yield "digits", xtr, ytr, xte, yte


def run_one(name, xtr, ytr, xte, yte):
    ours = LogisticRegression(**PARAMS)
    _, fit_cold = common.timed(lambda: ours.fit(xtr, ytr))
    with common.PeakMemory() as mem:
        _, fit_warm = common.timed(lambda: ours.fit(xtr, ytr))
    ours.predict(xte)
    pred, predict_s = common.timed(lambda: ours.predict(xte))
    peer = sk_linear.LogisticRegression(**PARAMS)
    with common.PeakMemory() as sk_mem:
        _, sk_fit = common.timed(lambda: peer.fit(xtr, ytr))
    sk_pred, sk_predict = common.timed(lambda: peer.predict(xte))
    row = dict(dataset=name, accuracy=float(np.mean(pred == yte)),
               sk_accuracy=float(np.mean(sk_pred == yte)),
               agreement=float(np.mean(pred == sk_pred)), fit_cold_s=fit_cold,
               fit_warm_s=fit_warm, sk_fit_s=sk_fit, ratio_warm=fit_warm / sk_fit,
               ratio_cold=fit_cold / sk_fit, predict_s=predict_s, sk_predict_s=sk_predict,
               n_iter=int(ours.n_iter_[0]), sk_n_iter=int(peer.n_iter_[0]),
               peak_mb=mem.peak_mb, sk_peak_mb=sk_mem.peak_mb)
    print(row, flush=True)
    return row


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist_dir", default=common.DEFAULT_MNIST_DIR)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    rows = [run_one(*d) for d in datasets(args.mnist_dir)]
    print(common.write_report("logreg", rows, COLUMNS, extra=dict(
        jax_devices=str(jax.devices()), params=str(PARAMS))))


if __name__ == "__main__":
    main()
