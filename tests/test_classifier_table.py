"""The classifier comparison table: every family on one split, each matching its sklearn twin."""

from __future__ import annotations

import importlib

from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from gdm import data
from gdm.runners import classifier_table

PEERS = {
    "RBF SVM (C=10)": (SVC(C=10.0, gamma="scale"), 0.02),
    "random forest (100 trees)": (RandomForestClassifier(100, random_state=0), 0.05),
    "k-NN (k=3)": (KNeighborsClassifier(3), 1e-9),
    "logistic regression": (LogisticRegression(max_iter=200), 0.03),
    "naive Bayes (Gaussian)": (GaussianNB(), 1e-9),
}


def test_table_on_wine_matches_sklearn_twins(tmp_path):
    config = importlib.import_module("experiments.classifier_table").get_config()
    config.dataset.name = "wine"
    config.neural_steps = 200
    results = classifier_table.run(config, str(tmp_path))
    ds = data.load("wine", seed=0, flatten=True)
    for name, (peer, tolerance) in PEERS.items():
        expected = peer.fit(ds.x_train, ds.y_train).score(ds.x_test, ds.y_test)
        assert abs(results[f"{name}/accuracy"] - expected) <= tolerance, name
    assert results["MLP/accuracy"] >= 0.8
    assert "LeNet-5 CNN/accuracy" not in results  # tabular data: no CNN row
    assert "| MLP |" in (tmp_path / "results.md").read_text()
