"""Logistic regression: gdm.linear_model.LogisticRegression vs scikit-learn's lbfgs.

MNIST benchmark split (8,000 / 2,000, pixels / 255, C=1, max_iter=200) and digits, the same
hyperparameters for both. Cold = first fit in the process (includes JAX compilation), warm =
a second fit on the same shapes. Ratios are ours / sklearn for fit.

    python -m experiments.benchmarks.logreg [--mnist_dir DIR]
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
from sklearn import linear_model as sk_linear
from sklearn.exceptions import ConvergenceWarning

from experiments.benchmarks import common
from gdm.linear_model import LogisticRegression

COLUMNS = ["dataset", "accuracy", "sk_accuracy", "fit_cold_s", "fit_warm_s", "sk_fit_s",
           "ratio_warm", "ratio_cold", "predict_s", "sk_predict_s", "n_iter", "sk_n_iter",
           "peak_mb", "sk_peak_mb"]
PARAMS = dict(C=1.0, max_iter=200)


datasets = common.mnist_and_digits


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
    parser = common.parser(__doc__)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    rows = [run_one(*d) for d in datasets(args.mnist_dir)]
    print(common.write_report("logreg", rows, COLUMNS, extra=dict(
        jax_devices=str(jax.devices()), params=str(PARAMS))))


if __name__ == "__main__":
    main()
