"""SVC fit and predict with the kernel's rows split over 1 vs 4 devices, scikit-learn beside it.

gdm.svm.SVC splits the kernel's rows (the training samples) and the test rows over every
device of the process. JAX fixes the device count at start-up, so each device count runs in its
own process (`--worker`, with XLA_FLAGS=--xla_force_host_platform_device_count=N on the CPU
backend); scikit-learn's SVC runs in the parent on the same arrays. Data: digits / 16 (25% test
split) and make_classification with 4,000 training and 1,000 test rows, 64 features, 10
classes; SVC() defaults (rbf, C=1, gamma='scale'). Cold = first call in the process (includes
compilation), warm = median of 5 later calls; scikit-learn's times are also medians of 5.
n_different counts predictions that differ from scikit-learn's, n_different_1dev those that
differ from the 1-device run; dual_coef_diff_1dev is the largest difference of dual_coef_ from
the 1-device run's (support vectors equal).

Forced CPU devices share the machine's cores, so more of them do not add compute: on a
2-core machine the 4-device run measures the cost of the split and of the collectives the SMO
steps make (two per step), not a speed-up.

Every device count gives the same support vectors, dual coefficients (bitwise) and
predictions, and the same predictions as scikit-learn.

Measured (AMD EPYC, 2 cores, run pinned to one core, jax 0.10.2 CPU; warm, median of 5):
digits fit 0.030 s on 1 device, 0.110 s on 4, scikit-learn 0.016 s; predict 0.0059 s, 0.0092 s,
scikit-learn 0.012 s. Synthetic 4k x 64, 1k test rows: fit 0.432 s on 1 device, 0.678 s on 4,
scikit-learn 0.295 s; predict 0.022 s, 0.012 s, scikit-learn 0.153 s.

    python -m experiments.benchmarks.svm_devices [--devices 1,4]
"""

from __future__ import annotations

import numpy as np

from experiments.benchmarks import common
from experiments.benchmarks.devices import REPEATS, median_time, runs_per_device_count

COLUMNS = ["dataset", "n_train", "n_test", "devices", "fit_cold_s", "fit_s", "sk_fit_s",
           "fit_ratio_sk", "fit_ratio_1dev", "predict_cold_s", "predict_s", "sk_predict_s",
           "predict_ratio_sk", "predict_ratio_1dev", "n_support", "n_different",
           "n_different_1dev", "dual_coef_diff_1dev", "accuracy"]


def datasets():
    """Yields (name, x_train, y_train, x_test, y_test): digits / 16 and 4k + 1k synthetic."""
    from sklearn.datasets import load_digits, make_classification
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split((x / 16.0).astype(np.float32), y, test_size=0.25,
                                          random_state=0)
    yield "digits", xtr, ytr, xte, yte
    x, y = make_classification(n_samples=5_000, n_features=64, n_informative=32,
                               n_classes=10, n_clusters_per_class=1, random_state=0)
    x = x.astype(np.float32)
    yield "synthetic_4k", x[:4_000], y[:4_000], x[4_000:], y[4_000:]


def time_ours(name: str, xtr, ytr, xte, yte) -> dict:
    """Cold and warm fit and predict of gdm's SVC on all devices of this process."""
    from gdm.svm import SVC

    model = SVC()
    _, fit_cold_s = common.timed(lambda: model.fit(xtr, ytr))
    _, fit_s = median_time(model.fit, xtr, ytr)
    _, cold_s = common.timed(lambda: model.predict(xte))
    pred, warm_s = median_time(model.predict, xte)
    return dict(dataset=name, devices=model.n_devices_, fit_cold_s=fit_cold_s, fit_s=fit_s,
                predict_cold_s=cold_s, predict_s=warm_s, n_support=len(model.support_),
                predictions=pred.tolist(), support=model.support_.tolist(),
                dual_coef=model.dual_coef_.tolist())


def _against_first(r: dict, first: dict) -> dict:
    """Prediction and dual-coefficient differences from the first device count's run."""
    same_support = r["support"] == first["support"]
    diff = (float(np.max(np.abs(np.subtract(r["dual_coef"], first["dual_coef"]))))
            if same_support else float("nan"))
    return dict(n_different_1dev=int(np.sum(np.asarray(r["predictions"])
                                            != first["predictions"])),
                dual_coef_diff_1dev=diff, fit_ratio_1dev=r["fit_s"] / first["fit_s"],
                predict_ratio_1dev=r["predict_s"] / first["predict_s"])


def main(argv=None) -> None:
    parsed = runs_per_device_count(__doc__, "experiments.benchmarks.svm_devices", time_ours,
                                   datasets, argv)
    if parsed is None:
        return
    counts, runs = parsed

    from sklearn.svm import SVC as SkSVC
    rows = []
    for i, (_, xtr, ytr, xte, yte) in enumerate(datasets()):
        peer = SkSVC()
        _, sk_fit_s = median_time(peer.fit, xtr, ytr)
        sk_pred, sk_s = median_time(peer.predict, xte)
        first = runs[counts[0]]["rows"][i]
        for n in counts:
            r = dict(runs[n]["rows"][i])
            pred = np.asarray(r["predictions"])
            row = dict(r, n_train=len(xtr), n_test=len(xte), sk_fit_s=sk_fit_s,
                       sk_predict_s=sk_s, fit_ratio_sk=r["fit_s"] / sk_fit_s,
                       predict_ratio_sk=r["predict_s"] / sk_s,
                       n_different=int(np.sum(pred != sk_pred)),
                       accuracy=float(np.mean(pred == yte)), **_against_first(r, first))
            for key in ("predictions", "support", "dual_coef"):
                row.pop(key)
            rows.append(row)
            print(rows[-1], flush=True)
    print(common.write_report("svm_devices", rows, COLUMNS, extra=dict(
        jax_devices={n: runs[n]["jax_devices"] for n in counts},
        params=f"SVC() defaults (rbf, C=1, gamma='scale'); warm = median of {REPEATS}")))


if __name__ == "__main__":
    main()
