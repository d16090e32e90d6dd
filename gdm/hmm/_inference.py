"""HMM inference kernels: forward-backward, Viterbi and expected counts, in log space.

Layout: time-major with the sequence axis LAST, `log_frames` of shape (T, K, N) for N sequences
padded to T steps with true lengths `lengths` (N,). Each `lax.scan` step then works on (K, N) or
(K, K, N) blocks whose innermost axis is the batch of sequences, which XLA:CPU vectorizes; this
is the same arithmetic as vmapping a one-sequence scan, laid out for SIMD. Padding steps
t >= length leave the recursions unchanged, so a padded sequence gives exactly the numbers of
the unpadded one; a sequence of length 0 (padding of the sequence axis) contributes nothing.

Two forward-backward implementations give the same numbers:
- log space (hmmlearn's "log"): logsumexp over predecessors at every step, exactly hmmlearn's
  recursions; robust to any dynamic range, but K*K exponentials per step;
- scaled (Rabiner 1989): probabilities renormalized at every step after dividing each frame's
  emission probabilities by their maximum; no exp/log inside the time loop, and it
  reports (`ok` False) the rare underflow, after which the caller falls back.
Viterbi uses max/argmax with hmmlearn's tie-breaking (first final state, last predecessor).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp


def _live(lengths, n_steps):
    """(T, 1, N) mask of real (non-padding) steps."""
    return (jnp.arange(n_steps)[:, None] < lengths[None, :])[:, None, :]


def forward(log_start, log_trans, log_frames, lengths):
    """Log forward lattice (T, K, N) and per-sequence log-likelihoods (N,)."""
    steps = jnp.arange(1, log_frames.shape[0])

    def step(alpha, inputs):
        frame, t = inputs
        new = logsumexp(alpha[:, None, :] + log_trans[:, :, None], axis=0) + frame
        alpha = jnp.where(t < lengths, new, alpha)
        return alpha, alpha

    alpha0 = log_start[:, None] + log_frames[0]
    last, rest = jax.lax.scan(step, alpha0, (log_frames[1:], steps))
    lattice = jnp.concatenate([alpha0[None], rest])
    log_prob = jnp.where(lengths > 0, logsumexp(last, axis=0), 0.0)
    return lattice, log_prob


def backward(log_trans, log_frames, lengths, log_alpha=None, log_prob=None):
    """Log backward lattice (T, K, N), zero (log 1) at each sequence's last step and after;
    given the forward lattice and log-likelihoods, also the expected transition counts (K, K),
    accumulated inside the scan (hmmlearn's log xi sum) so no (T, K, K, N) tensor exists."""
    n_states = log_trans.shape[0]
    steps = jnp.arange(log_frames.shape[0] - 1)
    with_counts = log_alpha is not None

    def step(carry, inputs):
        beta_next, counts = carry
        frame_next, t, alpha = inputs
        scores = log_trans[:, :, None] + (frame_next + beta_next)[None]     # (K, K, N)
        live = t + 1 < lengths
        beta = jnp.where(live, logsumexp(scores, axis=1), 0.0)
        if with_counts:
            xi = jnp.exp(alpha[:, None, :] + scores - log_prob)
            counts = counts + jnp.where(live, xi, 0.0).sum(axis=2)
        return (beta, counts), beta

    zeros = jnp.zeros(log_frames.shape[1:], log_frames.dtype)
    alphas = log_alpha[:-1] if with_counts else log_frames[:-1]   # placeholder when unused
    init = (zeros, jnp.zeros((n_states, n_states), log_frames.dtype))
    (_, counts), rest = jax.lax.scan(step, init, (log_frames[1:], steps, alphas), reverse=True)
    lattice = jnp.concatenate([rest, zeros[None]])
    return (lattice, counts) if with_counts else lattice


def posteriors(log_alpha, log_beta, lengths):
    """State posteriors (T, K, N), normalized per frame as hmmlearn does; zero on padding."""
    log_gamma = log_alpha + log_beta
    log_gamma = log_gamma - logsumexp(log_gamma, axis=1, keepdims=True)
    return jnp.where(_live(lengths, log_gamma.shape[0]), jnp.exp(log_gamma), 0.0)


def expectations(log_start, log_trans, log_frames, lengths):
    """E-step: log-likelihoods (N,), posteriors (T, K, N), start counts (K,), transitions (K, K)."""
    log_alpha, log_prob = forward(log_start, log_trans, log_frames, lengths)
    log_beta, trans_counts = backward(log_trans, log_frames, lengths, log_alpha, log_prob)
    gamma = posteriors(log_alpha, log_beta, lengths)
    return log_prob, gamma, gamma[0].sum(axis=1), trans_counts


def viterbi(log_start, log_trans, inputs, lengths, frame=None, unroll: bool = True,
            pointer_dtype: str = "int8"):
    """Most likely state paths (T, N) (padding repeats the last state) and their log-probs (N,);
    the paths in `pointer_dtype` (the plan's: int8 up to 127 states), which the caller widens
    once, on the host, while unpacking them.

    `inputs` are the log frames (T, K, N), or, given `frame` (see `emissions.frame_source`),
    per-step data from which frame(inputs[t]) computes step t's frames inside the loop.
    The forward pass stores backpointers, so the backward pass is a K-way select per step (no
    gather, no K*K rescoring of the max-product lattice). With `unroll` the max over
    predecessors is a running max, one fused pass per predecessor, else a reduction. Ties
    resolve as hmmlearn's: first index for the final state, last index for predecessors.
    """
    frame = frame or (lambda x: x)
    n_states = log_trans.shape[0]
    steps = jnp.arange(1, inputs.shape[0])
    index_type = jnp.dtype(pointer_dtype)
    stay = jnp.arange(n_states, dtype=index_type)[:, None]

    def step(delta, step_inputs):
        x, t = step_inputs
        if unroll:
            # A running max over predecessors, unrolled: one fused pass per predecessor.
            best = delta[0][None, :] + log_trans[0][:, None]               # (K, N)
            for i in range(1, n_states):
                best = jnp.maximum(best, delta[i][None, :] + log_trans[i][:, None])
            # The last predecessor whose score equals the max (max returns one of its
            # operands, so equality is exact). XLA:CPU computes the pointers in their own
            # fusion, which repeats the sums: comparing there with the max is cheaper than
            # carrying a running compare-and-select through both passes.
            pointer = jnp.zeros(best.shape, index_type)
            for i in range(1, n_states):
                score = delta[i][None, :] + log_trans[i][:, None]
                pointer = jnp.where(score == best, jnp.asarray(i, index_type), pointer)
        else:
            scores = delta[:, None, :] + log_trans[:, :, None]            # (K prev, K, N)
            best = jnp.max(scores, axis=0)
            # Last maximizing predecessor; cheaper than argmax's (value, index) reduction.
            pointer = jnp.max(jnp.where(scores == best, stay[:, :, None], 0), axis=0)
        live = t < lengths
        return jnp.where(live, best + frame(x), delta), jnp.where(live, pointer, stay)

    delta0 = log_start[:, None] + frame(inputs[0])
    last, pointers = jax.lax.scan(step, delta0, (inputs[1:], steps))
    final_state = jnp.argmax(last, axis=0).astype(index_type)

    def back(state, pointer):
        previous = jnp.sum(jnp.where(stay == state[None], pointer, 0), axis=0, dtype=index_type)
        return previous, previous

    _, path = jax.lax.scan(back, final_state, pointers, reverse=True)
    path = jnp.concatenate([path, final_state[None]])
    return path, jnp.where(lengths > 0, jnp.max(last, axis=0), 0.0)


# --------------------------------------------------------------------------------------------
# implementation="scaling": probabilities normalized at every step (Rabiner 1989), no
# transcendental functions inside the time loop. Frames are scaled by their per-frame maximum
# first, so only a gap of ~700 nats between the best emission and every reachable state's
# emission can underflow; that is reported (`ok` False) and the estimator raises, as hmmlearn's
# scaling implementation does, pointing to implementation="log".
# --------------------------------------------------------------------------------------------
MIN_SCALE = 1e-300


def _scaled_step(alpha, trans, frame, live):
    """One normalized forward step: (new alpha (K, N), its scale (N,), 1 on padding)."""
    # broadcast-and-sum rather than a dot: XLA:CPU fuses it with the rest of the step,
    # where a (K, K) x (K, N) dot is a separate, slower kernel call.
    new = (alpha[:, None, :] * trans[:, :, None]).sum(axis=0) * frame
    scale = jnp.where(live, new.sum(axis=0), 1.0)
    return jnp.where(live, new / scale, alpha), scale


def _scaled_start(start, frame, lengths):
    alpha0 = start[:, None] * frame
    scale0 = jnp.where(lengths > 0, alpha0.sum(axis=0), 1.0)
    return alpha0 / scale0, scale0


def forward_scaled(start, trans, frames, lengths):
    """Normalized forward probabilities (T, K, N), scales (T, N) (1 on padding), ok flag."""
    steps = jnp.arange(1, frames.shape[0])

    def step(alpha, inputs):
        frame, t = inputs
        alpha, scale = _scaled_step(alpha, trans, frame, t < lengths)
        return alpha, (alpha, scale)

    alpha0, scale0 = _scaled_start(start, frames[0], lengths)
    _, (rest, scales) = jax.lax.scan(step, alpha0, (frames[1:], steps))
    scales = jnp.concatenate([scale0[None], scales])
    ok = jnp.all(scales >= MIN_SCALE)
    return jnp.concatenate([alpha0[None], rest]), scales, ok


def scaled_score(start, trans, inputs, lengths, frame):
    """(log-likelihoods (N,), ok flag) by the normalized forward pass, with each step's scaled
    frames and their log scale (`frame(inputs[t])`, see `emissions.scaled_frame_source`)
    computed inside the loop: no (T, K, N) frames or alphas are written (the same numbers as
    `forward_scaled` on a frames block)."""
    steps = jnp.arange(1, inputs.shape[0])

    def step(alpha, step_inputs):
        x, t = step_inputs
        scaled, top = frame(x)
        alpha, scale = _scaled_step(alpha, trans, scaled, t < lengths)
        return alpha, (scale, top)

    scaled0, top0 = frame(inputs[0])
    alpha0, scale0 = _scaled_start(start, scaled0, lengths)
    _, (scales, tops) = jax.lax.scan(step, alpha0, (inputs[1:], steps))
    scales = jnp.concatenate([scale0[None], scales])
    tops = jnp.concatenate([top0[None], tops])
    return scaled_log_likelihood(scales, tops, lengths), jnp.all(scales >= MIN_SCALE)


def backward_scaled(trans, frames, scales, lengths):
    """Backward probabilities (T, K, N) scaled by the forward scales; 1 after each end."""
    steps = jnp.arange(frames.shape[0] - 1)

    def step(beta_next, inputs):
        frame_next, scale_next, t = inputs
        beta = (trans[:, :, None] * (frame_next * beta_next)[None]).sum(axis=1) / scale_next
        beta = jnp.where(t + 1 < lengths, beta, 1.0)
        return beta, beta

    ones = jnp.ones(frames.shape[1:], frames.dtype)
    _, rest = jax.lax.scan(step, ones, (frames[1:], scales[1:], steps), reverse=True)
    return jnp.concatenate([rest, ones[None]])


def scaled_log_likelihood(scales, top, lengths):
    live = jnp.arange(scales.shape[0])[:, None] < lengths[None, :]
    return jnp.where(live, jnp.log(scales) + top, 0.0).sum(axis=0)


def scaled_posteriors(alpha, beta, lengths):
    gamma = alpha * beta
    gamma = gamma / gamma.sum(axis=1, keepdims=True)
    return jnp.where(_live(lengths, gamma.shape[0]), gamma, 0.0)


def expectations_scaled(start, trans, frames, top, lengths):
    """`expectations` by the scaled recursions from `emissions.scaled_frames`' output, plus the
    no-underflow flag."""
    alpha, scales, ok = forward_scaled(start, trans, frames, lengths)
    beta = backward_scaled(trans, frames, scales, lengths)
    gamma = scaled_posteriors(alpha, beta, lengths)
    live = (jnp.arange(1, frames.shape[0])[:, None] < lengths[None, :])[:, None, :]
    ahead = jnp.where(live, frames[1:] * beta[1:] / scales[1:, None, :], 0.0)
    # Broadcast product summed over (t, n): XLA:CPU fuses it into one reduction.
    trans_counts = trans * (alpha[:-1, :, None, :] * ahead[:, None]).sum(axis=(0, 3))
    log_prob = scaled_log_likelihood(scales, top, lengths)
    ok = ok & jnp.all(jnp.isfinite(gamma)) & jnp.all(jnp.isfinite(trans_counts))
    return log_prob, gamma, gamma[0].sum(axis=1), trans_counts, ok
