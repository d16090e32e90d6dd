"""What an objective must provide to the one training loop (gdm.train.loop).

A task turns a model into losses and metrics. The loop owns data, sharding, jit, logging and
checkpoints; the task owns what happens inside one step. Batches are dicts of arrays:
'x' (B, ...) float32 and 'y' (B,) labels/targets; eval batches add 'mask' (B,) float32, 1 on
real examples and 0 on padding.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gdm.train.state import TrainState

Metrics = dict[str, jax.Array]


def apply_model(model: nn.Module, params: Any, model_state: Any, x: jax.Array,
                rng: jax.Array | None, train: bool, method: Any = None,
                **kwargs) -> tuple[Any, Any]:
    """model.apply with the mutable collections handled; returns (outputs, new_model_state)."""
    variables = {"params": params, **model_state}
    rngs = {"dropout": rng, "sample": jax.random.fold_in(rng, 1)} if rng is not None else None
    mutable = list(model_state) if (train and model_state) else False
    out = model.apply(variables, x, train=train, rngs=rngs, mutable=mutable, method=method,
                      **kwargs)
    if mutable:
        out, new_state = out
        return out, dict(new_state)
    return out, model_state


class Task:
    """Base objective. Subclasses set `name` and implement train_step and eval_batch.

    Args:
      config: the whole run config (ml_collections.ConfigDict).
      num_classes: classes of the dataset (0 for regression / unlabelled).
      input_shape: shape of one example, e.g. (28, 28, 1) or (784,).
    """

    name = "base"

    def __init__(self, config: ml_collections.ConfigDict, num_classes: int,
                 input_shape: tuple[int, ...]):
        self.config = config
        self.num_classes = num_classes
        self.input_shape = tuple(input_shape)

    def init(self, model: nn.Module, rng: jax.Array, x: jax.Array) -> tuple[Any, Any, Any]:
        """Returns (params, model_state, extra) for a sample input batch `x`."""
        variables = model.init({"params": rng, "dropout": rng, "sample": rng}, x, train=False)
        variables = dict(variables)
        params = variables.pop("params")
        return params, variables, {}

    def make_optimizer(self, tx: optax.GradientTransformation,
                       params: Any) -> optax.GradientTransformation:
        """Hook to change the optimizer built from config.optimizer (e.g. a GAN's two)."""
        del params
        return tx

    def train_step(self, model: nn.Module, tx: optax.GradientTransformation, state: TrainState,
                   batch: dict[str, jax.Array], rng: jax.Array) -> tuple[TrainState, Metrics]:
        """One update; returns the new state (step NOT incremented: the loop does it) and
        scalar metrics named without prefix ('loss', 'accuracy', ...)."""
        raise NotImplementedError

    def eval_batch(self, model: nn.Module, state: TrainState, batch: dict[str, jax.Array],
                   rng: jax.Array) -> Metrics:
        """Per-example metrics, each of shape (B,); the loop averages them over real examples."""
        raise NotImplementedError

    def final_metrics(self, model: nn.Module, state: TrainState, dataset: Any, workdir: str,
                      ) -> dict[str, float]:
        """Extra end-of-run metrics and figures (e.g. AIS, IWAE, Frechet distance). Runs once,
        on process 0's host arrays; may write into `workdir`/figures."""
        return {}


class GradientTask(Task):
    """A task whose update is one gradient step on a scalar loss."""

    def loss(self, model: nn.Module, params: Any, model_state: Any, batch: dict[str, jax.Array],
             rng: jax.Array, train: bool) -> tuple[jax.Array, tuple[Metrics, Any]]:
        """Returns (loss, (metrics, new_model_state)); metrics are batch means."""
        raise NotImplementedError

    def train_step(self, model, tx, state, batch, rng):
        grad_fn = jax.value_and_grad(self.loss, argnums=1, has_aux=True)
        (loss, (metrics, model_state)), grads = grad_fn(model, state.params, state.model_state,
                                                         batch, rng, True)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = {"loss": loss, **metrics}
        return state.replace(params=params, opt_state=opt_state, model_state=model_state), metrics


def masked_mean(values: jax.Array, mask: jax.Array | None) -> jax.Array:
    if mask is None:
        return jnp.mean(values)
    return jnp.sum(values * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def to_host(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(np.asarray(v)) for k, v in metrics.items()}
