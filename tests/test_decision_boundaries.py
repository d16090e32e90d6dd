"""Decision boundaries and max margin: circles separability, parity with scikit-learn, the
hard-margin SVM's width and support vectors against libsvm."""

from __future__ import annotations

import functools
import importlib
import json

import numpy as np
import pytest
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.svm import SVC as SkSVC

from gdm import data
from gdm.runners import decision_boundaries as db
from tests.helpers_train import experiment_config, run_tiny

DETERMINISTIC = ("logistic_regression", "linear_svm", "rbf_svm", "knn", "naive_bayes")


tiny_config = functools.partial(experiment_config, "decision_boundaries")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_tiny(db, "decision_boundaries", tmp_path_factory)


def test_schema_figures_and_findings(tiny_run):
    results, workdir = tiny_run
    saved = json.loads((workdir / "results.json").read_text())
    assert set(saved["accuracy"]) == {"moons", "circles", "linear"}
    for models in saved["accuracy"].values():
        assert set(models) == set(db.LABELS)
        for a in models.values():
            assert len(a["per_seed"]) == len(a["sklearn_per_seed"]) == 2
    assert saved["published"]["hard_margin_width"] == "2 / ||w||"
    found = db.findings(saved)
    assert len(found) == 5 and found == db.findings(results)
    for f in found:
        assert set(f) == {"claim", "published", "measured", "holds"}
        assert isinstance(f["holds"], bool)
    assert "scikit-learn accuracy" in (workdir / "results.md").read_text()
    for name in ("decision_boundaries", "max_margin"):
        for ext in ("png", "pdf"):
            assert (workdir / "figures" / f"{name}.{ext}").exists()


def test_linear_models_fail_on_circles_and_nonlinear_ones_succeed(tiny_run):
    circles = tiny_run[0]["accuracy"]["circles"]
    for model in db.LINEAR:
        assert circles[model]["mean"] <= 0.7, model
    for model in db.NONLINEAR:
        assert circles[model]["mean"] >= 0.9, model
    moons = tiny_run[0]["accuracy"]["moons"]
    assert moons["rbf_svm"]["mean"] > moons["logistic_regression"]["mean"]


def test_accuracy_matches_scikit_learn_on_the_same_splits(tiny_run):
    results = tiny_run[0]
    one_point = 1.0 / results["n_test"]
    for name, models in results["accuracy"].items():
        for model, a in models.items():
            assert abs(a["mean"] - a["sklearn_mean"]) <= 0.05, (name, model)
            if model in DETERMINISTIC:  # same solution: at most one test point apart
                gap = np.abs(np.subtract(a["per_seed"], a["sklearn_per_seed"]))
                assert gap.max() <= one_point + 1e-9, (name, model)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_max_margin_matches_libsvm(tiny_run, kernel):
    config = tiny_config()
    m = tiny_run[0]["max_margin"][kernel]
    for s in range(config.seeds):
        ds = data.load(m["dataset"], seed=config.seed + s, n_samples=config.margin_n_samples,
                       test_fraction=config.test_fraction, normalize="standardize")
        peer = SkSVC(kernel=kernel, C=config.margin_C).fit(ds.x_train, ds.y_train)
        if kernel == "linear":
            norm = np.linalg.norm(peer.coef_)
        else:
            a, sv = peer.dual_coef_[0], peer.support_vectors_
            norm = np.sqrt(a @ rbf_kernel(sv, sv, gamma=peer._gamma) @ a)
        assert m["margin"][s] == pytest.approx(2 / norm, abs=1e-3)
        assert abs(m["n_support"][s] - len(peer.support_)) <= 1
        assert m["n_bounded"][s] == 0  # separable: a hard margin
        assert m["free_sv_deviation"][s] <= 2e-3  # support vectors on |f| = 1


@pytest.mark.parametrize("overrides,match", [
    ({"datasets": "moons,spirals"}, "config.datasets"),
    ({"seeds": 1}, "config.seeds"),
    ({"knn_k": 500}, "config.knn_k"),
    ({"rbf_gamma": "-1"}, "config.rbf_gamma"),
    ({"mlp_hidden": ()}, "config.mlp_hidden"),
    ({"margin_rbf_dataset": "blobs"}, "config.margin_rbf_dataset"),
])
def test_bad_config(overrides, match):
    with pytest.raises(ValueError, match=match):
        db.run(tiny_config(**overrides), "/tmp")


def test_bad_config_arg():
    module = importlib.import_module("experiments.decision_boundaries")
    with pytest.raises(ValueError, match="'tiny'"):
        module.get_config("huge")
