"""Hand-crafted vs learned features: HOG / LBP / raw pixels + SVM against a CNN and its
features, accuracy vs training size."""

from __future__ import annotations

import functools
import importlib
import json

import numpy as np
import pytest
from skimage.feature import hog, local_binary_pattern
from skimage.transform import resize
from sklearn.svm import SVC as SklearnSVC

from gdm import data
from gdm.runners import _descriptors, features
from tests.helpers_train import experiment_config, run_tiny

N_TRAIN = 300


tiny_config = functools.partial(experiment_config, "features")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_tiny(features, "features", tmp_path_factory)


@pytest.fixture(scope="module")
def digits():
    ds = data.load("digits", seed=0, test_fraction=0.2)
    return ds.x_train[..., 0], ds.y_train, ds.x_test[..., 0], ds.y_test


def test_tiny_run_writes_the_schema_and_the_figure(tiny_run):
    results, workdir = tiny_run
    saved = json.loads((workdir / "results.json").read_text())
    n = saved["n"]
    assert n == list(tiny_config().sizes)
    for p in features.PIPELINES:
        assert len(saved[f"{p}/accuracy"]) == len(saved[f"{p}/accuracy_std"]) == len(n)
        draws = np.array(saved[f"{p}/accuracy_draws"])
        assert draws.shape == (len(n), saved["subsamples"])
        assert np.allclose(draws.mean(1), saved[f"{p}/accuracy"])
        assert saved[f"{p}/accuracy"][-1] > saved[f"{p}/accuracy"][0]  # more data helps
    assert saved["feature_dims"] == {"hog": 324, "lbp": 160, "raw": 64, "cnn_features": 84}
    assert saved["published"]["rcnn_voc2007_map"] > saved["published"]["hog_dpm_v5_voc2007_map"]
    assert saved["settings"]["svm"] == {"C": 1.0, "gamma": "scale"}
    assert "| hog |" in (workdir / "results.md").read_text()
    for ext in ("png", "pdf"):
        assert (workdir / "figures" / f"features.{ext}").exists()
    checks = features.findings(saved)
    assert len(checks) == 3
    for check in checks:
        assert set(check) == {"claim", "published", "measured", "holds"}
        assert isinstance(check["holds"], bool) and check["measured"]


def test_training_sets_are_balanced_and_disjoint_from_the_feature_split():
    ds = data.load("digits", seed=0, test_fraction=0.2)
    config = tiny_config()
    pool, feature_rows, orders = features.split_training(ds, config)
    assert not set(pool) & set(feature_rows) and len(pool) + len(feature_rows) == len(ds.y_train)
    for order in orders:
        counts = np.bincount(ds.y_train[pool][order[:20]], minlength=10)
        assert counts.min() == counts.max() == 2
    rows, n = features.cnn_rows(pool, feature_rows, orders, list(config.sizes))
    k = len(config.sizes) * len(orders)
    assert list(n[:k]) == [m for m in config.sizes for _ in orders]
    for r, m in zip(rows[:k], n[:k], strict=True):
        assert set(r[:m]) <= set(pool)
    assert all(set(r[:m]) == set(feature_rows) for r, m in zip(rows[k:], n[k:], strict=True))


@pytest.mark.parametrize("upsample", [1, 2])
def test_hog_features_match_skimage(digits, upsample):
    images = digits[0][:40]
    config = tiny_config(image_upsample=upsample)
    ours = _descriptors.hog_features(images, config)
    size = 8 * upsample
    direct = np.stack([hog(resize(im, (size, size), order=1, mode="edge", anti_aliasing=False),
                           orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2),
                           block_norm="L2-Hys") for im in images])
    np.testing.assert_allclose(ours, direct, rtol=1e-6, atol=1e-7)


def test_lbp_histograms_match_per_cell_counts(digits):
    images = digits[0][:10]
    config = tiny_config()
    ours = _descriptors.lbp_features(images, config)
    for im, row in zip(images, ours, strict=True):
        big = resize(im, (16, 16), order=1, mode="edge", anti_aliasing=False)
        codes = local_binary_pattern(np.round(big * 255).astype(np.uint8), 8, 2.0, "uniform")
        hists = [np.histogram(codes[i:i + 4, j:j + 4], bins=10, range=(0, 10))[0] / 16
                 for i in range(0, 16, 4) for j in range(0, 16, 4)]
        np.testing.assert_allclose(row, np.concatenate(hists), atol=1e-7)


def test_gdm_svc_on_hog_matches_sklearn(digits):
    x_train, y_train, x_test, y_test = digits
    config = tiny_config()
    f_train = _descriptors.hog_features(x_train[:N_TRAIN], config)
    f_test = _descriptors.hog_features(x_test, config)
    ours = features.svc_accuracy((f_train, y_train[:N_TRAIN]), (f_test, y_test), "rbf", config)
    theirs = SklearnSVC(C=1.0, gamma="scale").fit(f_train, y_train[:N_TRAIN]).score(f_test,
                                                                                    y_test)
    assert ours == pytest.approx(theirs, abs=0.01)
    assert ours > 0.9


def _results_from(acc: dict[str, np.ndarray], sizes: list[int]) -> dict:
    results = {"n": sizes, "feature_split": 400, "summary": features.summarize(sizes, acc)}
    for p in features.PIPELINES:
        results[f"{p}/accuracy"] = acc[p].mean(1).tolist()
        results[f"{p}/accuracy_std"] = acc[p].std(1).tolist()
    return results


def test_findings_follow_the_paired_comparisons():
    noise = np.array([[0.0, 0.004, -0.004]] * 2)
    base = np.array([[0.80], [0.95]]) + noise
    learned_wins = {"hog": base, "lbp": base - 0.1, "raw": base - 0.02,
                    "cnn_features": base + [[0.05], [0.02]], "cnn": base + [[-0.1], [0.03]]}
    checks = features.findings(_results_from(learned_wins, [20, 800]))
    assert [c["holds"] for c in checks] == [True, True, True]
    hand_wins = {**learned_wins, "cnn": base - 0.01, "cnn_features": base - 0.02,
                 "raw": base + 0.05}
    checks = features.findings(_results_from(hand_wins, [20, 800]))
    assert [c["holds"] for c in checks] == [False, True, False]
    assert "raw" in checks[2]["measured"]


def test_bad_arg_and_config():
    with pytest.raises(ValueError, match="tiny"):
        importlib.import_module("experiments.features").get_config("huge")
    with pytest.raises(ValueError, match="config.sizes"):
        features.run(tiny_config(sizes=(200, 20)), "/tmp")
    with pytest.raises(ValueError, match="config.dataset.name"):
        config = tiny_config()
        config.dataset.name = "cifar"
        features.run(config, "/tmp")
    with pytest.raises(ValueError, match="config.sizes must lie"):
        features.run(tiny_config(sizes=(20, 5000)), "/tmp")


def test_mnist_needs_a_data_dir(monkeypatch):
    monkeypatch.delenv(data.MNIST_DIR_ENV, raising=False)
    config = importlib.import_module("experiments.features").get_config("mnist")
    with pytest.raises(ValueError, match="config.dataset.data_dir"):
        features.run(config, "/tmp")


@pytest.mark.skipif(not data.default_mnist_dir(), reason="GDM_MNIST_DIR is unset")
def test_mnist_features_have_the_cell_layout():
    config = importlib.import_module("experiments.features").get_config("mnist")
    ds = features.load_images(config)
    assert ds.image_shape == (28, 28, 1)
    images = ds.x_test[:5, ..., 0]
    assert _descriptors.hog_features(images, config).shape == (5, 9 * 4 * 3 * 3)  # 4x4 cells
    assert _descriptors.lbp_features(images, config).shape == (5, 16 * 10)
