"""Generative vs discriminative learning curves (Ng & Jordan 2001, NIPS 14).

Naive Bayes (generative: models p(x, y)) against logistic regression (discriminative: models
p(y | x)) as the training set grows. Ng & Jordan's finding: naive Bayes approaches its (higher)
asymptotic error with O(log n) examples, logistic regression needs O(n) but reaches a lower
asymptote, so the curves often cross. Each point averages `repeats` random training draws; the
test set is fixed per dataset. scikit-learn's GaussianNB and LogisticRegression run on the same
draws as peers. Results: "<dataset>/<model>/error@<m>"; figure figures/gen_vs_disc.{png,pdf}.
"""

from __future__ import annotations

import os

import jax
import ml_collections
import numpy as np
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.naive_bayes import GaussianNB as SkGaussianNB

from gdm import data
from gdm.figures import new_figure, save
from gdm.linear_model import LogisticRegression
from gdm.naive_bayes import GaussianNB
from gdm.train.logging import write_results

MODELS = {
    "nb": lambda: GaussianNB(),
    "lr": lambda: LogisticRegression(C=1.0, max_iter=200),
    "sklearn_nb": lambda: SkGaussianNB(),
    "sklearn_lr": lambda: SkLogisticRegression(C=1.0, max_iter=200),
}


def training_sizes(n_train: int, n_classes: int, points: int) -> list[int]:
    """Geometric grid from a few examples per class up to the whole training split."""
    low = max(2 * n_classes, 4)
    return sorted({int(round(m)) for m in np.geomspace(low, n_train, points)})


def _draw(y: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """m training indices with every class present at least once (both models need it)."""
    classes = np.unique(y)
    first = np.array([rng.choice(np.flatnonzero(y == c)) for c in classes])
    rest = rng.permutation(np.setdiff1d(np.arange(len(y)), first))[: m - len(first)]
    return np.concatenate([first, rest])


def learning_curves(name: str, sizes: list[int] | None, repeats: int, seed: int,
                    points: int = 8, models=tuple(MODELS)) -> dict[str, list[float]]:
    """Mean test error per model per size, over `repeats` draws of the training set."""
    ds = data.load(name, seed=seed, flatten=True)
    x, y, xt, yt = ds.x_train, ds.y_train, ds.x_test, ds.y_test
    sizes = sizes or training_sizes(len(x), ds.num_classes, points)
    curves: dict[str, list[float]] = {"sizes": [float(m) for m in sizes]}
    rng = np.random.default_rng(seed)
    draws = {m: [_draw(y, m, rng) for _ in range(repeats)] for m in sizes}
    for model in models:
        mean, std = [], []
        for m in sizes:
            errors = [1.0 - MODELS[model]().fit(x[idx], y[idx]).score(xt, yt)
                      for idx in draws[m]]
            mean.append(float(np.mean(errors)))
            std.append(float(np.std(errors)))
        curves[model], curves[f"{model}_std"] = mean, std
    return curves


def plot(all_curves: dict[str, dict[str, list[float]]], directory: str) -> list[str]:
    fig, axes = new_figure(1, len(all_curves), squeeze=False)
    styles = {"nb": ("naive Bayes (generative)", "C0"), "lr": ("logistic regr. (discrim.)",
                                                              "C3")}
    for ax, (name, curves) in zip(axes[0], all_curves.items(), strict=True):
        for model, (label, color) in styles.items():
            mean, std = np.array(curves[model]), np.array(curves[f"{model}_std"])
            ax.plot(curves["sizes"], mean, "o-", color=color, label=label, ms=3)
            ax.fill_between(curves["sizes"], mean - std, mean + std, color=color, alpha=0.15)
        ax.set_xscale("log")
        ax.set(title=name, xlabel="training examples m", ylabel="test error")
    axes[0][0].legend()
    return save(fig, directory, "gen_vs_disc")


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    names = [n.strip() for n in config.datasets.split(",") if n.strip()]
    if not names:
        raise ValueError("config.datasets must name at least one dataset")
    if config.repeats < 1:
        raise ValueError(f"config.repeats must be >= 1, got {config.repeats}")
    all_curves, results = {}, {}
    for name in names:
        curves = learning_curves(name, None, config.repeats, config.seed, config.points)
        all_curves[name] = curves
        for model in MODELS:
            for m, err in zip(curves["sizes"], curves[model], strict=True):
                results[f"{name}/{model}/error@{int(m)}"] = err
        print(f"{name}: m={[int(m) for m in curves['sizes']]}\n"
              f"  naive Bayes error {np.round(curves['nb'], 3).tolist()}\n"
              f"  logistic    error {np.round(curves['lr'], 3).tolist()}", flush=True)
    if jax.process_index() == 0:
        plot(all_curves, os.path.join(workdir, "figures"))
    write_results(workdir, results)
    return results
