"""First-layer filters and feature maps of trained LeNet-5s: orientation selectivity on
gratings and a logistic-regression probe at two depths."""

from __future__ import annotations

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
from sklearn.preprocessing import StandardScaler

from gdm import data
from gdm.linear_model import LogisticRegression
from gdm.nn.cnn import LeNet5
from gdm.runners import _filter_analysis, cnn_features
from gdm.runners.features import train_cnns
from gdm.utils.validation import x64
from tests.helpers_train import experiment_config, run_tiny

FREQS = (0.125, 0.1875, 0.25, 0.3125)


tiny_config = functools.partial(experiment_config, "cnn_features")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_tiny(cnn_features, "cnn_features", tmp_path_factory)


def test_tiny_run_writes_the_schema_and_the_figure(tiny_run):
    results, workdir = tiny_run
    saved = json.loads((workdir / "results.json").read_text())
    seeds = tiny_config().seeds
    assert saved["image_shape"] == [16, 16, 1] and saved["seeds"] == seeds
    for k in cnn_features.NETWORKS:
        assert np.array(saved["filters"][k]).shape == (seeds, 6, 5, 5)
        assert np.array(saved["orientation"][k]["osi_filters"]).shape == (seeds, 6)
        assert np.array(saved["feature_maps"][f"conv1/{k}"]).shape == (16, 16, 6)
        assert np.array(saved["feature_maps"][f"conv2/{k}"]).shape == (8, 8, 16)
        assert min(np.array(saved["feature_maps"][f"conv1/{k}"]).ravel()) >= 0  # after ReLU
    assert saved["feature_dims"] == {"pixels": 256, "conv1": 384, "conv2": 256}
    assert set(saved["probe"]) == {"pixels", "conv1/trained", "conv1/init", "conv2/trained",
                                   "conv2/init"}
    for entry in saved["probe"].values():
        assert entry["accuracy"] == pytest.approx(np.mean(entry["seeds"]))
    # Digits are easy: every network and every probe on trained features is far above chance.
    assert min(saved["network_test_accuracy"]) > 0.9
    assert saved["probe"]["pixels"]["accuracy"] > 0.95
    assert saved["probe"]["conv2/trained"]["accuracy"] > 0.97
    # Training moves the kernels away from their initialization, the first layer least.
    change = saved["weight_change"]
    assert 0.05 < np.mean(change["conv1"]) < np.mean(change["conv2"])
    assert saved["anchor"]["first_layer_orientation_selective"] is True
    assert "| conv2 (256) |" in (workdir / "results.md").read_text()
    for ext in ("png", "pdf"):
        assert (workdir / "figures" / f"cnn_features.{ext}").exists()
    checks = cnn_features.findings(saved)
    assert len(checks) == 4
    assert all(set(c) == {"claim", "published", "measured", "holds"} for c in checks)


def test_init_params_are_where_training_starts(tiny_run):
    # The tiny run's shapes and static arguments, so train_cnns reuses its compilation.
    config = tiny_config()
    ds = cnn_features.load_images(config)
    model, x, s = LeNet5(num_outputs=10), jnp.asarray(ds.x_train), int(config.seeds)
    keys = jax.random.split(jax.random.key(int(config.seed)), s)
    rows = jnp.tile(jnp.arange(len(x), dtype=jnp.int32), (s, 1))
    unchanged = train_cnns(model, x, jnp.asarray(ds.y_train), rows,
                           jnp.full(s, len(x), jnp.int32), keys, jnp.float32(0.0),
                           steps=int(config.cnn.steps), batch=int(config.cnn.batch_size))
    init = cnn_features.initial_params(model, x, keys)
    for a, b in zip(jax.tree.leaves(unchanged), jax.tree.leaves(init), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    filters = np.asarray(cnn_features.conv1_filters(init))
    np.testing.assert_array_equal(filters, np.array(tiny_run[0]["filters"]["init"],
                                                    np.float32))


def grating_filter(degrees: float, f: float) -> np.ndarray:
    r = np.arange(5) - 2.0
    v, u = np.meshgrid(r, r, indexing="ij")
    t = np.radians(degrees)
    return np.cos(2 * np.pi * f * (u * np.cos(t) + v * np.sin(t)))


def test_tuning_is_the_fourier_amplitude_of_the_zero_mean_filter():
    rng = np.random.default_rng(0)
    filters = rng.normal(size=(3, 5, 5)).astype(np.float32)
    bank = _filter_analysis.gratings(5, 12, 4, jnp.asarray(FREQS))
    amp = np.asarray(_filter_analysis.orientation_tuning(jnp.asarray(filters), bank))
    r = np.arange(5) - 2.0
    v, u = np.meshgrid(r, r, indexing="ij")
    w = filters - filters.mean((1, 2), keepdims=True)
    for i, f in enumerate(FREQS):
        for k in range(12):
            t = k * np.pi / 12
            wave = np.exp(2j * np.pi * f * (u * np.cos(t) + v * np.sin(t)))
            np.testing.assert_allclose(amp[:, i, k], np.abs((w * wave).sum((1, 2))),
                                       rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("degrees", [0.0, 45.0, 90.0, 135.0])
def test_an_oriented_grating_filter_is_selective_at_its_orientation(degrees):
    bank = _filter_analysis.gratings(5, 12, 4, jnp.asarray(FREQS))
    s = _filter_analysis.selectivity(jnp.asarray(grating_filter(degrees, 0.25)[None]), bank)
    # The square grid is symmetric about these orientations, so the tuning curve is too.
    off = abs(float(s["preferred"][0]) - np.radians(degrees)) % np.pi
    assert min(off, np.pi - off) < 1e-4
    assert int(np.argmax(s["curve"][0])) == round(degrees / 15)
    assert float(s["frequency_index"][0]) == 2  # its own frequency, 0.25
    assert float(s["osi"][0]) > 0.4
    if degrees in (0.0, 90.0):
        # The orthogonal grating is constant along the filter's modulation: response 0.
        assert float(s["osi_peak"][0]) == pytest.approx(1.0, abs=1e-5)
    rng = np.random.default_rng(1)
    noise = _filter_analysis.selectivity(jnp.asarray(rng.normal(size=(200, 5, 5))), bank)
    assert float(s["osi"][0]) > 1.5 * float(np.mean(noise["osi"]))


def test_an_isotropic_filter_is_not_selective():
    r = np.arange(5) - 2.0
    v, u = np.meshgrid(r, r, indexing="ij")
    gaussian = np.exp(-(u ** 2 + v ** 2) / 2.0)
    bank = _filter_analysis.gratings(5, 12, 4, jnp.asarray(FREQS))
    s = _filter_analysis.selectivity(jnp.asarray(gaussian[None]), bank)
    # Any kernel unchanged by 90-degree rotations has no doubled-angle component: 1 - circular
    # variance is 0. (max-min)/(max+min) sees the square grid's axis-vs-diagonal difference.
    assert float(s["osi"][0]) < 1e-5
    assert 0.1 < float(s["osi_peak"][0]) < 0.35


def test_probe_matches_scikit_learn_on_the_same_features():
    ds = data.load("digits", seed=0, test_fraction=0.2)
    model = LeNet5(num_outputs=10)
    x = jnp.asarray(np.concatenate([ds.x_train, ds.x_test]))
    params = cnn_features.initial_params(model, x, jax.random.split(jax.random.key(0), 1))
    conv1, _, _, _ = cnn_features.conv_features(model, params, x, jnp.int32(0))
    n = len(ds.y_train)
    sets = {"pixels": x.reshape(len(x), -1), "conv1": np.asarray(conv1[0])}
    width = max(f.shape[1] for f in sets.values())
    stacked = _filter_analysis.pad_columns([np.asarray(f, np.float64) for f in sets.values()],
                                           width)
    with x64():
        acc, _ = _filter_analysis.probe_accuracy(
            jnp.asarray(stacked[:, :n]), jnp.asarray(ds.y_train), jnp.asarray(stacked[:, n:]),
            jnp.asarray(ds.y_test), jnp.float64(1.0), jnp.float64(1e-4), jnp.int32(500),
            n_classes=10)
    for i, f in enumerate(sets.values()):
        scaler = StandardScaler().fit(np.asarray(f[:n], np.float64))
        tr, te = scaler.transform(np.asarray(f[:n])), scaler.transform(np.asarray(f[n:]))
        ours = LogisticRegression(C=1.0, max_iter=500).fit(tr, ds.y_train).score(te, ds.y_test)
        ref = SklearnLogisticRegression(C=1.0, max_iter=500).fit(tr, ds.y_train)
        assert float(acc[i]) == pytest.approx(ref.score(te, ds.y_test), abs=0.006)
        assert float(acc[i]) == pytest.approx(ours, abs=0.006)


def constructed_results(trained_osi, conv1, conv2, seeds=4):
    """A results dict with per-seed numbers given: trained orientation selectivity (init
    0.2 +- noise), and probe accuracies (trained, init) at conv1 and conv2."""
    noise = np.linspace(-0.01, 0.01, seeds)
    orientation = {"trained": {"osi": (trained_osi + noise).tolist(),
                               "osi_peak": (0.7 + noise).tolist()},
                   "init": {"osi": (0.2 + noise[::-1]).tolist(),
                            "osi_peak": (0.7 + noise).tolist()},
                   "orientations_degrees": list(range(0, 180, 15))}
    accuracy = {"pixels": np.full(seeds, 0.95)}
    for layer, (trained, init) in (("conv1", conv1), ("conv2", conv2)):
        accuracy[f"{layer}/trained"] = trained + noise
        accuracy[f"{layer}/init"] = init + noise[::-1]
    return {"summary": cnn_features.summarize(orientation, accuracy), "orientation": orientation,
            "probe": {k: {"seeds": v.tolist()} for k, v in accuracy.items()}, "seeds": seeds,
            "weight_change": {"conv1": [0.4] * seeds, "conv2": [0.9] * seeds}}


def test_findings_hold_and_differ_from_constructed_results():
    holds = cnn_features.findings(constructed_results(0.35, (0.97, 0.94), (0.99, 0.90)))
    assert [f["holds"] for f in holds] == [True, True, True, True]
    assert "trained 0.350+-" in holds[0]["measured"] and "better (paired): trained" in \
        holds[0]["measured"]
    differs = cnn_features.findings(constructed_results(0.2, (0.98, 0.90), (0.96, 0.93)))
    assert [f["holds"] for f in differs] == [False, False, True, False]
    assert "better: conv1" in differs[1]["measured"]
    ties = cnn_features.findings(constructed_results(0.2, (0.97, 0.97), (0.97, 0.97)))
    assert [f["holds"] for f in ties][:3] == [False, False, False]


@pytest.mark.parametrize("key,value", [
    ("dataset.name", "cifar10"), ("image_upsample", 3), ("seeds", 1), ("cnn.steps", 0),
    ("cnn.learning_rate", 0.0), ("gratings.orientations", 2), ("gratings.phases", 2),
    ("gratings.frequencies", (0.25, 0.7)), ("probe.C", 0.0), ("probe.max_iter", 0),
    ("example", 10_000),
])
def test_bad_config(key, value):
    with pytest.raises(ValueError, match=f"config.{key}"):
        cnn_features.run(tiny_config(**{key: value}), "/tmp")


def test_bad_config_arg_names_the_allowed_values():
    with pytest.raises(ValueError, match="tiny"):
        tiny_config(arg="huge")
