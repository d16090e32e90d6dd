"""Frechet distance: the closed form against scipy's matrix square root, and the classifier-
feature metric end to end on digits (classifier trained through the loop, then cached)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.linalg

from gdm import data
from gdm.metrics import frechet_distance, frechet_distance_to_data, gaussian_statistics
from gdm.train.config import base


def _scipy_frechet(m1, c1, m2, c2):
    root = scipy.linalg.sqrtm(c1 @ c2)
    return float(np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2.0 * np.real(root)))


def test_closed_form_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    for dim in (1, 3, 10):
        a, b = rng.normal(size=(dim, dim)), rng.normal(size=(dim, dim))
        c1, c2 = a @ a.T + 0.1 * np.eye(dim), b @ b.T + 0.1 * np.eye(dim)
        m1, m2 = rng.normal(size=dim), rng.normal(size=dim)
        assert frechet_distance(m1, c1, m2, c2) == pytest.approx(_scipy_frechet(m1, c1, m2, c2),
                                                                 rel=1e-8)


def test_univariate_and_identical_sets():
    # One dimension: d^2 = (m1 - m2)^2 + (s1 - s2)^2.
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-1.0]),
                            np.array([[9.0]])) == pytest.approx(4.0 + 1.0)
    x = np.random.default_rng(1).normal(size=(200, 5))
    mean, cov = gaussian_statistics(x)
    np.testing.assert_allclose(cov, np.cov(x, rowvar=False))
    assert frechet_distance(mean, cov, mean, cov) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(mean, cov, mean[:2], cov[:2, :2])


def test_classifier_features_on_digits(tmp_path):
    config = base(task="gan", dataset="digits", model="gan")
    ds = data.load("digits", seed=0)
    real = frechet_distance_to_data(ds.x_test, config, cache_dir=str(tmp_path),
                                    classifier_steps=150)
    assert set(real) >= {"eval/frechet_distance", "eval/frechet_distance_floor"}
    # The test split itself is the floor, exactly (same features, same statistics).
    assert real["eval/frechet_distance"] == pytest.approx(real["eval/frechet_distance_floor"])
    assert real["eval/frechet_classifier_accuracy"] > 0.8
    (key,) = os.listdir(tmp_path)
    assert os.path.exists(tmp_path / key / "reference.npz")
    noise = np.random.default_rng(0).random((len(ds.x_test), 64)).astype(np.float32)  # flat ok
    far = frechet_distance_to_data(noise, config, cache_dir=str(tmp_path), classifier_steps=150)
    assert far["eval/frechet_distance_floor"] == real["eval/frechet_distance_floor"]  # cached
    assert far["eval/frechet_distance"] > 5 * real["eval/frechet_distance_floor"]
