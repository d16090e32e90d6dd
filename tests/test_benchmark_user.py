"""The user benchmark's fresh processes and report, on GaussianNB and iris (a few seconds)."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB

from experiments.benchmarks import user


@pytest.fixture(scope="module")
def iris_npz(tmp_path_factory):
    x, y = load_iris(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x.astype(np.float32), y, test_size=0.3,
                                          random_state=0)
    path = tmp_path_factory.mktemp("iris") / "iris.npz"
    np.savez(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    expected = float(np.mean(GaussianNB().fit(xtr, ytr).predict(xte) == yte))
    return str(path), expected


def test_fresh_process_cold_then_warm_cache(iris_npz, tmp_path):
    data, expected = iris_npz
    cache = str(tmp_path / "cache")
    first = user.fresh_process("gaussiannb", "gdm", data, cache_dir=cache)
    second = user.fresh_process("gaussiannb", "gdm", data, cache_dir=cache, warm=1)
    for report in (first, second):
        assert report["accuracy"] == pytest.approx(expected)
        assert report["compile_count"] > 0
        assert report["process_s"] >= report["import_s"] + report["fit_s"]
    # The first process compiles every program into the empty cache; the second loads the
    # same programs from it and so compiles far less.
    assert first["cache_hits"] == 0 and first["cache_misses"] == first["compile_count"]
    assert second["cache_hits"] == first["cache_misses"] and second["cache_misses"] == 0
    assert second["compile_s"] < first["compile_s"]
    assert {"fit_warm_s", "predict_warm_s"} <= set(second) and "fit_warm_s" not in first


def test_peer_process_never_imports_jax(iris_npz):
    data, expected = iris_npz
    report = user.fresh_process("gaussiannb", "sklearn", data)
    assert report["accuracy"] == pytest.approx(expected)
    assert "compile_count" not in report and "cache_hits" not in report


def test_report_fields(iris_npz, tmp_path):
    data, expected = iris_npz
    user.main(["--data", data, "--estimators", "gaussiannb", "--grids", "", "--repeats", "1",
               "--warm", "1", "--out_dir", str(tmp_path)])
    payload = json.loads((tmp_path / "user.json").read_text())
    assert payload["benchmark"] == "user" and payload["machine"]
    assert payload["versions"]["scikit-learn"] and payload["versions"]["jax"]
    (row,) = payload["rows"]
    assert row["estimator"] == "gaussiannb" and row["peer"] == "sklearn"
    assert row["accuracy"] == pytest.approx(expected)
    assert row["peer_accuracy"] == pytest.approx(expected)
    assert row["ratio_first"] == pytest.approx(row["first_process_s"] / row["peer_process_s"])
    assert row["ratio_cache"] == pytest.approx(row["cache_process_s"] / row["peer_process_s"])
    assert row["cache_hits"] == row["cache_misses_first"] > 0
    assert set(payload["runs"]["gaussiannb"]) == {"gdm_first", "gdm_cache", "sklearn"}
    assert "| gaussiannb | sklearn |" in (tmp_path / "user.md").read_text()


def test_unknown_names_are_rejected(iris_npz):
    with pytest.raises(ValueError, match="impl must be one of"):
        user.fresh_process("gaussiannb", "xgboost", iris_npz[0])
    with pytest.raises(ValueError, match="--estimators must be"):
        user.main(["--estimators", "svm"])
