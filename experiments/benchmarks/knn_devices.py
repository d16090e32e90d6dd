"""k-NN predict with the training rows split over 1 vs 4 devices, scikit-learn beside it.

gdm.neighbors.KNeighborsClassifier splits its training rows over every device of the process.
JAX fixes the device count at start-up, so each device count runs in its own process
(`--worker`, with XLA_FLAGS=--xla_force_host_platform_device_count=N on the CPU backend);
scikit-learn's brute force runs in the parent on the same arrays. Data: digits / 16 (25% test
split) and blobs of 20,000 training and 2,000 query rows, 64 features, 10 classes; k=5,
euclidean. Cold = first predict in the process (includes compilation), warm = median of 5
later calls; scikit-learn's time is also the median of 5. n_different counts predictions that
differ from scikit-learn's, n_different_1dev those that differ from the 1-device run.

Forced CPU devices share the machine's cores, so more of them do not add compute: on a
2-core machine the 4-device run measures the cost of the split and the merge, not a speed-up.
Every device count gives the same predictions; the one digits prediction that differs from
scikit-learn's is a query whose 5th and 6th nearest distances tie exactly (scikit-learn orders
tied points arbitrarily, gdm by index).

Measured (AMD EPYC, 2 cores, run pinned to one core, jax 0.10.2 CPU; warm predict, median of 5):
digits 0.0086 s on 1 device, 0.032 s on 4, scikit-learn 0.0078 s; blobs 20k x 64, 2k queries
0.235 s on 1 device, 0.330 s on 4, scikit-learn 0.307 s.

    python -m experiments.benchmarks.knn_devices [--devices 1,4]
"""

from __future__ import annotations

import numpy as np

from experiments.benchmarks import common
from experiments.benchmarks.devices import REPEATS, median_time, runs_per_device_count

K = 5
COLUMNS = ["dataset", "n_train", "n_query", "devices", "shards", "predict_cold_s", "predict_s",
           "sk_predict_s", "ratio_sk", "ratio_1dev", "fit_s", "n_different",
           "n_different_1dev", "accuracy"]


def datasets():
    """Yields (name, x_train, y_train, x_test, y_test): digits / 16 and 20k + 2k blobs."""
    from sklearn.datasets import load_digits, make_blobs
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split((x / 16.0).astype(np.float32), y, test_size=0.25,
                                          random_state=0)
    yield "digits", xtr, ytr, xte, yte
    x, y = make_blobs(n_samples=22_000, n_features=64, centers=10, cluster_std=8.0,
                      random_state=0)
    x = x.astype(np.float32)
    yield "blobs_20k", x[:20_000], y[:20_000], x[20_000:], y[20_000:]


def time_ours(name: str, xtr, ytr, xte, yte) -> dict:
    """Fit, cold and warm predict of gdm's classifier on all devices of this process."""
    from gdm.neighbors import KNeighborsClassifier

    model = KNeighborsClassifier(K)
    _, fit_s = common.timed(lambda: model.fit(xtr, ytr))
    _, cold_s = common.timed(lambda: model.predict(xte))
    pred, warm_s = median_time(model.predict, xte)
    return dict(dataset=name, devices=model.n_devices_,
                shards=len(model._train64.addressable_shards), fit_s=fit_s,
                predict_cold_s=cold_s, predict_s=warm_s, predictions=pred.tolist())


def main(argv=None) -> None:
    parsed = runs_per_device_count(__doc__, "experiments.benchmarks.knn_devices", time_ours,
                                   datasets, argv)
    if parsed is None:
        return
    counts, runs = parsed

    from sklearn.neighbors import KNeighborsClassifier as SkKNN
    rows = []
    for i, (_, xtr, ytr, xte, yte) in enumerate(datasets()):
        sk_pred, sk_s = median_time(SkKNN(K).fit(xtr, ytr).predict, xte)
        first = runs[counts[0]]["rows"][i]
        for n in counts:
            r = dict(runs[n]["rows"][i])
            pred = np.asarray(r.pop("predictions"))
            rows.append(dict(r, n_train=len(xtr), n_query=len(xte), sk_predict_s=sk_s,
                             ratio_sk=r["predict_s"] / sk_s,
                             ratio_1dev=r["predict_s"] / first["predict_s"],
                             n_different=int(np.sum(pred != sk_pred)),
                             n_different_1dev=int(np.sum(pred != first["predictions"])),
                             accuracy=float(np.mean(pred == yte))))
            print(rows[-1], flush=True)
    print(common.write_report("knn_devices", rows, COLUMNS, extra=dict(
        jax_devices={n: runs[n]["jax_devices"] for n in counts},
        params=f"n_neighbors={K}, metric='minkowski', p=2; warm = median of {REPEATS}")))


if __name__ == "__main__":
    main()
