"""Emission models in JAX: per-frame log-densities, expected statistics and M-step updates.

`kind` names the emission model: "spherical", "diag", "full", "tied" (Gaussian covariance types)
or "categorical". Covariances are held compactly, as hmmlearn's `_covars_`:
spherical (K,), diag (K, D), full (K, D, D), tied (D, D). The updates reproduce hmmlearn 0.3.3's
M-step formulas (Huang, Acero & Hon, "Spoken Language Processing", pp. 443-445) including its
priors, so one EM step from identical parameters gives identical parameters.

Data come as a padded block X (N, T, D) (categorical: (N, T) symbols); frames and posteriors use
the kernels' (T, K, N) layout. The frame functions take the plan's `Kernel` (`gdm.hmm._plan`):
its emission kind and how categorical frames are picked.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular

from gdm.hmm._plan import Kernel

GAUSSIAN_KINDS = ("spherical", "diag", "full", "tied")


def log_frames(kernel: Kernel, emission: dict, X):
    """Log emission densities log p(x_nt | state k), shape (T, K, N)."""
    inputs, frame = frame_source(kernel, emission, X)
    return frame(inputs)


def frame_source(kernel: Kernel, emission: dict, X):
    """(inputs, frame): X laid out time-major with the sequence axis last ((T, D, N), symbols
    (T, N)) and a function with frame(inputs[t]) == log_frames(...)[t] that also takes the
    whole block. A time loop can then compute each step's emissions itself instead of reading
    a (T, K, N) block written beforehand (`Kernel.frames_in_loop`)."""
    if kernel.kind == "categorical":
        table = jnp.log(emission["emissionprob"])
        return X.T, partial(_select_symbols, table, by_selects=kernel.select_symbols)
    kind = kernel.kind
    means, covars = emission["means"], emission["covars"]
    n_states, n_features = means.shape
    const = n_features * math.log(2 * math.pi)
    # The sequence axis stays innermost, as in the kernels: the broadcasts below then
    # vectorize over sequences.
    inputs = jnp.transpose(X, (1, 2, 0))                              # (T, D, N)
    if kind in ("spherical", "diag"):
        var = covars[:, None] if kind == "spherical" else covars
        var = jnp.maximum(jnp.broadcast_to(var, means.shape), jnp.finfo(means.dtype).tiny)
        offset = const + jnp.log(var).sum(-1)

        def frame(x):                                                  # (..., D, N)
            maha = ((x[..., None, :, :] - means[:, :, None]) ** 2 / var[:, :, None]).sum(-2)
            return -0.5 * (offset[:, None] + maha)                     # (..., K, N)
        return inputs, frame
    cov = jnp.broadcast_to(covars, (n_states, n_features, n_features))
    chol = jnp.linalg.cholesky(cov)                                    # (K, D, D)
    offset = const + 2 * jnp.log(jnp.diagonal(chol, axis1=1, axis2=2)).sum(-1)
    eye = jnp.broadcast_to(jnp.eye(n_features, dtype=means.dtype), cov.shape)
    chol_inv = solve_triangular(chol, eye, lower=True)                 # L^-1, (K, D, D)
    shift = jnp.einsum("kde,ke->kd", chol_inv, means)

    def frame(x):                                                      # (..., D, N)
        # L^-1 (x - mu) = L^-1 x - L^-1 mu as a broadcast product summed over e: XLA:CPU
        # fuses it, where the einsum is a badly laid out dot for small D.
        solved = ((chol_inv[:, :, :, None] * x[..., None, None, :, :]).sum(-2)
                  - shift[:, :, None])                                 # (..., K, D, N)
        return -0.5 * (offset[:, None] + (solved**2).sum(-2))          # (..., K, N)
    return inputs, frame


def scaled_frames(kernel: Kernel, emission: dict, X):
    """exp(log_frames - per-frame max) (T, K, N) and that max (T, N), the scaled recursions'
    input (`scaled_frame_source`'s frame of the whole block)."""
    inputs, frame = scaled_frame_source(kernel, emission, X)
    return frame(inputs)


def scaled_frame_source(kernel: Kernel, emission: dict, X):
    """(inputs, frame) as `frame_source`, with frame(inputs[t]) == (scaled frames (K, N), their
    log scale (N,)), i.e. `scaled_frames`' step t. Categorical emissions scale the (K, S)
    table per symbol instead: no exp or log per frame."""
    if kernel.kind != "categorical":
        inputs, log_frame = frame_source(kernel, emission, X)

        def frame(x):
            log_frames_ = log_frame(x)
            top = jnp.max(log_frames_, axis=-2)
            return jnp.exp(log_frames_ - top[..., None, :]), top
        return inputs, frame
    prob = emission["emissionprob"]                                   # (K, S)
    best = prob.max(axis=0)
    # A symbol no state emits has frames 0: the recursions then report underflow, and the
    # caller falls back to log space (as it does for exp(-inf - -inf) on the other path).
    table = jnp.where(best > 0, prob / jnp.where(best > 0, best, 1.0), 0.0)
    log_best = jnp.log(best)[None]                                     # (1, S)
    select = partial(_select_symbols, by_selects=kernel.select_symbols)

    def frame(symbols):
        return select(table, symbols), select(log_best, symbols)[..., 0, :]
    return X.T, frame


def _select_symbols(table, symbols, by_selects: bool):
    """table[:, symbols] laid out (..., K, N) for a (K, S) table and (..., N) symbols."""
    n_symbols = table.shape[1]
    if not by_selects:
        return jnp.moveaxis(table[:, symbols], 0, -2)                  # (K, ..., N) -> (..., K, N)
    # Few symbols: selects fuse into one pass, where the gather's output layout needs a
    # transpose. A binary tree over the symbol's bits takes S - 1 selects and log2(S) bit
    # tests per frame, where a chain of one select per symbol also compares each symbol.
    symbols = symbols[..., None, :]                                    # (..., 1, N)
    n_bits = max(1, (n_symbols - 1).bit_length())
    level = [table[:, min(symbol, n_symbols - 1), None] for symbol in range(1 << n_bits)]
    for bit in range(n_bits):
        is_set = (symbols & (1 << bit)) != 0
        level = [jnp.where(is_set, level[2 * m + 1], level[2 * m])
                 for m in range(len(level) // 2)]
    shape = symbols.shape[:-2] + (table.shape[0], symbols.shape[-1])
    return jnp.broadcast_to(level[0], shape)


def statistics(kind: str, gamma, X, n_symbols: int = 0) -> dict:
    """Posterior-weighted sums over all frames; padding has gamma = 0 so it adds nothing."""
    if kind == "categorical":
        one_hot = jax.nn.one_hot(X, n_symbols, dtype=gamma.dtype)   # (N, T, S)
        return {"obs": jnp.einsum("tkn,nts->ks", gamma, one_hot)}
    stats = {"post": gamma.sum(axis=(0, 2)), "obs": jnp.einsum("tkn,ntd->kd", gamma, X)}
    if kind in ("spherical", "diag"):
        stats["obs**2"] = jnp.einsum("tkn,ntd->kd", gamma, X**2)
    else:
        # Broadcast product over the kernels' (T, K, D, D, N) layout: XLA:CPU fuses it into
        # one reduction, where the three-operand einsum is a chain of dots.
        Xt = jnp.transpose(X, (1, 2, 0))                                # (T, D, N)
        outer = (Xt[:, :, None] * Xt[:, None])[:, None]                 # (T, 1, D, D, N)
        stats["obs*obs.T"] = (gamma[:, :, None, None, :] * outer).sum(axis=(0, 4))
    return stats


def m_step(kind: str, emission: dict, stats: dict, priors: dict, update: dict) -> dict:
    """hmmlearn's emission M-step; `update` maps parameter letters to (traced) booleans saying
    which parameters are updated: every update is computed, and selected by its flag."""
    if kind == "categorical":
        prob = jnp.maximum(priors["emissionprob_prior"] - 1 + stats["obs"], 0)
        return {"emissionprob": jnp.where(update["e"], _normalize_rows(prob),
                                          emission["emissionprob"])}
    means, covars = emission["means"], emission["covars"]
    means_prior, means_weight = priors["means_prior"], priors["means_weight"]
    denom = stats["post"][:, None]
    new = (means_weight * means_prior + stats["obs"]) / (means_weight + denom)
    means = jnp.where(update["m"], new, means)
    return {"means": means, "covars": jnp.where(
        update["c"], _covariances(kind, means, stats, priors), covars)}


def _covariances(kind: str, means, stats: dict, priors: dict):
    """hmmlearn's covariance update around `means` (the updated ones when they are)."""
    means_prior, means_weight = priors["means_prior"], priors["means_weight"]
    denom = stats["post"][:, None]
    covars_prior, covars_weight = priors["covars_prior"], priors["covars_weight"]
    meandiff = means - means_prior
    if kind in ("spherical", "diag"):
        c_n = (means_weight * meandiff**2 + stats["obs**2"] - 2 * means * stats["obs"]
               + means**2 * denom)
        c_d = jnp.maximum(covars_weight - 1, 0) + denom
        covars = (covars_prior + c_n) / jnp.maximum(c_d, 1e-5)
        if kind == "spherical":
            covars = covars.mean(axis=1)
    else:
        n_features = means.shape[1]
        obsmean = jnp.einsum("kd,ke->kde", stats["obs"], means)
        c_n = (means_weight * jnp.einsum("kd,ke->kde", meandiff, meandiff)
               + stats["obs*obs.T"] - obsmean - jnp.swapaxes(obsmean, 1, 2)
               + jnp.einsum("kd,ke->kde", means, means) * stats["post"][:, None, None])
        cv_weight = jnp.maximum(covars_weight - n_features, 0)
        if kind == "tied":
            covars = (covars_prior + c_n.sum(0)) / (cv_weight + stats["post"].sum())
        else:
            covars = (covars_prior + c_n) / (cv_weight + stats["post"][:, None, None])
    return covars


def _normalize_rows(a):
    """Rows divided by their sums; all-zero rows stay zero (hmmlearn's `normalize(axis=1)`)."""
    total = a.sum(axis=-1, keepdims=True)
    return a / jnp.where(total == 0, 1.0, total)


def sample(kind: str, emission: dict, states, key):
    """One emission per state in `states` (n,), drawn with `key`."""
    if kind == "categorical":
        logits = jnp.log(emission["emissionprob"])[states]
        return jax.random.categorical(key, logits, axis=-1)[:, None]
    means, covars = emission["means"], emission["covars"]
    n_states, n_features = means.shape
    noise = jax.random.normal(key, (states.shape[0], n_features), means.dtype)
    if kind in ("spherical", "diag"):
        var = covars[:, None] if kind == "spherical" else covars
        scale = jnp.sqrt(jnp.broadcast_to(var, means.shape))
        return means[states] + noise * scale[states]
    cov = jnp.broadcast_to(covars, (n_states, n_features, n_features))
    chol = jnp.linalg.cholesky(cov)
    return means[states] + jnp.einsum("nde,ne->nd", chol[states], noise)

