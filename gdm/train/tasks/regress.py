"""Regression: mean squared error on scalar targets; R^2 on the test split at the end."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gdm.train.tasks.base import GradientTask, apply_model


class RegressTask(GradientTask):
    name = "regress"

    def loss(self, model, params, model_state, batch, rng, train):
        pred, model_state = apply_model(model, params, model_state, batch["x"], rng, train)
        mse = jnp.mean((pred[:, 0] - batch["y"]) ** 2)
        return mse, ({}, model_state)

    def eval_batch(self, model, state, batch, rng):
        pred, _ = apply_model(model, state.params, state.model_state, batch["x"], None, False)
        return {"loss": (pred[:, 0] - batch["y"]) ** 2}

    def final_metrics(self, model, state, dataset, workdir):
        x, y = dataset.split("test")
        predict = jax.jit(lambda p, s, x: apply_model(model, p, s, x, None, False)[0])
        pred = np.asarray(predict(jax.device_get(state.params), jax.device_get(state.model_state),
                                  x))[:, 0]
        ss_res = float(np.sum((y - pred) ** 2))
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        return {"eval/r2": 1.0 - ss_res / ss_tot}
