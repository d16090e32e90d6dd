"""Decision boundaries of gdm's classifiers on 2-D data, and the SVM's maximum margin.

The picture of discriminative models: each learns a boundary between classes, linear
(logistic regression, linear SVM) or not (RBF SVM, k-NN, trees, forests), while a generative
model (naive Bayes) draws its boundary from per-class densities. Panels: one row per dataset,
one column per model, test accuracy in the title. The max-margin figure shows a linear SVM on
separable data with its margin (decision function = +-1) and support vectors circled.
Results: "<dataset>/<model>/accuracy".
"""

from __future__ import annotations

import os

import ml_collections
import numpy as np

from gdm import data
from gdm.ensemble import RandomForestClassifier
from gdm.figures import new_figure, save
from gdm.linear_model import LogisticRegression
from gdm.naive_bayes import GaussianNB
from gdm.neighbors import KNeighborsClassifier
from gdm.svm import SVC
from gdm.train.logging import write_results
from gdm.tree import DecisionTreeClassifier

MODELS = {
    "logistic regression": lambda seed: LogisticRegression(),
    "linear SVM": lambda seed: SVC(kernel="linear", C=1.0),
    "RBF SVM": lambda seed: SVC(kernel="rbf", C=10.0, gamma="scale"),
    "k-NN (k=15)": lambda seed: KNeighborsClassifier(n_neighbors=15),
    "decision tree": lambda seed: DecisionTreeClassifier(max_depth=6, random_state=seed),
    "random forest": lambda seed: RandomForestClassifier(n_estimators=100, random_state=seed),
    "naive Bayes": lambda seed: GaussianNB(),
}


def _grid(x: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = x.min(0) - 0.5, x.max(0) + 0.5
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    return xx, yy, np.c_[xx.ravel(), yy.ravel()].astype(np.float32)


def _score_surface(model, points: np.ndarray) -> np.ndarray:
    """P(class 1) where the model has probabilities, else the decision function's sign side."""
    if hasattr(model, "predict_proba") and not isinstance(model, SVC):
        return model.predict_proba(points)[:, 1]
    return 1.0 / (1.0 + np.exp(-model.decision_function(points)))


def boundaries(names: list[str], seed: int, n_samples: int, resolution: int, directory: str):
    fig, axes = new_figure(len(names), len(MODELS), size=(2.1 * len(MODELS), 2.1 * len(names)),
                           squeeze=False)
    results = {}
    for row, name in enumerate(names):
        ds = data.load(name, seed=seed, n_samples=n_samples, normalize="standardize")
        xx, yy, points = _grid(np.concatenate([ds.x_train, ds.x_test]), resolution)
        for col, (label, make) in enumerate(MODELS.items()):
            model = make(seed).fit(ds.x_train, ds.y_train)
            accuracy = float(model.score(ds.x_test, ds.y_test))
            results[f"{name}/{label}/accuracy"] = accuracy
            ax = axes[row][col]
            surface = _score_surface(model, points).reshape(xx.shape)
            ax.contourf(xx, yy, surface, levels=20, cmap="RdBu", alpha=0.7)
            ax.contour(xx, yy, surface, levels=[0.5], colors="k", linewidths=0.8)
            ax.scatter(*ds.x_test.T, c=ds.y_test, cmap="RdBu", edgecolors="k", s=8, lw=0.3)
            ax.set(xticks=[], yticks=[], title=f"{label}\n{accuracy:.1%}" if row == 0 else
                   f"{accuracy:.1%}")
            ax.grid(False)
        axes[row][0].set_ylabel(name)
    save(fig, directory, "decision_boundaries")
    return results


def max_margin(seed: int, directory: str) -> dict[str, float]:
    """Linear SVM on separable data: margin width 2/||w|| and the support vectors."""
    ds = data.load("linear", seed=seed, n_samples=120, normalize="standardize")
    svm = SVC(kernel="linear", C=1e3).fit(ds.x_train, ds.y_train)
    xx, yy, points = _grid(ds.x_train, 200)
    fig, ax = new_figure(size=(4, 4))
    values = svm.decision_function(points).reshape(xx.shape)
    ax.contour(xx, yy, values, levels=[-1, 0, 1], colors="k", linestyles=["--", "-", "--"])
    ax.scatter(*ds.x_train.T, c=ds.y_train, cmap="RdBu", edgecolors="k", s=14, lw=0.3)
    ax.scatter(*svm.support_vectors_.T, s=90, facecolors="none", edgecolors="k", lw=1.0)
    w = np.asarray(svm.dual_coef_ @ svm.support_vectors_)[0]  # primal weights of a linear SVM
    margin = float(2.0 / np.linalg.norm(w))
    ax.set(title=f"linear SVM: margin {margin:.3f}\n{len(svm.support_)} support vectors",
           xlabel="x1", ylabel="x2")
    save(fig, directory, "max_margin")
    return {"linear/svm/margin": margin, "linear/svm/n_support": float(len(svm.support_))}


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    names = [n.strip() for n in config.datasets.split(",") if n.strip()]
    if not names:
        raise ValueError("config.datasets must name at least one 2-D dataset")
    directory = os.path.join(workdir, "figures")
    results = boundaries(names, config.seed, config.n_samples, config.resolution, directory)
    results.update(max_margin(config.seed, directory))
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value:.4f}")
    write_results(workdir, results)
    return results
