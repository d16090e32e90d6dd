"""HMM inference kernels: forward-backward, Viterbi and expected counts, in log space.

Layout: time-major with the sequence axis LAST, `log_frames` of shape (T, K, N) for N sequences
padded to T steps with true lengths `lengths` (N,). Each `lax.scan` step then works on (K, N) or
(K, K, N) blocks whose innermost axis is the batch of sequences, which XLA:CPU vectorizes; this
is the same arithmetic as vmapping a one-sequence scan, laid out for SIMD. Padding steps
t >= length leave the recursions unchanged, so a padded sequence gives exactly the numbers of
the unpadded one; a sequence of length 0 (padding of the sequence axis) contributes nothing.

The forward and backward recursions stay in log space: each step computes
logsumexp_i(alpha[i] + log A[i, j]) as m + log(sum_i exp(alpha[i] - m) A[i, j]) with
m = max_i alpha[i], which is the same logsumexp with the shift taken over predecessors. It needs
K exponentials per state instead of K*K and can neither overflow nor lose the most likely path.
Viterbi uses max/argmax with hmmlearn's tie-breaking (first final state, last predecessor).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

# Unrolling the time scans cuts XLA:CPU's per-iteration loop overhead, which dominates for the
# small state counts HMMs use (a step is only K*K*N work), but multiplies compile time; so only
# long (padded) sequences are unrolled.
UNROLL = 4
UNROLL_FROM_STEPS = 512


def _unroll(log_frames) -> int:
    return UNROLL if log_frames.shape[0] >= UNROLL_FROM_STEPS else 1


def _live(lengths, n_steps):
    """(T, 1, N) mask of real (non-padding) steps."""
    return (jnp.arange(n_steps)[:, None] < lengths[None, :])[:, None, :]


def forward(log_start, log_trans, log_frames, lengths):
    """Log forward lattice (T, K, N) and per-sequence log-likelihoods (N,)."""
    trans = jnp.exp(log_trans)
    steps = jnp.arange(1, log_frames.shape[0])

    def step(alpha, inputs):
        frame, t = inputs
        shift = jnp.max(alpha, axis=0)
        weights = jnp.exp(alpha - shift)
        mixed = jnp.einsum("in,ij->jn", weights, trans)
        new = jnp.log(mixed) + shift + frame
        alpha = jnp.where(t < lengths, new, alpha)
        return alpha, alpha

    alpha0 = log_start[:, None] + log_frames[0]
    last, rest = jax.lax.scan(step, alpha0, (log_frames[1:], steps), unroll=_unroll(log_frames))
    lattice = jnp.concatenate([alpha0[None], rest])
    log_prob = jnp.where(lengths > 0, logsumexp(last, axis=0), 0.0)
    return lattice, log_prob


def backward(log_trans, log_frames, lengths):
    """Log backward lattice (T, K, N); zero (log 1) at each sequence's last step and after."""
    trans = jnp.exp(log_trans)
    steps = jnp.arange(log_frames.shape[0] - 1)

    def step(beta_next, inputs):
        frame_next, t = inputs
        scores = frame_next + beta_next
        shift = jnp.max(scores, axis=0)
        mixed = jnp.einsum("ij,jn->in", trans, jnp.exp(scores - shift))
        beta = jnp.where(t + 1 < lengths, jnp.log(mixed) + shift, 0.0)
        return beta, beta

    zeros = jnp.zeros(log_frames.shape[1:], log_frames.dtype)
    _, rest = jax.lax.scan(step, zeros, (log_frames[1:], steps), reverse=True,
                           unroll=_unroll(log_frames))
    return jnp.concatenate([rest, zeros[None]])


def posteriors(log_alpha, log_beta, lengths):
    """State posteriors (T, K, N), normalized per frame as hmmlearn does; zero on padding."""
    log_gamma = log_alpha + log_beta
    log_gamma = log_gamma - logsumexp(log_gamma, axis=1, keepdims=True)
    return jnp.where(_live(lengths, log_gamma.shape[0]), jnp.exp(log_gamma), 0.0)


def transition_counts(log_trans, log_frames, log_alpha, log_beta, lengths):
    """Expected transition counts sum_{n,t} xi_t[i, j] (K, K), vectorized over t and n.

    xi_t[i, j] is proportional to u_t[i] A[i, j] v_t[j] with u = exp(alpha_t - max alpha_t) and
    v = exp(b_{t+1} + beta_{t+1} - max): normalizing each step by u^T A v replaces the
    log-likelihood (no overflow), and the sum over t and n becomes one contraction.
    """
    trans = jnp.exp(log_trans)
    alpha = log_alpha[:-1]
    ahead = log_frames[1:] + log_beta[1:]
    u = jnp.exp(alpha - jnp.max(alpha, axis=1, keepdims=True))
    v = jnp.exp(ahead - jnp.max(ahead, axis=1, keepdims=True))
    norm = jnp.einsum("tin,ij,tjn->tn", u, trans, v)
    live = jnp.arange(1, log_frames.shape[0])[:, None] < lengths[None, :]
    weight = jnp.where(live & (norm > 0), 1.0 / jnp.where(norm > 0, norm, 1.0), 0.0)
    return trans * jnp.einsum("tin,tjn,tn->ij", u, v, weight)


def expectations(log_start, log_trans, log_frames, lengths):
    """E-step: log-likelihoods (N,), posteriors (T, K, N), start counts (K,), transitions (K, K)."""
    log_alpha, log_prob = forward(log_start, log_trans, log_frames, lengths)
    log_beta = backward(log_trans, log_frames, lengths)
    gamma = posteriors(log_alpha, log_beta, lengths)
    trans_counts = transition_counts(log_trans, log_frames, log_alpha, log_beta, lengths)
    return log_prob, gamma, gamma[0].sum(axis=1), trans_counts


def viterbi(log_start, log_trans, log_frames, lengths):
    """Most likely state paths (T, N) (padding repeats the last state) and their log-probs (N,)."""
    n_states = log_trans.shape[0]
    identity = jnp.broadcast_to(jnp.arange(n_states, dtype=jnp.int32)[:, None],
                                log_frames.shape[1:])
    steps = jnp.arange(1, log_frames.shape[0])

    def step(delta, inputs):
        frame, t = inputs
        scores = delta[:, None, :] + log_trans[:, :, None]
        live = t < lengths
        new = jnp.max(scores, axis=0) + frame
        # hmmlearn's backtracking keeps the LAST best predecessor on ties.
        best = (n_states - 1 - jnp.argmax(scores[::-1], axis=0)).astype(jnp.int32)
        return jnp.where(live, new, delta), jnp.where(live, best, identity)

    delta0 = log_start[:, None] + log_frames[0]
    last, pointers = jax.lax.scan(step, delta0, (log_frames[1:], steps), unroll=_unroll(log_frames))
    final_state = jnp.argmax(last, axis=0).astype(jnp.int32)

    def back(state, pointer):
        previous = jnp.take_along_axis(pointer, state[None], axis=0)[0]
        return previous, previous

    _, path = jax.lax.scan(back, final_state, pointers, reverse=True,
                           unroll=_unroll(log_frames))
    path = jnp.concatenate([path, final_state[None]])
    return path, jnp.where(lengths > 0, jnp.max(last, axis=0), 0.0)
