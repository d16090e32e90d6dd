"""Classification: softmax cross-entropy on integer labels, accuracy."""

from __future__ import annotations

import jax.numpy as jnp
import optax

from gdm.train.tasks.base import GradientTask, apply_model


class ClassifyTask(GradientTask):
    name = "classify"

    def loss(self, model, params, model_state, batch, rng, train):
        logits, model_state = apply_model(model, params, model_state, batch["x"], rng, train)
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"])
        accuracy = jnp.mean(jnp.argmax(logits, -1) == batch["y"])
        return jnp.mean(losses), ({"accuracy": accuracy}, model_state)

    def eval_batch(self, model, state, batch, rng):
        logits, _ = apply_model(model, state.params, state.model_state, batch["x"], None, False)
        return {
            "loss": optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]),
            "accuracy": (jnp.argmax(logits, -1) == batch["y"]).astype(jnp.float32),
        }
