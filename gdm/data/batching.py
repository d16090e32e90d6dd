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
    """Covers (x, y) once in batches of exactly `batch_size`, the last padded and masked.

    With `rows`, each batch holds only those rows of the global batch (this process's part):
    only they are gathered from (x, y).
    """
    local = np.arange(batch_size)[rows or slice(None)]
    for start in range(0, len(x), batch_size):
        idx = start + local
        valid = idx < len(x)
        safe = np.where(valid, idx, 0)
        xb, yb = x[safe], y[safe]
        xb[~valid] = 0
        yb[~valid] = 0
        yield {"x": xb, "y": yb, "mask": valid.astype(np.float32)}
