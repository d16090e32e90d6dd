"""The jit-compiled entry points the estimators call: score, decode, one EM iteration, sample.

Each is a module-level `jax.jit` with the emission `kind` (and the updated-parameter letters)
static, so jax caches one executable per (kind, bucketed shape); with size-bucketed inputs a
cross-validation or check_estimator run compiles only a handful of times. One EM iteration
(E-step, expected counts and M-step) is ONE compiled call; the Python loop over iterations only
reads back the log-likelihood for the convergence test, as hmmlearn's monitor does.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from gdm._hmm import emissions, inference


def _normalize_rows(a):
    total = a.sum(axis=-1, keepdims=True)
    return a / jnp.where(total == 0, 1.0, total)


@partial(jax.jit, static_argnames=("kind", "with_posteriors", "implementation"))
def score(kind: str, start, trans, emission, X, lengths, with_posteriors: bool,
          implementation: str = "log"):
    """Per-sequence log-likelihoods (N,), posteriors (N, T, K) if asked, no-underflow flag."""
    frames = emissions.log_frames(kind, emission, X)
    if implementation == "scaling":
        scaled, top = inference.scaled_frames(frames)
        alpha, scales, ok = inference.forward_scaled(start, trans, scaled, lengths)
        log_prob = inference.scaled_log_likelihood(scales, top, lengths)
        if not with_posteriors:
            return log_prob, None, ok
        beta = inference.backward_scaled(trans, scaled, scales, lengths)
        gamma = inference.scaled_posteriors(alpha, beta, lengths)
        ok = ok & jnp.all(jnp.isfinite(gamma))
        return log_prob, jnp.transpose(gamma, (2, 0, 1)), ok
    log_trans = jnp.log(trans)
    log_alpha, log_prob = inference.forward(jnp.log(start), log_trans, frames, lengths)
    ok = jnp.array(True)
    if not with_posteriors:
        return log_prob, None, ok
    log_beta = inference.backward(log_trans, frames, lengths)
    gamma = inference.posteriors(log_alpha, log_beta, lengths)
    return log_prob, jnp.transpose(gamma, (2, 0, 1)), ok


@partial(jax.jit, static_argnames=("kind",))
def decode(kind: str, start, trans, emission, X, lengths):
    """Viterbi paths (N, T) and their log-probabilities (N,)."""
    frames = emissions.log_frames(kind, emission, X)
    path, log_prob = inference.viterbi(jnp.log(start), jnp.log(trans), frames, lengths)
    return path.T, log_prob


@partial(jax.jit, static_argnames=("kind", "params", "implementation"))
def em_step(kind: str, params: str, start, trans, emission, priors, X, lengths,
            implementation: str = "log"):
    """One Baum-Welch iteration with hmmlearn's M-step; returns the updated parameters, the
    total log-likelihood of the data under the parameters it started from, and the
    no-underflow flag (always True for implementation="log")."""
    frames = emissions.log_frames(kind, emission, X)
    if implementation == "scaling":
        log_prob, gamma, start_counts, trans_counts, ok = inference.expectations_scaled(
            start, trans, frames, lengths)
    else:
        log_prob, gamma, start_counts, trans_counts = inference.expectations(
            jnp.log(start), jnp.log(trans), frames, lengths)
        ok = jnp.array(True)
    # Priors below 1 can make counts negative: clip at 0 (hmmlearn); states or transitions that
    # are exactly 0 stay 0, which keeps e.g. left-right topologies.
    if "s" in params:
        new = jnp.maximum(priors["startprob_prior"] - 1 + start_counts, 0)
        new = jnp.where(start == 0, 0, new)
        start = new / new.sum()
    if "t" in params:
        new = jnp.maximum(priors["transmat_prior"] - 1 + trans_counts, 0)
        trans = _normalize_rows(jnp.where(trans == 0, 0, new))
    stats = emissions.statistics(kind, gamma, X, _n_symbols(emission))
    emission = emissions.m_step(kind, emission, stats, priors, params)
    return start, trans, emission, log_prob.sum(), ok


def _n_symbols(emission) -> int:
    prob = emission.get("emissionprob")
    return 0 if prob is None else prob.shape[1]


@partial(jax.jit, static_argnames=("kind", "n_samples"))
def sample(kind: str, start, trans, emission, key, currstate, n_samples: int):
    """A state path of n_samples steps (from `currstate` when >= 0) and its emissions."""
    key_start, key_path, key_emit = jax.random.split(key, 3)
    drawn = jax.random.categorical(key_start, jnp.log(start))
    first = jnp.where(currstate >= 0, currstate, drawn).astype(jnp.int32)
    log_trans = jnp.log(trans)

    def step(state, step_key):
        nxt = jax.random.categorical(step_key, log_trans[state]).astype(jnp.int32)
        return nxt, nxt

    _, rest = jax.lax.scan(step, first, jax.random.split(key_path, n_samples - 1))
    states = jnp.concatenate([first[None], rest])
    return emissions.sample(kind, emission, states, key_emit), states
