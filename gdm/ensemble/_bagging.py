"""What a forest adds to a tree: bootstrap sizes, balanced_subsample weights, out-of-bag score."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.metrics import accuracy_score, r2_score

from gdm.tree._plan import coarse_bucket
from gdm.utils.buckets import pad_to
from gdm.utils.threads import check_n_jobs


class _ForestMixin:
    """Used with _BaseForest; `_forest = True` makes the base draw bootstrap samples."""

    _forest = True

    def _check_forest_params(self) -> None:
        check_n_jobs(self.n_jobs)
        if not self.bootstrap and self.max_samples is not None:
            raise ValueError("`max_sample` cannot be set if `bootstrap=False`. Either switch to "
                             "`bootstrap=True` or set `max_sample=None`.")
        if not self.bootstrap and self.oob_score:
            raise ValueError("Out of bag estimation only available if bootstrap=True")

    def _n_bootstrap(self, n: int) -> int:
        ms = self.max_samples
        if ms is None:
            return n
        if isinstance(ms, Integral):
            if ms > n:
                raise ValueError(f"`max_samples` must be <= n_samples={n} but got value {ms}")
            return int(ms)
        return max(round(n * ms), 1)

    def _balanced_subsample(self, counts: np.ndarray, target: np.ndarray, n: int) -> np.ndarray:
        """sklearn's compute_sample_weight('balanced', y, indices=bootstrap) for every tree."""
        onehot = np.eye(self.n_classes_)[target.astype(int)]  # (n, C)
        per_class = counts[:, :n] @ onehot  # (n_trees, C) bootstrap class counts
        present = (per_class > 0).sum(1, keepdims=True)
        cw = np.where(per_class > 0,
                      counts.sum(1, keepdims=True) / np.maximum(present * per_class, 1e-30), 0.0)
        return pad_to(cw[:, target.astype(int)], counts.shape[1], 1)

    def _compute_oob(self, X, y, target, in_bag) -> None:

        n = X.shape[0]
        n_pad = coarse_bucket(n, 64)
        x = pad_to(X, n_pad)
        in_bag = pad_to(in_bag, n_pad, 1, value=1.0)
        sums, n_oob = self._oob_mean(x, in_bag)
        sums, n_oob = sums[:n], n_oob[:n]
        if (n_oob == 0).any():
            warnings.warn("Some inputs do not have OOB scores. This probably means too few "
                          "trees were used to compute any reliable OOB estimates.",
                          UserWarning, stacklevel=3)
        pred = sums / np.maximum(n_oob, 1)[:, None]
        scorer = self.oob_score if callable(self.oob_score) else None
        if self._classifier:
            self.oob_decision_function_ = pred
            labels = self.classes_[np.argmax(pred, axis=1)]
            self.oob_score_ = (scorer or accuracy_score)(y, labels)
        else:
            self.oob_prediction_ = pred[:, 0]
            self.oob_score_ = (scorer or r2_score)(y, pred[:, 0])
