"""Probabilities the libsvm way: Platt's sigmoid on cross-validated decision values, and
Wu-Lin-Weng pairwise coupling for more than two classes. Both vectorized (pairs, samples).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

_STEPS = 2.0 ** -jnp.arange(34)  # libsvm's backtracking halves the step down to 1e-10
MIN_PROB = 1e-7


def _platt_loss(A, B, dec, target, w):
    f = dec * A + B
    loss = jnp.where(f >= 0, target * f + jnp.log1p(jnp.exp(-f)),
                     (target - 1) * f + jnp.log1p(jnp.exp(f)))
    return jnp.sum(w * loss)


def _fit_one(dec, label, w, max_iter=100, eps=1e-5, sigma=1e-12):
    """libsvm's sigmoid_train (Newton with backtracking) for one pair; w masks its samples."""
    n_pos = jnp.sum(w * (label > 0))
    n_neg = jnp.sum(w) - n_pos
    target = jnp.where(label > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    A0 = jnp.zeros((), dec.dtype)
    B0 = jnp.log((n_neg + 1) / (n_pos + 1)).astype(dec.dtype)
    loss = partial(_platt_loss, dec=dec, target=target, w=w)

    def body(state):
        A, B, fval, it, _ = state
        f = dec * A + B
        p = jax.nn.sigmoid(-f)  # P(y=+1 | dec) = 1 / (1 + exp(f))
        d2 = w * p * (1 - p)
        h11 = sigma + jnp.sum(dec * dec * d2)
        h22 = sigma + jnp.sum(d2)
        h21 = jnp.sum(dec * d2)
        d1 = w * (target - p)
        g1, g2 = jnp.sum(dec * d1), jnp.sum(d1)
        small = (jnp.abs(g1) < eps) & (jnp.abs(g2) < eps)
        det = h11 * h22 - h21 * h21
        dA = -(h22 * g1 - h21 * g2) / det
        dB = -(-h21 * g1 + h11 * g2) / det
        gd = g1 * dA + g2 * dB
        steps = _STEPS.astype(dec.dtype)
        trial = jax.vmap(lambda s: loss(A + s * dA, B + s * dB))(steps)
        ok = trial < fval + 1e-4 * steps * gd
        first = jnp.argmax(ok)
        found = jnp.any(ok) & ~small
        A = jnp.where(found, A + steps[first] * dA, A)
        B = jnp.where(found, B + steps[first] * dB, B)
        fval = jnp.where(found, trial[first], fval)
        return A, B, fval, it + 1, ~found

    def cond(state):
        return (~state[4]) & (state[3] < max_iter)

    A, B, *_ = lax.while_loop(cond, body, (A0, B0, loss(A0, B0), 0, jnp.zeros((), bool)))
    return A, B


@jax.jit
def fit_sigmoids(dec: jax.Array, label: jax.Array, weight: jax.Array):
    """Platt parameters (A, B) per row: P(y=+1 | f) = 1 / (1 + exp(A f + B))."""
    return jax.vmap(_fit_one)(dec, label, weight)


def _couple_one(r, k: int):
    """libsvm's multiclass_probability (Wu, Lin, Weng 2004, method 2) for one sample."""
    Q = -r.T * r
    Q = Q.at[jnp.diag_indices(k)].set(jnp.sum(r.T ** 2, axis=1) - jnp.diag(r) ** 2)
    p0 = jnp.full(k, 1.0 / k, r.dtype)
    eps = 0.005 / k

    def sweep(p):
        Qp = Q @ p
        pQp = p @ Qp

        def one(t, carry):
            p, Qp, pQp = carry
            diff = (-Qp[t] + pQp) / Q[t, t]
            p = p.at[t].add(diff)
            pQp = (pQp + diff * (diff * Q[t, t] + 2 * Qp[t])) / (1 + diff) ** 2
            Qp = (Qp + diff * Q[:, t]) / (1 + diff)
            return p / (1 + diff), Qp, pQp

        return lax.fori_loop(0, k, one, (p, Qp, pQp))[0]

    def error(p):
        Qp = Q @ p
        return jnp.max(jnp.abs(Qp - p @ Qp))

    def cond(state):
        p, it = state
        return (error(p) >= eps) & (it < max(100, k))

    p, _ = lax.while_loop(cond, lambda s: (sweep(s[0]), s[1] + 1), (p0, 0))
    return p


@partial(jax.jit, static_argnames=("k",))
def pairwise_proba(dec: jax.Array, A: jax.Array, B: jax.Array, first: jax.Array,
                   second: jax.Array, k: int) -> jax.Array:
    """(n, pairs) ovo decision values -> (n, k) class probabilities (rows sum to one)."""
    r_pair = jnp.clip(jax.nn.sigmoid(-(dec * A + B)), MIN_PROB, 1 - MIN_PROB)
    if k == 2:
        return jnp.stack([r_pair[:, 0], 1 - r_pair[:, 0]], axis=1)
    r = jnp.zeros((dec.shape[0], k, k), dec.dtype)
    r = r.at[:, first, second].set(r_pair).at[:, second, first].set(1 - r_pair)
    return jax.vmap(partial(_couple_one, k=k))(r)
