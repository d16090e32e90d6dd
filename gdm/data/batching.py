"""Batches whose order is a pure function of (seed, step), so the data position is the step.

Training batches: each epoch is a fresh permutation drawn from (seed, epoch); the remainder is
dropped so every step has the same shape. Evaluation batches cover the split once, padded to a
fixed shape with a mask.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class TrainBatches:
    """batch(step) -> this process's rows of global batch `step` as {'x', 'y'}."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int,
                 rows: slice | None = None):
        if batch_size > len(x):
            raise ValueError(f"config.batch_size={batch_size} exceeds the {len(x)} training "
                             "examples")
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.seed = seed
        self.rows = rows or slice(0, batch_size)
        self.steps_per_epoch = len(x) // batch_size
        self._epoch, self._order = -1, None

    def indices(self, step: int) -> np.ndarray:
        epoch, within = divmod(int(step), self.steps_per_epoch)
        if epoch != self._epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self._epoch, self._order = epoch, rng.permutation(len(self.x))
        start = within * self.batch_size
        return self._order[start:start + self.batch_size][self.rows]

    def batch(self, step: int) -> dict[str, np.ndarray]:
        idx = self.indices(step)
        return {"x": self.x[idx], "y": self.y[idx]}


def eval_batches(x: np.ndarray, y: np.ndarray, batch_size: int,
                 rows: slice | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Covers (x, y) once in batches of exactly `batch_size`, the last padded and masked."""
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        n = len(xb)
        mask = np.zeros(batch_size, np.float32)
        mask[:n] = 1.0
        if n < batch_size:
            xb = np.concatenate([xb, np.zeros((batch_size - n, *xb.shape[1:]), xb.dtype)])
            yb = np.concatenate([yb, np.zeros((batch_size - n, *yb.shape[1:]), yb.dtype)])
        batch = {"x": xb, "y": yb, "mask": mask}
        yield {k: v[rows] for k, v in batch.items()} if rows else batch
