"""SVM vs forest vs deep networks over training sizes, each gdm model beside scikit-learn."""

from __future__ import annotations

import copy
import importlib
import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from gdm.runners import _classifier_fits as fits
from gdm.runners import classifier_table

CONFIGS = importlib.import_module("experiments.classifier_table")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("classifier_table")
    config = CONFIGS.get_config("tiny")
    return config, classifier_table.run(config, str(workdir)), workdir


def test_schema_and_figure(tiny):
    config, results, workdir = tiny
    saved = json.loads((workdir / "results.json").read_text())
    n = saved["n"]
    assert n == sorted(n) and len(n) == len(config.train_sizes)
    assert saved["models"] == [f"{f}/{i}" for f in config.models.split(",")
                               for i in classifier_table.FAMILIES[f][1]]
    for model, curve in saved["curves"].items():
        for key in ("accuracy", "fit_seconds", "predict_seconds", "memory_mib",
                    "first_fit_seconds"):
            assert len(curve[key]) == len(n), (model, key)
        assert np.shape(curve["accuracy_per_seed"]) == (len(n), config.seeds)
        assert all(t > 0 for t in curve["fit_seconds"] + curve["predict_seconds"]), model
        assert all(m is None or m >= 0 for m in curve["memory_mib"]), model
    # SVC without probability=True has no predict_proba in either library; the rest do.
    proba = {m: c["predict_proba"] for m, c in saved["curves"].items()}
    assert proba == {m: not m.startswith("svm/") for m in saved["models"]}
    assert saved["published"] == classifier_table.ANCHOR
    assert (workdir / "figures" / "classifier_table.png").exists()
    assert (workdir / "figures" / "classifier_table.pdf").exists()
    assert "| RBF SVM (gdm) |" in (workdir / "results.md").read_text()


def _peer_accuracy(peer, config, n: int, seed: int) -> float:
    sub = fits.subsample(classifier_table.load_dataset(config), n, seed)
    x, x_test = fits.flat(sub.x_train), fits.flat(sub.x_test)
    return float(peer.fit(x, sub.y_train).score(x_test, sub.y_test))


@pytest.mark.parametrize("model,peer,tolerance", [
    ("svm/gdm", SVC(C=10.0, gamma="scale"), 0.006),
    ("knn/gdm", KNeighborsClassifier(3), 1e-9),
    ("logreg/gdm", LogisticRegression(max_iter=200), 0.012),
])
def test_gdm_matches_sklearn_on_each_subsample(tiny, model, peer, tolerance):
    config, results, _ = tiny
    per_seed = results["curves"][model]["accuracy_per_seed"]
    for i, n in enumerate(results["n"]):
        for s in range(config.seeds):
            expected = _peer_accuracy(copy.deepcopy(peer), config, n, config.seed + s)
            assert abs(per_seed[i][s] - expected) <= tolerance, (model, n, s)


def test_randomized_families_match_on_average(tiny):
    _, results, _ = tiny
    c = results["curves"]
    for family, tolerance in (("forest", 0.05), ("mlp", 0.05)):
        diff = np.subtract(c[f"{family}/gdm"]["accuracy"], c[f"{family}/sklearn"]["accuracy"])
        assert np.max(np.abs(diff)) <= tolerance, family
    assert c["svm/gdm"]["accuracy"][-1] > c["svm/gdm"]["accuracy"][0] + 0.05  # more data helps


def test_findings_follow_the_numbers(tiny):
    _, _, workdir = tiny
    saved = json.loads((workdir / "results.json").read_text())
    out = classifier_table.findings(saved)
    assert [f["published"] for f in out[:4]] == [
        classifier_table.ANCHOR["svm_best_with_little_data"],
        *[classifier_table.ANCHOR["forest_trains_faster_as_n_grows"]] * 2,
        classifier_table.ANCHOR["dnn_best_with_most_data"]]
    c = saved["curves"]
    svm_first = c["svm/gdm"]["accuracy"][0] >= max(c[m]["accuracy"][0]
                                                   for m in ("forest/gdm", "mlp/gdm"))
    assert out[0]["holds"] == svm_first
    best = max(c, key=lambda m: c[m]["accuracy"][-1])
    assert out[3]["holds"] == (c[best]["family"] == "mlp")
    assert out[4]["holds"] is True  # parity


def _synthetic(svm_small: float, rf_growth: float, dnn_large: float) -> dict:
    """Two-family-plus-MLP results with chosen accuracies and fit-time growth."""
    n = [100, 1000, 10000]

    def curve(family, impl, accuracy, seconds):
        return {"family": family, "implementation": impl, "accuracy": accuracy,
                "accuracy_std": [0.0] * 3, "fit_seconds": seconds}
    c = {}
    for impl in ("gdm", "sklearn"):
        c[f"svm/{impl}"] = curve("svm", impl, [svm_small, 0.9, 0.95], [0.01, 1.0, 100.0])
        c[f"forest/{impl}"] = curve("forest", impl, [0.7, 0.88, 0.94],
                                    [0.1 * 10 ** (k * rf_growth) for k in range(3)])
        c[f"mlp/{impl}"] = curve("mlp", impl, [0.75, 0.89, dnn_large], [1.0, 2.0, 20.0])
    return {"dataset": "synthetic", "n": n, "n_features": 10, "curves": c}


def test_findings_on_constructed_curves():
    holds = [f["holds"] for f in classifier_table.findings(_synthetic(0.8, 1.0, 0.97))]
    assert holds == [True, True, True, True, True]  # forest slope 1 < SVM's 2
    fails = [f["holds"] for f in classifier_table.findings(_synthetic(0.7, 2.5, 0.93))]
    assert fails == [False, False, False, False, True]
    assert classifier_table.fit_slope([10, 100, 1000], [1.0, 10.0, 100.0]) == pytest.approx(1)
    assert classifier_table.crossover_n(1000, 10.0, 1.0, 1.0, 2.0) == pytest.approx(10000)


def test_peak_memory_sees_a_new_array():
    with fits.PeakMemory() as probe:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, written
    if probe.mib is None:
        pytest.skip("peak RSS cannot be reset here (/proc/self/clear_refs)")
    assert 60 <= probe.mib <= 80
    del block


def test_mnist_setting_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GDM_MNIST_DIR", str(tmp_path))
    config = CONFIGS.get_config("mnist")
    assert config.dataset.name == "mnist_idx" and config.dataset.data_dir == str(tmp_path)
    assert tuple(config.train_sizes) == (1000, 2000, 4000, 8000) and "cnn" in config.models


@pytest.mark.parametrize("key,value,match", [
    ("models", "forest,mlp", "config.models must include 'svm'"),
    ("models", "svm,forest,knn", "deep network"),
    ("models", "svm,forest,mlp,boosting", "config.models"),
    ("seeds", 0, "config.seeds"),
    ("train_sizes", (40,), "config.train_sizes"),
    ("train_sizes", (40, 5000), "exceeds"),
    ("svm_C", 0.0, "config.svm_C"),
])
def test_bad_config(key, value, match):
    config = CONFIGS.get_config("tiny")
    config[key] = value
    with pytest.raises(ValueError, match=match):
        classifier_table.run(config, "/tmp")


def test_bad_arg_and_cnn_on_tabular_data():
    with pytest.raises(ValueError, match="tiny"):
        CONFIGS.get_config("huge")
    config = CONFIGS.get_config("tiny")
    config.dataset.name, config.models = "wine", "svm,forest,cnn"
    with pytest.raises(ValueError, match="needs images"):
        classifier_table.run(config, "/tmp")
