"""Features -> small integer bins, computed once per fit, on the device.

Split search then works on bin histograms instead of sorted values. When a feature has at most
`max_bins` distinct values the bin edges are the midpoints between consecutive values, exactly
the thresholds scikit-learn's exact splitter considers, so small data gives sklearn's splits.
Otherwise edges are quantiles (numpy's method="midpoint", as in HistGradientBoosting),
deduplicated. A sample falls in bin b iff edges[b-1] < x <= edges[b], so "bin <= b" and
"x <= edges[b]" agree at predict time.

GPU / TPU: one jit-compiled program per padded shape (in numpy on the host, binning would be
most of a GPU fit). CPU: numpy on threads, a column block each (sort, edges, bins): numpy's
sort is much faster than XLA:CPU's, and the edges of sorted columns need no (n, d) scatter.
Both compute midpoints and
quantiles in float32 as a/2 + b/2, which rounds the exact midpoint once, as numpy's float64
value cast to float32 does.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from gdm.utils.buckets import pad_to, pad_to_shape
from gdm.utils.threads import map_chunks

DEVICE_PAD_CELLS = 2**20  # larger inputs are padded on the device (GPU / TPU)


@partial(jax.jit, static_argnames=("shape",))
def _pad(x, shape):
    return jnp.pad(x, [(0, size - n) for size, n in zip(shape, x.shape, strict=True)])


@jax.jit
def _sort_used(x, use):
    return jnp.sort(jnp.where(use[:, None], x, jnp.inf), axis=0), jnp.isfinite(x).all()


@partial(jax.jit, static_argnames=("max_bins",))
def _bin(x, xs, n_used, q_lo, q_exact, *, max_bins):
    """(edges (d, max_bins - 1) padded with +inf, bins (n, d) uint8) of x (n, d) from xs, the
    used rows of each column sorted first (then +inf). q_lo / q_exact: numpy's quantile
    positions (see `bin_features`) among the used rows."""
    edges = _edges(xs, n_used, q_lo, q_exact, max_bins=max_bins)
    # Number of edges below x: +inf padding never counts.
    bins = jax.vmap(partial(jnp.searchsorted, side="left"), in_axes=(0, 1), out_axes=1)(edges, x)
    return edges, bins.astype(jnp.uint8)


@partial(jax.jit, static_argnames=("max_bins",))
def _edges(xs, n_used, q_lo, q_exact, *, max_bins):
    """The edges of `_bin`, from xs alone."""
    n, d = xs.shape
    E = max_bins - 1
    row = jnp.arange(n)[:, None]
    prev = jnp.concatenate([xs[:1], xs[:-1]], axis=0)
    distinct = (row < n_used) & ((row == 0) | (xs != prev))
    n_unique = distinct.sum(axis=0)
    rank = jnp.cumsum(distinct, axis=0) - 1
    cols = jnp.broadcast_to(jnp.arange(d), (n, d))
    # Few distinct values: midpoints between consecutive distinct values (sklearn's thresholds),
    # the lower value where the midpoint rounds up to the upper one (as sklearn does).
    mid = prev / 2 + xs / 2
    mid = jnp.where(mid >= xs, prev, mid)
    at = jnp.where(distinct & (row > 0) & (n_unique <= max_bins), rank - 1, E)
    few = jnp.full((d, E), jnp.inf, xs.dtype).at[cols, at].set(mid, mode="drop")
    # Many: quantiles of the used rows, deduplicated to the front of the row.
    lo = xs[q_lo]
    hi = xs[jnp.minimum(q_lo + 1, n - 1)]
    quant = jnp.where(q_exact[:, None], lo, lo / 2 + hi / 2).T  # (d, E), nondecreasing rows
    keep = jnp.concatenate([jnp.ones((d, 1), bool), quant[:, 1:] != quant[:, :-1]], axis=1)
    slot = jnp.where(keep, jnp.cumsum(keep, axis=1) - 1, E)
    many = jnp.full((d, E), jnp.inf, xs.dtype).at[jnp.arange(d)[:, None], slot].set(
        quant, mode="drop")
    return jnp.where((n_unique > max_bins)[:, None], many, few)


def _sorted_edges(v: np.ndarray, q_lo: np.ndarray, q_exact: np.ndarray,
                  max_bins: int) -> np.ndarray:
    """`_edges` in numpy for the sorted used values v (n_used, c) of c columns: (c, E) edges,
    the same float32 arithmetic (a/2 + b/2, where XLA's FTZ could only differ on subnormal
    values), with no (n, d) scatter: on the host in the fit's threads."""
    n_used, c = v.shape
    edges = np.full((c, max_bins - 1), np.inf, np.float32)
    change = v[1:] != v[:-1]                                   # a new distinct value
    few = change.sum(axis=0) + 1 <= max_bins
    # Few distinct values: midpoints between consecutive ones, the lower value where the
    # midpoint rounds up to the upper one (as sklearn does).
    cols, rows = np.nonzero(change.T & few[:, None])         # by column, then row
    first = np.searchsorted(cols, np.arange(c))              # each column's first entry
    lo, hi = v[rows, cols], v[rows + 1, cols]
    mid = lo / 2 + hi / 2
    edges[cols, np.arange(cols.size) - first[cols]] = np.where(mid >= hi, lo, mid)
    if not few.all():  # many: quantiles of the used values, deduplicated to the front
        lo, hi = v[q_lo][:, ~few], v[np.minimum(q_lo + 1, n_used - 1)][:, ~few]
        quant = np.where(q_exact[:, None], lo, lo / 2 + hi / 2).T  # (m, E), nondecreasing
        keep = np.ones(quant.shape, bool)
        keep[:, 1:] = quant[:, 1:] != quant[:, :-1]
        many = np.full(quant.shape, np.inf, np.float32)
        at, _ = np.nonzero(keep)
        many[at, (np.cumsum(keep, axis=1) - 1)[keep]] = quant[keep]
        edges[~few] = many
    return edges


def _host_bins(x: np.ndarray, use: np.ndarray, max_bins: int, shape: tuple[int, int],
               q_lo: np.ndarray, q_exact: np.ndarray, workers: int):
    """The CPU path of `bin_features`: (edges, bins (d, n) numpy uint8). Each of `workers`
    threads (numpy releases the GIL) sorts its columns' used values, takes their edges
    (`_sorted_edges`) and bins the columns, faster on CPU than XLA's sort and scatter."""
    (n, d), (n_pad, d_pad) = x.shape, shape
    edges = np.full((d_pad, max_bins - 1), np.inf, np.float32)  # padded columns: no edges
    bins = np.zeros((d_pad, n_pad), np.uint8)  # padded columns have no edges: bin 0
    used = x[use[:n]]

    def bin_columns(columns: slice) -> None:
        edges[columns] = _sorted_edges(np.sort(used[:, columns], axis=0), q_lo, q_exact,
                                       max_bins)
        for j in range(columns.start, columns.stop):
            bins[j, :n] = np.searchsorted(edges[j], x[:, j], side="left")
            bins[j, n:] = np.searchsorted(edges[j], np.float32(0), side="left")  # padded x = 0

    step = -(-d // workers)
    map_chunks(lambda i: bin_columns(slice(i * step, min(d, (i + 1) * step))), -(-d // step),
               workers)
    return edges, bins


def bin_features(x: np.ndarray, use: np.ndarray, max_bins: int, device_sort: bool,
                 shape: tuple[int, int] | None = None, by_feature: bool = False,
                 workers: int = 1) -> tuple[np.ndarray, jax.Array, bool]:
    """Edges (numpy float32, (d, max_bins - 1), +inf padded) from the rows where `use` is set
    (sklearn drops zero-weight samples), the binned x (device uint8, (n, d), or (d, n) when
    `by_feature`), and whether x is all finite (checked on the device when `device_sort`,
    else True: the caller's input validation checks it on the host). Without `device_sort`,
    numpy works on `workers` threads.

    `shape`: x and use are padded to it (a size bucket) so that fits of nearby sizes share
    the program. device_sort: sort with XLA (for GPU / TPU) rather than numpy (for CPU, ~20x
    faster there); large inputs are then sent unpadded and padded on the device (padding on
    the host writes fresh pages, then sends the padding too), for a small program compiled
    per input shape."""
    shape = tuple(shape or x.shape)
    use = pad_to(np.asarray(use, bool), shape[0])
    n_used = max(int(use.sum()), 1)
    q = np.linspace(0, 1, max_bins + 1)[1:-1]
    # numpy's own positions: its "midpoint" quantiles of 0..n-1 are i or i + 0.5.
    pos = np.quantile(np.arange(n_used, dtype=np.float64), q, method="midpoint")
    q_lo = np.floor(pos).astype(np.int32)
    finite = True
    if device_sort:
        if x.size >= DEVICE_PAD_CELLS and tuple(x.shape) != shape:
            x = _pad(jnp.asarray(x, jnp.float32), shape)
        else:
            x = jnp.asarray(pad_to_shape(np.asarray(x, np.float32), shape))
        xs, finite = _sort_used(x, use)
    else:
        edges, bins = _host_bins(np.asarray(x, np.float32), use, max_bins, shape, q_lo,
                                 pos == q_lo, workers)
        return edges, jnp.asarray(bins if by_feature else bins.T), True
    edges, bins = _bin(x, xs, n_used, q_lo, pos == q_lo, max_bins=max_bins)
    return np.asarray(edges), bins.T if by_feature else bins, bool(finite)
