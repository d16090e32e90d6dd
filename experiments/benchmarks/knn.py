"""k-NN: gdm.neighbors.KNeighborsClassifier vs scikit-learn's (brute force), in one process.

MNIST benchmark split (8,000 / 2,000, k=3, euclidean) and digits. Predictions must be
identical; we report how many differ. Cold = first predict in the process (includes JAX
compilation), warm = best of 3 later calls; scikit-learn's time is also the best of 3.
Ratios are ours / sklearn for predict.

    python -m experiments.benchmarks.knn [--mnist_dir DIR]
"""

from __future__ import annotations

import jax
import numpy as np
from sklearn import neighbors as sk_neighbors

from experiments.benchmarks import common
from gdm.neighbors import KNeighborsClassifier

COLUMNS = ["dataset", "k", "accuracy", "sk_accuracy", "n_different", "predict_cold_s",
           "predict_s", "sk_predict_s", "ratio_warm", "ratio_cold", "fit_s", "sk_fit_s",
           "peak_mb", "sk_peak_mb"]


datasets = common.mnist_and_digits


def best_of(n: int, fn):
    results = [common.timed(fn) for _ in range(n)]
    return results[-1][0], min(t for _, t in results)


def run_one(name, xtr, ytr, xte, yte, k: int = 3):
    ours = KNeighborsClassifier(n_neighbors=k)
    _, fit_s = common.timed(lambda: ours.fit(xtr, ytr))
    _, predict_cold = common.timed(lambda: ours.predict(xte))
    with common.PeakMemory() as mem:
        pred, predict_warm = best_of(3, lambda: ours.predict(xte))
    peer = sk_neighbors.KNeighborsClassifier(n_neighbors=k)
    _, sk_fit = common.timed(lambda: peer.fit(xtr, ytr))
    with common.PeakMemory() as sk_mem:
        sk_pred, sk_predict = best_of(3, lambda: peer.predict(xte))
    row = dict(dataset=name, k=k, accuracy=float(np.mean(pred == yte)),
               sk_accuracy=float(np.mean(sk_pred == yte)),
               n_different=int(np.sum(pred != sk_pred)), predict_cold_s=predict_cold,
               predict_s=predict_warm, sk_predict_s=sk_predict,
               ratio_warm=predict_warm / sk_predict, ratio_cold=predict_cold / sk_predict,
               fit_s=fit_s, sk_fit_s=sk_fit, peak_mb=mem.peak_mb, sk_peak_mb=sk_mem.peak_mb)
    print(row, flush=True)
    return row


def main(argv=None) -> None:
    parser = common.parser(__doc__)
    args = parser.parse_args(argv)
    rows = [run_one(*d) for d in datasets(args.mnist_dir)]
    print(common.write_report("knn", rows, COLUMNS, extra=dict(
        jax_devices=str(jax.devices()), params="n_neighbors=3, metric='minkowski', p=2")))


if __name__ == "__main__":
    main()
