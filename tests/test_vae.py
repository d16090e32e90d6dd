"""VAE: shapes, closed forms against scipy, the IWAE bound against a brute-force integral,
bound ordering on a trained model, deterministic sampling, and exact resume through the loop."""

from __future__ import annotations

import copy
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from gdm.nn import create
from gdm.nn.vae import VAE
from gdm.train.config import base
from gdm.train.loop import load_dataset, train_and_evaluate
from gdm.train.restore import restore_state
from gdm.train.tasks.elbo import (
    ElboTask,
    iwae_over_dataset,
    kl_standard_normal,
    log_likelihood,
    log_normal_diag,
)
from tests.helpers_train import assert_resume_matches, read_metrics, small_schedule


def vae_config(**overrides):
    """A small 64-32-2 Bernoulli VAE on binarized 8x8 digits."""
    c = base(task="elbo", dataset="digits", model="vae")
    c.dataset.flatten = True
    c.dataset.binarize = 0.5
    c.model.latent_size = 2
    c.model.hidden_sizes = (32,)
    c.task_options.iwae_samples = 64
    c.task_options.iwae_chunk = 24  # does not divide k: exercises the masked last chunk
    c.task_options.iwae_max_examples = 100
    c.task_options.frechet = False
    return small_schedule(c, 300, **overrides)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One uninterrupted run: the reference for resume, and the trained model for the bounds."""
    workdir = tmp_path_factory.mktemp("vae")
    config = vae_config()
    results = train_and_evaluate(config, str(workdir), quiet=True)
    return config, workdir, results


def _variables(model, x, seed=0):
    return model.init({"params": jax.random.key(seed), "sample": jax.random.key(seed + 1)}, x)


# The conv encoder/decoder blocks are shared with the autoencoder and tested there.
@pytest.mark.parametrize("arch,shape,likelihood", [
    ("mlp", (64,), "bernoulli"), ("mlp", (64,), "gaussian")])
def test_shapes(arch, shape, likelihood):
    model = create("vae", {"arch": arch, "latent_size": 3, "hidden_sizes": (16,),
                           "conv_features": (4, 8), "likelihood": likelihood},
                   input_shape=shape)
    x = jnp.ones((5, *shape)) * 0.5

    @jax.jit  # one compile instead of op-by-op dispatch
    def everything(x):
        variables = _variables(model, x)
        mean, logvar = model.apply(variables, x, method="encode")
        return (mean, logvar, model.apply(variables, mean, method="decode"),
                model.apply(variables, jax.random.key(0), 7, method="sample"),
                model.apply(variables, x, rngs={"sample": jax.random.key(2)}))

    mean, logvar, decoded, samples, (outputs, m, lv) = everything(x)
    assert mean.shape == logvar.shape == m.shape == lv.shape == (5, 3)
    assert decoded.shape == (5, *shape)
    assert samples.shape == (7, *shape)
    if likelihood == "bernoulli":
        assert outputs.shape == (5, *shape)
    else:
        assert outputs[0].shape == outputs[1].shape == (5, *shape)
        np.testing.assert_allclose(outputs[1], 0.0, atol=1e-5)  # starts at unit variance


@pytest.mark.parametrize("fields,match", [
    ({"arch": "rnn"}, "arch"), ({"likelihood": "poisson"}, "likelihood"),
    ({"latent_size": 0}, "latent_size"), ({"arch": "conv"}, "flatten=False"),
    ({"activation": "cube"}, "activation")])
def test_bad_fields_fail_with_the_field_name(fields, match):
    with pytest.raises(ValueError, match=match):
        _variables(VAE(output_shape=(64,), **fields), jnp.ones((2, 64)))


def test_kl_matches_numerical_integration():
    rng = np.random.default_rng(0)
    mean, logvar = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    ours = np.asarray(kl_standard_normal(jnp.asarray(mean), jnp.asarray(logvar)))
    for row in range(3):
        expected = 0.0
        for m, lv in zip(mean[row], logvar[row], strict=True):
            q = stats.norm(m, np.exp(0.5 * lv))
            expected += integrate.quad(lambda z, q=q: q.pdf(z) * (q.logpdf(z)
                                                                  - stats.norm.logpdf(z)),
                                       -np.inf, np.inf)[0]
        np.testing.assert_allclose(ours[row], expected, rtol=1e-5)


def test_log_densities_match_scipy():
    rng = np.random.default_rng(1)
    x = (rng.random((3, 6)) > 0.5).astype(np.float32)
    logits = rng.normal(size=(3, 6)).astype(np.float32)
    expected = stats.bernoulli.logpmf(x, 1 / (1 + np.exp(-logits))).sum(1)
    np.testing.assert_allclose(log_likelihood("bernoulli", jnp.asarray(logits), x), expected,
                               rtol=1e-5)
    mean, logvar = rng.normal(size=(2, 3, 6)).astype(np.float32)
    expected = stats.norm.logpdf(x, mean, np.exp(0.5 * logvar)).sum(1)
    np.testing.assert_allclose(log_likelihood("gaussian", (mean, logvar), x), expected,
                               rtol=1e-5)
    z = rng.normal(size=(3, 6))
    expected = [stats.multivariate_normal.logpdf(z[i], mean[i], np.diag(np.exp(logvar[i])))
                for i in range(3)]
    np.testing.assert_allclose(log_normal_diag(z, mean, logvar), expected, rtol=1e-5)


def test_iwae_converges_to_the_exact_log_likelihood_of_a_1d_latent_model():
    """With one latent dimension log p(x) = log int p(x|z) p(z) dz is a 1-D integral (done here
    in numpy on a fine grid): the IWAE bound must approach it as k grows."""
    model = VAE(output_shape=(64,), latent_size=1, hidden_sizes=(16,))
    x = (np.random.default_rng(2).random((32, 64)) > 0.6).astype(np.float32)
    variables = _variables(model, jnp.asarray(x), seed=3)
    grid = np.linspace(-10.0, 10.0, 40001)
    logits = np.asarray(model.apply(variables, jnp.asarray(grid[:, None]),
                                    method="decoder_outputs"), np.float64)    # (G, 64)
    log_sig, log_sig_neg = -np.logaddexp(0, -logits), -np.logaddexp(0, logits)
    log_joint = log_sig @ x.T + log_sig_neg @ (1 - x).T + stats.norm.logpdf(grid)[:, None]
    peak = log_joint.max(0)
    exact = np.log(integrate.trapezoid(np.exp(log_joint - peak), grid, axis=0)) + peak
    rng = jax.random.key(0)
    bounds = {k: iwae_over_dataset(model, variables, x, rng, k, chunk_size=500)
              for k in (1, 100, 5000)}
    # A single realisation may land a little above log p(x) (the bound holds in expectation);
    # k = 5000 must be within Monte Carlo error of it, k = 1 (the ELBO) clearly below.
    np.testing.assert_allclose(bounds[5000], exact, atol=0.05)
    assert bounds[1].mean() < bounds[100].mean() < exact.mean() + 0.01
    assert bounds[1].mean() < exact.mean() - 0.1


def test_training_lowers_the_loss_and_reports_the_documented_metrics(trained):
    _, workdir, results = trained
    losses = [m["train/loss"] for m in read_metrics(workdir) if "train/loss" in m]
    assert losses[-1] < 0.8 * losses[0]
    for key in ("eval/elbo", "eval/reconstruction", "eval/kl", "eval/log_likelihood"):
        assert np.isfinite(results[key]), key
    np.testing.assert_allclose(results["eval/elbo"],
                               -(results["eval/reconstruction"] + results["eval/kl"]), rtol=1e-5)
    for name in ("reconstructions", "samples", "manifold", "latent_scatter", "interpolation"):
        assert os.path.exists(workdir / "figures" / f"{name}.png"), name


def test_elbo_below_iwae_bounds_that_grow_with_k_and_stay_below_zero(trained):
    config, workdir, _ = trained
    _, model, state = restore_state(config, str(workdir))
    variables = {"params": state.params, **state.model_state}
    x = jnp.asarray(load_dataset(config).x_test[:200])
    rng = jax.random.key(5)
    # ELBO averaged over 20 draws of z, so its Monte Carlo error is small next to the gaps.
    elbo = np.mean([np.asarray(model.apply(variables, x, rngs={"sample": jax.random.key(i)},
                                           method=_elbo_of(model))) for i in range(20)], axis=0)
    bounds = [iwae_over_dataset(model, variables, np.asarray(x), rng, k).mean()
              for k in (1, 10, 100)]
    np.testing.assert_allclose(bounds[0], elbo.mean(), atol=0.3)
    assert elbo.mean() < bounds[1] < bounds[2] < 0


def _elbo_of(model):
    def elbo(module, x):
        outputs, mean, logvar = module(x)
        return log_likelihood(module.likelihood, outputs, x) - kl_standard_normal(mean, logvar)
    return elbo


def test_sampling_is_a_pure_function_of_params_and_seed(trained):
    config, workdir, _ = trained
    _, model, state = restore_state(config, str(workdir))
    variables = {"params": state.params}
    first = model.apply(variables, jax.random.key(7), 16, method="sample")
    again = model.apply(variables, jax.random.key(7), 16, method="sample")
    other = model.apply(variables, jax.random.key(8), 16, method="sample")
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0


def test_resume_matches_the_uninterrupted_run(trained, tmp_path):
    config, _, reference = trained
    first = vae_config(num_train_steps=200)
    first.task_options.figures = False
    config = copy.deepcopy(config)
    config.task_options.figures = False  # figures do not change the numbers
    assert_resume_matches(first, config, tmp_path, reference)


@pytest.mark.parametrize("key,value", [("iwae_samples", -1), ("iwae_chunk", 0),
                                       ("iwae_batch_size", 0), ("sample_kind", "median")])
def test_bad_task_options_fail_with_the_key(key, value):
    config = vae_config()
    config.task_options[key] = value
    with pytest.raises(ValueError, match=key):
        ElboTask(config, 10, (64,))
