"""The VAE objective: the evidence lower bound, and the importance-weighted bound at the end.

    ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || N(0, I))       (nats per example)

Training maximises a one-sample estimate with the KL in closed form. Every eval reports
'elbo', 'reconstruction' (the expected negative log-likelihood, -E_q log p(x|z)) and 'kl', so
elbo = -(reconstruction + kl). At the end, `final_metrics` adds 'eval/log_likelihood', the IWAE
bound of Burda et al. (2016) with k samples, log (1/k) sum_i p(x, z_i) / q(z_i|x), which is
>= ELBO and grows toward log p(x) with k; samples are drawn in chunks so memory stays bounded.

task_options: iwae_samples (k; 0 skips it), iwae_chunk (samples per chunk), iwae_batch_size
(examples per call), iwae_max_examples (0 = the whole test split), figures (bool), frechet
(bool; default on for labelled image data: 'eval/frechet_distance' of prior samples in gdm's
classifier-feature space, gdm.metrics.frechet), num_samples (for it; 0 = as many as test
examples), frechet_cache_dir, sample_kind: what is scored, 'bernoulli' (x ~ p(x|z): the
model's own samples, binary like the data; default for a Bernoulli likelihood), 'threshold'
(decoder means thresholded at 0.5: the treatment gan_mnist's binarize_samples gives GAN
samples), 'mean' (decoder means, gray; default for a Gaussian likelihood).
"""

from __future__ import annotations

import math
import os
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gdm.train.tasks.base import GradientTask, Metrics, apply_model

LOG_2PI = math.log(2.0 * math.pi)
SAMPLE_KINDS = ("auto", "bernoulli", "threshold", "mean")


def _sum_features(values: jax.Array, batch_dims: int = 1) -> jax.Array:
    return jnp.sum(values, axis=tuple(range(batch_dims, values.ndim)))


def kl_standard_normal(mean: jax.Array, logvar: jax.Array) -> jax.Array:
    """KL(N(mean, exp(logvar)) || N(0, I)) in closed form, summed over the last axis."""
    return 0.5 * jnp.sum(jnp.exp(logvar) + jnp.square(mean) - 1.0 - logvar, axis=-1)


def log_normal_diag(z: jax.Array, mean: jax.Array, logvar: jax.Array) -> jax.Array:
    """log N(z; mean, diag(exp(logvar))), summed over the last axis."""
    return -0.5 * jnp.sum(LOG_2PI + logvar + jnp.square(z - mean) * jnp.exp(-logvar), axis=-1)


def log_likelihood(likelihood: str, outputs: Any, x: jax.Array, batch_dims: int = 1,
                   ) -> jax.Array:
    """log p(x|z) from the decoder outputs, summed over the feature axes."""
    if likelihood == "bernoulli":
        return -_sum_features(optax.sigmoid_binary_cross_entropy(outputs, x), batch_dims)
    mean, logvar = outputs
    return -0.5 * _sum_features(LOG_2PI + logvar + jnp.square(x - mean) * jnp.exp(-logvar),
                                batch_dims)


def elbo_terms(model, params, model_state, x, rng, train) -> tuple[Metrics, Any]:
    """Per-example 'reconstruction' (-log p(x|z) at one z ~ q), 'kl' and 'elbo'."""
    (outputs, mean, logvar), model_state = apply_model(model, params, model_state, x, rng, train)
    reconstruction = -log_likelihood(model.likelihood, outputs, x)
    kl = kl_standard_normal(mean, logvar)
    return {"elbo": -(reconstruction + kl), "reconstruction": reconstruction, "kl": kl}, \
        model_state


def iwae_bound(model, variables: Any, x: jax.Array, rng: jax.Array, num_samples: int,
               chunk_size: int) -> jax.Array:
    """Per-example IWAE bound with `num_samples` importance samples from q(z|x).

    A lax.scan over chunks of `chunk_size` samples keeps a running logsumexp, so memory is
    O(chunk_size * batch) whatever k is; samples past k in the last chunk are masked out.
    """
    mean, logvar = model.apply(variables, x, method="encode")
    std = jnp.exp(0.5 * logvar)
    num_chunks = -(-num_samples // chunk_size)
    batch = x.shape[0]

    def chunk(total, index):
        eps = jax.random.normal(jax.random.fold_in(rng, index), (chunk_size, *mean.shape))
        z = mean + std * eps                                          # (c, B, L)
        outputs = model.apply(variables, z.reshape(chunk_size * batch, -1),
                              method="decoder_outputs")
        outputs = jax.tree.map(lambda o: o.reshape(chunk_size, batch, *x.shape[1:]), outputs)
        log_px = log_likelihood(model.likelihood, outputs, x[None], batch_dims=2)
        log_w = log_px + log_normal_diag(z, 0.0, jnp.zeros_like(z)) \
            - log_normal_diag(z, mean, logvar)
        valid = index * chunk_size + jnp.arange(chunk_size) < num_samples
        log_w = jnp.where(valid[:, None], log_w, -jnp.inf)
        return jnp.logaddexp(total, jax.nn.logsumexp(log_w, axis=0)), None

    total, _ = jax.lax.scan(chunk, jnp.full((batch,), -jnp.inf), jnp.arange(num_chunks))
    return total - math.log(num_samples)


_iwae_jit = jax.jit(iwae_bound, static_argnums=(0, 4, 5))


def iwae_over_dataset(model, variables, x: np.ndarray, rng: jax.Array, num_samples: int,
                      chunk_size: int = 100, batch_size: int = 250) -> np.ndarray:
    """IWAE bound for every row of `x`, in padded batches of one shape (one compile)."""
    if num_samples < 1:
        raise ValueError(f"iwae_samples must be >= 1, got {num_samples!r}")
    chunk_size = max(1, min(int(chunk_size), int(num_samples)))
    batch_size = max(1, min(int(batch_size), len(x)))
    out = []
    for i, start in enumerate(range(0, len(x), batch_size)):
        xb = x[start:start + batch_size]
        n = len(xb)
        if n < batch_size:
            xb = np.concatenate([xb, np.repeat(xb[:1], batch_size - n, axis=0)])
        values = _iwae_jit(model, variables, jnp.asarray(xb), jax.random.fold_in(rng, i),
                           int(num_samples), chunk_size)
        out.append(np.asarray(values)[:n])
    return np.concatenate(out)


class ElboTask(GradientTask):
    """VAE training by the reparameterized one-sample ELBO; reports nats per example."""

    name = "elbo"

    def __init__(self, config, num_classes, input_shape):
        super().__init__(config, num_classes, input_shape)
        options = config.get("task_options", {}) or {}
        self.iwae_samples = int(options.get("iwae_samples", 1000))
        self.iwae_chunk = int(options.get("iwae_chunk", 100))
        self.iwae_batch_size = int(options.get("iwae_batch_size", 250))
        self.iwae_max_examples = int(options.get("iwae_max_examples", 0))
        self.figures = bool(options.get("figures", True))
        self.options = dict(options)
        self.sample_kind = str(options.get("sample_kind", "auto"))
        if self.sample_kind not in SAMPLE_KINDS:
            raise ValueError(f"config.task_options.sample_kind must be one of {SAMPLE_KINDS}, "
                             f"got {self.sample_kind!r}")
        for key in ("iwae_samples", "iwae_max_examples"):
            if getattr(self, key) < 0:
                raise ValueError(f"config.task_options.{key} must be >= 0, "
                                 f"got {getattr(self, key)!r}")
        for key in ("iwae_chunk", "iwae_batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"config.task_options.{key} must be >= 1, "
                                 f"got {getattr(self, key)!r}")

    def init(self, model, rng, x):
        if self.sample_kind in ("bernoulli", "threshold") and model.likelihood != "bernoulli":
            raise ValueError(f"config.task_options.sample_kind={self.sample_kind!r} needs "
                             "config.model.likelihood='bernoulli'")
        return super().init(model, rng, x)

    def loss(self, model, params, model_state, batch, rng, train):
        terms, model_state = elbo_terms(model, params, model_state, batch["x"], rng, train)
        means = {k: jnp.mean(v) for k, v in terms.items()}
        return -means["elbo"], (means, model_state)

    def eval_batch(self, model, state, batch, rng):
        terms, _ = elbo_terms(model, state.params, state.model_state, batch["x"], rng, False)
        return {**terms, "loss": -terms["elbo"]}

    def final_metrics(self, model, state, dataset, workdir) -> dict[str, float]:
        """eval/log_likelihood (IWAE, k = iwae_samples) on the test split, and the figures."""
        variables = {"params": state.params, **state.model_state}
        rng = jax.random.fold_in(jax.random.key(int(self.config.get("seed", 0))), 0x1BAE)
        results: dict[str, float] = {}
        if self.iwae_samples > 0:
            x = np.asarray(dataset.x_test, np.float32)
            if self.iwae_max_examples:
                x = x[:self.iwae_max_examples]
            values = iwae_over_dataset(model, variables, x, rng, self.iwae_samples,
                                       self.iwae_chunk, self.iwae_batch_size)
            results["eval/log_likelihood"] = float(np.mean(values))
            results["eval/iwae_samples"] = float(self.iwae_samples)
        if self.figures and workdir is not None:
            from gdm.figures import generative  # matplotlib only when drawing

            generative.vae_figures(model, variables, dataset, os.path.join(workdir, "figures"),
                                   jax.random.fold_in(rng, 1))
        from gdm.train.tasks import _sample_report

        if _sample_report.wants_frechet(self.options, dataset):
            from gdm.metrics.frechet import frechet_distance_to_data

            num = _sample_report.num_samples(self.options, dataset)
            kind = self.sample_kind
            if kind == "auto":
                kind = "bernoulli" if model.likelihood == "bernoulli" else "mean"
            samples = sample_in_chunks(model, variables, jax.random.fold_in(rng, 2), num)
            samples = scored_samples(samples, kind, jax.random.fold_in(rng, 3))
            results.update(frechet_distance_to_data(
                samples, self.config, cache_dir=self.options.get("frechet_cache_dir") or None))
        return results


def scored_samples(means: np.ndarray, kind: str, rng: jax.Array) -> np.ndarray:
    """Decoder means -> the samples a sample-quality metric scores (see sample_kind)."""
    if kind == "bernoulli":
        return np.asarray(jax.random.bernoulli(rng, means), np.float32)
    if kind == "threshold":
        return (np.asarray(means) > 0.5).astype(np.float32)
    return np.asarray(means, np.float32)


@partial(jax.jit, static_argnums=(0, 3))
def _sample_chunk(model, variables, rng, n):
    return model.apply(variables, rng, n, method="sample")


def sample_in_chunks(model, variables, rng: jax.Array, num: int, chunk_size: int = 1000,
                     ) -> np.ndarray:
    """`num` prior samples (decoder means), drawn in equal chunks so one compile serves all."""
    chunk_size = min(chunk_size, num)
    keys = range(-(-num // chunk_size))
    parts = [np.asarray(_sample_chunk(model, variables, jax.random.fold_in(rng, i), chunk_size))
             for i in keys]
    return np.concatenate(parts)[:num]
