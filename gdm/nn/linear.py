"""Linear models as Flax modules, trained by the same loop as the deep ones (baselines)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


class LinearRegression(nn.Module):
    """y = W x + b on flattened inputs; `num_outputs` targets (1 for scalar regression)."""

    num_outputs: int = 1

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train
        return nn.Dense(self.num_outputs)(x.reshape(x.shape[0], -1))


class LogisticRegression(nn.Module):
    """Logits W x + b. With num_outputs=2 it is the binary model: one sigmoid logit, returned
    as the two-class logits (0, z) so softmax cross-entropy equals binary cross-entropy."""

    num_outputs: int = 2

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train
        x = x.reshape(x.shape[0], -1)
        if self.num_outputs == 2:
            z = nn.Dense(1)(x)
            return jnp.concatenate([jnp.zeros_like(z), z], axis=-1)
        return nn.Dense(self.num_outputs)(x)
