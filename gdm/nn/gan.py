"""A generative adversarial network: generator and discriminator as two submodules of one module.

One module (rather than two) keeps the train state a single pytree, params =
{'generator': ..., 'discriminator': ...}, so the shared loop checkpoints, shards and resumes a
GAN like any other model; the two-player update lives in gdm.train.tasks.gan.

Architectures:
  "dcgan": Radford et al. 2016 for images (NHWC): the generator projects z to a
           (H/4, W/4, 2F) map and doubles it twice with stride-2 transposed convolutions (batch
           norm + ReLU between); the discriminator mirrors it with stride-2 convolutions and
           leaky ReLU, no batch norm (so real and fake batches never share statistics).
  "mlp":   Goodfellow et al. 2014-style fully connected nets, for flat data.
  "auto":  "dcgan" for image-shaped data whose height and width divide by 4, else "mlp".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

ARCHITECTURES = ("auto", "dcgan", "mlp")
OUTPUT_ACTIVATIONS = ("sigmoid", "tanh", "none")


def minibatch_stddev(x: jax.Array) -> jax.Array:
    """Appends the batch's mean feature std as one more feature (Karras et al. 2018): a
    collapsed generator's batch has a tell-tale low spread, so the discriminator can see
    mode collapse and the generator is pushed to diversify. Features are the last axis."""
    spread = jnp.mean(jnp.sqrt(jnp.var(x, axis=0) + 1e-8))  # eps: finite gradient at 0
    return jnp.concatenate([x, jnp.broadcast_to(spread, (*x.shape[:-1], 1))], axis=-1)


def _activate(x: jax.Array, name: str) -> jax.Array:
    if name == "sigmoid":
        return nn.sigmoid(x)
    if name == "tanh":
        return jnp.tanh(x)
    return x


class DCGANGenerator(nn.Module):
    """z (B, latent) -> images (B, H, W, C); H and W must be multiples of 4."""

    output_shape: tuple[int, ...]
    features: int = 64
    batch_norm: bool = True
    output_activation: str = "sigmoid"

    @nn.compact
    def __call__(self, z: jax.Array, train: bool = False) -> jax.Array:
        height, width, channels = self.output_shape
        f = self.features

        def norm_relu(x):
            if self.batch_norm:
                x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
            return nn.relu(x)

        x = nn.Dense(height // 4 * width // 4 * 2 * f, use_bias=not self.batch_norm)(z)
        x = norm_relu(x.reshape(z.shape[0], height // 4, width // 4, 2 * f))
        x = nn.ConvTranspose(f, (4, 4), strides=(2, 2), padding="SAME",
                             use_bias=not self.batch_norm)(x)
        x = norm_relu(x)
        x = nn.ConvTranspose(channels, (4, 4), strides=(2, 2), padding="SAME")(x)
        return _activate(x, self.output_activation)


class DCGANDiscriminator(nn.Module):
    """images (B, H, W, C) -> logits (B,) of "real"."""

    features: int = 64
    dropout: float = 0.0
    batch_stddev: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        f = self.features
        for width in (f, 2 * f):
            x = nn.leaky_relu(nn.Conv(width, (4, 4), strides=(2, 2), padding="SAME")(x), 0.2)
            x = nn.Dropout(self.dropout, deterministic=not train)(x)
        if self.batch_stddev:
            x = minibatch_stddev(x)
        x = x.reshape(x.shape[0], -1)
        return nn.Dense(1)(x)[:, 0]


class MLPGenerator(nn.Module):
    """z (B, latent) -> samples of `output_shape` through dense layers with ReLU."""

    output_shape: tuple[int, ...]
    hidden_sizes: Sequence[int] = (256, 512)
    output_activation: str = "sigmoid"

    @nn.compact
    def __call__(self, z: jax.Array, train: bool = False) -> jax.Array:
        del train
        x = z
        for units in self.hidden_sizes:
            x = nn.relu(nn.Dense(units)(x))
        x = nn.Dense(math.prod(self.output_shape))(x)
        return _activate(x, self.output_activation).reshape(z.shape[0], *self.output_shape)


class MLPDiscriminator(nn.Module):
    """samples (B, ...) -> logits (B,) through dense layers with leaky ReLU."""

    hidden_sizes: Sequence[int] = (512, 256)
    dropout: float = 0.0
    batch_stddev: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        x = x.reshape(x.shape[0], -1)
        for units in self.hidden_sizes:
            x = nn.leaky_relu(nn.Dense(units)(x), 0.2)
            x = nn.Dropout(self.dropout, deterministic=not train)(x)
        if self.batch_stddev:
            x = minibatch_stddev(x)
        return nn.Dense(1)(x)[:, 0]


class GAN(nn.Module):
    """Generator + discriminator; `generate`, `discriminate` and `sample` are the entry points.

    `__call__(x)` returns the discriminator's logits on x (and, at init, also builds the
    generator so both players' params exist after `model.init`).
    """

    output_shape: tuple[int, ...] | None = None  # one example's shape; filled by gdm.nn.create
    latent_dim: int = 64
    architecture: str = "auto"
    generator_features: int = 64
    discriminator_features: int = 64
    generator_hidden: Sequence[int] = (256, 512)
    discriminator_hidden: Sequence[int] = (512, 256)
    batch_norm: bool = True  # in the DCGAN generator only
    discriminator_dropout: float = 0.0  # keeps the discriminator from winning outright
    discriminator_batch_stddev: bool = False  # minibatch-stddev feature against mode collapse
    output_activation: str = "sigmoid"  # sigmoid matches data scaled to [0, 1]

    def resolved_architecture(self) -> str:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"model.architecture must be one of {ARCHITECTURES}, "
                             f"got {self.architecture!r}")
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"model.output_activation must be one of {OUTPUT_ACTIVATIONS}, "
                             f"got {self.output_activation!r}")
        shape = tuple(self.output_shape or ())
        is_image = len(shape) == 3 and shape[0] % 4 == 0 and shape[1] % 4 == 0
        if self.architecture == "dcgan" and not is_image:
            raise ValueError("model.architecture='dcgan' needs image data (H, W, C) with H and W "
                             f"divisible by 4, got shape {shape}; use 'mlp' or "
                             "dataset.flatten=False")
        if self.architecture == "auto":
            return "dcgan" if is_image else "mlp"
        return self.architecture

    def setup(self):
        if not self.output_shape:
            raise ValueError("GAN.output_shape (one example's shape) must be set")
        if self.resolved_architecture() == "dcgan":
            self.generator = DCGANGenerator(tuple(self.output_shape), self.generator_features,
                                            self.batch_norm, self.output_activation)
            self.discriminator = DCGANDiscriminator(self.discriminator_features,
                                                    self.discriminator_dropout,
                                                    self.discriminator_batch_stddev)
        else:
            self.generator = MLPGenerator(tuple(self.output_shape), tuple(self.generator_hidden),
                                          self.output_activation)
            self.discriminator = MLPDiscriminator(tuple(self.discriminator_hidden),
                                                  self.discriminator_dropout,
                                                  self.discriminator_batch_stddev)

    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        if self.is_initializing():
            self.generate(jnp.zeros((x.shape[0], self.latent_dim), x.dtype), train)
        return self.discriminate(x, train)

    def generate(self, z: jax.Array, train: bool = False) -> jax.Array:
        """Latent codes (B, latent_dim) -> samples (B, *output_shape)."""
        return self.generator(z, train)

    def discriminate(self, x: jax.Array, train: bool = False) -> jax.Array:
        """Samples (B, *output_shape) -> logits (B,) that they are real."""
        return self.discriminator(x, train)

    def sample(self, rng: jax.Array, num_samples: int, train: bool = False) -> jax.Array:
        """Draws z ~ N(0, I) from `rng` and generates; a pure function of (params, rng)."""
        z = jax.random.normal(rng, (num_samples, self.latent_dim))
        return self.generate(z, train)
