"""A small MLP binary classifier trained by full-batch Adam, many runs in one vmapped call.

The objective and optimizer follow sklearn.neural_network.MLPClassifier with
solver="adam" and batch_size = the whole training set: ReLU hidden layers, one logistic output,
mean binary cross-entropy plus 0.5 * alpha * ||W||^2 / n over the weight matrices (not the
biases), Adam with betas (0.9, 0.999) and eps 1e-8, a fixed number of steps. Weights start
Glorot-uniform as there; biases start at zero (scikit-learn draws them from the same uniform).
Every run (a dataset and seed: its own training set and initialization) is one slice of the
leading axis; the learning rate, alpha and the number of steps are traced, so new values
compile nothing.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax


class BinaryMLP(nn.Module):
    """ReLU hidden layers of the given widths, then one logit."""

    hidden: tuple[int, ...] = (32, 32)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.hidden:
            x = nn.relu(nn.Dense(width, kernel_init=nn.initializers.glorot_uniform())(x))
        return nn.Dense(1, kernel_init=nn.initializers.glorot_uniform())(x)[:, 0]


def _loss(params, model: BinaryMLP, x: jax.Array, y: jax.Array, alpha: jax.Array) -> jax.Array:
    logits = model.apply(params, x)
    penalty = sum(jnp.sum(p["kernel"] ** 2) for p in params["params"].values())
    return optax.sigmoid_binary_cross_entropy(logits, y).mean() + 0.5 * alpha * penalty / len(y)


def _fit_one(key, x, y, lr, alpha, steps, model: BinaryMLP):
    params = model.init(key, x[:1])
    optimizer = optax.adam(lr)
    grad = jax.grad(_loss)

    def step(_, state):
        params, opt_state = state
        updates, opt_state = optimizer.update(grad(params, model, x, y, alpha), opt_state)
        return optax.apply_updates(params, updates), opt_state

    params, _ = jax.lax.fori_loop(0, steps, step, (params, optimizer.init(params)))
    return params


@functools.partial(jax.jit, static_argnames="hidden")
def fit(keys: jax.Array, x: jax.Array, y: jax.Array, lr: jax.Array, alpha: jax.Array,
        steps: jax.Array, *, hidden: tuple[int, ...]):
    """Parameters of one MLP per run: keys (runs,), x (runs, n, d), y (runs, n) in {0, 1}."""
    model = BinaryMLP(hidden)
    one = functools.partial(_fit_one, model=model)
    return jax.vmap(one, in_axes=(0, 0, 0, None, None, None))(
        keys, x, y.astype(jnp.float32), lr, alpha, steps)


@functools.partial(jax.jit, static_argnames="hidden")
def proba(params, x: jax.Array, *, hidden: tuple[int, ...]) -> jax.Array:
    """P(class 1) of each run's MLP on its own points: x (runs, m, d) -> (runs, m)."""
    model = BinaryMLP(hidden)
    return jax.vmap(lambda p, xs: jax.nn.sigmoid(model.apply(p, xs)))(params, x)
