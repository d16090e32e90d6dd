"""Decision-boundary and max-margin figures: the margin against libsvm, boundaries sensible."""

from __future__ import annotations

import numpy as np
from sklearn.svm import SVC as SkSVC

from gdm import data
from gdm.runners import decision_boundaries as db


def test_max_margin_matches_libsvm(tmp_path):
    results = db.max_margin(0, str(tmp_path))
    ds = data.load("linear", seed=0, n_samples=120, normalize="standardize")
    peer = SkSVC(kernel="linear", C=1e3).fit(ds.x_train, ds.y_train)
    assert abs(results["linear/svm/margin"] - 2 / np.linalg.norm(peer.coef_)) < 1e-3
    assert results["linear/svm/n_support"] == len(peer.support_)
    assert (tmp_path / "max_margin.png").exists() and (tmp_path / "max_margin.pdf").exists()


def test_nonlinear_models_separate_circles_and_linear_ones_cannot(tmp_path):
    results = db.boundaries(["circles"], seed=0, n_samples=200, resolution=20,
                            directory=str(tmp_path))
    for model in ("RBF SVM", "k-NN (k=15)", "random forest"):
        assert results[f"circles/{model}/accuracy"] >= 0.9, model
    for model in ("logistic regression", "linear SVM"):
        assert results[f"circles/{model}/accuracy"] <= 0.7, model
    assert (tmp_path / "decision_boundaries.png").exists()
