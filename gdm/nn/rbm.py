"""A Bernoulli-Bernoulli restricted Boltzmann machine (Smolensky 1986; Hinton 2002).

Energy E(v, h) = -v.b - h.c - v W h over binary visible v (V,) and hidden h (H,). Summing the
hidden units out in closed form gives the free energy
    F(v) = -v.b - sum_j softplus(c_j + (v W)_j),   p(v) = exp(-F(v)) / Z,
which is all training (CD), evaluation (pseudo-likelihood) and AIS need. The module holds the
parameters and the conditionals; training logic lives in gdm.train.tasks.cd. Inputs of any
shape are flattened to (B, V).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp


class RBM(nn.Module):
    """Params: 'weights' (V, H), 'visible_bias' (V,), 'hidden_bias' (H,).

    `__call__(v)` returns the free energy F(v) per example (B,).
    """

    output_shape: tuple[int, ...] | None = None  # one example's shape; filled by gdm.nn.create
    num_hidden: int = 256
    init_scale: float = 0.01  # N(0, init_scale^2) weights, as scikit-learn's BernoulliRBM

    @property
    def num_visible(self) -> int:
        if not self.output_shape:
            raise ValueError("RBM.output_shape (one example's shape) must be set")
        return math.prod(self.output_shape)

    def setup(self):
        if self.num_hidden < 1:
            raise ValueError(f"model.num_hidden must be >= 1, got {self.num_hidden}")
        shape = (self.num_visible, self.num_hidden)
        self.weights = self.param("weights", nn.initializers.normal(self.init_scale), shape)
        self.visible_bias = self.param("visible_bias", nn.initializers.zeros,
                                       (self.num_visible,))
        self.hidden_bias = self.param("hidden_bias", nn.initializers.zeros, (self.num_hidden,))

    def _flat(self, v: jax.Array) -> jax.Array:
        return jnp.asarray(v).reshape(v.shape[0], self.num_visible)

    def __call__(self, v: jax.Array, train: bool = False) -> jax.Array:
        del train
        return self.free_energy(v)

    def free_energy(self, v: jax.Array) -> jax.Array:
        """F(v) = -v.b - sum_j softplus(c_j + v W_j), shape (B,)."""
        v = self._flat(v)
        return -v @ self.visible_bias - jnp.sum(nn.softplus(v @ self.weights + self.hidden_bias),
                                               axis=-1)

    def hidden_probs(self, v: jax.Array) -> jax.Array:
        """p(h_j = 1 | v), shape (B, H)."""
        return nn.sigmoid(self._flat(v) @ self.weights + self.hidden_bias)

    def visible_probs(self, h: jax.Array) -> jax.Array:
        """p(v_i = 1 | h), shape (B, V)."""
        return nn.sigmoid(h @ self.weights.T + self.visible_bias)

    def reconstruct(self, v: jax.Array) -> jax.Array:
        """Mean-field reconstruction p(v' | E[h | v]), compared with v in the error."""
        return self.visible_probs(self.hidden_probs(v))

    def gibbs_step(self, v: jax.Array, rng: jax.Array) -> tuple[jax.Array, jax.Array]:
        """One block-Gibbs sweep v -> h -> v'; returns (v' samples, p(v' = 1 | h))."""
        rng_h, rng_v = jax.random.split(rng)
        h = jax.random.bernoulli(rng_h, self.hidden_probs(v)).astype(v.dtype)
        probs = self.visible_probs(h)
        return jax.random.bernoulli(rng_v, probs).astype(v.dtype), probs

    def gibbs(self, v: jax.Array, rng: jax.Array, num_steps: int) -> tuple[jax.Array, jax.Array]:
        """`num_steps` Gibbs sweeps from v (B, V) under lax.scan; returns (samples, last probs)."""
        v = self._flat(v)

        def sweep(carry, key):
            v, _ = carry
            return self.gibbs_step(v, key), None

        keys = jax.random.split(rng, num_steps)
        (v, probs), _ = jax.lax.scan(sweep, (v, jnp.zeros_like(v)), keys)
        return v, probs

    def sample(self, rng: jax.Array, num_samples: int, num_steps: int = 1000,
               ) -> tuple[jax.Array, jax.Array]:
        """Gibbs chains from uniform random visibles; returns (samples, their mean p(v|h))."""
        init_rng, chain_rng = jax.random.split(rng)
        v0 = jax.random.bernoulli(init_rng, 0.5, (num_samples, self.num_visible))
        return self.gibbs(v0.astype(jnp.float32), chain_rng, num_steps)

    def pseudo_likelihood(self, v: jax.Array, flip_index: jax.Array) -> jax.Array:
        """scikit-learn's stochastic pseudo-likelihood: V * log sigmoid(F(v~) - F(v)), where v~
        is v with bit `flip_index[b]` flipped in row b; an unbiased estimate of the full
        pseudo-likelihood below, and equal to BernoulliRBM.score_samples for the same bits."""
        v = self._flat(v)
        flipped = v.at[jnp.arange(v.shape[0]), flip_index].set(1.0 - v[jnp.arange(v.shape[0]),
                                                                        flip_index])
        return self.num_visible * jax.nn.log_sigmoid(self.free_energy(flipped)
                                                     - self.free_energy(v))

    def full_pseudo_likelihood(self, v: jax.Array, chunk_size: int = 64) -> jax.Array:
        """sum_i log p(v_i | v_-i) over every visible unit (Besag 1975), shape (B,).

        Flipping bit i shifts the hidden pre-activations by (1 - 2 v_i) W_i, so all V flips cost
        B * V * H softplus evaluations; they run `chunk_size` visible units at a time to bound
        memory at B * chunk_size * H floats.
        """
        v = self._flat(v)
        pre = v @ self.weights + self.hidden_bias  # (B, H)
        base = jnp.sum(nn.softplus(pre), axis=-1)  # -F(v) without the bias term
        sign = 1.0 - 2.0 * v  # +1 where the bit flips 0 -> 1
        num_visible = self.num_visible
        padded = -(-num_visible // chunk_size) * chunk_size
        idx = jnp.arange(padded).reshape(-1, chunk_size) % num_visible

        weights, visible_bias = jnp.asarray(self.weights), jnp.asarray(self.visible_bias)

        def chunk(ids):
            shift = sign[:, ids, None] * weights[ids][None]  # (B, C, H)
            soft = jnp.sum(nn.softplus(pre[:, None, :] + shift), axis=-1)  # (B, C)
            delta_f = -(sign[:, ids] * visible_bias[ids]) - soft + base[:, None]
            return jax.nn.log_sigmoid(delta_f)  # log p(v_i | v_-i) = log sigmoid(F(v~) - F(v))

        terms = jax.lax.map(chunk, idx)  # (num_chunks, B, C)
        terms = jnp.moveaxis(terms, 0, 1).reshape(v.shape[0], padded)[:, :num_visible]
        return jnp.sum(terms, axis=-1)
