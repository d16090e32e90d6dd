"""Reconstruction objective for autoencoders: MSE or binary cross-entropy, optionally denoising.

A denoising model corrupts its own input when `train=True` (see gdm.nn.autoencoder), so the
loss here always compares against the clean batch. Eval reconstructs clean inputs.

task_options: loss ('mse' | 'bce'; default 'mse'), figures (bool; default True).
Metrics: 'mse' (mean squared error per value, what sklearn's mean_squared_error gives), 'sse'
(squared error summed per example, the unit of Hinton & Salakhutdinov 2006), and 'bce' (nats
per example) when the loss is BCE.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gdm.train.tasks.base import GradientTask, Metrics, apply_model

LOSSES = ("mse", "bce")


def _per_example(values: jax.Array, reduce: str) -> jax.Array:
    axes = tuple(range(1, values.ndim))
    return jnp.mean(values, axis=axes) if reduce == "mean" else jnp.sum(values, axis=axes)


def reconstruction_metrics(model, logits: jax.Array, x: jax.Array, loss: str) -> Metrics:
    """Per-example (B,) metrics from pre-activation decoder outputs and clean targets."""
    squared = jnp.square(model.activate(logits) - x)
    metrics = {"mse": _per_example(squared, "mean"), "sse": _per_example(squared, "sum")}
    if loss == "bce":
        metrics["bce"] = _per_example(optax.sigmoid_binary_cross_entropy(logits, x), "sum")
    metrics["loss"] = metrics["bce"] if loss == "bce" else metrics["mse"]
    return metrics


class ReconstructTask(GradientTask):
    """Autoencoder training: minimise reconstruction error of clean inputs."""

    name = "reconstruct"

    def __init__(self, config, num_classes, input_shape):
        super().__init__(config, num_classes, input_shape)
        options = config.get("task_options", {}) or {}
        self.loss_name = str(options.get("loss", "mse"))
        if self.loss_name not in LOSSES:
            raise ValueError(f"config.task_options.loss must be one of {LOSSES}, "
                             f"got {self.loss_name!r}")
        self.figures = bool(options.get("figures", True))

    def init(self, model, rng, x):
        if self.loss_name == "bce" and getattr(model, "output_activation", "sigmoid") != "sigmoid":
            raise ValueError("config.task_options.loss='bce' needs "
                             "config.model.output_activation='sigmoid'")
        return super().init(model, rng, x)

    def loss(self, model, params, model_state, batch, rng, train):
        logits, model_state = apply_model(model, params, model_state, batch["x"], rng, train)
        metrics = reconstruction_metrics(model, logits, batch["x"], self.loss_name)
        means = {k: jnp.mean(v) for k, v in metrics.items() if k != "loss"}
        return jnp.mean(metrics["loss"]), (means, model_state)

    def eval_batch(self, model, state, batch, rng):
        logits, _ = apply_model(model, state.params, state.model_state, batch["x"], rng, False)
        return reconstruction_metrics(model, logits, batch["x"], self.loss_name)

    def final_metrics(self, model, state, dataset, workdir) -> dict[str, float]:
        """Draws reconstructions, denoising and inpainting demos into workdir/figures."""
        if not self.figures or workdir is None:
            return {}
        from gdm.figures import generative  # matplotlib only when drawing

        images, _ = generative.pick_examples(dataset, 10)
        variables = {"params": state.params, **state.model_state}

        def reconstruct(x):
            return np.asarray(model.apply(variables, jnp.asarray(x), method="reconstruct"))

        shape = generative.image_shape_of(dataset)
        if shape is None:
            return {}
        directory = os.path.join(workdir, "figures")
        generative.reconstructions(images, reconstruct(images), shape, directory)
        rng = jax.random.key(int(self.config.get("seed", 0)))
        kind = model.corruption if model.corruption != "none" else "gaussian"
        level = float(model.corruption_level) if model.corruption != "none" else 0.3
        generative.denoising_demo(images, rng, kind, level, reconstruct, shape, directory)
        generative.inpainting_demo(images, reconstruct, shape, directory)
        return {}


def reconstruct_all(model: Any, variables: Any, x: np.ndarray, batch_size: int = 1000,
                    ) -> np.ndarray:
    """Clean reconstructions of `x` in fixed-size padded batches (one compile per model)."""
    apply = jax.jit(lambda v, xb: model.apply(v, xb, method="reconstruct"))
    out = []
    n = len(x)
    batch_size = min(batch_size, max(n, 1))
    for start in range(0, n, batch_size):
        chunk = x[start:start + batch_size]
        pad = batch_size - len(chunk)
        if pad:
            chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), chunk.dtype)])
        out.append(np.asarray(apply(variables, jnp.asarray(chunk)))[:batch_size - pad])
    return np.concatenate(out)
