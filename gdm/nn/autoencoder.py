"""Autoencoder: a non-linear PCA. The encoder compresses x to a code, the decoder rebuilds x.

The same MLP and conv encoder/decoder blocks serve the VAE (gdm.nn.vae). A denoising
autoencoder (Vincent et al. 2008) sees a corrupted input during training only (masking noise or
additive Gaussian noise, drawn from the 'sample' RNG stream) and is asked for the clean one; the
loss lives in gdm.train.tasks.reconstruct.

    model = Autoencoder(output_shape=(784,), code_size=30)
    logits = model.apply(variables, x)                       # pre-activation reconstruction
    code = model.apply(variables, x, method="encode")
    x_hat = model.apply(variables, code, method="decode")   # in data space
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax

from gdm.nn.mlp import ACTIVATION_NAMES, activation

ARCHS = ("mlp", "conv")
CORRUPTIONS = ("none", "mask", "gaussian")
OUTPUT_ACTIVATIONS = ("sigmoid", "linear")


def corrupt(x: jax.Array, rng: jax.Array, kind: str, level: float) -> jax.Array:
    """Denoising corruption: 'mask' zeroes each value with probability `level`; 'gaussian' adds
    N(0, level^2) noise; 'none' returns x."""
    if kind == "mask":
        return x * jax.random.bernoulli(rng, 1.0 - level, x.shape).astype(x.dtype)
    if kind == "gaussian":
        return x + level * jax.random.normal(rng, x.shape, x.dtype)
    if kind == "none":
        return x
    raise ValueError(f"corruption must be one of {CORRUPTIONS}, got {kind!r}")


def validate_architecture(owner: str, arch: str, output_shape, hidden_sizes, conv_features,
                          activation_name: str, latent: int, latent_field: str) -> None:
    """Clear ValueErrors for config mistakes, raised when the model is first initialized."""
    if output_shape is None:
        raise ValueError(f"{owner}.output_shape must be set (the shape of one example)")
    if arch not in ARCHS:
        raise ValueError(f"config.model.arch must be one of {ARCHS}, got {arch!r}")
    if arch == "conv" and len(output_shape) != 3:
        raise ValueError(f"arch='conv' needs image inputs (H, W, C), got example shape "
                         f"{tuple(output_shape)}; set dataset.flatten=False")
    if int(latent) < 1:
        raise ValueError(f"config.model.{latent_field} must be >= 1, got {latent!r}")
    if any(int(h) < 1 for h in hidden_sizes):
        raise ValueError(f"config.model.hidden_sizes must be positive, got {hidden_sizes!r}")
    if arch == "conv" and (not conv_features or any(int(f) < 1 for f in conv_features)):
        raise ValueError(f"config.model.conv_features must be positive, got {conv_features!r}")
    if activation_name not in ACTIVATION_NAMES:
        raise ValueError(f"config.model.activation must be one of {ACTIVATION_NAMES}, "
                         f"got {activation_name!r}")


class MLPEncoder(nn.Module):
    """Flattens, then hidden Dense layers, then `num_outputs` linear units."""

    hidden_sizes: Sequence[int]
    num_outputs: int
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.reshape(x.shape[0], -1)
        for width in self.hidden_sizes:
            x = activation(self.activation)(nn.Dense(int(width))(x))
        return nn.Dense(self.num_outputs)(x)


class MLPDecoder(nn.Module):
    """Mirror of MLPEncoder: hidden Dense layers, then one linear unit per output value."""

    hidden_sizes: Sequence[int]
    output_shape: Sequence[int]
    activation: str = "relu"

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        for width in self.hidden_sizes:
            z = activation(self.activation)(nn.Dense(int(width))(z))
        z = nn.Dense(math.prod(self.output_shape))(z)
        return z.reshape(z.shape[0], *self.output_shape)


class ConvEncoder(nn.Module):
    """Stride-2 3x3 convolutions (one per entry of `features`), then hidden Dense layers."""

    features: Sequence[int]
    hidden_sizes: Sequence[int]
    num_outputs: int
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.features:
            x = activation(self.activation)(
                nn.Conv(int(width), (3, 3), strides=(2, 2), padding="SAME")(x))
        x = x.reshape(x.shape[0], -1)
        for width in self.hidden_sizes:
            x = activation(self.activation)(nn.Dense(int(width))(x))
        return nn.Dense(self.num_outputs)(x)


class ConvDecoder(nn.Module):
    """Dense to a small feature map, then stride-2 transposed convolutions up to (H, W, C).

    The map starts at ceil(H / 2^n) x ceil(W / 2^n) and is cropped at the end, so sizes that
    are not powers of two (28, 8, 32) all work.
    """

    features: Sequence[int]
    hidden_sizes: Sequence[int]
    output_shape: Sequence[int]
    activation: str = "relu"

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        height, width, channels = self.output_shape
        scale = 2 ** len(self.features)
        h0, w0 = -(-height // scale), -(-width // scale)
        for units in reversed(tuple(self.hidden_sizes)):
            z = activation(self.activation)(nn.Dense(int(units))(z))
        z = activation(self.activation)(nn.Dense(h0 * w0 * int(self.features[-1]))(z))
        z = z.reshape(z.shape[0], h0, w0, int(self.features[-1]))
        for units in reversed(tuple(self.features[:-1])):
            z = activation(self.activation)(
                nn.ConvTranspose(int(units), (3, 3), strides=(2, 2), padding="SAME")(z))
        z = nn.ConvTranspose(channels, (3, 3), strides=(2, 2), padding="SAME")(z)
        return z[:, :height, :width, :]


def make_encoder(arch: str, hidden_sizes, conv_features, num_outputs: int,
                 activation_name: str) -> nn.Module:
    if arch == "conv":
        return ConvEncoder(tuple(conv_features), tuple(hidden_sizes), num_outputs,
                           activation_name)
    return MLPEncoder(tuple(hidden_sizes), num_outputs, activation_name)


def make_decoder(arch: str, hidden_sizes, conv_features, output_shape,
                 activation_name: str) -> nn.Module:
    """The decoder mirrors the encoder: hidden sizes in reverse order."""
    if arch == "conv":
        return ConvDecoder(tuple(conv_features), tuple(hidden_sizes), tuple(output_shape),
                           activation_name)
    return MLPDecoder(tuple(reversed(tuple(hidden_sizes))), tuple(output_shape), activation_name)


class Autoencoder(nn.Module):
    """Deterministic encoder -> code of `code_size` -> decoder.

    The default MLP is Hinton & Salakhutdinov's (2006) 784-1000-500-250-30 shape with ReLU in
    place of their RBM-pretrained logistic units. `output_activation` maps decoder outputs to
    data space: 'sigmoid' for pixels in [0, 1] (and required by a BCE loss), 'linear' for
    standardized features. `__call__` returns pre-activation outputs so BCE stays stable.
    """

    output_shape: tuple[int, ...] | None = None
    arch: str = "mlp"
    code_size: int = 30
    hidden_sizes: tuple[int, ...] = (1000, 500, 250)
    conv_features: tuple[int, ...] = (32, 64)
    activation: str = "relu"
    output_activation: str = "sigmoid"
    corruption: str = "none"
    corruption_level: float = 0.0

    def setup(self):
        validate_architecture("Autoencoder", self.arch, self.output_shape, self.hidden_sizes,
                              self.conv_features, self.activation, self.code_size, "code_size")
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"config.model.output_activation must be one of "
                             f"{OUTPUT_ACTIVATIONS}, got {self.output_activation!r}")
        if self.corruption not in CORRUPTIONS:
            raise ValueError(f"config.model.corruption must be one of {CORRUPTIONS}, "
                             f"got {self.corruption!r}")
        level = float(self.corruption_level)
        if self.corruption == "mask" and not 0.0 <= level < 1.0:
            raise ValueError(f"config.model.corruption_level must be in [0, 1) for masking, "
                             f"got {level!r}")
        if self.corruption == "gaussian" and level < 0.0:
            raise ValueError(f"config.model.corruption_level must be >= 0, got {level!r}")
        self.encoder = make_encoder(self.arch, self.hidden_sizes, self.conv_features,
                                    int(self.code_size), self.activation)
        self.decoder = make_decoder(self.arch, self.hidden_sizes, self.conv_features,
                                    self.output_shape, self.activation)

    def encode(self, x: jax.Array, train: bool = False) -> jax.Array:
        """Codes (B, code_size) of clean inputs."""
        del train
        return self.encoder(x)

    def decode_logits(self, code: jax.Array, train: bool = False) -> jax.Array:
        del train
        return self.decoder(code)

    def activate(self, outputs: jax.Array) -> jax.Array:
        """Pre-activation decoder outputs -> data space."""
        return nn.sigmoid(outputs) if self.output_activation == "sigmoid" else outputs

    def decode(self, code: jax.Array, train: bool = False) -> jax.Array:
        """Reconstructions in data space from codes."""
        return self.activate(self.decode_logits(code, train))

    def reconstruct(self, x: jax.Array, train: bool = False) -> jax.Array:
        """decode(encode(x)) in data space, without corruption."""
        return self.decode(self.encode(x), train)

    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        """Pre-activation reconstruction; corrupts the input first when training a denoiser."""
        if train and self.corruption != "none":
            x = corrupt(x, self.make_rng("sample"), self.corruption, float(self.corruption_level))
        return self.decoder(self.encoder(x))
