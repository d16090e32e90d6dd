"""optax optimizers and learning-rate schedules from config.optimizer."""

from __future__ import annotations

import ml_collections
import optax

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "warmup_cosine", "step")


def make_schedule(cfg: ml_collections.ConfigDict, num_train_steps: int) -> optax.Schedule:
    lr = cfg.learning_rate
    name = cfg.get("schedule", "constant")
    warmup = int(cfg.get("warmup_steps", 0))
    if name == "constant":
        if warmup:
            return optax.linear_schedule(0.0, lr, warmup)
        return optax.constant_schedule(lr)
    if name in ("cosine", "warmup_cosine"):
        return optax.warmup_cosine_decay_schedule(0.0 if warmup else lr, lr, warmup,
                                                  max(num_train_steps, warmup + 1))
    if name == "step":  # He et al. 2016: divide by 10 at 50% and 75% of training.
        fractions = cfg.get("decay_fractions", (0.5, 0.75))
        bounds = {int(f * num_train_steps): 0.1 for f in fractions}
        return optax.piecewise_constant_schedule(lr, bounds)
    raise ValueError(f"config.optimizer.schedule must be one of {SCHEDULES}, got {name!r}")


def make_optimizer(cfg: ml_collections.ConfigDict,
                   num_train_steps: int) -> optax.GradientTransformation:
    """Builds the optimizer named by cfg.name with its schedule and weight decay."""
    if cfg.name not in OPTIMIZERS:
        raise ValueError(f"config.optimizer.name must be one of {OPTIMIZERS}, got {cfg.name!r}")
    if not cfg.learning_rate > 0:
        raise ValueError(f"config.optimizer.learning_rate must be > 0, got {cfg.learning_rate}")
    schedule = make_schedule(cfg, num_train_steps)
    wd = float(cfg.get("weight_decay", 0.0))
    momentum = float(cfg.get("momentum", 0.9))
    if cfg.name == "adamw":
        return optax.adamw(schedule, weight_decay=wd)
    if cfg.name == "adam":
        tx = optax.adam(schedule)
    elif cfg.name == "sgd":
        tx = optax.sgd(schedule)
    else:
        tx = optax.sgd(schedule, momentum=momentum, nesterov=cfg.name == "nesterov")
    if wd:  # L2 on the gradient (coupled), as the classic SGD recipes use.
        tx = optax.chain(optax.add_decayed_weights(wd), tx)
    return tx
