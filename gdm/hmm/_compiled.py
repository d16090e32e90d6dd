"""The jit-compiled entry points the estimators call: score, decode, one EM iteration, sample.

Each entry point takes the call's `HMMPlan` (`gdm.hmm._plan`): sequences come packed in its
chunks (`gdm.hmm._sequences.pack`), one compiled call each, run on `plan.workers` CPU threads at
once (`gdm.utils.threads`: XLA:CPU runs these loops on one core), so the lattices of only
`workers` chunks are alive at a time: memory is bounded by `chunk_memory_mb` per thread.
The per-chunk kernels are module-level `jax.jit`s whose only static arguments are the plan's
`Kernel` (fixed by the emission kind and the shapes) and the kind of output asked for, so jax
caches one executable per (kernel, bucketed chunk shape); with size-bucketed inputs a
cross-validation or check_estimator run compiles only a handful of times. One EM iteration is
three compiled calls per chunk at most (E-step, statistics, M-step); the Python loop over
iterations only reads back the log-likelihood for the convergence test, as hmmlearn's monitor
does.
score and decode compile with `NATIVE_FUSIONS` (XLA's own loop fusions rather than library
calls for these small operations); the EM step keeps XLA's default, which suits its
expected-count reductions. The time loops also ask for 512-bit vectors (`WIDE_VECTORS`), and
decode for min / max without NaN propagation (`FAST_MIN_MAX`: one instruction per predecessor
in its running max; log 0 is -inf, never NaN, in its sums).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from gdm.hmm import _emissions as emissions
from gdm.hmm import _inference as inference
from gdm.hmm._plan import HMMPlan, Kernel
from gdm.utils.compiler import FAST_MIN_MAX, NATIVE_FUSIONS, WIDE_VECTORS
from gdm.utils.threads import map_chunks


def _normalize_rows(a):
    total = a.sum(axis=-1, keepdims=True)
    return a / jnp.where(total == 0, 1.0, total)


def _forward_backward(kernel: Kernel, start, trans, emission, X, lengths, with_posteriors,
                      implementation):
    """(log-likelihoods (N,), posteriors (N, T, K) or None, no-underflow flag) of one chunk."""
    if implementation == "scaling":
        if not with_posteriors and kernel.frames_in_loop:
            # Frames from the symbols inside the time loop (a table lookup per step); the
            # Gaussian frames' exp is cheaper over the whole block, so they keep the block.
            inputs, frame = emissions.scaled_frame_source(kernel, emission, X)
            log_prob, ok = inference.scaled_score(start, trans, inputs, lengths, frame)
            return log_prob, None, ok
        scaled, top = emissions.scaled_frames(kernel, emission, X)
        alpha, scales, ok = inference.forward_scaled(start, trans, scaled, lengths)
        log_prob = inference.scaled_log_likelihood(scales, top, lengths)
        if not with_posteriors:
            return log_prob, None, ok
        beta = inference.backward_scaled(trans, scaled, scales, lengths)
        gamma = inference.scaled_posteriors(alpha, beta, lengths)
        ok = ok & jnp.all(jnp.isfinite(gamma))
        return log_prob, jnp.transpose(gamma, (2, 0, 1)), ok
    frames = emissions.log_frames(kernel, emission, X)
    log_trans = jnp.log(trans)
    log_alpha, log_prob = inference.forward(jnp.log(start), log_trans, frames, lengths)
    ok = jnp.array(True)
    if not with_posteriors:
        return log_prob, None, ok
    log_beta = inference.backward(log_trans, frames, lengths)
    gamma = inference.posteriors(log_alpha, log_beta, lengths)
    return log_prob, jnp.transpose(gamma, (2, 0, 1)), ok


_score_chunk = jax.jit(_forward_backward, compiler_options=NATIVE_FUSIONS | WIDE_VECTORS,
                       static_argnames=("kernel", "with_posteriors", "implementation"))


def score(plan: HMMPlan, start, trans, emission, X, lengths, with_posteriors: bool,
          implementation: str = "log"):
    """Log-likelihoods (n_chunks, C), posteriors (n_chunks, C, T, K) if asked (else None),
    no-underflow flag, for X packed as the plan's (n_chunks, C, T, ...) chunks of C
    sequences, each a compiled call, run on the plan's threads."""
    def one(i):
        return jax.block_until_ready(_score_chunk(
            plan.kernel, start, trans, emission, X[i], lengths[i], with_posteriors,
            implementation))

    log_prob, gamma, ok = zip(*map_chunks(one, X.shape[0], plan.workers), strict=True)
    return (np.stack(log_prob), np.stack(gamma) if with_posteriors else None,
            bool(np.all(ok)))


@partial(jax.jit, static_argnames=("kernel",),
         compiler_options=NATIVE_FUSIONS | WIDE_VECTORS | FAST_MIN_MAX)
def _decode_chunk(kernel: Kernel, start, trans, emission, X, lengths):
    inputs, frame = emissions.frame_source(kernel, emission, X)
    if not kernel.frames_in_loop:
        inputs, frame = frame(inputs), None
    path, log_prob = inference.viterbi(jnp.log(start), jnp.log(trans), inputs, lengths, frame,
                                       kernel.unroll, kernel.pointer_dtype)
    return path.T, log_prob


def decode(plan: HMMPlan, start, trans, emission, X, lengths):
    """Viterbi paths (n_chunks, C, T) and their log-probabilities (n_chunks, C), one compiled
    call per chunk of the plan, on its threads."""
    def one(i):
        return jax.block_until_ready(_decode_chunk(plan.kernel, start, trans, emission, X[i],
                                                   lengths[i]))

    path, log_prob = zip(*map_chunks(one, X.shape[0], plan.workers), strict=True)
    return np.stack(path), np.stack(log_prob)


@partial(jax.jit, static_argnames=("kernel", "implementation"), compiler_options=WIDE_VECTORS)
def _expected_counts(kernel: Kernel, start, trans, emission, X, lengths, implementation):
    """E-step of one chunk: (log-likelihood sum, posteriors, start counts, transition counts,
    no-underflow flag)."""
    if implementation == "scaling":
        log_prob, gamma, start_counts, trans_counts, ok = inference.expectations_scaled(
            start, trans, *emissions.scaled_frames(kernel, emission, X), lengths)
    else:
        frames = emissions.log_frames(kernel, emission, X)
        log_prob, gamma, start_counts, trans_counts = inference.expectations(
            jnp.log(start), jnp.log(trans), frames, lengths)
        ok = jnp.array(True)
    return log_prob.sum(), gamma, start_counts, trans_counts, ok


_statistics = jax.jit(emissions.statistics, static_argnames=("kind", "n_symbols"))


PARAMETER_LETTERS = "stmce"


def update_flags(params: str) -> dict:
    """{letter: whether the M-step updates that parameter} for every letter of any emission
    model, as boolean scalars: traced arguments, so changing `params` compiles nothing."""
    return {letter: np.bool_(letter in params) for letter in PARAMETER_LETTERS}


@partial(jax.jit, static_argnames=("kind",))
def _maximize(kind, update, start, trans, emission, priors, start_counts, trans_counts, stats):
    """hmmlearn's M-step from the expected counts summed over all chunks; `update` holds the
    flags of `update_flags`, and a parameter not updated keeps its value exactly."""
    # Priors below 1 can make counts negative: clip at 0 (hmmlearn); states or transitions that
    # are exactly 0 stay 0, which keeps e.g. left-right topologies.
    new = jnp.maximum(priors["startprob_prior"] - 1 + start_counts, 0)
    new = jnp.where(start == 0, 0, new)
    start = jnp.where(update["s"], new / new.sum(), start)
    new = jnp.maximum(priors["transmat_prior"] - 1 + trans_counts, 0)
    trans = jnp.where(update["t"], _normalize_rows(jnp.where(trans == 0, 0, new)), trans)
    return start, trans, emissions.m_step(kind, emission, stats, priors, update)


def em_step(plan: HMMPlan, params: str, start, trans, emission, priors, X, lengths,
            implementation: str = "log"):
    """One Baum-Welch iteration with hmmlearn's M-step; returns the updated parameters, the
    total log-likelihood of the data under the parameters it started from, and the
    no-underflow flag (always True for implementation="log").

    Expected counts are summed over the plan's (n_chunks, C, T, ...) chunks of X (computed on
    its threads, summed in chunk order). The E-step, the emission statistics and the M-step
    are separate compiled calls: compiled as one program, XLA:CPU fuses the posteriors into
    the statistics' reductions and recomputes them there.
    """
    kind, n_symbols = plan.kernel.kind, n_symbols_of(emission)

    def one(i):  # chunks bound memory; each is a vectorized call
        log_prob, gamma, start_counts, trans_counts, ok = _expected_counts(
            plan.kernel, start, trans, emission, X[i], lengths[i], implementation)
        stats = _statistics(kind, gamma, X[i], n_symbols)
        return jax.block_until_ready(((log_prob, start_counts, trans_counts, stats), ok))

    parts = map_chunks(one, X.shape[0], plan.workers)
    totals = parts[0][0]
    for part, _ in parts[1:]:  # summed in chunk order: the same numbers on any thread count
        totals = jax.tree.map(jnp.add, totals, part)
    log_prob, start_counts, trans_counts, stats = totals
    start, trans, emission = _maximize(kind, update_flags(params), start, trans, emission,
                                       priors, start_counts, trans_counts, stats)
    return start, trans, emission, log_prob, all(bool(ok) for _, ok in parts)


def n_symbols_of(emission: dict) -> int:
    """Number of symbols of a categorical emission model (0 for Gaussian ones)."""
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
