"""Features -> small integer bins, computed once per fit.

Split search then works on bin histograms instead of sorted values. When a feature has at most
`max_bins` distinct values the bin edges are the midpoints between consecutive values, exactly
the thresholds scikit-learn's exact splitter considers, so small data gives sklearn's splits.
Otherwise edges are quantiles (as in HistGradientBoosting). A sample falls in bin b iff
edges[b-1] < x <= edges[b], so "bin <= b" and "x <= edges[b]" agree at predict time.
"""

from __future__ import annotations

import numpy as np


def bin_edges(x: np.ndarray, max_bins: int) -> np.ndarray:
    """Returns float32 edges of shape (n_features, max_bins - 1), padded with +inf."""
    n, d = x.shape
    xs = np.sort(x.astype(np.float64), axis=0)
    distinct = np.ones((n, d), bool)
    distinct[1:] = xs[1:] != xs[:-1]
    n_unique = distinct.sum(axis=0)
    edges = np.full((d, max_bins - 1), np.inf)
    # Few distinct values: midpoints between consecutive distinct values (sklearn's thresholds).
    rank = np.cumsum(distinct, axis=0) - 1  # rank of each sorted value among the distinct ones
    rows, cols = np.nonzero(distinct[1:])
    rows = rows + 1
    few = n_unique[cols] <= max_bins
    rows, cols = rows[few], cols[few]
    mid = (xs[rows - 1, cols] / 2 + xs[rows, cols] / 2).astype(np.float32)
    upper = xs[rows, cols].astype(np.float32)
    mid = np.where(mid >= upper, xs[rows - 1, cols].astype(np.float32), mid)  # as sklearn does
    edges[cols, rank[rows, cols] - 1] = mid
    # Many distinct values: quantiles, deduplicated so every bin can hold samples.
    many = np.flatnonzero(n_unique > max_bins)
    if many.size:
        q = np.linspace(0, 1, max_bins + 1)[1:-1]
        quant = np.quantile(xs[:, many], q, axis=0, method="midpoint").T  # (m, max_bins - 1)
        for row, col in zip(quant, many, strict=True):  # one np.unique per wide feature, at fit
            u = np.unique(row)
            edges[col, : u.size] = u
    return edges.astype(np.float32)


def apply_bins(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bins x (n, d) with edges (d, max_bins - 1) -> uint8 (n, d): number of edges below x."""
    x = np.asarray(x, np.float32)
    out = np.empty(x.shape, np.uint8)
    finite = np.isfinite(edges).sum(axis=1)
    for j in range(x.shape[1]):  # searchsorted per column: vectorized over samples
        out[:, j] = np.searchsorted(edges[j, : finite[j]], x[:, j], side="left")
    return out
