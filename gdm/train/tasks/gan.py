"""The GAN objective: non-saturating losses, both players updated in one jit-compiled step.

Goodfellow et al. 2014, with the generator maximizing log D(G(z)) instead of minimizing
log(1 - D(G(z))) (strong gradients early on; the "NS-GAN" of Lucic et al. 2018):
    L_D = -log sigmoid(D(x)) - log(1 - sigmoid(D(G(z))))
    L_G = -log sigmoid(D(G(z)))
One step alternates as in Goodfellow's Algorithm 1 with k = 1: the discriminator steps first,
then the generator steps against the updated discriminator. The generator's forward pass runs
once (jax.vjp) and serves both: the discriminator sees its output as constant fakes, and the
generator's gradient is pulled back through the same vjp. The two players keep separate
optimizer states ({'generator': ..., 'discriminator': ...}) built from config.optimizer, so the
loop checkpoints and resumes them like any other state.

task_options (all optional):
  adam_b1: Adam's first-moment decay when config.optimizer.name is "adam" (default 0.5, the
           DCGAN setting: 0.9 lets the two players' momenta chase each other and oscillate).
  discriminator_lr_scale: the discriminator's learning rate relative to config.optimizer's.
  instance_noise: std of Gaussian noise added to the discriminator's inputs (real and fake),
                  annealed linearly to 0 over training (Sonderby et al. 2017). On binarized
                  data it hides the trivial cue "gray pixels = fake" that otherwise lets the
                  discriminator win outright and collapses the generator. Default 0.
  instance_noise_anneal_steps: steps over which it decays (default: num_train_steps; set it
                  explicitly to continue a run to more steps with the same noise schedule).
  label_smoothing: one-sided: real targets 1 - eps (Salimans et al. 2016). Default 0.
  binary_outputs: for binary data. The generator's sigmoid outputs are read as Bernoulli
                  means; the discriminator sees Bernoulli samples of them, and the generator's
                  gradient passes the sampling straight through (d sample / d mean := 1,
                  Bengio et al. 2013). Without it a discriminator tells binary real images
                  from gray fakes by their pixel values alone, wins outright and the generator
                  collapses. Final samples are then binary too. Default False.
  binarize_samples: threshold t >= 0: the final samples are thresholded at t and the Frechet
                   distance compares them with the data thresholded at t (the reference set
                   of a run on dataset.binarize = t). A GAN trained on gray images that match
                   the data has thresholded samples that match the thresholded data, so this
                   scores it on the same binarized set as the VAE and the RBM without making
                   it fit binary pixels (where the generator's sigmoid saturates and it
                   collapses). Default -1 (off).
  num_samples: samples drawn at the end for the figure and the Frechet distance
               (default: as many as test examples, capped at 10,000).
  frechet: compute eval/frechet_distance at the end (default True for labelled image data).
  frechet_cache_dir: where the feature classifier is cached (see gdm.metrics.frechet).
  figures: draw the sample grid into workdir/figures at the end (default True).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gdm.train.optim import make_schedule
from gdm.train.tasks.base import Task, apply_model

PLAYERS = ("generator", "discriminator")


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array,
                       label_smoothing: float = 0.0) -> jax.Array:
    """Per-example -log sigmoid(D(x)) - log(1 - sigmoid(D(G(z)))), real targets 1 - eps."""
    real = ((1.0 - label_smoothing) * jax.nn.softplus(-real_logits)
            + label_smoothing * jax.nn.softplus(real_logits))
    return real + jax.nn.softplus(fake_logits)


def generator_loss(fake_logits: jax.Array) -> jax.Array:
    """Per-example non-saturating -log sigmoid(D(G(z)))."""
    return jax.nn.softplus(-fake_logits)


def _accuracy(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    return 0.5 * ((real_logits > 0).astype(jnp.float32) + (fake_logits < 0).astype(jnp.float32))


def two_player_optimizer(generator_tx: optax.GradientTransformation,
                         discriminator_tx: optax.GradientTransformation,
                         ) -> optax.GradientTransformation:
    """One GradientTransformation over {'generator', 'discriminator'} params with a state per
    player; GanTask calls the players' own updates separately (alternating), this combined
    update exists so the pair also works wherever one transformation is expected."""
    players = {"generator": generator_tx, "discriminator": discriminator_tx}

    def init(params):
        return {name: players[name].init(params[name]) for name in PLAYERS}

    def update(grads, state, params=None):
        out = {name: players[name].update(grads[name], state[name],
                                          None if params is None else params[name])
               for name in PLAYERS}
        return {n: out[n][0] for n in PLAYERS}, {n: out[n][1] for n in PLAYERS}

    return optax.GradientTransformation(init, update)


class GanTask(Task):
    """Trains gdm.nn.GAN; eval reports both losses and the discriminator's accuracy."""

    name = "gan"

    def __init__(self, config, num_classes, input_shape):
        super().__init__(config, num_classes, input_shape)
        self.options = dict(config.get("task_options", {}) or {})
        self._players: dict[str, optax.GradientTransformation] | None = None
        self.instance_noise = float(self.options.get("instance_noise", 0.0))
        self.label_smoothing = float(self.options.get("label_smoothing", 0.0))
        self.binary_outputs = bool(self.options.get("binary_outputs", False))
        self.noise_anneal_steps = int(self.options.get("instance_noise_anneal_steps", 0)
                                      or config.num_train_steps)
        if self.instance_noise < 0 or not 0 <= self.label_smoothing < 1:
            raise ValueError("task_options.instance_noise must be >= 0 and "
                             "task_options.label_smoothing in [0, 1)")

    def make_optimizer(self, tx: optax.GradientTransformation,
                       params: Any) -> optax.GradientTransformation:
        if set(params) != set(PLAYERS):
            raise ValueError(f"the gan task needs a model with params {PLAYERS} (model.name="
                             f"'gan'), got {sorted(params)}")
        if self.config.optimizer.name == "adam":  # rebuilt with the GAN's b1, same schedule
            tx = optax.adam(make_schedule(self.config.optimizer, self.config.num_train_steps),
                            b1=float(self.options.get("adam_b1", 0.5)))
            if self.config.optimizer.get("weight_decay", 0.0):
                tx = optax.chain(optax.add_decayed_weights(self.config.optimizer.weight_decay),
                                 tx)
        scale = float(self.options.get("discriminator_lr_scale", 1.0))
        if scale <= 0:
            raise ValueError(f"task_options.discriminator_lr_scale must be > 0, got {scale}")
        d_tx = tx if scale == 1.0 else optax.chain(tx, optax.scale(scale))
        self._players = {"generator": tx, "discriminator": d_tx}
        return two_player_optimizer(tx, d_tx)

    def _generate(self, model, params, model_state, z, train):
        return apply_model(model, params, model_state, z, None, train, method=model.generate)

    def _binarize(self, rng, means):
        if not self.binary_outputs:
            return means
        return jax.random.bernoulli(rng, means).astype(means.dtype)

    def _discriminate(self, model, params, x, rng=None):
        """Logits; with `rng` in training mode (discriminator dropout on)."""
        return apply_model(model, params, {}, x, rng, rng is not None,
                           method=model.discriminate)[0]

    def train_step(self, model, tx, state, batch, rng):
        if self._players is None:
            raise RuntimeError("GanTask.make_optimizer must be called before train_step")
        params, real = state.params, batch["x"]
        z = jax.random.normal(rng, (real.shape[0], model.latent_dim), real.dtype)
        anneal = jnp.maximum(0.0, 1.0 - state.step / self.noise_anneal_steps)
        sigma = self.instance_noise * anneal
        noise_real, noise_fake = (sigma * jax.random.normal(jax.random.fold_in(rng, i),
                                                            real.shape, real.dtype)
                                  for i in (1, 2))

        def generate(g_params):
            full = {"generator": g_params, "discriminator": params["discriminator"]}
            return self._generate(model, full, state.model_state, z, True)

        fake, pull_back, model_state = jax.vjp(generate, params["generator"], has_aux=True)
        fake = self._binarize(jax.random.fold_in(rng, 3), jax.lax.stop_gradient(fake))

        def d_objective(d_params):
            full = {"generator": params["generator"], "discriminator": d_params}
            real_logits = self._discriminate(model, full, real + noise_real,
                                             jax.random.fold_in(rng, 4))
            fake_logits = self._discriminate(model, full, fake + noise_fake,
                                             jax.random.fold_in(rng, 5))
            loss = jnp.mean(discriminator_loss(real_logits, fake_logits, self.label_smoothing))
            return loss, jnp.mean(_accuracy(real_logits, fake_logits))

        (d_loss, d_accuracy), d_grads = jax.value_and_grad(d_objective, has_aux=True)(
            params["discriminator"])
        d_updates, d_opt = self._players["discriminator"].update(
            d_grads, state.opt_state["discriminator"], params["discriminator"])
        d_params = optax.apply_updates(params["discriminator"], d_updates)

        def g_objective(samples):  # against the updated discriminator
            full = {"generator": params["generator"], "discriminator": d_params}
            logits = self._discriminate(model, full, samples + noise_fake,
                                        jax.random.fold_in(rng, 6))
            return jnp.mean(generator_loss(logits))

        g_loss, fake_grads = jax.value_and_grad(g_objective)(fake)
        (g_grads,) = pull_back(fake_grads)  # straight through the sampling if binary
        g_updates, g_opt = self._players["generator"].update(
            g_grads, state.opt_state["generator"], params["generator"])
        new_params = {"generator": optax.apply_updates(params["generator"], g_updates),
                      "discriminator": d_params}
        metrics = {"loss": d_loss + g_loss, "d_loss": d_loss, "g_loss": g_loss,
                   "d_accuracy": d_accuracy}
        new_state = state.replace(params=new_params, model_state=model_state,
                                  opt_state={"generator": g_opt, "discriminator": d_opt})
        return new_state, metrics

    def eval_batch(self, model, state, batch, rng):
        real = batch["x"]
        z = jax.random.normal(rng, (real.shape[0], model.latent_dim), real.dtype)
        fake, _ = self._generate(model, state.params, state.model_state, z, False)
        fake = self._binarize(jax.random.fold_in(rng, 3), fake)
        real_logits = self._discriminate(model, state.params, real)
        fake_logits = self._discriminate(model, state.params, fake)
        return {"d_loss": discriminator_loss(real_logits, fake_logits),
                "g_loss": generator_loss(fake_logits),
                "d_accuracy": _accuracy(real_logits, fake_logits),
                "d_real_probability": jax.nn.sigmoid(real_logits),
                "d_fake_probability": jax.nn.sigmoid(fake_logits)}

    def sample(self, model, state, rng: jax.Array, num_samples: int,
               chunk_size: int = 1000) -> np.ndarray:
        """`num_samples` generator samples (eval mode), drawn in fixed-size chunks so one
        compiled function serves any count; a pure function of (params, rng). Binary
        (Bernoulli draws of the generator's means) when task_options.binary_outputs."""
        z_rng, bit_rng = jax.random.split(rng)
        means = sample_in_chunks(model, state.params, state.model_state, z_rng, num_samples,
                                 chunk_size)
        if not self.binary_outputs:
            return means
        return np.asarray(jax.random.bernoulli(bit_rng, means), np.float32)

    def final_metrics(self, model, state, dataset, workdir):
        from gdm.train.tasks import _sample_report

        rng = jax.random.fold_in(jax.random.key(int(self.config.seed)), 0x5A3)
        num = _sample_report.num_samples(self.options, dataset)
        samples = self.sample(model, state, rng, num)
        config = self.config
        threshold = float(self.options.get("binarize_samples", -1.0))
        if threshold >= 0:
            samples = (samples > threshold).astype(np.float32)
            config = copy.deepcopy(config)
            with config.unlocked():
                config.dataset.binarize = threshold
        return _sample_report.report(samples, config, self.options, dataset, workdir,
                                     prefix="gan")


@functools.partial(jax.jit, static_argnames=("model", "chunk_size"))
def _sample_chunk(model, params, model_state, rng, chunk_size):
    return model.apply({"params": params, **model_state}, rng, chunk_size, False,
                       method=model.sample)


def sample_in_chunks(model, params, model_state, rng, num_samples, chunk_size=1000):
    keys = jax.random.split(rng, -(-num_samples // chunk_size))
    parts = [np.asarray(_sample_chunk(model, params, model_state, k, chunk_size)) for k in keys]
    return np.concatenate(parts)[:num_samples]
