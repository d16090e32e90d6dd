"""Classic CNN classifiers: LeNet-5, a small-image AlexNet-style net, VGG-11/16.

Inputs are NHWC. Batch norm statistics are model state ('batch_stats'); under jit with a batch
sharded over the mesh, BatchNorm's mean is over the global batch, as in single-device training.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax


class LeNet5(nn.Module):
    """LeCun et al. 1998, with ReLU and max pooling; pads inputs smaller than 28x28."""

    num_outputs: int = 10

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        del train
        x = nn.relu(nn.Conv(6, (5, 5), padding="SAME")(x))
        x = nn.max_pool(x, (2, 2), (2, 2))
        x = nn.relu(nn.Conv(16, (5, 5), padding="SAME" if x.shape[1] < 10 else "VALID")(x))
        x = nn.max_pool(x, (2, 2), (2, 2), padding="SAME")
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(nn.Dense(120)(x))
        x = nn.relu(nn.Dense(84)(x))
        return nn.Dense(self.num_outputs)(x)


class AlexNetSmall(nn.Module):
    """AlexNet's shape (5 convs, 3 dense, ReLU, dropout) sized for 32x32-ish images."""

    num_outputs: int = 10
    width: int = 64
    dropout: float = 0.5

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        w = self.width
        x = nn.relu(nn.Conv(w, (5, 5))(x))
        x = nn.max_pool(x, (2, 2), (2, 2), padding="SAME")
        x = nn.relu(nn.Conv(3 * w, (5, 5))(x))
        x = nn.max_pool(x, (2, 2), (2, 2), padding="SAME")
        x = nn.relu(nn.Conv(6 * w, (3, 3))(x))
        x = nn.relu(nn.Conv(4 * w, (3, 3))(x))
        x = nn.relu(nn.Conv(4 * w, (3, 3))(x))
        x = nn.max_pool(x, (2, 2), (2, 2), padding="SAME")
        x = x.reshape(x.shape[0], -1)
        for units in (16 * w, 16 * w):
            x = nn.Dropout(self.dropout, deterministic=not train)(nn.relu(nn.Dense(units)(x)))
        return nn.Dense(self.num_outputs)(x)


class VGG(nn.Module):
    """Simonyan & Zisserman 2015 with batch norm; `stages` gives convs per stage.

    `width_multiplier` scales the 64-128-256-512-512 channels (e.g. 0.25 for 8x8 digits);
    pooling stops once the feature map is 1x1, so small images work. Classifier head is
    global-average-pooled + one dense layer of 512 * multiplier, as CIFAR VGG variants use.
    """

    stages: Sequence[int] = (1, 1, 2, 2, 2)
    num_outputs: int = 10
    width_multiplier: float = 1.0
    dropout: float = 0.5

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        for stage, n_convs in enumerate(self.stages):
            channels = max(8, int(64 * min(2**stage, 8) * self.width_multiplier))
            for _ in range(n_convs):
                x = nn.Conv(channels, (3, 3), use_bias=False)(x)
                x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(x))
            if x.shape[1] > 1:
                x = nn.max_pool(x, (2, 2), (2, 2), padding="SAME")
        x = x.mean(axis=(1, 2))
        x = nn.relu(nn.Dense(max(16, int(512 * self.width_multiplier)))(x))
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return nn.Dense(self.num_outputs)(x)


class VGG11(VGG):
    stages: Sequence[int] = (1, 1, 2, 2, 2)


class VGG16(VGG):
    stages: Sequence[int] = (2, 2, 3, 3, 3)
