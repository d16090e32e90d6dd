"""Multilayer perceptron with a choice of activation and dropout."""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax


class PReLU(nn.Module):
    """Parametric ReLU (He et al. 2015): one learned negative slope per layer."""

    init_slope: float = 0.25

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        slope = self.param("slope", nn.initializers.constant(self.init_slope), ())
        return jax.numpy.where(x >= 0, x, slope * x)


ACTIVATIONS: dict[str, Callable] = {
    "relu": nn.relu, "swish": nn.swish, "sigmoid": nn.sigmoid, "tanh": nn.tanh, "gelu": nn.gelu,
}
ACTIVATION_NAMES = (*ACTIVATIONS, "prelu")


def activation(name: str) -> Callable:
    """Activation by name; 'prelu' returns a fresh learned module."""
    if name == "prelu":
        return PReLU()
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATION_NAMES}, got {name!r}")
    return ACTIVATIONS[name]


class MLP(nn.Module):
    """`depth` hidden layers of `width` units, then `num_outputs` linear outputs.

    batch_norm=True normalizes each hidden layer's pre-activations (statistics in the train
    state, over the global batch when data-parallel).
    """

    num_outputs: int = 10
    depth: int = 2
    width: int = 256
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        x = x.reshape(x.shape[0], -1)
        for _ in range(self.depth):
            x = nn.Dense(self.width, use_bias=not self.batch_norm)(x)
            if self.batch_norm:
                x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
            x = activation(self.activation)(x)
            if self.dropout > 0:
                x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return nn.Dense(self.num_outputs)(x)
