"""The train state pytree: everything a run needs to continue exactly where it stopped."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax


class TrainState(flax.struct.PyTreeNode):
    """step, params, optimizer state, non-param model collections, task state, base RNG key.

    `model_state` holds mutable Flax collections such as {'batch_stats': ...} ({} if none).
    `extra` holds arrays a task carries between steps, e.g. persistent CD chains ({} if none).
    The per-step key is fold_in(rng, step), so a resumed run draws the same numbers.
    The data position is derived from `step` (see gdm.data.batching), so it is checkpointed too.
    """

    step: jax.Array
    params: Any
    opt_state: Any
    model_state: Any
    extra: Any
    rng: jax.Array
