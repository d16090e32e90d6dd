"""The user benchmark's fresh processes and report, on GaussianNB and iris (three processes)."""

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


@pytest.fixture(scope="module")
def report(iris_npz, tmp_path_factory):
    """One run of the benchmark: gdm with an empty cache, gdm with that cache, sklearn."""
    out = tmp_path_factory.mktemp("results")
    user.main(["--data", iris_npz[0], "--estimators", "gaussiannb", "--grids", "",
               "--repeats", "1", "--warm", "1", "--out_dir", str(out)])
    return json.loads((out / "user.json").read_text()), (out / "user.md").read_text()


def test_first_process_fills_the_cache_second_reads_it(report, iris_npz):
    runs = report[0]["runs"]["gaussiannb"]
    (first,), (second,) = runs["gdm_first"], runs["gdm_cache"]
    for r in (first, second):
        assert r["accuracy"] == pytest.approx(iris_npz[1])
        assert r["compile_count"] > 0
        assert r["process_s"] >= r["import_s"] + r["fit_s"] + r["predict_s"]
        assert r["fit_warm_s"] > 0 and r["predict_warm_s"] > 0
    # Every program the first process compiled went into the empty cache; the second process
    # lowers the same programs and loads every one of them from it.
    assert first["cache_hits"] == 0 and first["cache_misses"] > 0
    assert first["retrieval_s"] == 0.0
    assert second["cache_hits"] == first["cache_misses"]
    assert second["cache_misses"] == 0 and second["missed_programs"] == []
    assert second["compile_count"] == first["compile_count"]


def test_peer_process_never_imports_jax(report, iris_npz):
    (peer,) = report[0]["runs"]["gaussiannb"]["sklearn"]
    assert peer["accuracy"] == pytest.approx(iris_npz[1])
    assert "compile_count" not in peer and "cache_hits" not in peer


def test_report_fields(report, iris_npz):
    payload, table = report
    assert payload["benchmark"] == "user" and payload["machine"]
    assert payload["versions"]["scikit-learn"] and payload["versions"]["jax"]
    (row,) = payload["rows"]
    assert row["estimator"] == "gaussiannb" and row["peer"] == "sklearn"
    assert row["accuracy"] == pytest.approx(iris_npz[1])
    assert row["peer_accuracy"] == pytest.approx(iris_npz[1])
    assert row["ratio_first"] == pytest.approx(row["first_process_s"] / row["peer_process_s"])
    assert row["ratio_cache"] == pytest.approx(row["cache_process_s"] / row["peer_process_s"])
    assert row["ratio_warm"] == pytest.approx(row["warm_s"] / row["peer_warm_s"])
    assert row["cache_hits"] == row["cache_misses_first"] > 0
    assert "GaussianNB" in payload["estimators"]["gaussiannb"]["gdm"]
    assert "| gaussiannb | sklearn |" in table


def test_unknown_names_are_rejected(iris_npz):
    with pytest.raises(ValueError, match="impl must be one of"):
        user.fresh_process("gaussiannb", "xgboost", iris_npz[0])
    with pytest.raises(ValueError, match="--estimators must be"):
        user.main(["--estimators", "svm"])
