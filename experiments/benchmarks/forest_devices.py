"""Random-forest fit with the training samples split over 1 vs 4 devices, scikit-learn beside it.

gdm.ensemble.RandomForestClassifier splits its training samples over every device of the
process (`n_devices`), each device building its samples' histograms, summed across devices
before each split search. JAX fixes the device count at start-up, so each device count runs in
its own process (`--worker`, with XLA_FLAGS=--xla_force_host_platform_device_count=N on the
CPU backend); scikit-learn (n_jobs=-1) runs in the parent on the same arrays. Data: digits
(25% test split) and make_classification with 20,000 training and 2,000 test rows, 40
features, 10 classes; N_ESTIMATORS trees, default parameters, random_state 0. Cold = first fit
in the process (includes compilation), warm = median of REPEATS later fits; scikit-learn's time
is also the median of REPEATS. same_trees_1dev: every node array equals the 1-device fit's.

Forced CPU devices share the machine's cores, so more of them do not add compute: pinned to
one core, the 4-device run measures the cost of the split and the cross-device sums, not a
speed-up. Each device builds its own samples' histogram entries and scans its block of the
summed histograms (node slots of the full search, feature slots of the compact search); the
compact search's cell occupancy and the per-node steps run on every device.

Measured (AMD EPYC, 2 cores shared with other jobs, run pinned to one core, jax 0.10.2 CPU;
32 trees, warm fit, median of 5): digits 0.057 s on 1 device, 0.295 s on 4, scikit-learn
0.054 s; synthetic 20k x 40 3.04 s on 1 device, 8.38 s on 4, scikit-learn 2.47 s. The trees
of 4 devices equal those of 1 on both data sets.

    python -m experiments.benchmarks.forest_devices [--devices 1,4]
"""

from __future__ import annotations

import hashlib

import numpy as np

from experiments.benchmarks import common
from experiments.benchmarks.devices import REPEATS, median_time, runs_per_device_count

N_ESTIMATORS = 32
COLUMNS = ["dataset", "n_train", "n_features", "devices", "fit_cold_s", "fit_s", "sk_fit_s",
           "ratio_sk", "ratio_1dev", "same_trees_1dev", "accuracy", "sk_accuracy"]


def datasets():
    """Yields (name, x_train, y_train, x_test, y_test): digits and a 20k x 40 synthetic set."""
    from sklearn.datasets import load_digits, make_classification
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x.astype(np.float32), y, test_size=0.25,
                                          random_state=0)
    yield "digits", xtr, ytr, xte, yte
    x, y = make_classification(n_samples=22_000, n_features=40, n_informative=20,
                               n_classes=10, random_state=0)
    x = x.astype(np.float32)
    yield "synthetic_20k", x[:20_000], y[:20_000], x[20_000:], y[20_000:]


def trees_digest(model) -> str:
    """A hash of every fitted node array, to compare fits across processes."""
    digest = hashlib.sha256()
    for name in sorted(model.tree_arrays_):
        digest.update(np.ascontiguousarray(model.tree_arrays_[name]).tobytes())
    return digest.hexdigest()


def time_ours(name: str, xtr, ytr, xte, yte) -> dict:
    """Cold and warm fit of gdm's forest on all devices of this process."""
    from gdm.ensemble import RandomForestClassifier

    make = lambda: RandomForestClassifier(N_ESTIMATORS, random_state=0)
    model, cold_s = common.timed(lambda: make().fit(xtr, ytr))
    _, warm_s = median_time(lambda: make().fit(xtr, ytr))
    return dict(dataset=name, devices=model.n_devices_, fit_cold_s=cold_s, fit_s=warm_s,
                digest=trees_digest(model), accuracy=float(model.score(xte, yte)))


def main(argv=None) -> None:
    parsed = runs_per_device_count(__doc__, "experiments.benchmarks.forest_devices", time_ours,
                                   datasets, argv)
    if parsed is None:
        return
    counts, runs = parsed

    from sklearn.ensemble import RandomForestClassifier as SkForest
    rows = []
    for i, (_, xtr, ytr, xte, yte) in enumerate(datasets()):
        peer, sk_s = median_time(
            lambda a, b: SkForest(N_ESTIMATORS, random_state=0, n_jobs=-1).fit(a, b), xtr, ytr)
        first = runs[counts[0]]["rows"][i]
        for n in counts:
            r = dict(runs[n]["rows"][i])
            digest = r.pop("digest")
            rows.append(dict(r, n_train=len(xtr), n_features=xtr.shape[1], sk_fit_s=sk_s,
                             ratio_sk=r["fit_s"] / sk_s, ratio_1dev=r["fit_s"] / first["fit_s"],
                             same_trees_1dev=digest == first["digest"],
                             sk_accuracy=float(peer.score(xte, yte))))
            print(rows[-1], flush=True)
    print(common.write_report("forest_devices", rows, COLUMNS, extra=dict(
        jax_devices={n: runs[n]["jax_devices"] for n in counts},
        params=f"n_estimators={N_ESTIMATORS}, default parameters, random_state=0; "
               f"warm = median of {REPEATS}")))


if __name__ == "__main__":
    main()
