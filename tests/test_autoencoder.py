"""Autoencoder: shapes, corruption, clear config errors, AE vs scikit-learn's PCA on digits
through the runner and the shared loop, figures, and exact resume."""

from __future__ import annotations

import copy
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from gdm.config import load_config
from gdm.figures import generative
from gdm.nn import create
from gdm.nn.autoencoder import Autoencoder, corrupt
from gdm.runners import ae_vs_pca
from gdm.train.config import base
from gdm.train.loop import train_and_evaluate
from tests.helpers_train import assert_resume_matches, read_metrics, small_schedule


def sweep_config(**overrides):
    """A small denoising 64-64-K autoencoder on 8x8 digits, two code sizes."""
    c = base(task="reconstruct", dataset="digits", model="autoencoder")
    c.runner = "ae_vs_pca"
    c.code_sizes = (2, 5)
    c.dataset.flatten = True
    c.model.hidden_sizes = (64,)
    c.model.corruption = "mask"  # exercises the 'sample' RNG stream in resume
    c.model.corruption_level = 0.1
    c.task_options.loss = "mse"
    c.task_options.figures = True
    return small_schedule(c, 400, **overrides)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ae_vs_pca")
    config = sweep_config()
    return config, workdir, ae_vs_pca.run(config, str(workdir))


@pytest.mark.parametrize("arch,shape", [("mlp", (64,)), ("conv", (10, 10, 1))])
def test_shapes(arch, shape):
    model = create("autoencoder", {"arch": arch, "code_size": 3, "hidden_sizes": (16,),
                                   "conv_features": (4, 8)}, input_shape=shape)
    x = jnp.full((5, *shape), 0.5)

    @jax.jit  # one compile instead of op-by-op dispatch
    def everything(x):
        variables = model.init(jax.random.key(0), x)
        code = model.apply(variables, x, method="encode")
        return (code, model.apply(variables, code, method="decode"),
                model.apply(variables, x), model.apply(variables, x, method="reconstruct"))

    code, decoded, logits, recon = everything(x)
    assert code.shape == (5, 3)
    assert decoded.shape == logits.shape == recon.shape == (5, *shape)
    assert float(recon.min()) >= 0.0 and float(recon.max()) <= 1.0  # sigmoid output
    np.testing.assert_allclose(recon, jax.nn.sigmoid(logits), atol=1e-6)


@pytest.mark.parametrize("fields,match", [
    ({"arch": "rnn"}, "arch"), ({"corruption": "salt"}, "corruption"),
    ({"corruption": "mask", "corruption_level": 1.0}, "corruption_level"),
    ({"code_size": 0}, "code_size"), ({"arch": "conv"}, "flatten=False"),
    ({"output_activation": "relu"}, "output_activation")])
def test_bad_fields_fail_with_the_field_name(fields, match):
    with pytest.raises(ValueError, match=match):
        Autoencoder(output_shape=(64,), **fields).init(jax.random.key(0), jnp.ones((2, 64)))


def test_bce_needs_a_sigmoid_output(tmp_path):
    config = sweep_config(runner="train", num_train_steps=1)
    config.model.code_size = 2
    config.model.output_activation = "linear"
    config.task_options.loss = "bce"
    with pytest.raises(ValueError, match="output_activation='sigmoid'"):
        train_and_evaluate(config, str(tmp_path), quiet=True)


def test_corruption_statistics():
    x = jnp.ones((200, 500))
    masked = np.asarray(corrupt(x, jax.random.key(0), "mask", 0.3))
    assert set(np.unique(masked)) == {0.0, 1.0}
    assert abs((masked == 0).mean() - 0.3) < 0.01
    noisy = np.asarray(corrupt(x, jax.random.key(0), "gaussian", 0.5)) - 1.0
    assert abs(noisy.std() - 0.5) < 0.01 and abs(noisy.mean()) < 0.01
    np.testing.assert_array_equal(corrupt(x, jax.random.key(0), "none", 0.3), x)
    with pytest.raises(ValueError, match="corruption"):
        corrupt(x, jax.random.key(0), "salt", 0.3)


def test_denoising_corrupts_only_in_training():
    model = Autoencoder(output_shape=(64,), code_size=2, hidden_sizes=(8,), corruption="mask",
                        corruption_level=0.5)
    x = jnp.full((4, 64), 0.5)
    variables = model.init(jax.random.key(0), x)
    clean = model.apply(variables, x)
    train_a = model.apply(variables, x, train=True, rngs={"sample": jax.random.key(1)})
    train_b = model.apply(variables, x, train=True, rngs={"sample": jax.random.key(1)})
    np.testing.assert_array_equal(train_a, train_b)
    assert not np.allclose(train_a, clean)
    np.testing.assert_array_equal(model.apply(variables, x, train=False), clean)


def test_autoencoder_beats_pca_on_digits(sweep):
    config, workdir, results = sweep
    digits = load_digits()
    order = np.random.default_rng(config.seed).permutation(len(digits.data))
    n_test = round(0.2 * len(order))
    x = digits.data / 16.0
    x_train, x_test = x[order[:-n_test]], x[order[-n_test:]]
    for k in config.code_sizes:
        pca = PCA(k).fit(x_train)  # the peer, computed here independently of the runner
        expected = np.mean((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2)
        np.testing.assert_allclose(results[f"pca/mse@{k}"], expected, rtol=1e-4)
        assert results[f"ae/mse@{k}"] < results[f"pca/mse@{k}"], k
    with open(workdir / "results.json") as f:
        assert json.load(f) == pytest.approx(results)
    assert os.path.exists(workdir / "figures" / "ae_vs_pca.png")


def test_training_lowers_the_loss_and_draws_the_figures(sweep):
    _, workdir, _ = sweep
    run = workdir / "code_2"
    losses = [m["train/loss"] for m in read_metrics(run) if "train/loss" in m]
    assert losses[-1] < 0.7 * losses[0]
    for name in ("reconstructions", "denoising", "inpainting"):
        assert os.path.exists(run / "figures" / f"{name}.png"), name


def test_inpainting_keeps_known_pixels_and_fills_the_hole():
    images = np.random.default_rng(0).random((3, 64)).astype(np.float32)
    mask = generative.occlusion_mask((8, 8, 1), fraction=0.5).reshape(64)
    filled = generative.inpaint(images, mask, lambda x: np.full_like(x, 0.25), iterations=3)
    np.testing.assert_array_equal(filled[:, mask == 1], images[:, mask == 1])
    np.testing.assert_allclose(filled[:, mask == 0], 0.25)
    assert (mask == 0).sum() == 16  # a centred 4x4 square


def test_resume_matches_the_uninterrupted_run(sweep, tmp_path):
    config, workdir, _ = sweep
    full = copy.deepcopy(config)
    with full.unlocked():
        full.runner = "train"
        full.model.code_size = 2
        del full["code_sizes"]
    with open(workdir / "code_2" / "results.json") as f:
        reference = json.load(f)  # the sweep's uninterrupted 400-step run for code size 2
    full.task_options.figures = False  # figures do not change the numbers
    first = copy.deepcopy(full)
    first.num_train_steps = 250
    assert_resume_matches(first, full, tmp_path, reference)


def test_runner_configs_fail_early_with_the_key():
    from gdm.runners import ae_vs_vae

    with pytest.raises(ValueError, match="code_sizes"):
        ae_vs_pca.run(sweep_config(code_sizes=(2, 0)), "/nonexistent")
    config = load_config("experiments/ae_vs_vae.py:benchmark")
    vae, ae = ae_vs_vae.split_configs(config)
    assert (vae.task, vae.model.name, ae.task, ae.model.name) == (
        "elbo", "vae", "reconstruct", "autoencoder")
    assert vae.dataset == ae.dataset and vae.num_train_steps == ae.num_train_steps
    assert "ae_model" not in vae and "ae_model" not in ae
    config.ae_model.code_size = 3
    with pytest.raises(ValueError, match="code_size"):
        ae_vs_vae.split_configs(config)
