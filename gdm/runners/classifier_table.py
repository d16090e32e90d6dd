"""SVM vs random forest vs deep networks as the training set grows, each beside scikit-learn.

A survey comparison of the three families claims: (1) SVMs are strong with little data and
many features; (2) random forests are faster to train than SVMs as the training set grows;
(3) deep networks are best when there is the most data. For training sizes n on a grid and
`seeds` subsamples per n (seed s draws n training examples with default_rng(seed + s); the
test split is fixed), every model is fitted on the same arrays: gdm.svm.SVC vs sklearn SVC
(RBF, C=10, gamma="scale"), gdm.ensemble.RandomForestClassifier vs sklearn's (100 trees),
gdm's MLP (experiments/mlp_digits.py) and LeNet-5 (experiments/cnn_digits.py, on MNIST
cnn_mnist.py) trained through gdm.train.loop.train_and_evaluate vs sklearn's MLPClassifier of
the same shape, batch and Adam rate with as many updates, plus k-NN (k=3) and logistic
regression pairs. Per model and n: test accuracy, fit and predict time, peak memory (see
gdm/runners/_classifier_fits.py) and whether it gives predict_proba, mean +- std over seeds.

Timing: a gdm estimator is fitted once at each n before the measured fits, so fit_seconds is
the fit without compilation (first_fit_seconds: that first fit, with the compilation or its
load from the persistent cache); a network's fit is one loop call, compilation included;
predict_seconds is the second call on the test split. The cores are shared, so times are
noisy at the 10 ms level. Results: results.json ("curves": the plotted numbers; "summary";
findings(results) checks each claim), results.md; figure figures/classifier_table.{png,pdf}.

Measured (default config: digits, 1,438 training / 359 test examples, 64 features, n = 40,
100, 250, 600, 1,438, 2 seeds; 49 s with the compilation cache filled; an empty cache adds
the gdm programs' compilation, 1-20 s per forest size):
  (1) does not hold: at n=40 the RBF SVM (0.786 +- 0.031, gdm and sklearn alike) beats the
      forest (0.696 gdm, 0.706 sklearn) but not the MLP (0.809 gdm, 0.799 sklearn), a gap
      within the spread over random seeds; the SVM leads every model from n=100 to 600
      (0.937, 0.972, 0.986). LeNet-5 (--config.models=svm,forest,mlp,cnn,knn,logreg, 3 seeds)
      is below the SVM (0.772) and the MLPs (0.793) at n=40 (0.729) and best at n=1,438
      (0.992 +- 0.004).
  (2) holds by the growth rate only: over n = 250..1,438 the forest's fit time grows as
      n^0.52 (gdm) / n^0.19 (sklearn), the SVM's as n^1.00 / n^0.90, but the SVM is faster
      at every n (at 1,438: 0.058 s vs 0.365 s gdm, 0.027 s vs 0.356 s sklearn); the power
      laws would meet near n ~ 6-7 x 10^4.
  (3) holds narrowly: at n=1,438 the gdm MLP (0.990 +- 0.004) edges the SVM (0.989, one test
      example in 359), sklearn's MLP ties the SVM (0.989).
  gdm matches scikit-learn: SVM and k-NN identical on every subsample, logistic regression
  within 0.0014, forest within 0.011, MLP within 0.010. Fit times (gdm / sklearn, n=1,438):
  SVM 0.058 / 0.027 s, forest 0.37 / 0.36 s, MLP 2.4 / 3.1 s, k-NN 0.003 / 0.001 s, logistic
  regression 0.032 / 0.054 s; only SVC (probability=False, both libraries) lacks
  predict_proba; peak memory growth is under 15 MiB for every fit.
On MNIST (`:mnist`, 8,000 / 2,000 split, n = 1,000..8,000, 2 seeds, ~10 min): (1) the SVM
(0.929) beats the forest (0.901) and the MLP (0.906) at n=1,000 but not LeNet-5 (0.934 +-
0.011); (2) gdm: forest n^1.30 vs SVM n^2.05 (at 8,000 SVM 3.3 s, forest 15.4 s; the laws
meet near 6 x 10^4), sklearn: forest n^1.70 vs SVM n^1.38; the SVM is faster at every n in
both; (3) LeNet-5 is best at
n=8,000 (0.976 vs SVM 0.969, MLP 0.950-0.956); the gdm SVM's fit holds 428 MiB at n=8,000
(its kernel rows), sklearn's libsvm a few MiB.
"""

from __future__ import annotations

import os
import time

import jax
import ml_collections
import numpy as np

from gdm import data
from gdm.config import names_in
from gdm.figures import classifiers as classifier_figures
from gdm.runners import _classifier_fits as fits
from gdm.runners.findings import finding
from gdm.train.logging import write_figure_results

FAMILIES = {  # family -> label, implementations
    "svm": ("RBF SVM", ("gdm", "sklearn")),
    "forest": ("random forest", ("gdm", "sklearn")),
    "mlp": ("MLP 2x256", ("gdm", "sklearn")),
    "cnn": ("LeNet-5 CNN", ("gdm",)),
    "knn": ("k-NN", ("gdm", "sklearn")),
    "logreg": ("logistic regression", ("gdm", "sklearn")),
}
NETWORKS = fits.NETWORKS
# Largest accepted |gdm - sklearn| mean test accuracy per family: the same algorithm
# (SVM, k-NN, logistic regression) up to solver tolerance; forests differ in their random
# draws; the MLPs in regularization (gdm: dropout 0.1, sklearn: L2 1e-4) and initialization.
GROWTH_POINTS = 3  # fit-time growth is measured over the 3 largest n
PARITY_TOLERANCE = {"svm": 0.01, "forest": 0.04, "mlp": 0.06, "knn": 0.005, "logreg": 0.015}

ANCHOR = {
    "source": "survey comparison of SVMs, random forests and deep neural networks",
    "svm_best_with_little_data": "SVMs are strong with little data and many features",
    "forest_trains_faster_as_n_grows": "random forests are faster to train than SVMs as the "
                                       "training set grows",
    "dnn_best_with_most_data": "deep networks are best when there is the most data",
}


def check_config(config: ml_collections.ConfigDict) -> list[str]:
    """The model keys ("<family>/<implementation>") to run, after checking the config."""
    families = names_in(config.models, FAMILIES, "models", what="families")
    for needed in ("svm", "forest"):
        if needed not in families:
            raise ValueError(f"config.models must include {needed!r} (the claims compare it)")
    if not any(f in NETWORKS for f in families):
        raise ValueError("config.models must include 'mlp' or 'cnn' (a deep network)")
    if config.dataset.name == "mnist_idx" and not config.dataset.data_dir:
        raise ValueError("config.dataset.data_dir is required for 'mnist_idx' (the :mnist "
                         "setting reads it from $GDM_MNIST_DIR)")
    if int(config.seeds) < 1:
        raise ValueError(f"config.seeds must be >= 1, got {config.seeds}")
    sizes = list(config.train_sizes)
    if len(sizes) < 2 or any(int(n) < 0 for n in sizes):
        raise ValueError(f"config.train_sizes must list >= 2 sizes >= 0 (0: the whole "
                         f"training split), got {sizes}")
    for key in ("sklearn_threads", "svm_C", "n_trees", "knn_k", "logreg_max_iter", "neural_epochs",
                "neural_min_steps"):
        if not float(config[key]) > 0:
            raise ValueError(f"config.{key} must be > 0, got {config[key]}")
    return [f"{f}/{impl}" for f in families for impl in FAMILIES[f][1]]


def train_sizes(config: ml_collections.ConfigDict, pool: int) -> list[int]:
    """The n grid: config.train_sizes with 0 meaning the whole training split."""
    sizes = sorted({pool if int(n) == 0 else int(n) for n in config.train_sizes})
    if sizes[-1] > pool:
        raise ValueError(f"config.train_sizes: {sizes[-1]} exceeds the {pool} training "
                         "examples")
    if sizes[0] < 10:
        raise ValueError(f"config.train_sizes must be >= 10, got {sizes[0]}")
    return sizes


def _mean_std(values: list[list[float | None]]) -> tuple[list, list]:
    """Per-n mean and std over seeds of (n_sizes, n_seeds) values (None when unmeasured)."""
    if any(v is None for row in values for v in row):
        return [None] * len(values), [None] * len(values)
    a = np.asarray(values, np.float64)
    return a.mean(1).tolist(), a.std(1).tolist()


def curve(model: str, runs: list[list[dict]]) -> dict:
    """One model's curves from its runs[n][seed] measurements."""
    family, implementation = model.split("/")
    out = {"family": family, "implementation": implementation,
           "label": f"{FAMILIES[family][0]} ({implementation})"}
    for key in ("accuracy", "fit_seconds", "predict_seconds", "memory_mib"):
        values = [[r[key] for r in row] for row in runs]
        out[key], out[f"{key}_std"] = _mean_std(values)
    out["accuracy_per_seed"] = [[r["accuracy"] for r in row] for row in runs]
    out["first_fit_seconds"] = [row[0].get("first_fit_seconds", row[0]["fit_seconds"])
                                for row in runs]
    out["predict_proba"] = all(r["predict_proba"] for row in runs for r in row)
    if family in NETWORKS and implementation == "gdm":
        out["steps"] = [row[0]["steps"] for row in runs]
    return out


def fit_slope(n: list[int], seconds: list[float], points: int = GROWTH_POINTS) -> float:
    """Least-squares slope of log(fit time) on log(n) over the `points` largest n: the
    exponent of its growth where fixed per-call overheads matter least."""
    return float(np.polyfit(np.log(n[-points:]), np.log(seconds[-points:]), 1)[0])


def crossover_n(n_last: int, t_forest: float, t_svm: float, slope_forest: float,
                slope_svm: float) -> float | None:
    """The n where the fit-time power laws through the largest n meet, when the forest is
    slower there but grows slower (None otherwise)."""
    if t_forest <= t_svm or slope_forest >= slope_svm:
        return None
    return float(n_last * (t_forest / t_svm) ** (1.0 / (slope_svm - slope_forest)))


def summary(results: dict) -> dict:
    """The numbers each claim is checked on, from results["curves"] and results["n"]."""
    c, n = results["curves"], results["n"]
    nets = [m for m in c if c[m]["family"] in NETWORKS]
    others = [m for m in c if m not in nets]
    s = {"smallest_n": n[0], "largest_n": n[-1],
         "accuracy_smallest_n": {m: c[m]["accuracy"][0] for m in c},
         "accuracy_largest_n": {m: c[m]["accuracy"][-1] for m in c},
         "fit_slope": {m: fit_slope(n, c[m]["fit_seconds"]) for m in c}}
    for impl in ("gdm", "sklearn"):
        rivals = [f"forest/{impl}"] + [m for m in nets if m.endswith(impl)]
        s[f"svm_best_at_smallest_n/{impl}"] = all(
            c[f"svm/{impl}"]["accuracy"][0] >= c[m]["accuracy"][0] for m in rivals)
        s[f"forest_slope_below_svm/{impl}"] = (s["fit_slope"][f"forest/{impl}"]
                                               < s["fit_slope"][f"svm/{impl}"])
        t_rf, t_svm = c[f"forest/{impl}"]["fit_seconds"][-1], c[f"svm/{impl}"]["fit_seconds"][-1]
        s[f"forest_faster_at_largest_n/{impl}"] = t_rf < t_svm
        s[f"forest_svm_crossover_n/{impl}"] = crossover_n(
            n[-1], t_rf, t_svm, s["fit_slope"][f"forest/{impl}"], s["fit_slope"][f"svm/{impl}"])
    best_net = max(nets, key=lambda m: c[m]["accuracy"][-1])
    best_other = max(others, key=lambda m: c[m]["accuracy"][-1])
    s.update(best_network_at_largest_n=best_net, best_other_at_largest_n=best_other,
             dnn_best_at_largest_n=c[best_net]["accuracy"][-1] > c[best_other]["accuracy"][-1])
    s["parity_max_abs_diff"] = {
        f: float(np.max(np.abs(np.subtract(c[f"{f}/gdm"]["accuracy"],
                                           c[f"{f}/sklearn"]["accuracy"]))))
        for f in PARITY_TOLERANCE if f"{f}/gdm" in c and f"{f}/sklearn" in c}
    s["parity_holds"] = all(d <= PARITY_TOLERANCE[f] for f, d in s["parity_max_abs_diff"].items())
    return s


def _acc(c: dict, m: str, i: int) -> str:
    return f"{m} {c[m]['accuracy'][i]:.3f}+-{c[m]['accuracy_std'][i]:.3f}"


def findings(results: dict) -> list[dict]:
    """Each claim of ANCHOR checked on the measured numbers, plus gdm-vs-sklearn parity."""
    s, c, n = summary(results), results["curves"], results["n"]
    nets = [m for m in c if c[m]["family"] in NETWORKS]
    small = [m for m in ("svm/gdm", "forest/gdm", *[m for m in nets if m.endswith("gdm")],
                         "svm/sklearn", "forest/sklearn", "mlp/sklearn") if m in c]
    out = [finding(
        f"SVM most accurate at the smallest n ({n[0]}): {results['dataset']}",
        ANCHOR["svm_best_with_little_data"],
        "test accuracy " + ", ".join(_acc(c, m, 0) for m in small)
        + f" ({results['n_features']} features); sklearn models agree: "
        f"{s['svm_best_at_smallest_n/sklearn']}", s["svm_best_at_smallest_n/gdm"])]
    for impl in ("gdm", "sklearn"):
        rf, svm = f"forest/{impl}", f"svm/{impl}"
        cross = s[f"forest_svm_crossover_n/{impl}"]
        out.append(finding(
            f"forest fit time grows slower than the SVM's ({impl}): {results['dataset']}",
            ANCHOR["forest_trains_faster_as_n_grows"],
            f"log-log slope of fit time over n={n[-GROWTH_POINTS:]}: forest "
            f"{s['fit_slope'][rf]:.2f}, SVM {s['fit_slope'][svm]:.2f}; at n={n[-1]} forest "
            f"{c[rf]['fit_seconds'][-1]:.3f} s, SVM {c[svm]['fit_seconds'][-1]:.3f} s"
            + (f"; the power laws meet at n ~ {cross:.3g}" if cross else ""),
            s[f"forest_slope_below_svm/{impl}"] or s[f"forest_faster_at_largest_n/{impl}"]))
    top = sorted(c, key=lambda m: -c[m]["accuracy"][-1])[:4]
    out.append(finding(
        f"a deep network most accurate at the largest n ({n[-1]}): {results['dataset']}",
        ANCHOR["dnn_best_with_most_data"],
        "best test accuracies " + ", ".join(_acc(c, m, -1) for m in top),
        s["dnn_best_at_largest_n"]))
    out.append(finding(
        f"gdm matches scikit-learn's accuracy: {results['dataset']}",
        "each gdm model reproduces its scikit-learn counterpart",
        "max |gdm - sklearn| mean accuracy over n: " + ", ".join(
            f"{f} {d:.3f} (tol {PARITY_TOLERANCE[f]})"
            for f, d in s["parity_max_abs_diff"].items()), s["parity_holds"]))
    return out


def table(results: dict) -> str:
    """results.md: one row per model and n."""
    c = results["curves"]
    lines = [f"{results['dataset']}: {results['n_train_pool']} training / {results['n_test']} "
             f"test examples, {results['seeds']} seeds per n; memory: {fits.MEMORY_METHOD}.",
             "", "| n | model | test accuracy | fit s | first fit s | predict s | peak MiB "
             "| predict_proba |", "|---|---|---|---|---|---|---|---|"]
    for i, n in enumerate(results["n"]):
        for v in c.values():
            mem = "-" if v["memory_mib"][i] is None else f"{v['memory_mib'][i]:.1f}"
            lines.append(f"| {n} | {v['label']} | {v['accuracy'][i]:.4f} +- "
                         f"{v['accuracy_std'][i]:.4f} | {v['fit_seconds'][i]:.3f} +- "
                         f"{v['fit_seconds_std'][i]:.3f} | {v['first_fit_seconds'][i]:.3f} | "
                         f"{v['predict_seconds'][i]:.4f} | {mem} | {v['predict_proba']} |")
    lines += ["", "| claim | measured | holds |", "|---|---|---|"]
    lines += [f"| {f['claim']} | {f['measured']} | {f['holds']} |" for f in findings(results)]
    device = jax.devices()[0]
    return "\n".join(lines) + (f"\n\nMeasured on {os.cpu_count()} CPU cores, jax "
                               f"{jax.__version__} on {device.platform}; run "
                               f"{results['wall_seconds']:.0f} s.\n")


def load_dataset(config: ml_collections.ConfigDict) -> data.Dataset:
    d = config.dataset
    return data.load(d.name, data_dir=d.data_dir or None, seed=config.seed,
                     test_fraction=float(d.test_fraction))


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    models = check_config(config)
    start = time.perf_counter()
    ds = load_dataset(config)
    if ds.image_shape is None and any(m.startswith("cnn/") for m in models):
        raise ValueError(f"config.models: 'cnn' needs images; {ds.name} is tabular")
    sizes = train_sizes(config, len(ds.x_train))
    runs: dict[str, list] = {m: [] for m in models}
    for n in sizes:
        subs = [fits.subsample(ds, n, config.seed + s) for s in range(config.seeds)]
        for m in models:
            runs[m].append([fits.measure(m, config, sub, workdir, config.seed + s)
                            for s, sub in enumerate(subs)])
            acc = [r["accuracy"] for r in runs[m][-1]]
            fit = [r["fit_seconds"] for r in runs[m][-1]]
            print(f"n={n:>5} {m:<15} accuracy {np.mean(acc):.4f}  fit {np.mean(fit):.3f} s",
                  flush=True)
    results = {
        "dataset": ds.name, "n": sizes, "seeds": int(config.seeds),
        "n_train_pool": len(ds.x_train), "n_test": len(ds.x_test),
        "n_features": int(np.prod(ds.input_shape)), "n_classes": int(ds.num_classes),
        "models": models, "curves": {m: curve(m, runs[m]) for m in models},
        "memory_method": fits.MEMORY_METHOD, "published": ANCHOR,
        "wall_seconds": time.perf_counter() - start, "cpu_count": os.cpu_count(),
    }
    results["summary"] = summary(results)
    write_figure_results(workdir, results, table(results), lambda d: classifier_figures.
                         scaling_curves(results, d, "classifier_table"))
    return results
