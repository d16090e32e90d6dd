"""ResNets (He et al. 2016): CIFAR-style 6n+2 (20/32/44/56/110) and ImageNet-style 18/50."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp


class BasicBlock(nn.Module):
    """Two 3x3 convs with batch norm; `residual=False` drops the shortcut (He et al.'s plain
    block: the same layers, nothing added)."""

    channels: int
    strides: int = 1
    residual: bool = True

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        norm = partial(nn.BatchNorm, use_running_average=not train, momentum=0.9)
        y = nn.Conv(self.channels, (3, 3), self.strides, use_bias=False)(x)
        y = nn.relu(norm()(y))
        y = nn.Conv(self.channels, (3, 3), use_bias=False)(y)
        if not self.residual:
            return nn.relu(norm()(y))
        y = norm(scale_init=nn.initializers.zeros)(y)
        if x.shape != y.shape:
            x = norm()(nn.Conv(self.channels, (1, 1), self.strides, use_bias=False)(x))
        return nn.relu(x + y)


class Bottleneck(nn.Module):
    channels: int
    strides: int = 1

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        norm = partial(nn.BatchNorm, use_running_average=not train, momentum=0.9)
        y = nn.relu(norm()(nn.Conv(self.channels, (1, 1), use_bias=False)(x)))
        y = nn.Conv(self.channels, (3, 3), self.strides, use_bias=False)(y)
        y = nn.relu(norm()(y))
        y = nn.Conv(4 * self.channels, (1, 1), use_bias=False)(y)
        y = norm(scale_init=nn.initializers.zeros)(y)
        if x.shape != y.shape:
            x = norm()(nn.Conv(4 * self.channels, (1, 1), self.strides, use_bias=False)(x))
        return nn.relu(x + y)


class CifarResNet(nn.Module):
    """Three stages of n basic blocks (16, 32, 64 channels); depth = 6n + 2. `residual=False`
    is the plain network of the same depth (He et al. 2016, Sec. 4.2)."""

    depth: int = 20
    num_outputs: int = 10
    width: int = 16
    residual: bool = True

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        if (self.depth - 2) % 6 != 0 or self.depth < 8:
            raise ValueError(f"model.depth must be 6n+2 (20, 32, 44, 56, 110), got {self.depth}")
        n = (self.depth - 2) // 6
        x = nn.Conv(self.width, (3, 3), use_bias=False)(x)
        x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(x))
        for stage in range(3):
            for block in range(n):
                strides = 2 if stage > 0 and block == 0 else 1
                x = BasicBlock(self.width * 2**stage, strides, self.residual)(x, train)
        return nn.Dense(self.num_outputs)(jnp.mean(x, axis=(1, 2)))


class ImageNetResNet(nn.Module):
    """7x7 stem + max pool, four stages (64..512 channels), global pool, dense."""

    stage_sizes: Sequence[int] = (2, 2, 2, 2)
    bottleneck: bool = False
    num_outputs: int = 1000
    width: int = 64

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        block = Bottleneck if self.bottleneck else BasicBlock
        x = nn.Conv(self.width, (7, 7), (2, 2), padding=[(3, 3), (3, 3)], use_bias=False)(x)
        x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(x))
        x = nn.max_pool(x, (3, 3), (2, 2), padding="SAME")
        for stage, size in enumerate(self.stage_sizes):
            for b in range(size):
                strides = 2 if stage > 0 and b == 0 else 1
                x = block(self.width * 2**stage, strides)(x, train)
        return nn.Dense(self.num_outputs)(jnp.mean(x, axis=(1, 2)))


class ResNet18(ImageNetResNet):
    stage_sizes: Sequence[int] = (2, 2, 2, 2)
    bottleneck: bool = False


class ResNet50(ImageNetResNet):
    stage_sizes: Sequence[int] = (3, 4, 6, 3)
    bottleneck: bool = True
