"""Ng & Jordan learning curves: gdm's estimators against scikit-learn's on the same draws."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from gdm.runners import gen_vs_disc


def test_learning_curves_match_the_sklearn_peers(tmp_path):
    config = importlib.import_module("experiments.gen_vs_disc").get_config()
    config.datasets = "wine"
    config.repeats = 2
    config.points = 3
    results = gen_vs_disc.run(config, str(tmp_path))
    sizes = gen_vs_disc.training_sizes(142, 3, 3)
    assert sizes[0] == 6 and sizes[-1] == 142
    for m in sizes:
        nb, sk_nb = results[f"wine/nb/error@{m}"], results[f"wine/sklearn_nb/error@{m}"]
        lr, sk_lr = results[f"wine/lr/error@{m}"], results[f"wine/sklearn_lr/error@{m}"]
        assert nb == pytest.approx(sk_nb, abs=1e-9)  # same draws, same model: same errors
        assert abs(lr - sk_lr) <= 0.03
        assert 0.0 <= nb <= 1.0
    assert results["wine/lr/error@142"] < results["wine/lr/error@6"]  # learning happens
    assert (tmp_path / "figures" / "gen_vs_disc.png").exists()
    assert (tmp_path / "figures" / "gen_vs_disc.pdf").exists()


def test_every_class_is_in_every_draw():
    y = np.array([0] * 50 + [1] * 3 + [2] * 47)
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = gen_vs_disc._draw(y, 4, rng)
        assert len(idx) == 4 and set(y[idx]) == {0, 1, 2} and len(set(idx)) == 4


def test_bad_config():
    config = importlib.import_module("experiments.gen_vs_disc").get_config()
    config.datasets = " "
    with pytest.raises(ValueError, match="config.datasets"):
        gen_vs_disc.run(config, "/tmp")
