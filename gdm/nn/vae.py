"""Variational autoencoder (Kingma & Welling 2014): an encoder to a diagonal Gaussian q(z|x),
the reparameterization trick, and a decoder p(x|z) under a standard normal prior.

Unlike the autoencoder, each input maps to a distribution and the KL term pulls all of them
toward N(0, I), so the latent space has no gaps and decoding prior samples generates data. The
ELBO and the importance-weighted bound live in gdm.train.tasks.elbo.

    model = VAE(output_shape=(784,), latent_size=20)      # 784-500-20, the Flax example
    mean, logvar = model.apply(variables, x, method="encode")
    images = model.apply(variables, jax.random.key(0), 64, method="sample")
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from gdm.nn.autoencoder import make_decoder, make_encoder, validate_architecture

LIKELIHOODS = ("bernoulli", "gaussian")


class VAE(nn.Module):
    """Gaussian encoder, Bernoulli or Gaussian decoder, N(0, I) prior.

    likelihood='bernoulli': the decoder gives logits (binarized or [0, 1] data).
    likelihood='gaussian': the decoder gives the mean; the log-variance is one learned value per
    output dimension, kept above `min_decoder_logvar` (softly) because a pixel that is always 0
    would otherwise drive its variance to 0 and the likelihood to infinity.
    """

    output_shape: tuple[int, ...] | None = None
    arch: str = "mlp"
    latent_size: int = 20
    hidden_sizes: tuple[int, ...] = (500,)
    conv_features: tuple[int, ...] = (32, 64)
    activation: str = "relu"
    likelihood: str = "bernoulli"
    min_decoder_logvar: float = -4.6  # variance >= 0.01

    def setup(self):
        validate_architecture("VAE", self.arch, self.output_shape, self.hidden_sizes,
                              self.conv_features, self.activation, self.latent_size,
                              "latent_size")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"config.model.likelihood must be one of {LIKELIHOODS}, "
                             f"got {self.likelihood!r}")
        latent = int(self.latent_size)
        self.encoder = make_encoder(self.arch, self.hidden_sizes, self.conv_features,
                                    2 * latent, self.activation)
        self.decoder = make_decoder(self.arch, self.hidden_sizes, self.conv_features,
                                    self.output_shape, self.activation)
        if self.likelihood == "gaussian":
            floor = float(self.min_decoder_logvar)
            # Start at unit variance: floor + softplus(raw) == 0.
            raw0 = math.log(math.expm1(-floor)) if floor < 0 else 0.0
            self.decoder_logvar_raw = self.param(
                "decoder_logvar_raw", nn.initializers.constant(raw0), tuple(self.output_shape))

    def encode(self, x: jax.Array, train: bool = False) -> tuple[jax.Array, jax.Array]:
        """Mean and log-variance of q(z|x), each (B, latent_size)."""
        del train
        stats = self.encoder(x)
        mean, logvar = jnp.split(stats, 2, axis=-1)
        return mean, logvar

    def decoder_outputs(self, z: jax.Array, train: bool = False):
        """Parameters of p(x|z): logits (bernoulli) or (mean, logvar) (gaussian)."""
        del train
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            return out
        logvar = float(self.min_decoder_logvar) + nn.softplus(self.decoder_logvar_raw)
        return out, jnp.broadcast_to(logvar, out.shape)

    def decode(self, z: jax.Array, train: bool = False) -> jax.Array:
        """The mean of p(x|z) in data space (probabilities for bernoulli)."""
        out = self.decoder_outputs(z, train)
        return nn.sigmoid(out) if self.likelihood == "bernoulli" else out[0]

    def sample(self, rng: jax.Array, n: int, train: bool = False) -> jax.Array:
        """`n` generated examples: decode z ~ N(0, I); the mean of p(x|z), a pure function of
        (params, rng)."""
        z = jax.random.normal(rng, (int(n), int(self.latent_size)))
        return self.decode(z, train)

    def __call__(self, x: jax.Array, train: bool = False):
        """(decoder outputs for one reparameterized z ~ q(z|x), mean, logvar); z is drawn from
        the 'sample' RNG stream."""
        mean, logvar = self.encode(x)
        eps = jax.random.normal(self.make_rng("sample"), mean.shape, mean.dtype)
        z = mean + jnp.exp(0.5 * logvar) * eps
        return self.decoder_outputs(z, train), mean, logvar
