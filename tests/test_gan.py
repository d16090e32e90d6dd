"""GAN: module shapes, the non-saturating losses, the alternating update's gradients, a short
run through the loop, exact resume and deterministic sampling."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gdm.nn import create
from gdm.nn.gan import minibatch_stddev
from gdm.train.config import base
from gdm.train.loop import train_and_evaluate
from gdm.train.state import TrainState
from gdm.train.tasks.gan import GanTask, discriminator_loss, generator_loss
from tests.helpers_train import assert_resume_matches, small_schedule

SMALL = {"latent_dim": 8, "generator_features": 8, "discriminator_features": 8,
         "generator_hidden": (16,), "discriminator_hidden": (16,)}


@pytest.mark.parametrize("shape,arch", [((8, 8, 1), "dcgan"), ((28, 28, 1), "dcgan"),
                                        ((64,), "mlp")])
def test_shapes(shape, arch):
    options = {"discriminator_batch_stddev": True, "discriminator_dropout": 0.2}
    model = create("gan", {**SMALL, **options}, input_shape=shape)
    assert model.resolved_architecture() == arch
    x = jnp.zeros((3, *shape))
    variables = jax.jit(model.init)(jax.random.key(0), x)  # one compile, not op by op
    assert set(variables["params"]) == {"generator", "discriminator"}
    assert jax.jit(model.apply)(variables, x).shape == (3,)
    samples = jax.jit(lambda v, k: model.apply(v, k, 5, method=model.sample))(
        variables, jax.random.key(1))
    assert samples.shape == (5, *shape)
    assert float(samples.min()) >= 0.0 and float(samples.max()) <= 1.0  # sigmoid output


def test_bad_architecture_is_a_clear_error():
    with pytest.raises(ValueError, match="architecture"):
        create("gan", {"architecture": "dcgan"}, input_shape=(64,)).init(
            jax.random.key(0), jnp.zeros((1, 64)))
    with pytest.raises(ValueError, match="must be one of"):
        create("gan", {"architecture": "resnet"}, input_shape=(64,)).init(
            jax.random.key(0), jnp.zeros((1, 64)))


def test_minibatch_stddev_feature():
    x = np.random.default_rng(0).normal(size=(5, 3, 3, 4)).astype(np.float32)
    out = np.asarray(minibatch_stddev(jnp.asarray(x)))
    assert out.shape == (5, 3, 3, 5)
    np.testing.assert_allclose(out[..., :4], x)
    expected = np.mean(np.sqrt(np.var(x, axis=0) + 1e-8))
    np.testing.assert_allclose(out[..., 4], expected, rtol=1e-5)


def test_losses_match_their_definitions():
    real, fake = np.array([-2.0, 0.0, 3.0]), np.array([1.0, 0.0, -4.0])
    sig = lambda t: 1.0 / (1.0 + np.exp(-t))
    np.testing.assert_allclose(discriminator_loss(real, fake),
                               -np.log(sig(real)) - np.log(1.0 - sig(fake)), rtol=1e-6)
    np.testing.assert_allclose(generator_loss(fake), -np.log(sig(fake)), rtol=1e-6)
    eps = 0.1  # one-sided label smoothing: real targets 1 - eps
    np.testing.assert_allclose(
        discriminator_loss(real, fake, eps),
        -(1 - eps) * np.log(sig(real)) - eps * np.log(1 - sig(real)) - np.log(1 - sig(fake)),
        rtol=1e-6)


def test_alternating_step_gradients():
    """The discriminator steps first; the generator's update must equal SGD on its loss
    against the *updated* discriminator (checked with plain jax.grad through both nets)."""
    model = create("gan", {**SMALL, "batch_norm": False}, input_shape=(64,))
    config = base(task="gan", dataset="digits", model="gan")
    task = GanTask(config, 10, (64,))
    x = jax.random.uniform(jax.random.key(0), (16, 64))
    params, model_state, extra = task.init(model, jax.random.key(1), x)
    with config.unlocked():
        config.optimizer.name = "sgd"
    tx = task.make_optimizer(optax.sgd(0.1), params)
    state = TrainState(step=0, params=params, opt_state=tx.init(params), model_state=model_state,
                       extra=extra, rng=jax.random.key(2))
    rng = jax.random.key(3)
    new_state, metrics = jax.jit(task.train_step, static_argnums=(0, 1))(model, tx, state,
                                                                         {"x": x}, rng)
    z = jax.random.normal(rng, (16, model.latent_dim))

    def d_loss(d):
        p = {"generator": params["generator"], "discriminator": d}
        fake = model.apply({"params": p}, z, method=model.generate)
        return jnp.mean(discriminator_loss(model.apply({"params": p}, x),
                                           model.apply({"params": p}, fake)))

    d_new = jax.tree.map(lambda w, g: w - 0.1 * g, params["discriminator"],
                         jax.jit(jax.grad(d_loss))(params["discriminator"]))

    def g_loss(g):
        p = {"generator": g, "discriminator": d_new}
        fake = model.apply({"params": p}, z, method=model.generate)
        return jnp.mean(generator_loss(model.apply({"params": p}, fake)))

    g_new = jax.tree.map(lambda w, g: w - 0.1 * g, params["generator"],
                         jax.jit(jax.grad(g_loss))(params["generator"]))
    expected = {"generator": g_new, "discriminator": d_new}
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
                 new_state.params, expected)
    assert float(metrics["d_loss"]) == pytest.approx(float(d_loss(params["discriminator"])),
                                                     rel=1e-5)


def _config(steps: int, figures: bool = False):
    c = base(task="gan", dataset="digits", model="gan")
    c.dataset.flatten = True  # the MLP pair: compiles fastest (DCGAN shapes: test_shapes)
    c.model.update(SMALL)
    c.model.discriminator_dropout = 0.2  # every random path, so resume covers them all
    c.model.discriminator_batch_stddev = True
    c.task_options.update(dict(frechet=False, num_samples=16, figures=figures,
                               instance_noise=0.1, instance_noise_anneal_steps=40,
                               label_smoothing=0.1, binary_outputs=True))
    return small_schedule(c, steps, batch_size=32, eval_batch_size=None, log_every=10,
                          eval_every=20, checkpoint_every=20, learning_rate=2e-3)


def test_short_run_changes_losses_and_resumes_exactly(tmp_path):
    full = train_and_evaluate(_config(40, figures=True), str(tmp_path / "full"), quiet=True)
    with open(tmp_path / "full" / "metrics.jsonl") as f:
        logs = [json.loads(line) for line in f]
    train = [r for r in logs if "train/d_loss" in r]
    for key in ("train/d_loss", "train/g_loss"):
        values = [r[key] for r in train]
        assert np.all(np.isfinite(values)) and abs(values[-1] - values[0]) > 1e-3, key
    for key in ("eval/d_loss", "eval/g_loss", "eval/d_accuracy"):
        assert np.isfinite(full[key]), key
    assert os.path.exists(tmp_path / "full" / "figures" / "gan_samples.png")

    assert_resume_matches(_config(20), _config(40), tmp_path / "split", full)


def test_sampling_is_deterministic_by_seed():
    model = create("gan", dict(SMALL), input_shape=(8, 8, 1))
    variables = jax.jit(model.init)(jax.random.key(0), jnp.zeros((2, 8, 8, 1)))
    sample = jax.jit(lambda v, k: model.apply(v, k, 4, method=model.sample))
    draw = lambda seed: np.asarray(sample(variables, jax.random.key(seed)))
    np.testing.assert_array_equal(draw(7), draw(7))
    assert not np.array_equal(draw(7), draw(8))
